//! The device engine's CUDA backend: the layout in device memory for the whole run, the
//! kernels of [`super::codegen`] compiled once by NVRTC with `--fmad=false`, every launch
//! on one stream. Nothing is copied inside a step except what the host computes (spike
//! and current encoders); spikes come back as words every period, state on request.
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
    push: CudaFunction,
    resolve: CudaFunction,
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
