//! Probe: a multi-step LIF layer as ONE custom autodiff op in burn 0.21 (fused forward loop
//! over all T steps, fused reverse BPTT loop in the backward), checked against the same
//! computation written with plain tensor ops under autodiff, and timed.
//!
//! Usage: `cargo run --release -p spikeworld-train-surrogate --example fused_lif_probe [T B N RUNS]`
//! (defaults 100 16 4096 5).
//!
//! The layer (decay_input = true, hard reset to 0, Heaviside spike with the ATan surrogate):
//!   H[t] = V[t-1] + (X[t] - V[t-1]) / tau ;  S[t] = (H[t] >= v_th) ;  V[t] = H[t]·(1 - S[t])
//! with V[-1] = 0; X: [T, B, N] → S: [T, B, N]. The backward (reset not detached):
//!   dH[t]   = dS[t]·g'(H[t] − v_th) + dV[t]·((1 − S[t]) − H[t]·g'(H[t] − v_th))
//!   dV[t-1] = dH[t]·(1 − 1/tau)        (dV[T-1] = 0)
//!   dX[t]   = dH[t] / tau
//! g'(x) = (α/2) / (1 + (π/2·α·x)²), α = 2.
//!
//! Findings (see /work/notes/fused_lif.md):
//! * On `Tensor<Dispatch, D>` a custom backward cannot be written with burn 0.21.0: the
//!   `DispatchTensor` primitive keeps its `kind` (which holds the `Autodiff<Flex>` tensor and
//!   its graph node) `pub(crate)` and has no public constructor or accessor, so neither the
//!   input node nor the output can be reached from outside burn-dispatch.
//! * On `Autodiff<Flex>` (the very backend type Dispatch routes to) it can: burn-autodiff's
//!   public `Backward` trait + `prepare::<C>(..).compute_bound().stateful()` + `OpsKind`
//!   (the pattern of burn's `custom-wgpu-kernel` example), written here as a free function on
//!   `Tensor<Autodiff<Flex>, 3>`; the fused loops read/write the Flex tensors' host memory
//!   directly (`FlexTensor::as_slice`, no copy in).
//! * A Dispatch-only workaround (no custom node): fused forward on `x.inner()`'s host data,
//!   the spikes as a new leaf, a first `backward()` for dL/dS, the fused BPTT on host, then a
//!   second `backward()` of `sum(X · dL/dX)` to push the gradient into X's graph.
//!
//! Variants timed (f32, CPU): Dispatch plain ops (what `net.rs` does), `Autodiff<Flex>` plain
//! ops, `Autodiff<Flex>` custom op (rayon and 1 thread), Dispatch split workaround. "fwd" is
//! X (a leaf) → S → loss = sum(S · R); "bwd" is `loss.backward()` → dL/dX.
//!
//! The [T, B, N] buffers (26 MB at the defaults) sit just below glibc's largest dynamic mmap
//! threshold (32 MB), so timings depend on the allocator's page-fault pattern; compare with
//! `MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4000000000` set.

use std::f32::consts::PI;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use burn::{Dispatch, DispatchDevice};
use burn_flex::{Flex, FlexDevice, FlexTensor};
use rayon::prelude::*;

/// The fixed LIF parameters of the layer.
#[derive(Clone, Copy, Debug)]
struct Lif {
    tau: f32,
    v_th: f32,
    alpha: f32,
    /// Parallelise the host loops over neurons with rayon (per time step).
    par: bool,
}

/// Neurons per rayon task.
const CHUNK: usize = 4096;

// ---------------------------------------------------------------------------------------
// Fused host kernels on [T, M] row-major slices (M = B·N).
// ---------------------------------------------------------------------------------------

fn fwd_row(x: &[f32], s: &mut [f32], h: &mut [f32], v: &mut [f32], p: Lif) {
    for i in 0..x.len() {
        let vi = v[i];
        let hh = vi + (x[i] - vi) / p.tau;
        let sp = if hh >= p.v_th { 1.0 } else { 0.0 };
        h[i] = hh;
        s[i] = sp;
        v[i] = hh * (1.0 - sp);
    }
}

/// Forward over all steps: returns (S, H), both [T, M].
fn lif_forward_host(x: &[f32], t_n: usize, m: usize, p: Lif) -> (Vec<f32>, Vec<f32>) {
    let mut s = vec![0.0f32; t_n * m];
    let mut h = vec![0.0f32; t_n * m];
    let mut v = vec![0.0f32; m];
    for t in 0..t_n {
        let r = t * m..(t + 1) * m;
        let (xr, sr, hr) = (&x[r.clone()], &mut s[r.clone()], &mut h[r]);
        if p.par {
            sr.par_chunks_mut(CHUNK)
                .zip(hr.par_chunks_mut(CHUNK))
                .zip(v.par_chunks_mut(CHUNK))
                .zip(xr.par_chunks(CHUNK))
                .for_each(|(((sc, hc), vc), xc)| fwd_row(xc, sc, hc, vc, p));
        } else {
            fwd_row(xr, sr, hr, &mut v, p);
        }
    }
    (s, h)
}

fn bwd_row(ds: &[f32], h: &[f32], dx: &mut [f32], dh_next: &mut [f32], p: Lif) {
    let c = PI / 2.0 * p.alpha;
    let keep = 1.0 - 1.0 / p.tau; // dH[t+1]/dV[t]
    for i in 0..ds.len() {
        let hh = h[i];
        let u = c * (hh - p.v_th);
        let sg = (p.alpha / 2.0) / (1.0 + u * u); // g'(H − v_th)
        let sp = if hh >= p.v_th { 1.0 } else { 0.0 };
        let dv = dh_next[i] * keep; // dL/dV[t]
        let dh = ds[i] * sg + dv * ((1.0 - sp) - hh * sg); // dL/dH[t]
        dx[i] = dh / p.tau;
        dh_next[i] = dh;
    }
}

/// Reverse BPTT over all steps: dL/dS [T, M] and the saved H [T, M] → dL/dX [T, M].
fn lif_backward_host(ds: &[f32], h: &[f32], t_n: usize, m: usize, p: Lif) -> Vec<f32> {
    let mut dx = vec![0.0f32; t_n * m];
    let mut dh_next = vec![0.0f32; m];
    for t in (0..t_n).rev() {
        let r = t * m..(t + 1) * m;
        let (dsr, hr, dxr) = (&ds[r.clone()], &h[r.clone()], &mut dx[r]);
        if p.par {
            dxr.par_chunks_mut(CHUNK)
                .zip(dh_next.par_chunks_mut(CHUNK))
                .zip(dsr.par_chunks(CHUNK))
                .zip(hr.par_chunks(CHUNK))
                .for_each(|(((dxc, dnc), dsc), hc)| bwd_row(dsc, hc, dxc, dnc, p));
        } else {
            bwd_row(dsr, hr, dxr, &mut dh_next, p);
        }
    }
    dx
}

// ---------------------------------------------------------------------------------------
// The custom autodiff op on Autodiff<Flex>.
// ---------------------------------------------------------------------------------------

type Ad = Autodiff<Flex>; // = Autodiff<Flex<f32, i32>, NoCheckpointing>, what Dispatch uses inside

/// Backward step of the fused LIF node; its state is H [T, B, N] (S is recomputed from it).
#[derive(Debug)]
struct FusedLifBackward {
    p: Lif,
}

impl Backward<Flex, 1> for FusedLifBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [parent] = ops.parents;
        let ds = grads.consume::<Flex>(&ops.node); // dL/dS, a FlexTensor [T, B, N]
        let Some(parent) = parent else { return };
        let h = ops.state;
        let shape = h.layout().shape().clone();
        let t_n = shape[0];
        let m = shape.num_elements() / t_n;
        let ds = contiguous(ds);
        let dx = lif_backward_host(ds.as_slice::<f32>().expect("f32"), h.as_slice::<f32>().expect("f32"), t_n, m, self.p);
        grads.register::<Flex>(parent.id, FlexTensor::from_data(TensorData::new(dx, shape)));
    }
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() { t } else { t.to_contiguous() }
}

/// S = LIF(X) over all T steps as one autodiff node. X: [T, B, N].
fn fused_lif(x: Tensor<Ad, 3>, p: Lif) -> Tensor<Ad, 3> {
    let x = x.into_primitive().tensor(); // AutodiffTensor<Flex>: pub `primitive` and `node`
    let shape = x.primitive.layout().shape().clone();
    let t_n = shape[0];
    let m = shape.num_elements() / t_n;
    let xin = contiguous(x.primitive.clone());
    let (s, h) = lif_forward_host(xin.as_slice::<f32>().expect("f32"), t_n, m, p);
    let s = FlexTensor::from_data(TensorData::new(s, shape.clone()));
    let prep = FusedLifBackward { p }.prepare::<NoCheckpointing>([x.node.clone()]).compute_bound().stateful();
    let out = match prep {
        OpsKind::Tracked(prep) => prep.finish(FlexTensor::from_data(TensorData::new(h, shape)), s),
        OpsKind::UnTracked(prep) => prep.finish(s),
    };
    Tensor::from_primitive(TensorPrimitive::Float(out))
}

// ---------------------------------------------------------------------------------------
// The same layer with plain tensor ops (as net.rs + surrogate.rs write it).
// ---------------------------------------------------------------------------------------

/// Heaviside forward, ATan surrogate backward: `h + (g − g.detach())` (surrogate.rs).
fn spike<B: Backend>(x: Tensor<B, 2>, alpha: f32) -> Tensor<B, 2> {
    let h = x.zeros_like().mask_fill(x.clone().greater_equal_elem(0.0), 1.0);
    let g = x
        .mul_scalar(std::f64::consts::PI / 2.0 * alpha as f64)
        .atan()
        .div_scalar(std::f64::consts::PI)
        .add_scalar(0.5);
    h + (g.clone() - g.detach())
}

/// Cuts `x` (`n` blocks of `batch` rows) into its blocks by recursive halving (net.rs).
fn halve<B: Backend>(x: Tensor<B, 2>, n: usize, batch: usize, out: &mut Vec<Tensor<B, 2>>) {
    if n <= 1 {
        out.push(x);
        return;
    }
    let k = n / 2;
    halve(x.clone().narrow(0, 0, k * batch), k, batch, out);
    halve(x.narrow(0, k * batch, (n - k) * batch), n - k, batch, out);
}

fn lif_plain<B: Backend>(x: Tensor<B, 3>, p: Lif) -> Tensor<B, 3> {
    let [t_n, b, n] = x.dims();
    let device = x.device();
    let mut pieces = Vec::with_capacity(t_n);
    halve(x.reshape([t_n * b, n]), t_n, b, &mut pieces);
    let (tau, v_th, vr) = (p.tau as f64, p.v_th as f64, 0.0f64);
    let mut v = Tensor::<B, 2>::zeros([b, n], &device);
    let mut out = Vec::with_capacity(t_n);
    for xi in pieces {
        let h = v.clone() + (xi - (v - vr)) / tau;
        let s = spike(h.clone() - v_th, p.alpha);
        v = h * (s.clone().neg() + 1.0) + s.clone() * vr;
        out.push(s);
    }
    Tensor::stack(out, 0)
}

// ---------------------------------------------------------------------------------------
// The Dispatch-only workaround: two backward passes around a host-fused layer.
// ---------------------------------------------------------------------------------------

/// Forward: S as a fresh leaf (not connected to X's graph) and the saved H.
fn split_forward(x: &Tensor<Dispatch, 3>, p: Lif) -> (Tensor<Dispatch, 3>, Vec<f32>) {
    let dims = x.dims();
    let xd = x.clone().inner().into_data();
    let (s, h) = lif_forward_host(xd.as_slice::<f32>().expect("f32"), dims[0], dims[1] * dims[2], p);
    let s = Tensor::<Dispatch, 3>::from_data(TensorData::new(s, dims), &x.device()).require_grad();
    (s, h)
}

/// Backward: dL/dS from the first pass, BPTT on host, then `sum(X · dX)` back through X's graph.
fn split_backward(x: &Tensor<Dispatch, 3>, s: &Tensor<Dispatch, 3>, h: &[f32], loss: Tensor<Dispatch, 1>, p: Lif) -> Tensor<Dispatch, 3> {
    let dims = x.dims();
    let grads = loss.backward();
    let ds = s.grad(&grads).expect("S is a leaf that requires grad").into_data();
    let dx = lif_backward_host(ds.as_slice::<f32>().expect("f32"), h, dims[0], dims[1] * dims[2], p);
    let dx = Tensor::<Dispatch, 3>::from_data(TensorData::new(dx, dims), &x.device());
    let grads2 = (x.clone() * dx).sum().backward();
    x.grad(&grads2).expect("X requires grad")
}

// ---------------------------------------------------------------------------------------

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
    fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| lo + (hi - lo) * self.next()).collect()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    v[v.len() / 2]
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32")
}

/// (max |a − b|, max |b|, count of |a − b| > tol_abs + tol_rel·|b|).
fn compare(a: &[f32], b: &[f32]) -> (f32, f32, usize) {
    assert_eq!(a.len(), b.len());
    let mut max_d = 0.0f32;
    let mut max_b = 0.0f32;
    let mut bad = 0;
    for (&x, &y) in a.iter().zip(b) {
        let d = (x - y).abs();
        max_d = max_d.max(d);
        max_b = max_b.max(y.abs());
        if d > 1e-5 + 1e-5 * y.abs() {
            bad += 1;
        }
    }
    (max_d, max_b, bad)
}

/// Times `runs` (after one warm-up) of forward (X leaf → loss) and backward (→ dL/dX);
/// returns (median fwd s, median bwd s, dL/dX of the first run, S of the first run).
fn bench<B, F>(name: &str, runs: usize, x: &TensorData, r: &TensorData, device: &B::Device, layer: F) -> (f64, f64, Vec<f32>, Vec<f32>)
where
    B: AutodiffBackend,
    F: Fn(Tensor<B, 3>) -> Tensor<B, 3>,
{
    let mut fwd = Vec::new();
    let mut bwd = Vec::new();
    let mut first = None;
    for k in 0..=runs {
        let xt = Tensor::<B, 3>::from_data(x.clone(), device).require_grad();
        let rt = Tensor::<B, 3>::from_data(r.clone(), device);
        B::sync(device).expect("sync");
        let t0 = Instant::now();
        let s = layer(xt.clone());
        let loss = (s.clone() * rt).sum();
        B::sync(device).expect("sync");
        let t1 = Instant::now();
        let grads = loss.backward();
        let gx = xt.grad(&grads).expect("X requires grad");
        B::InnerBackend::sync(&gx.device()).expect("sync");
        let t2 = Instant::now();
        if k > 0 {
            fwd.push((t1 - t0).as_secs_f64());
            bwd.push((t2 - t1).as_secs_f64());
        }
        if first.is_none() {
            first = Some((to_vec(gx), to_vec(s.inner())));
        }
    }
    let (f, b) = (median(fwd), median(bwd));
    println!("{name:<34} fwd {:>8.1} ms   bwd {:>8.1} ms   total {:>8.1} ms", f * 1e3, b * 1e3, (f + b) * 1e3);
    let (g, s) = first.expect("at least one run");
    (f, b, g, s)
}

fn bench_split(runs: usize, x: &TensorData, r: &TensorData, device: &DispatchDevice, p: Lif) -> (f64, f64, Vec<f32>, Vec<f32>) {
    let mut fwd = Vec::new();
    let mut bwd = Vec::new();
    let mut first = None;
    for k in 0..=runs {
        let xt = Tensor::<Dispatch, 3>::from_data(x.clone(), device).require_grad();
        let rt = Tensor::<Dispatch, 3>::from_data(r.clone(), device);
        let t0 = Instant::now();
        let (s, h) = split_forward(&xt, p);
        let loss = (s.clone() * rt).sum();
        let t1 = Instant::now();
        let gx = split_backward(&xt, &s, &h, loss, p);
        let t2 = Instant::now();
        if k > 0 {
            fwd.push((t1 - t0).as_secs_f64());
            bwd.push((t2 - t1).as_secs_f64());
        }
        if first.is_none() {
            first = Some((to_vec(gx), to_vec(s.inner())));
        }
    }
    let (f, b) = (median(fwd), median(bwd));
    println!("{:<34} fwd {:>8.1} ms   bwd {:>8.1} ms   total {:>8.1} ms", "Dispatch split (2 backward, host)", f * 1e3, b * 1e3, (f + b) * 1e3);
    let (g, s) = first.expect("at least one run");
    (f, b, g, s)
}

/// The custom op inside a larger graph: X = inp · W, S = LIF(X), L = sum(S · R); dL/dW and
/// dL/dinp from the fused node must equal those of the plain ops.
fn check_in_graph(p: Lif) {
    let (t_n, b, n_in, n) = (12, 3, 40, 50);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let inp = TensorData::new(rng.vec(t_n * b * n_in, 0.0, 1.0), [t_n * b, n_in]);
    let w = TensorData::new(rng.vec(n_in * n, -0.2, 0.6), [n_in, n]);
    let r = TensorData::new(rng.vec(t_n * b * n, -1.0, 1.0), [t_n, b, n]);
    let dev = FlexDevice;
    let run = |fused: bool| {
        let inp = Tensor::<Ad, 2>::from_data(inp.clone(), &dev).require_grad();
        let w = Tensor::<Ad, 2>::from_data(w.clone(), &dev).require_grad();
        let x = inp.clone().matmul(w.clone()).reshape([t_n, b, n]);
        let s = if fused { fused_lif(x, p) } else { lif_plain(x, p) };
        let spikes: f32 = s.clone().sum().into_scalar();
        let grads = (s * Tensor::<Ad, 3>::from_data(r.clone(), &dev)).sum().backward();
        (spikes, to_vec(w.grad(&grads).expect("W")), to_vec(inp.grad(&grads).expect("inp")))
    };
    let (s0, gw0, gi0) = run(false);
    let (s1, gw1, gi1) = run(true);
    let (dw, mw, bw) = compare(&gw1, &gw0);
    let (di, mi, bi) = compare(&gi1, &gi0);
    println!(
        "in-graph check (matmul → LIF → loss, Autodiff<Flex>): spikes {s0} vs {s1}; dL/dW max|Δ| {dw:.2e} (max|g| {mw:.2e}, {bw} over tol); dL/dinp max|Δ| {di:.2e} (max|g| {mi:.2e}, {bi} over tol)"
    );
    assert!(s0 == s1 && bw == 0 && bi == 0, "in-graph gradients differ");
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers: T B N RUNS")).collect();
    let get = |i: usize, d: usize| args.get(i).copied().unwrap_or(d);
    let (t_n, b, n, runs) = (get(0, 100), get(1, 16), get(2, 4096), get(3, 5));
    let p = Lif { tau: 2.0, v_th: 1.0, alpha: 2.0, par: true };
    println!("fused LIF probe: T = {t_n}, B = {b}, N = {n}, {runs} runs (+1 warm-up), f32, rayon threads = {}", rayon::current_num_threads());

    check_in_graph(p);

    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let x = TensorData::new(rng.vec(t_n * b * n, -1.0, 3.0), [t_n, b, n]);
    let r = TensorData::new(rng.vec(t_n * b * n, -1.0, 1.0), [t_n, b, n]);

    let dd = DispatchDevice::autodiff(DispatchDevice::Flex(Default::default()));
    let fd = FlexDevice;
    let (f0, b0, g_ref, s_ref) = bench::<Dispatch, _>("Dispatch plain ops (net.rs style)", runs, &x, &r, &dd, |x| lif_plain(x, p));
    let rate = s_ref.iter().sum::<f32>() / s_ref.len() as f32;
    println!("  (spike rate {rate:.3})");
    let mut rows = vec![("Dispatch plain ops (net.rs style)", f0, b0)];
    let mut check = |name: &'static str, (f, bw, g, s): (f64, f64, Vec<f32>, Vec<f32>)| {
        let s_bad = s.iter().zip(&s_ref).filter(|(a, b)| a != b).count();
        let (d, m, bad) = compare(&g, &g_ref);
        println!("  vs reference: S mismatches {s_bad}; dL/dX max|Δ| {d:.2e} (max|g| {m:.2e}), {bad} elements over 1e-5 + 1e-5·|g|");
        rows.push((name, f, bw));
        s_bad == 0 && bad == 0
    };
    let mut ok = true;
    ok &= check("Autodiff<Flex> plain ops", bench::<Ad, _>("Autodiff<Flex> plain ops", runs, &x, &r, &fd, |x| lif_plain(x, p)));
    ok &= check("Autodiff<Flex> fused op (rayon)", bench::<Ad, _>("Autodiff<Flex> fused op (rayon)", runs, &x, &r, &fd, |x| fused_lif(x, p)));
    let p1 = Lif { par: false, ..p };
    ok &= check("Autodiff<Flex> fused op (1 thread)", bench::<Ad, _>("Autodiff<Flex> fused op (1 thread)", runs, &x, &r, &fd, |x| fused_lif(x, p1)));
    ok &= check("Dispatch split (2 backward, host)", bench_split(runs, &x, &r, &dd, p));

    println!("\n| variant | forward ms | backward ms | total ms | speed-up (total) |\n|---|---:|---:|---:|---:|");
    for (name, f, bw) in &rows {
        println!("| {name} | {:.1} | {:.1} | {:.1} | {:.1}× |", f * 1e3, bw * 1e3, (f + bw) * 1e3, (f0 + b0) / (f + bw));
    }
    println!("\ngradients match: {ok}");
    assert!(ok, "a variant's spikes or gradients differ from the reference");
}
