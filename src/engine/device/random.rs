//! CUDA C for the random streams of [`crate::util::rng`] and the kernel that runs spike
//! encoders on the device ([`crate::api::encoder::GapProcess`]).
//!
//! The same Philox4x32-10 counter scheme as [`crate::util::rng::Stream`], and the portable
//! [`crate::util::rng::ln`] written with its constants' exact bit patterns, operation for
//! operation: compiled with `--fmad=false`, every draw is the host's bits. The unit test
//! compiles this source with a host C++ compiler (stand-ins for CUDA's intrinsics) and
//! compares its draws with the Rust ones.

use std::fmt::Write;

use crate::util::rng::{LN2_HI, LN2_LO, LN_SERIES};

fn bits(x: f64) -> String {
    format!("__longlong_as_double(0x{:016x}LL)", x.to_bits())
}

/// The device functions (`sw_philox`, `sw_ln`, `sw_uniform_open0`, `sw_geometric`,
/// `sw_xi`) and the `gaps` and `xi_add` kernels.
pub(crate) fn source() -> String {
    let mut s = String::from(
        r#"
// Philox4x32-10 (util::rng::philox4x32_10), in place.
__device__ __forceinline__ void sw_philox(unsigned int c[4], unsigned int k0, unsigned int k1) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
    unsigned int hi0 = __umulhi(0xD2511F53u, c[0]), lo0 = 0xD2511F53u * c[0];
    unsigned int hi1 = __umulhi(0xCD9E8D57u, c[2]), lo1 = 0xCD9E8D57u * c[2];
    unsigned int x0 = hi1 ^ c[1] ^ k0, x2 = hi0 ^ c[3] ^ k1;
    c[0] = x0; c[1] = lo1; c[2] = x2; c[3] = lo0;
  }
}

__device__ __forceinline__ unsigned int sw_pick(const unsigned int c[4], unsigned int w) {
  return w == 0u ? c[0] : w == 1u ? c[1] : w == 2u ? c[2] : c[3];
}

"#,
    );
    // util::rng::ln, operation for operation.
    let _ = writeln!(s, "__device__ double sw_ln(double x) {{");
    let _ = writeln!(s, "  if (x != x || x < 0.0 || x == __longlong_as_double(0x7ff0000000000000LL)) return __longlong_as_double(0x7ff8000000000000LL);");
    let _ = writeln!(s, "  if (x == 0.0) return __longlong_as_double((long long)0xfff0000000000000ULL);");
    let _ = writeln!(s, "  unsigned long long bits = (unsigned long long)__double_as_longlong(x);\n  long long k = 0;");
    let _ = writeln!(s, "  if ((bits >> 52) == 0ULL) {{ bits = (unsigned long long)__double_as_longlong(x * {}); k = -54; }}", bits(f64::from_bits(0x4350_0000_0000_0000)));
    let _ = writeln!(s, "  k += (long long)(bits >> 52) - 1023LL;");
    let _ = writeln!(s, "  double m = __longlong_as_double((long long)((bits & 0xfffffffffffffULL) | 0x3ff0000000000000ULL));");
    let _ = writeln!(s, "  if (m > {}) {{ m = __longlong_as_double(__double_as_longlong(m) - (1LL << 52)); k += 1; }}", bits(std::f64::consts::SQRT_2));
    let _ = writeln!(s, "  double f = m - 1.0;\n  double s = f / (2.0 + f);\n  double z = s * s;");
    let _ = writeln!(s, "  double r = {};", bits(LN_SERIES[10]));
    for c in LN_SERIES[..10].iter().rev() {
        let _ = writeln!(s, "  r = r * z + {};", bits(*c));
    }
    let _ = writeln!(s, "  r = r * z;\n  double lm = f - s * (f - r);\n  double kf = (double)k;");
    let _ = writeln!(s, "  return kf * {} + (lm + kf * {});\n}}", bits(LN2_HI), bits(LN2_LO));
    s.push_str(
        r#"
// Stream::uniform_open0 of stream (key k0 k1, index, entity) at output `*pos`, which it
// moves past the two outputs it draws.
__device__ double sw_uniform_open0(unsigned long long* pos, unsigned long long index, unsigned int entity, unsigned int k0, unsigned int k1) {
  unsigned long long p = *pos;
  unsigned int c[4] = { (unsigned int)(p >> 2), (unsigned int)index, (unsigned int)(index >> 32), entity };
  sw_philox(c, k0, k1);
  unsigned int w = (unsigned int)(p & 3ULL);
  unsigned int a = sw_pick(c, w) >> 5, b;
  if (w == 3u) {
    unsigned int d[4] = { (unsigned int)((p + 1ULL) >> 2), (unsigned int)index, (unsigned int)(index >> 32), entity };
    sw_philox(d, k0, k1);
    b = d[0] >> 6;
  } else {
    b = sw_pick(c, w + 1u) >> 6;
  }
  *pos = p + 2ULL;
  return 1.0 - ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

// Stream::geometric (none drawn when ln_q is -inf).
__device__ unsigned long long sw_geometric(double ln_q, unsigned long long* pos, unsigned long long index, unsigned int entity, unsigned int k0, unsigned int k1) {
  if (ln_q == __longlong_as_double((long long)0xfff0000000000000ULL)) return 0ULL;
  double g = floor(sw_ln(sw_uniform_open0(pos, index, entity, k0, k1)) / ln_q);
  return g >= 1.8e19 ? 0xffffffffffffffffULL : (g > 0.0 ? (unsigned long long)g : 0ULL);
}

// util::rng::xi: the standard normal draw of a noise receptor for `neuron` at `step`, by
// the polar method on the stream of its pair (neuron / 2); the pair's first neuron draws
// u·f, the second v·f.
__device__ double sw_xi(unsigned int k0, unsigned int k1, unsigned int entity, unsigned long long step, unsigned long long neuron) {
  unsigned int n = (unsigned int)neuron;
  for (unsigned int a = 0u;; ++a) {
    unsigned int c[4] = { a, n >> 1, (unsigned int)step, entity };
    sw_philox(c, k0, k1);
    double u = 2.0 * (((double)(c[0] >> 5) * 67108864.0 + (double)(c[1] >> 6)) * (1.0 / 9007199254740992.0)) - 1.0;
    double v = 2.0 * (((double)(c[2] >> 5) * 67108864.0 + (double)(c[3] >> 6)) * (1.0 / 9007199254740992.0)) - 1.0;
    double s = u * u + v * v;
    if (s < 1.0 && s > 0.0) {
      double f = sqrt(-2.0 * sw_ln(s) / s);
      return (n & 1u) ? v * f : u * f;
    }
  }
}

// A noise receptor's draws of `step` added into its row of the ring (`base`: the row's
// first value), neuron i of the row being population index `first + i`.
extern "C" __global__ void xi_add(double* __restrict__ ring, unsigned long long base, unsigned long long n, unsigned long long first,
    unsigned long long step, unsigned int k0, unsigned int k1, unsigned int entity) {
  unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) ring[base + i] += sw_xi(k0, k1, entity, step, first + i);
}

// A spike encoder's step (GapProcess::step_output for every output): output i spikes when
// its next spike is due, then draws the gap to the next one. Sets this step's spike words
// and, when `listed`, appends the spikes to `spk` (count in `nspk`), one atomic per warp.
extern "C" __global__ void gaps(const double* __restrict__ lnq, unsigned long long* __restrict__ pos, unsigned long long* __restrict__ next,
    unsigned int* __restrict__ words, unsigned int* __restrict__ spk, unsigned int* __restrict__ nspk, unsigned long long n, unsigned long long word_base,
    unsigned long long step, unsigned long long stop, unsigned int k0, unsigned int k1, unsigned int entity, int listed) {
  unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x;
  unsigned int lane = threadIdx.x & 31u;
  bool fired = false;
  if (i < n) {
    unsigned long long due = next[i];
    if (due <= step) {
      fired = due == step;
      unsigned long long p = pos[i];
      unsigned long long g = sw_geometric(lnq[i], &p, i, entity, k0, k1);
      unsigned long long nx = g > 0xfffffffffffffffeULL - step ? 0xffffffffffffffffULL : step + 1ULL + g;
      next[i] = nx < stop ? nx : 0xffffffffffffffffULL;
      pos[i] = p;
    }
  }
  unsigned int b = __ballot_sync(0xffffffffu, fired);
  if (lane == 0u && i < n) {
    words[word_base + i / 32ULL] = b;
    if (listed && b) {
      unsigned int at = atomicAdd(nspk, (unsigned int)__popc(b));
      while (b) { spk[at++] = (unsigned int)i + (unsigned int)(__ffs(b) - 1); b &= b - 1u; }
    }
  }
}
"#,
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::{self, Stream};

    /// C++ stand-ins for the CUDA intrinsics the source uses, then the source.
    fn prelude() -> String {
        String::from(
            "#include <cmath>\n#include <cstdio>\n#include <cstring>\n#define __device__\n#define __forceinline__ inline\n#define __global__\n#define __restrict__ __restrict\n\
             struct D3 { unsigned int x, y, z; };\nstatic D3 blockIdx, blockDim, threadIdx;\n\
             static unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }\n\
             static double __longlong_as_double(long long x) { double d; std::memcpy(&d, &x, 8); return d; }\n\
             static long long __double_as_longlong(double d) { long long x; std::memcpy(&x, &d, 8); return x; }\n\
             static unsigned int __ballot_sync(unsigned int, bool b) { return b; }\nstatic int __popc(unsigned int x) { return __builtin_popcount(x); }\n\
             static int __ffs(unsigned int x) { return __builtin_ffs(x); }\nstatic unsigned int atomicAdd(unsigned int* a, unsigned int v) { unsigned int o = *a; *a += v; return o; }\n",
        ) + &source()
    }

    /// Compiles `src` with the host's `g++` without contraction and runs it: its output,
    /// or `None` (saying so) where no `g++` is installed.
    fn compile_and_run(name: &str, src: &str) -> Option<String> {
        let dir = std::env::temp_dir().join(format!("spikeworld-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (file, exe) = (dir.join(format!("{name}.cpp")), dir.join(name));
        std::fs::write(&file, src).unwrap();
        let built = std::process::Command::new("g++").args(["-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Werror", "-Wno-unused-function", "-o"]).arg(&exe).arg(&file).output();
        let built = match built {
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                eprintln!("skipped: no g++ ({e})");
                return None;
            }
            Ok(o) => o,
        };
        assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
        let out = std::process::Command::new(&exe).output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success());
        Some(String::from_utf8(out.stdout).unwrap())
    }

    /// `sw_xi` and the `xi_add` kernel, compiled by the host's C++ compiler, give
    /// `util::rng::xi`'s bits: both neurons of a pair, neuron numbers past 2^32, and enough
    /// draws that many first attempts are rejected. Skipped where no `g++` is installed.
    #[test]
    fn the_cuda_noise_draws_equal_the_host_bit_for_bit() {
        let (k, entity, first, n) = (rng::key(21, rng::purpose::XI + 1), 0x5eed_u32, (1u64 << 32) - 700, 1500usize);
        let steps = [0u64, 1, 12_345, (1 << 32) + 9];
        let mut src = prelude();
        let _ = write!(
            src,
            "int main() {{\n  static double ring[2 * {n}];\n  const unsigned long long steps[] = {{{}}};\n  blockDim.x = 1;\n\
             for (unsigned long long st : steps) {{\n    for (unsigned int i = 0; i < {n}; ++i) {{ ring[i] = 0.0; ring[{n} + i] = 0.0; }}\n\
             for (unsigned int i = 0; i < {n}; ++i) {{ blockIdx.x = i; threadIdx.x = 0; xi_add(ring, {n}ULL, {n}ULL, {first}ULL, st, {}u, {}u, {entity}u); }}\n\
             for (unsigned int i = 0; i < {n}; ++i) {{ unsigned long long o; std::memcpy(&o, &ring[{n} + i], 8); std::printf(\"%llx\\n\", o); }}\n  }}\n  return 0;\n}}\n",
            steps.iter().map(|s| format!("{s}ULL")).collect::<Vec<_>>().join(","),
            k[0],
            k[1]
        );
        let Some(text) = compile_and_run("xi", &src) else { return };
        let mut lines = text.lines();
        for &st in &steps {
            for i in 0..n as u64 {
                let got = u64::from_str_radix(lines.next().unwrap(), 16).unwrap();
                let want = rng::xi(k, entity, st, first + i);
                assert_eq!(got, want.to_bits(), "step {st}, neuron {}: C {:e}, Rust {want:e}", first + i, f64::from_bits(got));
            }
        }
        assert!(lines.next().is_none());
    }

    /// The device functions, compiled by the host's C++ compiler without contraction and
    /// run, give the Rust streams' bits: `ln` on every kind of input, and geometric draws
    /// (value and the stream position after) from every position within a Philox block.
    /// Skipped, saying so, where no `g++` is installed.
    #[test]
    fn the_cuda_draws_equal_the_host_streams_bit_for_bit() {
        let mut xs: Vec<f64> = Vec::new();
        let mut st = Stream::new(9, 4, rng::purpose::POISSON, 2);
        for _ in 0..3000 {
            xs.push(st.uniform_open0());
        }
        for i in 1..400u64 {
            xs.push(f64::from_bits(1.0f64.to_bits() - i));
            xs.push(f64::from_bits(std::f64::consts::SQRT_2.to_bits() - 200 + i));
            xs.push(f64::from_bits(i * 0x0000_0123_4567_89ab));
            xs.push(2f64.powi(i as i32 - 200) * 1.37);
        }
        xs.extend([1.0, 0.0, f64::MAX, f64::MIN_POSITIVE, 5e-324]);
        // (key, index, entity, position, ln_q)
        let mut draws = Vec::new();
        for j in 0..600u64 {
            let p = [0.9, 0.5, 0.1, 0.02, 1e-3, 1e-6, 1.0, 0.0][j as usize % 8];
            let ln_q = (-p as f64).ln_1p();
            draws.push((rng::key(j * 7 + 1, rng::purpose::POISSON), j * 0x1_0000_0001 % 5000, (j as u32).wrapping_mul(0x9e37_79b9), j * 3 % 37, ln_q));
        }
        let mut src = prelude();
        src.push_str("static const unsigned long long XS[] = {");
        for x in &xs {
            let _ = write!(src, "0x{:016x}ULL,", x.to_bits());
        }
        src.push_str("};\nstruct Dr { unsigned int k0, k1; unsigned long long index; unsigned int entity; unsigned long long pos, lnq; };\nstatic const Dr DR[] = {");
        for (k, index, entity, pos, lnq) in &draws {
            let _ = write!(src, "{{{}u,{}u,{}ULL,{}u,{}ULL,0x{:016x}ULL}},", k[0], k[1], index, entity, pos, lnq.to_bits());
        }
        src.push_str(
            "};\nint main() {\n  for (unsigned long long b : XS) { double x; std::memcpy(&x, &b, 8); double y = sw_ln(x); unsigned long long o; std::memcpy(&o, &y, 8); std::printf(\"%llx\\n\", o); }\n\
             for (const Dr& d : DR) { double q; std::memcpy(&q, &d.lnq, 8); unsigned long long p = d.pos; unsigned long long g = sw_geometric(q, &p, d.index, d.entity, d.k0, d.k1); std::printf(\"%llx %llx\\n\", g, p);\n\
               p = d.pos; double u = sw_uniform_open0(&p, d.index, d.entity, d.k0, d.k1); unsigned long long ub; std::memcpy(&ub, &u, 8); std::printf(\"%llx %llx\\n\", ub, p); }\n  return 0;\n}\n",
        );
        let Some(text) = compile_and_run("draws", &src) else { return };
        let mut lines = text.lines();
        for x in &xs {
            let got = u64::from_str_radix(lines.next().unwrap(), 16).unwrap();
            assert_eq!(got, rng::ln(*x).to_bits(), "ln({x:e}): C {:e}, Rust {:e}", f64::from_bits(got), rng::ln(*x));
        }
        let mut nonzero = 0;
        for &(key, index, entity, pos, ln_q) in &draws {
            let line = lines.next().unwrap();
            let (g, p) = line.split_once(' ').unwrap();
            let (g, p) = (u64::from_str_radix(g, 16).unwrap(), u64::from_str_radix(p, 16).unwrap());
            let mut s = Stream::with_key(key, entity, index);
            s.seek(pos);
            let want = s.geometric(ln_q);
            assert_eq!((g, p), (want, s.position()), "geometric(ln_q {ln_q}) of stream {index} at {pos}");
            let (u, p) = lines.next().unwrap().split_once(' ').unwrap();
            let (u, p) = (u64::from_str_radix(u, 16).unwrap(), u64::from_str_radix(p, 16).unwrap());
            s.seek(pos);
            assert_eq!((u, p), (s.uniform_open0().to_bits(), s.position()), "uniform_open0 of stream {index} at {pos}");
            nonzero += (want > 0 && want < u64::MAX) as usize;
        }
        assert!(nonzero > 200, "the draws should cover ordinary gaps ({nonzero})");
        assert!(lines.next().is_none());
    }
}
