//! The fused layer's CubeCL kernels: one thread per neuron of the batch (`m` = B·N of them)
//! runs all T steps, forward in one launch and BPTT backward in one launch. The arithmetic
//! is [`crate::fused`]'s, operation for operation, in f32; the surrogate's derivative is
//! computed in the kernel (one kernel per surrogate kind, its constants passed in).

use cubecl::prelude::*;

use crate::fused::Form;

/// The surrogate's derivative `g'(u)` (a kernel is compiled per kind); its constants
/// `p0, p1, p2` come with the launch ([`super::surrogate_consts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grad {
    /// `p0·s·(1 − s)`, `s = 1/(1 + e^{−p0·u})`.
    Sigmoid,
    /// `p0 / (1 + (p1·u)²)`.
    ATan,
    /// `max(0, p0 − p1·|u|)`.
    PiecewiseQuadratic,
    /// `p0·e^{−p1·|u|}`.
    PiecewiseExp,
    /// `p0 / (1 + |p1·u|)²`.
    SoftSign,
    /// `p0·e^{−(p1·u)²}`.
    Erf,
    /// `p0` where `|u| ≤ p2`, else `p1` (PiecewiseLeakyReLU, BilinearLeakyReLU).
    Window,
    /// `1 / (1 + p0·|u|)²`.
    FastSigmoid,
    /// `p0·max(0, 1 − |u|)`.
    Triangle,
    /// `p0·(2 − v·tanh(v/2)) / (1 + cosh v)`, `v = p0·u`.
    SignSwish,
    /// `e^{−u²·p1}·p0`.
    Stbp,
    /// 1 where `|u| < p0`, else 0.
    Stca,
}

/// The layer's constants as the kernels take them.
#[derive(CubeType, CubeLaunch)]
pub struct Consts {
    pub tau: f32,
    pub vr: f32,
    pub v_th: f32,
    pub v0: f32,
    pub p0: f32,
    pub p1: f32,
    pub p2: f32,
}

#[cube]
fn charge(v: f32, x: f32, k: f32, c: &Consts, #[comptime] form: Form) -> f32 {
    match comptime![form] {
        Form::If => v + x,
        Form::LifDecayInput => v + (x - (v - c.vr)) / c.tau,
        Form::Lif => v - (v - c.vr) / c.tau + x,
        Form::PlifDecayInput => v + (x - (v - c.vr)) * k,
        Form::Plif => v - (v - c.vr) * k + x,
    }
}

#[cube]
fn reset(h: f32, s: f32, c: &Consts, #[comptime] hard: bool) -> f32 {
    if comptime![hard] { h * (-s + 1.0) + s * c.vr } else { h - s * c.v_th }
}

#[cube]
fn spike(h: f32, c: &Consts) -> f32 {
    select(h - c.v_th >= 0.0, 1.0, 0.0)
}

#[cube]
fn grad(u: f32, c: &Consts, #[comptime] g: Grad) -> f32 {
    match comptime![g] {
        Grad::Sigmoid => {
            let s = 1.0 / (f32::exp(-(c.p0 * u)) + 1.0);
            c.p0 * s * (1.0 - s)
        }
        Grad::ATan => {
            let z = c.p1 * u;
            c.p0 / (z * z + 1.0)
        }
        Grad::PiecewiseQuadratic => f32::max(c.p0 - c.p1 * f32::abs(u), 0.0),
        Grad::PiecewiseExp => c.p0 * f32::exp(-(c.p1 * f32::abs(u))),
        Grad::SoftSign => {
            let d = f32::abs(c.p1 * u) + 1.0;
            c.p0 / (d * d)
        }
        Grad::Erf => {
            let z = c.p1 * u;
            c.p0 * f32::exp(-(z * z))
        }
        Grad::Window => select(f32::abs(u) <= c.p2, c.p0, c.p1),
        Grad::FastSigmoid => {
            let d = c.p0 * f32::abs(u) + 1.0;
            1.0 / (d * d)
        }
        Grad::Triangle => c.p0 * f32::max(1.0 - f32::abs(u), 0.0),
        Grad::SignSwish => {
            let v = c.p0 * u;
            c.p0 * (2.0 - v * f32::tanh(v / 2.0)) / (f32::cosh(v) + 1.0)
        }
        Grad::Stbp => f32::exp(-(u * u * c.p1)) * c.p0,
        Grad::Stca => select(f32::abs(u) < c.p0, 1.0, 0.0),
    }
}

/// Spikes `s` and charges `h` (`[T, m]`) of inputs `x` (`[T, m]`). `k` (`[1]`): a PLIF
/// layer's 1/τ (read only by the PLIF forms).
#[cube(launch)]
pub fn lif_forward(x: &Tensor<f32>, k: &Tensor<f32>, s: &mut Tensor<f32>, h: &mut Tensor<f32>, m: u32, steps: u32, c: Consts, #[comptime] form: Form, #[comptime] hard: bool) {
    let i = ABSOLUTE_POS;
    let m = m as usize;
    if i >= m {
        terminate!();
    }
    let kk = k[0];
    let mut v = c.v0;
    for t in 0..steps {
        let j = t as usize * m + i;
        let hh = charge(v, x[j], kk, &c, form);
        let sp = spike(hh, &c);
        h[j] = hh;
        s[j] = sp;
        v = reset(hh, sp, &c, hard);
    }
}

/// BPTT over all steps: `dx` (`[T, m]`) from `ds` (∂L/∂S, or ∂L/∂H with `out_charges`) and
/// the saved charges `h`; for PLIF forms also each neuron's Σ_t δ·∂H/∂k in `dk` (`[m]`),
/// which reads the inputs `x`.
#[cube(launch)]
pub fn lif_backward(
    ds: &Tensor<f32>,
    h: &Tensor<f32>,
    x: &Tensor<f32>,
    k: &Tensor<f32>,
    dx: &mut Tensor<f32>,
    dk: &mut Tensor<f32>,
    m: u32,
    steps: u32,
    c: Consts,
    #[comptime] form: Form,
    #[comptime] hard: bool,
    #[comptime] detach: bool,
    #[comptime] out_charges: bool,
    #[comptime] g: Grad,
) {
    let i = ABSOLUTE_POS;
    let m = m as usize;
    if i >= m {
        terminate!();
    }
    let kk = k[0];
    // ∂H/∂V and ∂H/∂X.
    let (a, b) = match comptime![form] {
        Form::If => (f32::new(1.0), f32::new(1.0)),
        Form::LifDecayInput => (1.0 - 1.0 / c.tau, 1.0 / c.tau),
        Form::Lif => (1.0 - 1.0 / c.tau, f32::new(1.0)),
        Form::PlifDecayInput => (1.0 - kk, kk),
        Form::Plif => (1.0 - kk, f32::new(1.0)),
    };
    let plif = comptime![form == Form::PlifDecayInput || form == Form::Plif];
    let mut eps = 0.0f32;
    let mut dkk = 0.0f32;
    for back in 0..steps {
        let t = steps - 1 - back;
        let j = t as usize * m + i;
        let hh = h[j];
        let u = hh - c.v_th;
        let sigma = grad(u, &c, g);
        let rho = if comptime![detach] { f32::new(0.0) } else { sigma };
        let sp = select(u >= 0.0, 1.0f32, 0.0f32);
        let dvdh = if comptime![hard] { (1.0 - sp) + (c.vr - hh) * rho } else { 1.0 - c.v_th * rho };
        let up = if comptime![out_charges] { ds[j] } else { ds[j] * sigma };
        let delta = up + eps * dvdh;
        dx[j] = b * delta;
        eps = a * delta;
        if comptime![plif] {
            // V before the step: the reset of the previous step's charge (as the forward).
            let mut v = c.v0;
            if t > 0 {
                let hp = h[j - m];
                v = reset(hp, spike(hp, &c), &c, hard);
            }
            let dh = match comptime![form] {
                Form::PlifDecayInput => x[j] - (v - c.vr),
                _ => -(v - c.vr),
            };
            dkk += delta * dh;
        }
    }
    if comptime![plif] {
        dk[i] = dkk;
    }
}
