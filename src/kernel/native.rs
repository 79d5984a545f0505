//! The native build of a model given as a [`Program`]: the program written out as a C loop
//! over neurons, compiled once by the system's C compiler into a shared library (cached on
//! disk by the hash of its source and the CPU's features), loaded and called by the cpu
//! engine instead of the interpreter. Brian2's standalone and GeNN compile their models
//! the same way.
//!
//! The same bits as the interpreter: one statement per operation, in the program's order,
//! compiled with `-ffp-contract=off` and without `-ffast-math` (no fused multiply-add, no
//! reassociation, `exp` and `log` the C library's, which Rust's `f64::exp` and `f64::ln`
//! call too); a test compares both on every operation and on edge values. Where no C
//! compiler is found, or `SPIKEWORLD_NATIVE=0`, the interpreter runs (and says so once).
//!
//! `unsafe` here: loading the library and calling its function, whose signature this module
//! wrote; the pointers it passes are to slices of at least `n` values.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::api::program::{CStyle, Program};

/// `void sw_step(double **vars, double **inputs, unsigned long n, unsigned char *spiked)`.
type StepFn = unsafe extern "C" fn(*const *mut f64, *const *mut f64, usize, *mut u8);

/// A program compiled to native code.
pub(crate) struct NativeStep {
    // (Kept alive as long as `func` may be called.)
    _lib: libloading::Library,
    func: StepFn,
}

/// A C literal with exactly the value `x` (hexadecimal floating point).
fn c_double(x: f64) -> String {
    if x.is_nan() {
        return "__builtin_nan(\"\")".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "__builtin_inf()".into() } else { "(-__builtin_inf())".into() };
    }
    let bits = x.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let man = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        // Zero or subnormal: 0x0.MMMMp-1022.
        return format!("{sign}0x0.{man:013x}p-1022");
    }
    format!("{sign}0x1.{man:013x}p{:+}", exp - 1023)
}

/// The program as C source.
fn source(p: &Program) -> String {
    let nv = p.vars as usize;
    let ni = p.inputs as usize;
    // The rows are parameters marked `restrict` (GCC ignores `restrict` on local pointers,
    // and without it gives up vectorising a loop over more than a few arrays).
    let rows: Vec<String> = (0..nv).map(|k| format!("double *restrict v{k}")).chain((0..ni).map(|r| format!("double *restrict i{r}"))).collect();
    let args: Vec<String> = (0..nv).map(|k| format!("vars[{k}]")).chain((0..ni).map(|r| format!("inputs[{r}]"))).collect();
    let mut s = String::from("#include <math.h>\n#include <stddef.h>\n");
    let _ = writeln!(s, "static __attribute__((noinline)) void step(unsigned long n, {}, unsigned char *restrict spiked) {{", rows.join(", "));
    s += "  for (unsigned long j = 0; j < n; j++) {\n";
    for k in 0..nv {
        let _ = writeln!(s, "    const double f{k} = v{k}[j];");
    }
    for r in 0..ni {
        let _ = writeln!(s, "    const double f{} = i{r}[j]; i{r}[j] = 0.0;", nv + r);
    }
    let (mut f, mut m) = (nv + ni, 0usize);
    let style = CStyle { suffix: "", mask: "int", and: "&", or: "|", konst: &|bits| c_double(f64::from_bits(bits)) };
    for op in &p.ops {
        let line = op.c_statement(&p.consts, f, m, &style);
        let _ = writeln!(s, "    {line}");
        if op.is_mask() {
            m += 1;
        } else {
            f += 1;
        }
    }
    for (k, &o) in p.outputs.iter().enumerate() {
        if o as usize != k {
            let _ = writeln!(s, "    v{k}[j] = f{o};");
        }
    }
    let _ = writeln!(s, "    spiked[j] = (unsigned char)m{};\n  }}\n}}", p.spike);
    let _ = writeln!(s, "void sw_step(double **vars, double **inputs, unsigned long n, unsigned char *spiked) {{\n  step(n, {}, spiked);\n}}", args.join(", "));
    s
}

/// The CPU features the code may use, as part of the cache key (a cache shared between
/// machines must not hand one a library built for another's instructions).
fn cpu_key() -> String {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        format!("x86_64 avx2={} avx512f={} avx512dq={} avx512vl={} fma={}", has!("avx2"), has!("avx512f"), has!("avx512dq"), has!("avx512vl"), has!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::env::consts::ARCH.to_string()
    }
}

const FLAGS: &[&str] = &["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared"];

fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SPIKEWORLD_CACHE") {
        return PathBuf::from(d).join("kernels");
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("spikeworld/kernels");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/spikeworld/kernels"),
        None => std::env::temp_dir().join("spikeworld-kernels"),
    }
}

/// Whether native builds are wanted (`SPIKEWORLD_NATIVE=0` turns them off).
pub(crate) fn enabled() -> bool {
    std::env::var("SPIKEWORLD_NATIVE").map_or(true, |v| v != "0")
}

impl NativeStep {
    /// Compiles (or finds in the cache) and loads the program's native build.
    pub(crate) fn build(p: &Program) -> Result<NativeStep, String> {
        let src = source(p);
        let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let key = format!("{src}\n{compiler}\n{}\n{}", FLAGS.join(" "), cpu_key());
        let hash = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(key.as_bytes()));
        let dir = cache_dir();
        let lib = dir.join(format!("{hash}.so"));
        if !lib.exists() {
            compile(&src, &compiler, &dir, &hash, &lib)?;
        }
        // SAFETY: the library is one this module compiled from the source above (named by
        // the hash of that source, the flags and the CPU); loading it runs no initialiser
        // of ours but the C runtime's.
        let loaded = unsafe { libloading::Library::new(&lib) }.map_err(|e| format!("loading {}: {e}", lib.display()))?;
        // SAFETY: `sw_step` has the signature `StepFn` (written by `source`).
        let func: StepFn = *unsafe { loaded.get::<StepFn>(b"sw_step\0") }.map_err(|e| format!("{}: {e}", lib.display()))?;
        Ok(NativeStep { _lib: loaded, func })
    }

    /// Runs `n` neurons: `vars[k]` and `inputs[r]` point at `n` values each (an absent input
    /// at `n` zeros), `spiked[j]` is set to 0 or 1.
    pub(crate) fn run(&self, vars: &[*mut f64], inputs: &[*mut f64], n: usize, spiked: &mut [u8]) {
        assert!(spiked.len() >= n);
        // SAFETY: every pointer is to at least `n` values the caller holds mutably (checked
        // by the caller, `ProgramStep::step_cpu_with`), `spiked` has room for `n`; the
        // function reads and writes exactly those.
        unsafe { (self.func)(vars.as_ptr(), inputs.as_ptr(), n, spiked.as_mut_ptr()) };
    }
}

fn compile(src: &str, compiler: &str, dir: &Path, hash: &str, lib: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Written under names of this build (process and count), then renamed into place: two
    // threads or processes building the same library never see a partial one.
    static BUILDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tag = format!("{hash}.{}.{}", std::process::id(), BUILDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let c = dir.join(format!("{tag}.c"));
    let tmp = dir.join(format!("{tag}.so"));
    std::fs::write(&c, src).map_err(|e| format!("{}: {e}", c.display()))?;
    let out = Command::new(compiler).args(FLAGS).arg("-o").arg(&tmp).arg(&c).arg("-lm").output().map_err(|e| format!("running `{compiler}`: {e}"))?;
    if std::env::var_os("SPIKEWORLD_KEEP_C").is_none() {
        let _ = std::fs::remove_file(&c);
    }
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("`{compiler}` failed: {}", String::from_utf8_lossy(&out.stderr).lines().take(5).collect::<Vec<_>>().join(" / ")));
    }
    std::fs::rename(&tmp, lib).map_err(|e| format!("{}: {e}", lib.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::Lanes;
    use crate::api::program::Sym;
    use crate::kernel::program_plan::{CHUNK, Plan};

    #[test]
    fn literals_are_exact() {
        assert_eq!(c_double(1.0), "0x1.0000000000000p+0");
        assert_eq!(c_double(0.1), "0x1.999999999999ap-4");
        assert_eq!(c_double(-2.5), "-0x1.4000000000000p+1");
        assert_eq!(c_double(5e-324), "0x0.0000000000001p-1022");
        assert_eq!(c_double(-0.0), "-0x0.0000000000000p-1022");
        assert_eq!(c_double(f64::MAX), "0x1.fffffffffffffp+1023");
    }

    /// Every operation, on values that include NaN, infinities, signed zeros and
    /// subnormals: the native build and the interpreter agree bit for bit.
    #[test]
    fn the_native_build_gives_the_interpreters_bits() {
        let p = Program::trace(3, 2, |s: &mut [Sym], i: &[Sym]| {
            let a = s[0] + i[0];
            let b = (s[1] - 0.25) * i[1] / 3.0;
            let e = (a / 100.0).exp() + b.abs().ln() + (s[2].abs() + 1e-300).sqrt();
            let m = a.gt_lanes(&b);
            let c = Sym::select(&m, e, -b);
            let n = Sym::and(&c.ge(0.5), &Sym::not(&s[2].le(-1.0)));
            s[0] = Sym::select_const(&n, -65.0, c);
            s[1] = c.min(b).max_c(-1e3);
            Sym::or(&n, &a.lt(-1e308))
        });
        let native = match NativeStep::build(&p) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("no native build here ({e}): nothing to compare");
                return;
            }
        };
        let specials = [0.0, -0.0, 1.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 5e-324, -1e-310, 1e308, -1e308, 0.5, 2.0, -65.0, 1e-3];
        let n = 300;
        let val = |k: usize, j: usize| -> f64 {
            if (j + k) % 3 == 0 { specials[(j * 7 + k) % specials.len()] } else { ((j * 2654435761 + k * 40503) % 100_000) as f64 / 37.0 - 1000.0 }
        };
        let vars0: Vec<Vec<f64>> = (0..3).map(|k| (0..n).map(|j| val(k, j)).collect()).collect();
        let ins0: Vec<Vec<f64>> = (0..2).map(|k| (0..n).map(|j| val(k + 3, j)).collect()).collect();
        // The interpreter.
        let plan = Plan::new(&p);
        let (nf, nm) = plan.sizes();
        let (mut f, mut mm) = (vec![0.0; nf], vec![0u64; nm]);
        let mut v1 = vars0.clone();
        let mut i1 = ins0.clone();
        let mut spikes1 = Vec::new();
        let mut lo = 0;
        while lo < n {
            let len = CHUNK.min(n - lo);
            let mut vr: Vec<&mut [f64]> = v1.iter_mut().map(|v| &mut v[..]).collect();
            let mut ir: Vec<&mut [f64]> = i1.iter_mut().map(|v| &mut v[..]).collect();
            plan.run(crate::api::run::Simd::Portable, &mut f, &mut mm, &mut vr, &mut ir, lo, len, 0, &mut spikes1);
            lo += len;
        }
        // The native build.
        let mut v2 = vars0.clone();
        let mut i2 = ins0.clone();
        let vp: Vec<*mut f64> = v2.iter_mut().map(|v| v.as_mut_ptr()).collect();
        let ip: Vec<*mut f64> = i2.iter_mut().map(|v| v.as_mut_ptr()).collect();
        let mut spiked = vec![0u8; n];
        native.run(&vp, &ip, n, &mut spiked);
        let spikes2: Vec<u32> = (0..n as u32).filter(|&j| spiked[j as usize] != 0).collect();
        assert_eq!(spikes1, spikes2);
        for k in 0..3 {
            for j in 0..n {
                assert_eq!(v1[k][j].to_bits(), v2[k][j].to_bits(), "var {k}, neuron {j}: {} vs {}", v1[k][j], v2[k][j]);
            }
        }
        assert!(i2.iter().all(|i| i.iter().all(|&x| x == 0.0)), "inputs are cleared");
        assert!(!spikes1.is_empty() && spikes1.len() < n);
    }

    /// Every [`crate::api::program::Fun`], on ordinary values and on NaN, infinities,
    /// signed zeros, subnormals and the edges of each domain: the native build (the C
    /// library's functions), the interpreter and [`Program::run`] agree bit for bit.
    #[test]
    fn math_functions_give_the_same_bits_native_and_interpreted() {
        use crate::api::program::{Fun, Op};
        let k = Fun::ALL.len() as u32;
        let mut ops: Vec<Op> = Fun::ALL.iter().enumerate().map(|(j, &g)| Op::Math(g, j as u32)).collect();
        ops.push(Op::Gt(k, 0));
        let p = Program { vars: k, inputs: 0, ops, consts: vec![], outputs: (k..2 * k).collect(), spike: 0 };
        let native = match NativeStep::build(&p) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("no native build here ({e}): nothing to compare");
                return;
            }
        };
        let specials = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-300, -1e-300, 5e-324, 1e-17, -1e-17, 0.999999, 710.0, -745.0, 1e308, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 3.0, 100.5, -2.5];
        let n = 200;
        let val = |j: usize, c: usize| if j < specials.len() { specials[(j + c) % specials.len()] } else { ((j * 2654435761 + c * 977) % 20_000) as f64 / 1000.0 - 10.0 };
        let vars0: Vec<Vec<f64>> = (0..k as usize).map(|c| (0..n).map(|j| val(j, c)).collect()).collect();
        let plan = Plan::new(&p);
        let (nf, nm) = plan.sizes();
        let (mut f, mut mm) = (vec![0.0; nf], vec![0u64; nm]);
        let mut v1 = vars0.clone();
        let mut spikes1 = Vec::new();
        let mut lo = 0;
        while lo < n {
            let len = CHUNK.min(n - lo);
            let mut vr: Vec<&mut [f64]> = v1.iter_mut().map(|v| &mut v[..]).collect();
            plan.run(crate::api::run::Simd::Portable, &mut f, &mut mm, &mut vr, &mut [], lo, len, 0, &mut spikes1);
            lo += len;
        }
        let mut v2 = vars0.clone();
        let vp: Vec<*mut f64> = v2.iter_mut().map(|v| v.as_mut_ptr()).collect();
        let mut spiked = vec![0u8; n];
        native.run(&vp, &[], n, &mut spiked);
        let (mut fs, mut ms) = (Vec::new(), Vec::new());
        for j in 0..n {
            let mut one: Vec<f64> = vars0.iter().map(|v| v[j]).collect();
            p.run(&mut one, &[], &mut fs, &mut ms);
            for (c, g) in Fun::ALL.iter().enumerate() {
                let want = g.eval(vars0[c][j]);
                assert_eq!(one[c].to_bits(), want.to_bits(), "{g:?}({})", vars0[c][j]);
                assert_eq!(v1[c][j].to_bits(), want.to_bits(), "interpreted {g:?}({}): {} vs {want}", vars0[c][j], v1[c][j]);
                assert_eq!(v2[c][j].to_bits(), want.to_bits(), "native {g:?}({}): {} vs {want}", vars0[c][j], v2[c][j]);
            }
        }
        // The functions are the functions (not, say, all the identity).
        assert_eq!(Fun::Expm1.eval(1e-17), 1e-17);
        assert_eq!(Fun::Log1p.eval(-1e-17), -1e-17);
        assert!((Fun::Atan.eval(1.0) - std::f64::consts::FRAC_PI_4).abs() < 1e-16);
        assert_eq!((Fun::Floor.eval(-2.5), Fun::Ceil.eval(-2.5), Fun::Log10.eval(1000.0)), (-3.0, -2.0, 3.0));
    }
}
