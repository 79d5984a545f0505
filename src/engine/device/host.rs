//! The device engine's host backend: the kernels of the CUDA backend, written as plain
//! loops over the same arrays. It runs on every machine (CI has no GPU), so the layout,
//! the delivery order, the spike-word rings and the checkpoints from device state are
//! tested everywhere; the CUDA backend is tested against it.

use super::Backend;
use crate::api::encoder::GapProcess;
use super::layout::{DelayLayout, Layout};

pub(crate) struct HostBackend {
    layout: Layout,
    vars: Vec<Vec<f64>>,
    rings: Vec<Vec<f64>>,
    words: Vec<Vec<u32>>,
    /// Per population: each neuron's last spiking step, and the spikes so far.
    last: Vec<Vec<u64>>,
    totals: Vec<u64>,
    /// Push delivery: per target population, counts and buckets.
    cnt: Vec<Vec<u32>>,
    bucket: Vec<Vec<u32>>,
    f: Vec<f64>,
    m: Vec<bool>,
    /// Spike encoders run here: their processes.
    gaps: Vec<GapProcess>,
    /// State samplers: population, variables, neurons, buffer.
    samplers: Vec<(usize, Vec<u32>, Vec<u32>, Vec<f64>)>,
}

impl HostBackend {
    pub(crate) fn new(layout: Layout) -> Self {
        let vars = layout.pops.iter().map(|p| vec![0.0; p.n * p.program.vars as usize]).collect();
        let rings = layout.pops.iter().map(|p| vec![0.0; p.depth * p.receptors * p.n]).collect();
        let words = layout.sources.iter().map(|s| vec![0u32; s.words() * layout.period]).collect();
        let cnt = layout.pops.iter().map(|p| vec![0u32; p.n]).collect();
        let bucket = layout.pops.iter().map(|p| if layout.projs.iter().any(|q| q.push.is_some()) { vec![0u32; p.n * layout.capacity] } else { Vec::new() }).collect();
        let last = layout.pops.iter().map(|p| vec![crate::net::SpikeHistory::NEVER; p.n]).collect();
        let totals = vec![0; layout.pops.len()];
        let gaps = layout.gaps.iter().map(|g| g.process.clone()).collect();
        HostBackend { layout, vars, rings, words, last, totals, cnt, bucket, f: Vec::new(), m: Vec::new(), gaps, samplers: Vec::new() }
    }
}

impl Backend for HostBackend {
    fn name(&self) -> &'static str {
        "host"
    }

    fn update(&mut self, p: usize, step: u64) -> Result<(), String> {
        let pl = &self.layout.pops[p];
        let (n, nv, nr) = (pl.n, pl.program.vars as usize, pl.receptors);
        let slot = (step % pl.depth as u64) as usize;
        let ring = &mut self.rings[p][slot * nr * n..(slot + 1) * nr * n];
        let vars = &mut self.vars[p];
        let sw = self.layout.sources[pl.source].words();
        let wslot = (step % self.layout.period as u64) as usize;
        let words = &mut self.words[pl.source][wslot * sw..(wslot + 1) * sw];
        words.fill(0);
        let mut v = vec![0.0; nv];
        let mut inp = vec![0.0; nr];
        for i in 0..n {
            for k in 0..nv {
                v[k] = vars[k * n + i];
            }
            for r in 0..nr {
                inp[r] = if pl.active[r] { std::mem::take(&mut ring[r * n + i]) } else { 0.0 };
            }
            let spiked = pl.program.run(&mut v, &inp, &mut self.f, &mut self.m);
            for k in 0..nv {
                vars[k * n + i] = v[k];
            }
            if spiked {
                words[i / 32] |= 1 << (i % 32);
                self.last[p][i] = step;
                self.totals[p] += 1;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, q: usize, step: u64) -> Result<(), String> {
        let pj = &self.layout.projs[q];
        let tl = &self.layout.pops[pj.target];
        let (n, nr, depth) = (tl.n, tl.receptors, tl.depth as u64);
        let sw = self.layout.sources[pj.source].words();
        let wslot = (step % self.layout.period as u64) as usize;
        let words = &self.words[pj.source][wslot * sw..(wslot + 1) * sw];
        let ring = &mut self.rings[pj.target];
        let at = |d: u32, j: usize| ((step + 1 + d as u64) % depth) as usize * nr * n + pj.receptor * n + j;
        let delay_by_target = |k: usize| match &pj.delay {
            DelayLayout::Const(d) => *d,
            DelayLayout::Each(ds) => ds[k],
        };
        // Target j pulls: its synapses in source order.
        let pull = |ring: &mut [f64], j: usize| {
            for k in pj.ptr[j] as usize..pj.ptr[j + 1] as usize {
                let s = pj.src[k] as usize;
                if words[s / 32] >> (s % 32) & 1 != 0 {
                    ring[at(delay_by_target(k), j)] += pj.weight[k];
                }
            }
        };
        let Some(push) = &pj.push else {
            for j in 0..n {
                pull(ring, j);
            }
            return Ok(());
        };
        // Push, as the CUDA kernels do it, in an order of spikes and of touched targets
        // that is not ascending (the GPU's is arbitrary): the per-target sort restores
        // the synapse order, so the sums do not depend on it.
        let cap = self.layout.capacity;
        let cnt = &mut self.cnt[pj.target];
        let bucket = &mut self.bucket[pj.target];
        let mut touched = Vec::new();
        let rows = push.ptr.len() - 1;
        for (wi, &word) in words.iter().enumerate().rev() {
            let mut bits = word;
            while bits != 0 {
                let s = (wi * 32) as u32 + (31 - bits.leading_zeros());
                bits &= !(1 << (31 - bits.leading_zeros()));
                let Some(r) = s.checked_sub(push.src_start).map(|r| r as usize).filter(|&r| r < rows) else { continue };
                for k in push.ptr[r]..push.ptr[r + 1] {
                    let t = push.col[k as usize] as usize;
                    let c = cnt[t] as usize;
                    cnt[t] += 1;
                    if c == 0 {
                        touched.push(t);
                    }
                    if c < cap {
                        bucket[t * cap + c] = k;
                    }
                }
            }
        }
        for &t in touched.iter().rev() {
            let c = std::mem::take(&mut cnt[t]) as usize;
            if c > cap {
                pull(ring, t);
                continue;
            }
            let keys = &mut bucket[t * cap..t * cap + c];
            keys.sort_unstable();
            for &k in keys.iter() {
                let d = match (&push.delay, &pj.delay) {
                    (Some(ds), _) => ds[k as usize],
                    (None, DelayLayout::Const(d)) => *d,
                    (None, DelayLayout::Each(_)) => unreachable!("per-synapse delays are pushed with their synapses"),
                };
                ring[at(d, t)] += push.weight[k as usize];
            }
        }
        Ok(())
    }

    fn add_input(&mut self, p: usize, step: u64, receptor: usize, start: usize, values: &[f64]) -> Result<(), String> {
        let pl = &self.layout.pops[p];
        let (n, nr) = (pl.n, pl.receptors);
        let slot = (step % pl.depth as u64) as usize;
        let dst = &mut self.rings[p][slot * nr * n + receptor * n + start..][..values.len()];
        for (d, v) in dst.iter_mut().zip(values) {
            *d += *v;
        }
        Ok(())
    }

    fn set_spikes(&mut self, s: usize, step: u64, words: &[u32]) -> Result<(), String> {
        let sw = self.layout.sources[s].words();
        let wslot = (step % self.layout.period as u64) as usize;
        self.words[s][wslot * sw..(wslot + 1) * sw].copy_from_slice(words);
        Ok(())
    }

    fn gaps(&mut self, g: usize, step: u64) -> Result<(), String> {
        let s = self.layout.gaps[g].source;
        let sw = self.layout.sources[s].words();
        let wslot = (step % self.layout.period as u64) as usize;
        let words = &mut self.words[s][wslot * sw..(wslot + 1) * sw];
        words.fill(0);
        let process = &mut self.gaps[g];
        for i in 0..process.next.len() {
            if process.step_output(i, step) {
                words[i / 32] |= 1 << (i % 32);
            }
        }
        Ok(())
    }

    fn read_gaps(&mut self, g: usize) -> Result<(Vec<u64>, Vec<u64>), String> {
        Ok((self.gaps[g].position.clone(), self.gaps[g].next.clone()))
    }

    fn write_gaps(&mut self, g: usize, position: &[u64], next: &[u64]) -> Result<(), String> {
        self.gaps[g].position.copy_from_slice(position);
        self.gaps[g].next.copy_from_slice(next);
        Ok(())
    }

    fn add_sampler(&mut self, p: usize, vars: &[u32], indices: &[u32], cap: usize) -> Result<usize, String> {
        self.samplers.push((p, vars.to_vec(), indices.to_vec(), vec![0.0; cap * vars.len() * indices.len()]));
        Ok(self.samplers.len() - 1)
    }

    fn sample(&mut self, id: usize, slot: usize) -> Result<(), String> {
        let (p, vars, indices, buf) = &mut self.samplers[id];
        let n = self.layout.pops[*p].n;
        let width = vars.len() * indices.len();
        let out = &mut buf[slot * width..(slot + 1) * width];
        for (v, &k) in vars.iter().enumerate() {
            for (j, &i) in indices.iter().enumerate() {
                out[v * indices.len() + j] = self.vars[*p][k as usize * n + i as usize];
            }
        }
        Ok(())
    }

    fn take_samples(&mut self, id: usize, count: usize) -> Result<Vec<f64>, String> {
        let (_, vars, indices, buf) = &self.samplers[id];
        Ok(buf[..count * vars.len() * indices.len()].to_vec())
    }

    fn read_totals(&mut self) -> Result<Vec<u64>, String> {
        Ok(self.totals.clone())
    }

    fn read_last(&mut self, p: usize) -> Result<Vec<u64>, String> {
        Ok(self.last[p].clone())
    }

    fn write_last(&mut self, p: usize, v: &[u64]) -> Result<(), String> {
        self.last[p].copy_from_slice(v);
        Ok(())
    }

    fn take_words(&mut self, s: usize, first: usize, count: usize) -> Result<Vec<u32>, String> {
        let sw = self.layout.sources[s].words();
        Ok(self.words[s][first * sw..(first + count) * sw].to_vec())
    }

    fn read_var(&mut self, p: usize, k: usize) -> Vec<f64> {
        let n = self.layout.pops[p].n;
        self.vars[p][k * n..(k + 1) * n].to_vec()
    }

    fn write_var(&mut self, p: usize, k: usize, v: &[f64]) {
        let n = self.layout.pops[p].n;
        self.vars[p][k * n..(k + 1) * n].copy_from_slice(v);
    }

    fn read_ring(&mut self, p: usize) -> Vec<f64> {
        self.rings[p].clone()
    }

    fn write_ring(&mut self, p: usize, v: &[f64]) {
        self.rings[p].copy_from_slice(v);
    }
}
