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

use crate::api::program::{Op, Program};

/// Threads per block (a multiple of 32: each warp writes whole spike words).
pub(crate) const BLOCK: u32 = 256;

/// The fused update of one population: `update_{name}`.
///
/// Arguments: `vars` (variable-major), `ring` (the whole delay ring), `words` (the
/// spike-word ring), `n`, `ring_base` (first value of this step's slot), `word_base`
/// (first word of this step's slot).
pub(crate) fn update_kernel(name: &str, p: &Program, active: &[bool]) -> String {
    let mut s = String::new();
    let nv = p.vars as usize;
    let _ = writeln!(
        s,
        "extern \"C\" __global__ void update_{name}(double* __restrict__ vars, double* __restrict__ ring, unsigned int* __restrict__ words, unsigned long long n, unsigned long long ring_base, unsigned long long word_base) {{"
    );
    s.push_str("  unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;\n  bool spk = false;\n  if (i < n) {\n");
    for k in 0..nv {
        let _ = writeln!(s, "    double f{k} = vars[{k}ULL * n + i];");
    }
    for (r, &on) in active.iter().enumerate() {
        let f = nv + r;
        if on {
            let _ = writeln!(s, "    double f{f} = ring[ring_base + {r}ULL * n + i]; ring[ring_base + {r}ULL * n + i] = 0.0;");
        } else {
            let _ = writeln!(s, "    double f{f} = 0.0;");
        }
    }
    let (mut nf, mut nm) = (nv + active.len(), 0usize);
    for op in &p.ops {
        let line = match *op {
            Op::Const(k) => format!("double f{nf} = __longlong_as_double(0x{:016x}LL);", p.consts[k as usize]),
            Op::Add(a, b) => format!("double f{nf} = f{a} + f{b};"),
            Op::Sub(a, b) => format!("double f{nf} = f{a} - f{b};"),
            Op::Mul(a, b) => format!("double f{nf} = f{a} * f{b};"),
            Op::Div(a, b) => format!("double f{nf} = f{a} / f{b};"),
            Op::Neg(a) => format!("double f{nf} = -f{a};"),
            Op::Exp(a) => format!("double f{nf} = exp(f{a});"),
            Op::Ln(a) => format!("double f{nf} = log(f{a});"),
            Op::Sqrt(a) => format!("double f{nf} = sqrt(f{a});"),
            Op::Abs(a) => format!("double f{nf} = fabs(f{a});"),
            Op::Select(m, a, b) => format!("double f{nf} = m{m} ? f{a} : f{b};"),
            Op::Gt(a, b) => format!("bool m{nm} = f{a} > f{b};"),
            Op::Ge(a, b) => format!("bool m{nm} = f{a} >= f{b};"),
            Op::Lt(a, b) => format!("bool m{nm} = f{a} < f{b};"),
            Op::Le(a, b) => format!("bool m{nm} = f{a} <= f{b};"),
            Op::And(a, b) => format!("bool m{nm} = m{a} && m{b};"),
            Op::Or(a, b) => format!("bool m{nm} = m{a} || m{b};"),
            Op::Not(a) => format!("bool m{nm} = !m{a};"),
        };
        if op.is_mask() {
            nm += 1;
        } else {
            nf += 1;
        }
        let _ = writeln!(s, "    {line}");
    }
    for (k, o) in p.outputs.iter().enumerate() {
        let _ = writeln!(s, "    vars[{k}ULL * n + i] = f{o};");
    }
    let _ = writeln!(s, "    spk = m{};", p.spike);
    s.push_str("  }\n  unsigned int b = __ballot_sync(0xffffffffu, spk);\n  if ((threadIdx.x & 31u) == 0u && i < n) words[word_base + i / 32ULL] = b;\n}\n");
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
        let src = update_kernel("lif", &p, &[true]);
        assert!(src.contains("update_lif("), "{src}");
        assert!(src.contains(&format!("0x{:016x}LL", 0.5f64.to_bits())), "{src}");
        assert!(src.contains("f2 = __longlong_as_double"), "{src}");
        assert!(src.contains("double f3 = f0 * f2;"), "{src}");
        assert!(src.contains("double f4 = f3 + f1;"), "{src}");
        assert!(src.contains("bool m0 = f4 > f5;"), "{src}");
        assert!(src.contains("vars[0ULL * n + i] = f7;"), "{src}");
        assert!(src.contains("spk = m0;"), "{src}");
        assert!(src.contains("ring[ring_base + 0ULL * n + i] = 0.0;"), "{src}");
    }
}
