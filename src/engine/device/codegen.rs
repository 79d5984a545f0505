//! CUDA C source for the device engine's kernels: one fused update kernel per population,
//! generated from the model's traced [`Program`], and the delivery kernels.
//!
//! The update runs the program's operations one by one in `double`, compiled with
//! `--fmad=false` so that no multiply and add are contracted into one rounding: the
//! cpu engine's bits. Constants are written as their exact bit patterns.
//!
//! Plain text, so that it is built and tested on every machine; only compiling and running
//! it needs CUDA.

use std::fmt::Write;

use crate::api::program::{CStyle, Program};

/// Threads per block (a multiple of 32: each warp writes whole spike words).
pub(crate) const BLOCK: u32 = 256;

/// Neurons per thread of the update kernels (`SPIKEWORLD_CUDA_UNROLL` overrides, 1 to 8).
pub(crate) const UNROLL: u32 = 2;

/// The fused update of one population: `update_{name}`.
///
/// Arguments: `vars` (variable-major), `ring` (the whole delay ring), `words` (the
/// spike-word ring), `spk` and `nspk` (this step's spikes as indices, in no particular
/// order, and their count, for push delivery), `last` (each neuron's last spiking step),
/// `total` (the population's spikes so far), `n`, `ring_base` (first value of this
/// step's slot), `word_base` (first word of this step's slot), `step`.
///
/// Each thread updates `unroll` neurons, 32 apart (lane `l` of a warp: neurons
/// `32·unroll·w + l + 32·u`), all loads first: more memory requests in flight per warp
/// (the kernel waits on memory, not on arithmetic: benches/gpu/ncu_2026-11-24_*.txt), and
/// each warp writes `unroll` whole spike words. `listed`: whether this step's spikes are
/// also written as a list (`spk`, `nspk`: a push projection reads it), with one global
/// atomic per block; without, the kernel only writes the spike words.
pub(crate) fn update_kernel(name: &str, p: &Program, active: &[bool], listed: bool, unroll: u32) -> String {
    let mut s = String::new();
    let nv = p.vars as usize;
    let _ = writeln!(
        s,
        "extern \"C\" __global__ void update_{name}(double* __restrict__ vars, double* __restrict__ ring, unsigned int* __restrict__ words, unsigned int* __restrict__ spk, unsigned int* __restrict__ nspk, unsigned long long* __restrict__ last, unsigned long long* __restrict__ total, unsigned long long n, unsigned long long ring_base, unsigned long long word_base, unsigned long long step) {{"
    );
    let _ = writeln!(s, "  unsigned int lane = threadIdx.x & 31u;");
    let _ = writeln!(s, "  unsigned long long w0 = ((unsigned long long)blockIdx.x * blockDim.x + threadIdx.x - lane) / 32ULL * {unroll}ULL;");
    for u in 0..unroll {
        // `j`: the neuron read (clamped into range, so that loads need no branch).
        let _ = writeln!(s, "  unsigned long long i{u} = (w0 + {u}ULL) * 32ULL + lane; bool in{u} = i{u} < n; unsigned long long j{u} = in{u} ? i{u} : n - 1ULL;");
    }
    for u in 0..unroll {
        for k in 0..nv {
            let _ = writeln!(s, "  double f{k}_{u} = vars[{k}ULL * n + j{u}];");
        }
        for (r, &on) in active.iter().enumerate() {
            let f = nv + r;
            if on {
                let _ = writeln!(s, "  double f{f}_{u} = ring[ring_base + {r}ULL * n + j{u}];");
            } else {
                let _ = writeln!(s, "  double f{f}_{u} = 0.0;");
            }
        }
    }
    for u in 0..unroll {
        for (r, &on) in active.iter().enumerate() {
            if on {
                let _ = writeln!(s, "  if (in{u}) ring[ring_base + {r}ULL * n + i{u}] = 0.0;");
            }
        }
    }
    for u in 0..unroll {
        let (mut nf, mut nm) = (nv + active.len(), 0usize);
        let suffix = format!("_{u}");
        let style = CStyle { suffix: &suffix, mask: "bool", and: "&&", or: "||", konst: &|bits| format!("__longlong_as_double(0x{bits:016x}LL)") };
        for op in &p.ops {
            let line = op.c_statement(&p.consts, nf, nm, &style);
            if op.is_mask() {
                nm += 1;
            } else {
                nf += 1;
            }
            let _ = writeln!(s, "  {line}");
        }
        let _ = writeln!(s, "  bool fired{u} = in{u} && m{}_{u};", p.spike);
        let _ = writeln!(s, "  if (in{u}) {{");
        // (A variable the step leaves, such as a per-neuron parameter's row, is not stored.)
        for (k, o) in p.outputs.iter().enumerate().filter(|(k, o)| **o as usize != *k) {
            let _ = writeln!(s, "    vars[{k}ULL * n + i{u}] = f{o}_{u};");
        }
        let _ = writeln!(s, "    if (fired{u}) last[i{u}] = step;\n  }}");
        let _ = writeln!(s, "  unsigned int b{u} = __ballot_sync(0xffffffffu, fired{u});");
    }
    let popc = (0..unroll).map(|u| format!("__popc(b{u})")).collect::<Vec<_>>().join(" + ");
    if listed {
        // One global atomic per block: warps take their places in a shared counter.
        let _ = writeln!(s, "  __shared__ unsigned int blk_n, blk_base;\n  if (threadIdx.x == 0u) blk_n = 0u;\n  __syncthreads();");
        let _ = writeln!(s, "  unsigned int wn = {popc}, wpos = 0u;\n  if (lane == 0u && wn) wpos = atomicAdd(&blk_n, wn);\n  __syncthreads();");
        let _ = writeln!(s, "  if (threadIdx.x == 0u && blk_n) {{ blk_base = atomicAdd(nspk, blk_n); atomicAdd(total, (unsigned long long)blk_n); }}\n  __syncthreads();");
        let _ = writeln!(s, "  if (lane == 0u) {{\n    unsigned int pos = blk_base + wpos;");
        for u in 0..unroll {
            let _ = writeln!(s, "    if (in{u}) words[word_base + w0 + {u}ULL] = b{u};");
            let _ = writeln!(s, "    while (b{u}) {{ spk[pos++] = (unsigned int)i{u} + (unsigned int)(__ffs(b{u}) - 1); b{u} &= b{u} - 1u; }}");
        }
        s.push_str("  }\n}\n");
    } else {
        let _ = writeln!(s, "  if (lane == 0u) {{\n    unsigned int wn = {popc};\n    if (wn) atomicAdd(total, (unsigned long long)wn);");
        for u in 0..unroll {
            let _ = writeln!(s, "    if (in{u}) words[word_base + w0 + {u}ULL] = b{u};");
        }
        s.push_str("  }\n}\n");
    }
    s
}

/// Delivery and input kernels shared by every network.
pub(crate) const COMMON: &str = r#"
// Each target j adds the weights of its synapses whose source spiked, sources ascending:
// the cpu engine's order of sums into each ring slot. One delay for the projection.
extern "C" __global__ void deliver_const(const unsigned int* __restrict__ ptr, const unsigned int* __restrict__ src, const double* __restrict__ w,
    const unsigned int* __restrict__ words, double* __restrict__ ring, unsigned long long n, unsigned long long word_base, unsigned long long slot_base) {
  unsigned long long j = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= n) return;
  unsigned int a = ptr[j], e = ptr[j + 1];
  bool any = false;
  double acc = ring[slot_base + j];
  for (unsigned int k = a; k < e; ++k) {
    unsigned int s = src[k];
    if ((words[word_base + (s >> 5)] >> (s & 31u)) & 1u) { acc += w[k]; any = true; }
  }
  if (any) ring[slot_base + j] = acc;
}

// The same with one delay per synapse: each goes to its own slot.
extern "C" __global__ void deliver_each(const unsigned int* __restrict__ ptr, const unsigned int* __restrict__ src, const double* __restrict__ w,
    const unsigned int* __restrict__ delay, const unsigned int* __restrict__ words, double* __restrict__ ring, unsigned long long n,
    unsigned long long word_base, unsigned long long step, unsigned long long depth, unsigned long long stride, unsigned long long rec_base) {
  unsigned long long j = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= n) return;
  unsigned int a = ptr[j], e = ptr[j + 1];
  for (unsigned int k = a; k < e; ++k) {
    unsigned int s = src[k];
    if ((words[word_base + (s >> 5)] >> (s & 31u)) & 1u) {
      unsigned long long slot = (step + 1ULL + delay[k]) % depth;
      ring[slot * stride + rec_base + j] += w[k];
    }
  }
}

// Push: every spike of the source (this step's list) writes its synapses' numbers into
// the buckets of their targets; the first to touch a target lists it. One warp per
// spike (its lanes share the row), grid-stride over the spikes.
extern "C" __global__ void push(const unsigned int* __restrict__ spk, const unsigned int* __restrict__ nspk, unsigned int src_start, unsigned int rows,
    const unsigned int* __restrict__ fptr, const unsigned int* __restrict__ fcol, unsigned int* __restrict__ cnt, unsigned int* __restrict__ touched,
    unsigned int* __restrict__ ntouched, unsigned int* __restrict__ bucket, unsigned int cap) {
  unsigned int m = *nspk;
  unsigned int lane = threadIdx.x & 31u;
  unsigned int warps = (gridDim.x * blockDim.x) >> 5;
  for (unsigned int i = (blockIdx.x * blockDim.x + threadIdx.x) >> 5; i < m; i += warps) {
    unsigned int r = spk[i] - src_start;
    if (spk[i] < src_start || r >= rows) continue;
    for (unsigned int k = fptr[r] + lane; k < fptr[r + 1]; k += 32u) {
      unsigned int t = fcol[k];
      unsigned int c = atomicAdd(&cnt[t], 1u);
      if (c == 0u) touched[atomicAdd(ntouched, 1u)] = t;
      if (c < cap) bucket[(unsigned long long)t * cap + c] = k;
    }
  }
}

// Resolve: each touched target sorts its bucket (synapse numbers: the cpu engine's order)
// and adds the weights; a target with more than `cap` spikes this step pulls instead.
// Delay: `fdelay` per synapse (by source) when given, else `slot_const`; the pull uses
// `delay` (by target) likewise.
extern "C" __global__ void resolve(const unsigned int* __restrict__ touched, const unsigned int* __restrict__ ntouched, unsigned int* __restrict__ cnt,
    const unsigned int* __restrict__ bucket, unsigned int cap, const double* __restrict__ fw, const unsigned int* __restrict__ fdelay,
    const unsigned int* __restrict__ ptr, const unsigned int* __restrict__ src, const double* __restrict__ w, const unsigned int* __restrict__ delay,
    const unsigned int* __restrict__ words, unsigned long long word_base, double* __restrict__ ring,
    unsigned long long step, unsigned long long depth, unsigned long long stride, unsigned long long rec_base, unsigned long long const_delay, int per_synapse) {
  unsigned int m = *ntouched;
  for (unsigned int x = blockIdx.x * blockDim.x + threadIdx.x; x < m; x += gridDim.x * blockDim.x) {
    unsigned int t = touched[x];
    unsigned int c = cnt[t];
    cnt[t] = 0u;
    if (c <= cap) {
      unsigned int keys[32];
      for (unsigned int a = 0; a < c; ++a) {
        unsigned int k = bucket[(unsigned long long)t * cap + a];
        unsigned int b = a;
        while (b > 0u && keys[b - 1] > k) { keys[b] = keys[b - 1]; --b; }
        keys[b] = k;
      }
      for (unsigned int a = 0; a < c; ++a) {
        unsigned int k = keys[a];
        unsigned long long d = per_synapse ? fdelay[k] : const_delay;
        ring[((step + 1ULL + d) % depth) * stride + rec_base + t] += fw[k];
      }
    } else {
      for (unsigned int k = ptr[t]; k < ptr[t + 1]; ++k) {
        unsigned int s = src[k];
        if ((words[word_base + (s >> 5)] >> (s & 31u)) & 1u) {
          unsigned long long d = per_synapse ? delay[k] : const_delay;
          ring[((step + 1ULL + d) % depth) * stride + rec_base + t] += w[k];
        }
      }
    }
  }
}

// A state monitor's sample: variable vars[v] of neuron idx[i] into out[base + v * ni + i].
extern "C" __global__ void gather(const double* __restrict__ x, const unsigned int* __restrict__ vars, const unsigned int* __restrict__ idx,
    double* __restrict__ out, unsigned long long n, unsigned long long ni, unsigned long long width, unsigned long long base) {
  unsigned long long j = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= width) return;
  out[base + j] = x[(unsigned long long)vars[j / ni] * n + idx[j % ni]];
}

// Adds host-computed input (current encoders) into a ring slot.
extern "C" __global__ void add_input(double* __restrict__ ring, const double* __restrict__ v, unsigned long long base, unsigned long long len) {
  unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < len) ring[base + i] += v[i];
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::Lanes;
    use crate::api::program::Sym;

    #[test]
    fn update_kernel_writes_each_operation_once_with_exact_constants() {
        // v' = v * 0.5 + i; spike when v' > 1, then v' = 0.
        let p = Program::trace(1, 1, |st, inp| {
            let v = st[0] * 0.5 + inp[0];
            let s = v.gt(1.0);
            st[0] = Sym::select_const(&s, 0.0, v);
            s
        });
        let src = update_kernel("lif", &p, &[true], true, 1);
        assert!(src.contains("update_lif("), "{src}");
        assert!(src.contains(&format!("0x{:016x}LL", 0.5f64.to_bits())), "{src}");
        assert!(src.contains("f2_0 = __longlong_as_double"), "{src}");
        assert!(src.contains("double f3_0 = f0_0 * f2_0;"), "{src}");
        assert!(src.contains("double f4_0 = f3_0 + f1_0;"), "{src}");
        assert!(src.contains("bool m0_0 = f4_0 > f5_0;"), "{src}");
        assert!(src.contains("vars[0ULL * n + i0] = f7_0;"), "{src}");
        assert!(src.contains("bool fired0 = in0 && m0_0;"), "{src}");
        assert!(src.contains("atomicAdd(nspk"), "{src}");
        assert!(src.contains("atomicAdd(total"), "{src}");
        assert!(src.contains("if (fired0) last[i0] = step;"), "{src}");
        assert!(src.contains("if (in0) ring[ring_base + 0ULL * n + i0] = 0.0;"), "{src}");
    }
    /// The generated source, with stand-ins for CUDA's keywords and intrinsics, must be
    /// valid C++ (a host C++ compiler checks names, types and syntax; NVRTC is only on the
    /// GPU host). Skipped, saying so, where no `g++` is installed.
    #[test]
    fn generated_source_compiles_as_cpp_with_cuda_stand_ins() {
        let p = Program::trace(2, 2, |st, inp| {
            let v = st[0] * 0.5 + inp[0] - inp[1] / 3.0;
            let g = (st[1] + inp[1]).exp().min_c(4.0).sqrt().abs();
            let s = Sym::and(&v.gt(1.0), &Sym::not(&g.le(0.0)));
            st[0] = Sym::select_const(&s, 0.0, v);
            st[1] = Sym::select(&Sym::or(&s, &v.lt(-1.0)), g, st[1]).max(v).ln();
            s
        });
        let stand_ins = "#include <cmath>\n#define __global__\n#define __shared__ static\nstatic void __syncthreads() {}\n#define __restrict__ __restrict\nstruct D3 { unsigned int x, y, z; };\nstatic D3 blockIdx, blockDim, threadIdx, gridDim;\n\
            static unsigned int __ballot_sync(unsigned int, bool b) { return b; }\nstatic int __popc(unsigned int x) { return __builtin_popcount(x); }\n\
            static int __ffs(unsigned int x) { return __builtin_ffs(x); }\nstatic unsigned int atomicAdd(unsigned int* a, unsigned int v) { unsigned int o = *a; *a += v; return o; }\n\
            static unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { unsigned long long o = *a; *a += v; return o; }\n\
            static double __longlong_as_double(long long x) { double d; __builtin_memcpy(&d, &x, 8); return d; }\n";
        // Every math function, chained: x = f(...f(v + input)).
        let funs = crate::api::program::Fun::ALL;
        let mut ops = vec![crate::api::program::Op::Add(0, 1)];
        ops.extend(funs.iter().enumerate().map(|(j, &g)| crate::api::program::Op::Math(g, 2 + j as u32)));
        ops.push(crate::api::program::Op::Gt(2 + funs.len() as u32, 0));
        let math = Program { vars: 1, inputs: 1, ops, consts: vec![], outputs: vec![2 + funs.len() as u32], spike: 0 };
        let src = format!(
            "{stand_ins}{}{}{}{}",
            COMMON,
            update_kernel("p0", &p, &[true, false], true, 2),
            update_kernel("p1", &p, &[true, true], false, 4),
            update_kernel("p2", &math, &[true], false, 1)
        );
        for g in funs {
            assert!(src.contains(&format!("{}(f", g.c_name())), "{g:?}");
        }
        let dir = std::env::temp_dir().join(format!("spikeworld-codegen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kernels.cpp");
        std::fs::write(&file, &src).unwrap();
        let out = std::process::Command::new("g++").args(["-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-variable", "-Wno-unused-function"]).arg(&file).output();
        let _ = std::fs::remove_dir_all(&dir);
        match out {
            Err(e) => eprintln!("skipped: no g++ ({e})"),
            Ok(out) => assert!(out.status.success(), "{}\n{src}", String::from_utf8_lossy(&out.stderr)),
        }
    }
}

