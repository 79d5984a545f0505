//! The device engine's CUDA backend: the layout in device memory for the whole run, the
//! kernels of [`super::codegen`] compiled once by NVRTC with `--fmad=false`, every launch
//! on one stream. Nothing is copied inside a step except what the host computes (current
//! encoders, and spike encoders that are not gap processes); spikes come back as words
//! every period, state on request.
//!
//! Why NVRTC through `cudarc` and not CubeCL kernels: bit-identical results with the cpu
//! engine need every `a * b + c` rounded twice, as the CPU does. CubeCL 0.10 compiles its
//! CUDA kernels with fixed NVRTC options (architecture, include paths, `-lineinfo`), so
//! NVRTC's default `--fmad=true` contracts them into FMAs. `cudarc` is the crate CubeCL's
//! CUDA runtime is built on (same version, nothing more to compile); with it the options
//! are ours. Set `SPIKEWORLD_CUDA_FMAD=1` to compile with contraction and see the spikes
//! part from the cpu engine's.
#![expect(unsafe_code, reason = "kernel launches through the CUDA driver API (cudarc marks them unsafe: argument types must match the kernel's)")]

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{CompileOptions, compile_ptx_with_opts};

use super::Backend;
use super::profile::Profile;
use super::codegen::{self, BLOCK};
use super::random;
use super::layout::{DelayLayout, Layout};
use crate::{Error, Result};

struct Pop {
    vars: CudaSlice<f64>,
    ring: CudaSlice<f64>,
    update: CudaFunction,
    /// Each neuron's last spiking step.
    last: CudaSlice<u64>,
    /// Push delivery into this population: counts, touched list, buckets.
    cnt: CudaSlice<u32>,
    touched: CudaSlice<u32>,
    bucket: CudaSlice<u32>,
}

struct Push {
    ptr: CudaSlice<u32>,
    col: CudaSlice<u32>,
    weight: CudaSlice<f64>,
    delay: CudaSlice<u32>,
}

struct Proj {
    ptr: CudaSlice<u32>,
    src: CudaSlice<u32>,
    weight: CudaSlice<f64>,
    delay: Option<CudaSlice<u32>>,
    push: Option<Push>,
}

/// A spike encoder run on the device: per output `ln(1 − p)`, stream position, next spike.
struct Gap {
    lnq: CudaSlice<f64>,
    pos: CudaSlice<u64>,
    next: CudaSlice<u64>,
    key: [u32; 2],
    entity: u32,
    stop: u64,
    /// A push projection reads its spikes as a list.
    listed: i32,
}

/// A state monitor's sampler: which variables of which neurons, and its buffer of samples.
struct Sampler {
    p: usize,
    vars: CudaSlice<u32>,
    idx: CudaSlice<u32>,
    nv: u64,
    ni: u64,
    buf: CudaSlice<f64>,
}

pub(crate) struct CudaBackend {
    layout: Layout,
    stream: Arc<CudaStream>,
    pops: Vec<Pop>,
    projs: Vec<Proj>,
    words: Vec<CudaSlice<u32>>,
    /// Per source: this step's spikes as indices (any order).
    spk: Vec<CudaSlice<u32>>,
    /// Per source its spike count, then per projection its touched-target count; zeroed
    /// at the start of every step.
    counters: CudaSlice<u32>,
    /// Per population its spikes so far (never cleared).
    totals: CudaSlice<u64>,
    deliver_const: CudaFunction,
    deliver_each: CudaFunction,
    add_input: CudaFunction,
    xi_add: CudaFunction,
    push: CudaFunction,
    resolve: CudaFunction,
    gaps: Vec<Gap>,
    gap_kernel: CudaFunction,
    samplers: Vec<Sampler>,
    gather: CudaFunction,
    /// `SPIKEWORLD_CUDA_PROFILE=1`: GPU time per kernel.
    prof: Option<Profile>,
    /// Neurons per thread of the update kernels.
    unroll: u32,
}

fn cu<T>(what: &str) -> impl FnOnce(T) -> Error
where
    T: std::fmt::Debug,
{
    let what = what.to_string();
    move |e| Error::Runtime(format!("CUDA: {what}: {e:?}"))
}

fn grid(n: usize) -> LaunchConfig {
    LaunchConfig { grid_dim: ((n as u32).div_ceil(BLOCK).max(1), 1, 1), block_dim: (BLOCK, 1, 1), shared_mem_bytes: 0 }
}

impl CudaBackend {
    pub(crate) fn new(layout: Layout, ordinal: usize) -> Result<Self> {
        let ctx = CudaContext::new(ordinal).map_err(cu(&format!("cannot open device {ordinal}")))?;
        let stream = ctx.default_stream();
        let (_, _, need) = layout.bytes();
        let (free, total) = ctx.mem_get_info().map_err(cu("memory query"))?;
        if need as usize > free {
            return Err(Error::Runtime(format!(
                "the network needs {:.2} GiB on the device and {:.2} GiB of its {:.2} GiB are free",
                need as f64 / (1u64 << 30) as f64,
                free as f64 / (1u64 << 30) as f64,
                total as f64 / (1u64 << 30) as f64
            )));
        }
        let unroll = std::env::var("SPIKEWORLD_CUDA_UNROLL").ok().and_then(|v| v.parse().ok()).filter(|u| (1..=8).contains(u)).unwrap_or(codegen::UNROLL);
        let mut src = String::from(codegen::COMMON);
        src.push_str(&random::source());
        for (p, pl) in layout.pops.iter().enumerate() {
            let listed = layout.projs.iter().any(|q| q.source == pl.source && q.push.is_some());
            src.push_str(&codegen::update_kernel(&format!("p{p}"), &pl.program, &pl.active, listed, unroll));
        }
        let fmad = std::env::var("SPIKEWORLD_CUDA_FMAD").is_ok_and(|v| v == "1");
        let opts = CompileOptions { fmad: Some(fmad), ..Default::default() };
        let t0 = std::time::Instant::now();
        let ptx = compile_ptx_with_opts(&src, opts).map_err(|e| Error::Runtime(format!("CUDA: compiling the kernels: {e:?}\n{src}")))?;
        let module = ctx.load_module(ptx).map_err(cu("loading the kernels"))?;
        tracing::info!(seconds = t0.elapsed().as_secs_f64(), fmad, "device engine kernels compiled");
        let f = |name: &str| module.load_function(name).map_err(cu(&format!("kernel {name}")));
        let mut pops = Vec::new();
        for (p, pl) in layout.pops.iter().enumerate() {
            let pushed = layout.projs.iter().any(|q| q.target == p && q.push.is_some());
            let m = if pushed { pl.n.max(1) } else { 1 };
            pops.push(Pop {
                vars: stream.alloc_zeros::<f64>((pl.n * pl.program.vars as usize).max(1)).map_err(cu("allocation"))?,
                ring: stream.alloc_zeros::<f64>((pl.depth * pl.receptors * pl.n).max(1)).map_err(cu("allocation"))?,
                update: f(&format!("update_p{p}"))?,
                last: stream.clone_htod(&vec![crate::net::SpikeHistory::NEVER; pl.n.max(1)]).map_err(cu("upload"))?,
                cnt: stream.alloc_zeros::<u32>(m).map_err(cu("allocation"))?,
                touched: stream.alloc_zeros::<u32>(m).map_err(cu("allocation"))?,
                bucket: stream.alloc_zeros::<u32>(m * layout.capacity).map_err(cu("allocation"))?,
            });
        }
        let mut projs = Vec::new();
        for q in &layout.projs {
            projs.push(Proj {
                ptr: stream.clone_htod(&q.ptr).map_err(cu("upload"))?,
                src: stream.clone_htod(&nonempty(&q.src)).map_err(cu("upload"))?,
                weight: stream.clone_htod(&nonempty(&q.weight)).map_err(cu("upload"))?,
                delay: match &q.delay {
                    DelayLayout::Const(_) => None,
                    DelayLayout::Each(d) => Some(stream.clone_htod(&nonempty(d)).map_err(cu("upload"))?),
                },
                push: match &q.push {
                    None => None,
                    Some(p) => Some(Push {
                        ptr: stream.clone_htod(&p.ptr).map_err(cu("upload"))?,
                        col: stream.clone_htod(&nonempty(&p.col)).map_err(cu("upload"))?,
                        weight: stream.clone_htod(&nonempty(&p.weight)).map_err(cu("upload"))?,
                        delay: stream.clone_htod(&nonempty(p.delay.as_deref().unwrap_or(&[]))).map_err(cu("upload"))?,
                    }),
                },
            });
        }
        let mut words = Vec::new();
        let mut spk = Vec::new();
        for s in &layout.sources {
            words.push(stream.alloc_zeros::<u32>((s.words() * layout.period).max(1)).map_err(cu("allocation"))?);
            spk.push(stream.alloc_zeros::<u32>(s.n.max(1)).map_err(cu("allocation"))?);
        }
        let mut gaps = Vec::new();
        for g in &layout.gaps {
            let pr = &g.process;
            gaps.push(Gap {
                lnq: stream.clone_htod(&nonempty(&pr.ln_q)).map_err(cu("upload"))?,
                pos: stream.clone_htod(&nonempty(&pr.position)).map_err(cu("upload"))?,
                next: stream.clone_htod(&nonempty(&pr.next)).map_err(cu("upload"))?,
                key: crate::util::rng::key(pr.seed, pr.purpose),
                entity: pr.entity,
                stop: pr.stop,
                listed: layout.projs.iter().any(|q| q.source == g.source && q.push.is_some()) as i32,
            });
        }
        let counters = stream.alloc_zeros::<u32>(layout.sources.len() + layout.projs.len()).map_err(cu("allocation"))?;
        let totals = stream.alloc_zeros::<u64>(layout.pops.len().max(1)).map_err(cu("allocation"))?;
        Ok(CudaBackend {
            totals,
            spk,
            counters,
            push: f("push")?,
            resolve: f("resolve")?,
            deliver_const: f("deliver_const")?,
            deliver_each: f("deliver_each")?,
            add_input: f("add_input")?,
            xi_add: f("xi_add")?,
            gap_kernel: f("gaps")?,
            gaps,
            gather: f("gather")?,
            samplers: Vec::new(),
            prof: Profile::from_env(),
            unroll,
            layout,
            stream,
            pops,
            projs,
            words,
        })
    }

    fn mark(&mut self, label: &'static str) {
        if let Some(p) = &mut self.prof {
            p.mark(&self.stream, label);
        }
    }

    fn fail(what: &str, e: impl std::fmt::Debug) -> ! {
        // NOTE: a failed launch or copy is a lost device (or a bug in the generated
        // kernels); there is no state left to continue from.
        panic!("CUDA device engine: {what}: {e:?}")
    }
}

fn nonempty<T: Clone + Default>(v: &[T]) -> Vec<T> {
    if v.is_empty() { vec![T::default()] } else { v.to_vec() }
}

impl Backend for CudaBackend {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn begin_step(&mut self, _step: u64) -> Result<(), String> {
        if let Some(p) = &mut self.prof {
            p.step(&self.stream);
        }
        self.stream.memset_zeros(&mut self.counters).map_err(|e| format!("clearing counters: {e:?}"))?;
        self.mark("clear");
        Ok(())
    }

    fn host_time(&mut self, label: &'static str, secs: f64) {
        if let Some(p) = &mut self.prof {
            p.host(label, secs);
        }
    }

    fn update(&mut self, p: usize, step: u64) -> Result<(), String> {
        let pl = &self.layout.pops[p];
        if pl.n == 0 {
            return Ok(());
        }
        let n = pl.n as u64;
        let ring_base = (step % pl.depth as u64) * pl.receptors as u64 * n;
        let word_base = (step % self.layout.period as u64) * self.layout.sources[pl.source].words() as u64;
        let pop = &mut self.pops[p];
        let words = &mut self.words[pl.source];
        let spk = &mut self.spk[pl.source];
        let mut nspk = self.counters.slice_mut(pl.source..pl.source + 1);
        let mut total = self.totals.slice_mut(p..p + 1);
        let mut b = self.stream.launch_builder(&pop.update);
        b.arg(&mut pop.vars).arg(&mut pop.ring).arg(words).arg(spk).arg(&mut nspk).arg(&mut pop.last).arg(&mut total);
        b.arg(&n).arg(&ring_base).arg(&word_base).arg(&step);
        // SAFETY: the arguments match `update_pN`'s signature in `codegen::update_kernel`,
        // and the grid covers `n` threads over buffers sized from the same layout.
        unsafe { b.launch(grid(pl.n.div_ceil(32 * self.unroll as usize) * 32)) }.map_err(|e| format!("update: {e:?}"))?;
        self.mark("update");
        Ok(())
    }

    fn deliver(&mut self, q: usize, step: u64) -> Result<(), String> {
        let pj = &self.layout.projs[q];
        let tl = &self.layout.pops[pj.target];
        let (n, nr, depth) = (tl.n as u64, tl.receptors as u64, tl.depth as u64);
        let word_base = (step % self.layout.period as u64) * self.layout.sources[pj.source].words() as u64;
        let proj = &self.projs[q];
        let words = &self.words[pj.source];
        if let (Some(push), Some(pl)) = (&proj.push, &pj.push) {
            let nsrc = self.layout.sources.len();
            let cap = self.layout.capacity as u32;
            let rows = (pl.ptr.len() - 1) as u32;
            let (stride, rec_base) = (nr * n, pj.receptor as u64 * n);
            let (const_delay, per_syn) = match &pj.delay {
                DelayLayout::Const(d) => (*d as u64, 0i32),
                DelayLayout::Each(_) => (0, 1i32),
            };
            let pop = &mut self.pops[pj.target];
            let (counts, mut rest) = self.counters.split_at_mut(nsrc);
            let nspk = counts.slice(pj.source..pj.source + 1);
            let mut ntouched = rest.slice_mut(q..q + 1);
            let spk = &self.spk[pj.source];
            let mut b = self.stream.launch_builder(&self.push);
            b.arg(spk).arg(&nspk).arg(&pl.src_start).arg(&rows).arg(&push.ptr).arg(&push.col).arg(&mut pop.cnt).arg(&mut pop.touched).arg(&mut ntouched).arg(&mut pop.bucket).arg(&cap);
            // SAFETY: matches `push` in `codegen::COMMON`; every index is below the sizes
            // the buffers were allocated with from the same layout.
            unsafe { b.launch(grid(self.layout.sources[pj.source].n.min(1 << 13) * 32)) }.map_err(|e| format!("push: {e:?}"))?;
            if let Some(p) = &mut self.prof {
                p.mark(&self.stream, "push");
            }
            let delay = proj.delay.as_ref().unwrap_or(&proj.src);
            let mut b = self.stream.launch_builder(&self.resolve);
            b.arg(&pop.touched).arg(&mut ntouched).arg(&mut pop.cnt).arg(&pop.bucket).arg(&cap).arg(&push.weight).arg(&push.delay);
            b.arg(&proj.ptr).arg(&proj.src).arg(&proj.weight).arg(delay).arg(words).arg(&word_base).arg(&mut pop.ring);
            b.arg(&step).arg(&depth).arg(&stride).arg(&rec_base).arg(&const_delay).arg(&per_syn);
            // SAFETY: matches `resolve` in `codegen::COMMON`.
            unsafe { b.launch(grid(tl.n.min(1 << 18))) }.map_err(|e| format!("resolve: {e:?}"))?;
            self.mark("resolve");
            return Ok(());
        }
        let ring = &mut self.pops[pj.target].ring;
        let r = match &pj.delay {
            DelayLayout::Const(d) => {
                let slot_base = ((step + 1 + *d as u64) % depth) * nr * n + pj.receptor as u64 * n;
                let mut b = self.stream.launch_builder(&self.deliver_const);
                b.arg(&proj.ptr).arg(&proj.src).arg(&proj.weight).arg(words).arg(ring).arg(&n).arg(&word_base).arg(&slot_base);
                // SAFETY: matches `deliver_const` in `codegen::COMMON`; `ptr` has n + 1 entries.
                unsafe { b.launch(grid(tl.n)) }
            }
            DelayLayout::Each(_) => {
                let (stride, rec_base) = (nr * n, pj.receptor as u64 * n);
                let delay = proj.delay.as_ref().expect("per-synapse delays uploaded");
                let mut b = self.stream.launch_builder(&self.deliver_each);
                b.arg(&proj.ptr).arg(&proj.src).arg(&proj.weight).arg(delay).arg(words).arg(ring).arg(&n).arg(&word_base).arg(&step).arg(&depth).arg(&stride).arg(&rec_base);
                // SAFETY: matches `deliver_each` in `codegen::COMMON`.
                unsafe { b.launch(grid(tl.n)) }
            }
        };
        r.map_err(|e| format!("delivery: {e:?}"))?;
        self.mark("pull");
        Ok(())
    }

    fn noise(&mut self, p: usize, step: u64, receptor: usize, key: [u32; 2], entity: u32, first: u64, n: usize) -> Result<(), String> {
        let pl = &self.layout.pops[p];
        if n == 0 {
            return Ok(());
        }
        if n != pl.n {
            return Err(format!("noise of {n} neurons for a population of {}", pl.n));
        }
        let len = n as u64;
        let base = (step % pl.depth as u64) * pl.receptors as u64 * len + receptor as u64 * len;
        let mut b = self.stream.launch_builder(&self.xi_add);
        b.arg(&mut self.pops[p].ring).arg(&base).arg(&len).arg(&first).arg(&step).arg(&key[0]).arg(&key[1]).arg(&entity);
        // SAFETY: matches `xi_add` in `random::source`; `base + n` is inside the ring (its
        // slot `step % depth`, row `receptor` of `receptors`, each of the population's `n`).
        unsafe { b.launch(grid(n)) }.map_err(|e| format!("noise: {e:?}"))?;
        self.mark("noise");
        Ok(())
    }

    fn add_input(&mut self, p: usize, step: u64, receptor: usize, start: usize, values: &[f64]) -> Result<(), String> {
        if values.is_empty() {
            return Ok(());
        }
        let pl = &self.layout.pops[p];
        let n = pl.n as u64;
        let base = (step % pl.depth as u64) * pl.receptors as u64 * n + receptor as u64 * n + start as u64;
        let len = values.len() as u64;
        let v = self.stream.clone_htod(values).map_err(|e| format!("upload: {e:?}"))?;
        let mut b = self.stream.launch_builder(&self.add_input);
        b.arg(&mut self.pops[p].ring).arg(&v).arg(&base).arg(&len);
        // SAFETY: matches `add_input` in `codegen::COMMON`; `base + len` is inside the ring.
        unsafe { b.launch(grid(values.len())) }.map_err(|e| format!("input: {e:?}"))?;
        self.mark("input");
        Ok(())
    }

    fn set_spikes(&mut self, s: usize, step: u64, words: &[u32]) -> Result<(), String> {
        let sw = self.layout.sources[s].words();
        let at = (step % self.layout.period as u64) as usize * sw;
        let mut dst = self.words[s].slice_mut(at..at + sw);
        self.stream.memcpy_htod(words, &mut dst).map_err(|e| format!("upload: {e:?}"))?;
        if self.layout.projs.iter().any(|q| q.source == s && q.push.is_some()) {
            let mut idx = Vec::new();
            for (wi, &w) in words.iter().enumerate() {
                let mut bits = w;
                while bits != 0 {
                    idx.push((wi * 32) as u32 + bits.trailing_zeros());
                    bits &= bits - 1;
                }
            }
            let count = [idx.len() as u32];
            if !idx.is_empty() {
                let mut dst = self.spk[s].slice_mut(0..idx.len());
                self.stream.memcpy_htod(&idx, &mut dst).map_err(|e| format!("upload: {e:?}"))?;
            }
            let mut c = self.counters.slice_mut(s..s + 1);
            self.stream.memcpy_htod(&count, &mut c).map_err(|e| format!("upload: {e:?}"))?;
        }
        Ok(())
    }

    fn gaps(&mut self, g: usize, step: u64) -> Result<(), String> {
        let s = self.layout.gaps[g].source;
        let n = self.layout.sources[s].n as u64;
        if n == 0 {
            return Ok(());
        }
        let word_base = (step % self.layout.period as u64) * self.layout.sources[s].words() as u64;
        let gap = &mut self.gaps[g];
        let mut nspk = self.counters.slice_mut(s..s + 1);
        let mut b = self.stream.launch_builder(&self.gap_kernel);
        b.arg(&gap.lnq).arg(&mut gap.pos).arg(&mut gap.next).arg(&mut self.words[s]).arg(&mut self.spk[s]).arg(&mut nspk);
        b.arg(&n).arg(&word_base).arg(&step).arg(&gap.stop).arg(&gap.key[0]).arg(&gap.key[1]).arg(&gap.entity).arg(&gap.listed);
        // SAFETY: matches `gaps` in `random::source`; the grid covers `n` threads over
        // buffers of `n` outputs (words: the source's ring, sized from the same layout).
        unsafe { b.launch(grid(n as usize)) }.map_err(|e| format!("encoder: {e:?}"))?;
        self.mark("encoder");
        Ok(())
    }

    fn read_gaps(&mut self, g: usize) -> Result<(Vec<u64>, Vec<u64>), String> {
        let n = self.layout.gaps[g].process.next.len();
        if n == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let gap = &self.gaps[g];
        let pos = self.stream.clone_dtoh(&gap.pos.slice(0..n)).map_err(|e| format!("download: {e:?}"))?;
        let next = self.stream.clone_dtoh(&gap.next.slice(0..n)).map_err(|e| format!("download: {e:?}"))?;
        Ok((pos, next))
    }

    fn write_gaps(&mut self, g: usize, position: &[u64], next: &[u64]) -> Result<(), String> {
        if next.is_empty() {
            return Ok(());
        }
        let gap = &mut self.gaps[g];
        self.stream.memcpy_htod(position, &mut gap.pos.slice_mut(0..position.len())).map_err(|e| format!("upload: {e:?}"))?;
        self.stream.memcpy_htod(next, &mut gap.next.slice_mut(0..next.len())).map_err(|e| format!("upload: {e:?}"))
    }

    fn add_sampler(&mut self, p: usize, vars: &[u32], indices: &[u32], cap: usize) -> Result<usize, String> {
        let width = vars.len() * indices.len();
        let s = &self.stream;
        self.samplers.push(Sampler {
            p,
            vars: s.clone_htod(&nonempty(vars)).map_err(|e| format!("upload: {e:?}"))?,
            idx: s.clone_htod(&nonempty(indices)).map_err(|e| format!("upload: {e:?}"))?,
            nv: vars.len() as u64,
            ni: indices.len() as u64,
            buf: s.alloc_zeros::<f64>((cap * width).max(1)).map_err(|e| format!("allocating {} samples of {width} values: {e:?}", cap))?,
        });
        Ok(self.samplers.len() - 1)
    }

    fn sample(&mut self, id: usize, slot: usize) -> Result<(), String> {
        let sm = &mut self.samplers[id];
        let width = sm.nv * sm.ni;
        if width == 0 {
            return Ok(());
        }
        let n = self.layout.pops[sm.p].n as u64;
        let base = slot as u64 * width;
        let mut b = self.stream.launch_builder(&self.gather);
        b.arg(&self.pops[sm.p].vars).arg(&sm.vars).arg(&sm.idx).arg(&mut sm.buf).arg(&n).arg(&sm.ni).arg(&width).arg(&base);
        // SAFETY: matches `gather` in `codegen::COMMON`; `base + width` is inside the buffer
        // (`slot` below the sampler's capacity), indices and variables inside the population.
        unsafe { b.launch(grid(width as usize)) }.map_err(|e| format!("sample: {e:?}"))?;
        self.mark("sample");
        Ok(())
    }

    fn take_samples(&mut self, id: usize, count: usize) -> Result<Vec<f64>, String> {
        let sm = &self.samplers[id];
        let len = count * (sm.nv * sm.ni) as usize;
        if len == 0 {
            return Ok(Vec::new());
        }
        self.stream.clone_dtoh(&sm.buf.slice(0..len)).map_err(|e| format!("download: {e:?}"))
    }

    fn read_totals(&mut self) -> Result<Vec<u64>, String> {
        let mut t = self.stream.clone_dtoh(&self.totals).map_err(|e| format!("download: {e:?}"))?;
        t.truncate(self.layout.pops.len());
        Ok(t)
    }

    fn read_last(&mut self, p: usize) -> Result<Vec<u64>, String> {
        let n = self.layout.pops[p].n;
        if n == 0 {
            return Ok(Vec::new());
        }
        self.stream.clone_dtoh(&self.pops[p].last.slice(0..n)).map_err(|e| format!("download: {e:?}"))
    }

    fn write_last(&mut self, p: usize, v: &[u64]) -> Result<(), String> {
        if v.is_empty() {
            return Ok(());
        }
        let mut dst = self.pops[p].last.slice_mut(0..v.len());
        self.stream.memcpy_htod(v, &mut dst).map_err(|e| format!("upload: {e:?}"))
    }

    fn take_words(&mut self, s: usize, first: usize, count: usize) -> Result<Vec<u32>, String> {
        let sw = self.layout.sources[s].words();
        if count == 0 || sw == 0 {
            return Ok(Vec::new());
        }
        let w = self.stream.clone_dtoh(&self.words[s].slice(first * sw..(first + count) * sw)).map_err(|e| format!("download: {e:?}"))?;
        self.mark("take_words");
        Ok(w)
    }

    fn read_var(&mut self, p: usize, k: usize) -> Vec<f64> {
        let n = self.layout.pops[p].n;
        self.stream.clone_dtoh(&self.pops[p].vars.slice(k * n..(k + 1) * n)).unwrap_or_else(|e| Self::fail("download", e))
    }

    fn write_var(&mut self, p: usize, k: usize, v: &[f64]) {
        let n = self.layout.pops[p].n;
        let mut dst = self.pops[p].vars.slice_mut(k * n..(k + 1) * n);
        self.stream.memcpy_htod(v, &mut dst).unwrap_or_else(|e| Self::fail("upload", e));
    }

    fn read_ring(&mut self, p: usize) -> Vec<f64> {
        let len = self.layout.pops[p].depth * self.layout.pops[p].receptors * self.layout.pops[p].n;
        self.stream.clone_dtoh(&self.pops[p].ring.slice(0..len)).unwrap_or_else(|e| Self::fail("download", e))
    }

    fn write_ring(&mut self, p: usize, v: &[f64]) {
        if v.is_empty() {
            return;
        }
        let mut dst = self.pops[p].ring.slice_mut(0..v.len());
        self.stream.memcpy_htod(v, &mut dst).unwrap_or_else(|e| Self::fail("upload", e));
    }
}
