//! Surrogate spike functions for surrogate-gradient training.
//!
//! A spike is the Heaviside step of the (threshold-shifted) membrane potential,
//! `H(x) = 1 if x >= 0 else 0` (SpikingJelly's convention, so `H(0) = H(-0.0) = 1`). `H` has
//! no useful derivative, so the backward pass uses `g'(x)`, the derivative of a smooth
//! "primitive" `g` that approximates the step (SpikingJelly `activation_based.surrogate`,
//! snnTorch `surrogate`, SpikingFlow `softbp.soft_pulse_function`).
//!
//! [`Surrogate::spike`] is built straight-through: `H(x) + (g(x) - detach(g(x)))`. Its value is
//! exactly `H(x)` (for finite `g`), and autodiff differentiates the `g` term only, so the gradient
//! is exactly `g'(x)` as burn computes it. [`Surrogate::grad`] reproduces that derivative in `f64`.
//!
//! Breakpoints of the piecewise functions: the closed middle interval wins, i.e. at `x = ±w`
//! (`piecewise_leaky_relu`), `x = ±c` (`bilinear_leaky_relu`) the gradient is the in-window
//! value, and at `x = 0` (`piecewise_exp`) the `x >= 0` piece is used (both sides agree there).
//! `piecewise_quadratic` and `triangle` have continuous derivatives (0 at their edges).

use burn::tensor::{Tensor, activation, backend::Backend};
use std::f64::consts::PI;

/// A surrogate: forward `H(x)`, backward `g'(x)`.
///
/// `α` (`alpha`) is each function's sharpness parameter; the defaults are those of the cited
/// libraries (see [`Surrogate::parse`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Surrogate {
    /// SpikingJelly `Sigmoid` / SpikingFlow `Sigmoid` (α = 4):
    /// `g = sigmoid(αx)`, `g' = α·s·(1 − s)` with `s = sigmoid(αx)`.
    Sigmoid {
        /// Sharpness α.
        alpha: f64,
    },
    /// SpikingJelly / snnTorch `ATan` (α = 2):
    /// `g = atan(π/2·α·x)/π + 1/2`, `g' = (α/2) / (1 + (π/2·α·x)²)`.
    ATan {
        /// Sharpness α.
        alpha: f64,
    },
    /// SpikingJelly `PiecewiseQuadratic` (α = 1): `g = 0` for `x < −1/α`, `1` for `x > 1/α`,
    /// else `−α²·x·|x|/2 + α·x + 1/2`; `g' = max(0, α − α²·|x|)`.
    PiecewiseQuadratic {
        /// Sharpness α (the window is `|x| ≤ 1/α`).
        alpha: f64,
    },
    /// SpikingJelly `PiecewiseExp` (α = 1): `g = e^{αx}/2` for `x < 0`, `1 − e^{−αx}/2` for
    /// `x ≥ 0`; `g' = (α/2)·e^{−α|x|}`.
    PiecewiseExp {
        /// Sharpness α.
        alpha: f64,
    },
    /// SpikingJelly `SoftSign` (α = 2): `g = (αx/(1 + |αx|) + 1)/2`, `g' = α/(2(1 + |αx|)²)`.
    SoftSign {
        /// Sharpness α.
        alpha: f64,
    },
    /// SpikingJelly `Erf` (α = 2): `g = erfc(−αx)/2 = (1 + erf(αx))/2`,
    /// `g' = (α/√π)·e^{−α²x²}`.
    Erf {
        /// Sharpness α.
        alpha: f64,
    },
    /// SpikingJelly `PiecewiseLeakyReLU` (w = 1, c = 0.01; `alpha` sets `w`):
    /// `g = cx + cw` for `x < −w`, `x/(2w) + 1/2` for `−w ≤ x ≤ w`, `cx − cw + 1` for `x > w`;
    /// `g' = 1/(2w)` for `|x| ≤ w`, else `c`.
    PiecewiseLeakyReLU {
        /// Half-width `w` of the window.
        w: f64,
        /// Leak slope `c` outside the window.
        c: f64,
    },
    /// snnTorch `fast_sigmoid` (SuperSpike, Zenke & Ganguli 2018; slope α = 25):
    /// `g = x/(1 + α|x|) + 1/2`, `g' = 1/(1 + α|x|)²`. (`g` ranges over `1/2 ± 1/α`: the
    /// gradient peaks at 1 and is not normalised.) Also accepted as `super_spike`.
    FastSigmoid {
        /// Slope α.
        alpha: f64,
    },
    /// Triangle (Esser et al. 2016, Bellec et al. 2018 pseudo-derivative; α = 1):
    /// `g' = α·max(0, 1 − |x|)`, `g = α·(x' − x'|x'|/2 + 1/2)` with `x' = clamp(x, −1, 1)`
    /// (so `g` runs from 0 to α). snnTorch's `triangular` is not used: its backward is
    /// `±threshold` with no window.
    Triangle {
        /// Peak gradient α.
        alpha: f64,
    },
    /// SpikingFlow `BilinearLeakyReLU` (a = 1, b = 0.01, c = 0.5; `alpha` sets `a`):
    /// `g = bx + bc − ac` for `x < −c`, `ax` for `−c ≤ x ≤ c`, `bx − bc + ac` for `x > c`;
    /// `g' = a` for `|x| ≤ c`, else `b`. (`g` approximates `H − 1/2` when `a·c = 1/2`.)
    BilinearLeakyReLU {
        /// Gradient `a` inside the window.
        a: f64,
        /// Gradient `b` outside the window.
        b: f64,
        /// Half-width `c` of the window.
        c: f64,
    },
    /// SpikingFlow `SignSwish` (Darabi et al. 2018, BNN+; β = 5; `alpha` sets β):
    /// `g = 2·sigmoid(βx)·(1 + βx·(1 − sigmoid(βx))) − 1 = tanh(βx/2) + βx/(1 + cosh(βx))`
    /// (computed in the second, better-conditioned form),
    /// `g' = β·(2 − βx·tanh(βx/2)) / (1 + cosh(βx))`. (`g` approximates `sign = 2H − 1`, so the
    /// gradient integrates to 2; it is slightly negative for `|βx| > 2.4`.)
    SignSwish {
        /// Sharpness β.
        beta: f64,
    },
    /// SPAIC's `STBP` learner (Wu et al. 2018; α = 0.5): a Gaussian window written as SPAIC's
    /// code has it, `g' = e^{−x²/(2α)} / (2πα)` (SPAIC divides by 2πα, not √(2πα): its peak
    /// is 1/(2πα), and the window integrates to 1/√(2πα)), so
    /// `g = (1 + erf(x/√(2α))) / (2√(2πα))`.
    Stbp {
        /// Variance α of the window.
        alpha: f64,
    },
    /// SPAIC's `STCA` learner (Gu et al. 2019; α = 0.5): a rectangular window,
    /// `g' = 1` for `|x| < α`, else 0 (strict, as SPAIC's `abs(x − θ) < α`), so
    /// `g = clamp(x, −α, α)`.
    Stca {
        /// Half-width α of the window.
        alpha: f64,
    },
}

impl Surrogate {
    /// Names accepted by `parse`, for error messages and `spikeworld info`.
    pub const NAMES: &'static [&'static str] = &[
        "sigmoid",
        "atan",
        "piecewise_quadratic",
        "piecewise_exp",
        "soft_sign",
        "erf",
        "piecewise_leaky_relu",
        "fast_sigmoid",
        "triangle",
        "bilinear_leaky_relu",
        "sign_swish",
        "stbp",
        "stca",
    ];

    /// `name` with optional `alpha` (each function's default when None). Errors: unknown name
    /// (listing NAMES), alpha <= 0 or not finite.
    ///
    /// Defaults: sigmoid 4, atan 2, piecewise_quadratic 1, piecewise_exp 1, soft_sign 2, erf 2,
    /// piecewise_leaky_relu `w` = 1 (c = 0.01), fast_sigmoid 25, triangle 1,
    /// bilinear_leaky_relu `a` = 1 (b = 0.01, c = 0.5), sign_swish β = 5, stbp 0.5, stca 0.5. Names are matched
    /// case-insensitively; `super_spike` is an alias of `fast_sigmoid`.
    pub fn parse(name: &str, alpha: Option<f64>) -> Result<Surrogate, String> {
        if let Some(a) = alpha.filter(|a| !(a.is_finite() && *a > 0.0)) {
            return Err(format!("surrogate alpha must be finite and > 0, got {a}"));
        }
        let p = |default: f64| alpha.unwrap_or(default);
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "sigmoid" => Surrogate::Sigmoid { alpha: p(4.0) },
            "atan" => Surrogate::ATan { alpha: p(2.0) },
            "piecewise_quadratic" => Surrogate::PiecewiseQuadratic { alpha: p(1.0) },
            "piecewise_exp" => Surrogate::PiecewiseExp { alpha: p(1.0) },
            "soft_sign" => Surrogate::SoftSign { alpha: p(2.0) },
            "erf" => Surrogate::Erf { alpha: p(2.0) },
            "piecewise_leaky_relu" => Surrogate::PiecewiseLeakyReLU { w: p(1.0), c: 0.01 },
            "fast_sigmoid" | "super_spike" => Surrogate::FastSigmoid { alpha: p(25.0) },
            "triangle" => Surrogate::Triangle { alpha: p(1.0) },
            "bilinear_leaky_relu" => Surrogate::BilinearLeakyReLU {
                a: p(1.0),
                b: 0.01,
                c: 0.5,
            },
            "sign_swish" => Surrogate::SignSwish { beta: p(5.0) },
            "stbp" => Surrogate::Stbp { alpha: p(0.5) },
            "stca" => Surrogate::Stca { alpha: p(0.5) },
            _ => {
                return Err(format!(
                    "unknown surrogate {name:?}; expected one of: {}",
                    Self::NAMES.join(", ")
                ));
            }
        })
    }

    /// The canonical name (an entry of [`Surrogate::NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Surrogate::Sigmoid { .. } => "sigmoid",
            Surrogate::ATan { .. } => "atan",
            Surrogate::PiecewiseQuadratic { .. } => "piecewise_quadratic",
            Surrogate::PiecewiseExp { .. } => "piecewise_exp",
            Surrogate::SoftSign { .. } => "soft_sign",
            Surrogate::Erf { .. } => "erf",
            Surrogate::PiecewiseLeakyReLU { .. } => "piecewise_leaky_relu",
            Surrogate::FastSigmoid { .. } => "fast_sigmoid",
            Surrogate::Triangle { .. } => "triangle",
            Surrogate::BilinearLeakyReLU { .. } => "bilinear_leaky_relu",
            Surrogate::SignSwish { .. } => "sign_swish",
            Surrogate::Stbp { .. } => "stbp",
            Surrogate::Stca { .. } => "stca",
        }
    }

    /// The smooth primitive g(x) (approximates H; g' is the surrogate gradient).
    pub fn primitive(&self, x: f64) -> f64 {
        match *self {
            Surrogate::Sigmoid { alpha } => sigmoid(alpha * x),
            Surrogate::ATan { alpha } => (PI / 2.0 * alpha * x).atan() / PI + 0.5,
            Surrogate::PiecewiseQuadratic { alpha } => {
                let xc = x.clamp(-1.0 / alpha, 1.0 / alpha);
                -alpha * alpha * xc * xc.abs() / 2.0 + alpha * xc + 0.5
            }
            Surrogate::PiecewiseExp { alpha } if x < 0.0 => (alpha * x).exp() / 2.0,
            Surrogate::PiecewiseExp { alpha } => 1.0 - (-alpha * x).exp() / 2.0,
            Surrogate::SoftSign { alpha } => ((alpha * x) / (1.0 + (alpha * x).abs()) + 1.0) / 2.0,
            Surrogate::Erf { alpha } => (1.0 + erf(alpha * x)) / 2.0,
            Surrogate::PiecewiseLeakyReLU { w, c } => {
                if x < -w {
                    c * x + c * w
                } else if x > w {
                    c * x - c * w + 1.0
                } else {
                    x / (2.0 * w) + 0.5
                }
            }
            Surrogate::FastSigmoid { alpha } => x / (1.0 + alpha * x.abs()) + 0.5,
            Surrogate::Triangle { alpha } => {
                let xc = x.clamp(-1.0, 1.0);
                alpha * (xc - xc * xc.abs() / 2.0 + 0.5)
            }
            Surrogate::BilinearLeakyReLU { a, b, c } => {
                if x < -c {
                    b * x + b * c - a * c
                } else if x > c {
                    b * x - b * c + a * c
                } else {
                    a * x
                }
            }
            Surrogate::SignSwish { beta } => {
                let u = beta * x;
                (u / 2.0).tanh() + u / (1.0 + u.cosh())
            }
            Surrogate::Stbp { alpha } => (1.0 + erf(x / (2.0 * alpha).sqrt())) / (2.0 * (2.0 * PI * alpha).sqrt()),
            Surrogate::Stca { alpha } => x.clamp(-alpha, alpha),
        }
    }

    /// g'(x), the exact derivative of `primitive` (at the breakpoints of the piecewise
    /// functions, the value autodiff produces through [`Surrogate::spike`]: see the module docs).
    pub fn grad(&self, x: f64) -> f64 {
        match *self {
            Surrogate::Sigmoid { alpha } => {
                let s = sigmoid(alpha * x);
                alpha * s * (1.0 - s)
            }
            Surrogate::ATan { alpha } => alpha / 2.0 / (1.0 + (PI / 2.0 * alpha * x).powi(2)),
            Surrogate::PiecewiseQuadratic { alpha } => (alpha - alpha * alpha * x.abs()).max(0.0),
            Surrogate::PiecewiseExp { alpha } => alpha / 2.0 * (-alpha * x.abs()).exp(),
            Surrogate::SoftSign { alpha } => alpha / (2.0 * (1.0 + (alpha * x).abs()).powi(2)),
            Surrogate::Erf { alpha } => alpha / PI.sqrt() * (-(alpha * x).powi(2)).exp(),
            Surrogate::PiecewiseLeakyReLU { w, c } => {
                if x.abs() <= w {
                    1.0 / (2.0 * w)
                } else {
                    c
                }
            }
            Surrogate::FastSigmoid { alpha } => 1.0 / (1.0 + alpha * x.abs()).powi(2),
            Surrogate::Triangle { alpha } => alpha * (1.0 - x.abs()).max(0.0),
            Surrogate::BilinearLeakyReLU { a, b, c } => {
                if x.abs() <= c {
                    a
                } else {
                    b
                }
            }
            Surrogate::SignSwish { beta } => {
                let u = beta * x;
                beta * (2.0 - u * (u / 2.0).tanh()) / (1.0 + u.cosh())
            }
            Surrogate::Stbp { alpha } => (-x * x / (2.0 * alpha)).exp() / (2.0 * PI * alpha),
            Surrogate::Stca { alpha } => {
                if x.abs() < alpha {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Forward: H(x) elementwise (1.0 where x >= 0, else 0.0); backward: g'(x) times the incoming
    /// gradient. Generic over burn backends; with an autodiff backend, gradients flow through g'.
    ///
    /// Computed as `H(x) + (g(x) − detach(g(x)))`, whose value is exactly `H(x)` wherever `g(x)`
    /// is finite (every surrogate here is finite for finite `x`).
    pub fn spike<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        // Not `mask.float()`: burn's dispatch backend keeps bool tensors un-tracked, and their
        // `float()` lands on the inner (non-autodiff) device. `zeros_like` stays on `x`'s device.
        let h = x
            .zeros_like()
            .mask_fill(x.clone().greater_equal_elem(0.0), 1.0);
        let g = self.primitive_tensor(x);
        h + (g.clone() - g.detach())
    }

    /// The smooth spike `g(x)` itself, forward and backward: a network of these is
    /// differentiable, so finite differences check its BPTT gradient (`tests/train.rs`).
    pub fn smooth<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.primitive_tensor(x)
    }

    /// `g(x)` with burn tensor ops, so that autodiff differentiates it exactly. Piecewise
    /// functions select pieces with `mask_where` (gradient flows to the selected piece only);
    /// unselected pieces are kept finite, so that zero gradients never meet an infinity.
    fn primitive_tensor<B: Backend, const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        match *self {
            Surrogate::Sigmoid { alpha } => activation::sigmoid(x.mul_scalar(alpha)),
            Surrogate::ATan { alpha } => x
                .mul_scalar(PI / 2.0 * alpha)
                .atan()
                .div_scalar(PI)
                .add_scalar(0.5),
            Surrogate::PiecewiseQuadratic { alpha } => {
                // clamp passes the gradient at the bounds, where g' = α − α²/α = 0 anyway.
                let xc = x.clamp(-1.0 / alpha, 1.0 / alpha);
                let sq = xc.clone() * xc.clone().abs();
                xc.mul_scalar(alpha).add_scalar(0.5) - sq.mul_scalar(alpha * alpha / 2.0)
            }
            Surrogate::PiecewiseExp { alpha } => {
                // clamp (not abs, whose autodiff derivative at 0 is sign(0) = 0) keeps the
                // exponents ≤ 0; at x = 0 the x ≥ 0 piece is selected and gets gradient α/2.
                let lo = x
                    .clone()
                    .clamp_max(0.0)
                    .mul_scalar(alpha)
                    .exp()
                    .div_scalar(2.0);
                let hi = x
                    .clone()
                    .clamp_min(0.0)
                    .mul_scalar(-alpha)
                    .exp()
                    .div_scalar(-2.0)
                    .add_scalar(1.0);
                lo.mask_where(x.greater_equal_elem(0.0), hi)
            }
            Surrogate::SoftSign { alpha } => {
                let ax = x.mul_scalar(alpha);
                (ax.clone() / ax.abs().add_scalar(1.0))
                    .add_scalar(1.0)
                    .div_scalar(2.0)
            }
            Surrogate::Erf { alpha } => x.mul_scalar(alpha).erf().add_scalar(1.0).div_scalar(2.0),
            Surrogate::PiecewiseLeakyReLU { w, c } => {
                let mid = x.clone().div_scalar(2.0 * w).add_scalar(0.5);
                let left = x.clone().mul_scalar(c).add_scalar(c * w);
                let right = x.clone().mul_scalar(c).add_scalar(1.0 - c * w);
                let (below, above) = (x.clone().lower_elem(-w), x.greater_elem(w));
                mid.mask_where(below, left).mask_where(above, right)
            }
            Surrogate::FastSigmoid { alpha } => {
                let den = x.clone().abs().mul_scalar(alpha).add_scalar(1.0);
                (x / den).add_scalar(0.5)
            }
            Surrogate::Triangle { alpha } => {
                let xc = x.clamp(-1.0, 1.0);
                let sq = xc.clone() * xc.clone().abs();
                (xc - sq.div_scalar(2.0)).add_scalar(0.5).mul_scalar(alpha)
            }
            Surrogate::BilinearLeakyReLU { a, b, c } => {
                let mid = x.clone().mul_scalar(a);
                let left = x.clone().mul_scalar(b).add_scalar(b * c - a * c);
                let right = x.clone().mul_scalar(b).add_scalar(a * c - b * c);
                let (below, above) = (x.clone().lower_elem(-c), x.greater_elem(c));
                mid.mask_where(below, left).mask_where(above, right)
            }
            Surrogate::SignSwish { beta } => {
                // tanh(u/2) + u/(1 + cosh u): in f32 the sigmoid form loses 1 − s for large u.
                // The second term is clamped at |u| = 40 (where it is < 1e-15) so that cosh²
                // cannot overflow in its backward pass (inf/inf = NaN).
                let u = x.mul_scalar(beta);
                let uc = u.clone().clamp(-40.0, 40.0);
                (u.div_scalar(2.0).tanh()) + uc.clone() / uc.cosh().add_scalar(1.0)
            }
            Surrogate::Stbp { alpha } => x
                .div_scalar((2.0 * alpha).sqrt())
                .erf()
                .add_scalar(1.0)
                .div_scalar(2.0 * (2.0 * PI * alpha).sqrt()),
            Surrogate::Stca { alpha } => {
                // The constant pieces carry no gradient; |x| = α takes them (SPAIC's strict <).
                let (below, above) = (x.clone().lower_equal_elem(-alpha), x.clone().greater_equal_elem(alpha));
                let lo = x.zeros_like().add_scalar(-alpha);
                let hi = x.zeros_like().add_scalar(alpha);
                x.mask_where(below, lo).mask_where(above, hi)
            }
        }
    }
}

/// Logistic sigmoid, without overflow for large |x|.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The error function, to ~1e-15: `erf(x) = 2/√π·e^{−x²}·Σ_{n≥0} 2ⁿx^{2n+1}/(2n+1)!!` (all terms
/// positive, so no cancellation); `±1` beyond `|x| ≥ 6`, where `erfc < 3e-17`.
fn erf(x: f64) -> f64 {
    let ax = x.abs();
    if ax.is_nan() {
        return f64::NAN;
    }
    if ax >= 6.0 {
        return x.signum();
    }
    let (mut sum, mut term, mut n) = (0.0, ax, 0.0);
    while term > sum * 1e-17 {
        sum += term;
        n += 1.0;
        term *= 2.0 * ax * ax / (2.0 * n + 1.0);
    }
    let r = (2.0 / PI.sqrt() * (-ax * ax).exp() * sum).min(1.0);
    if x < 0.0 { -r } else { r }
}
