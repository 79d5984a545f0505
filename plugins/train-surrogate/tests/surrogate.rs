//! Tests of the surrogate spike functions: `grad` against finite differences of `primitive`,
//! limits of the primitives, the exact Heaviside forward of `spike`, autodiff gradients of
//! `spike` against `grad`, and `parse` errors.

use burn::tensor::Tensor;
use burn::{Dispatch, DispatchDevice};
use spikeworld_train_surrogate::surrogate::Surrogate;

/// Each surrogate at half, one and two times its default parameter.
fn all_with_three_alphas() -> Vec<Surrogate> {
    let mut out = Vec::new();
    for name in Surrogate::NAMES {
        let default = Surrogate::parse(name, None).unwrap();
        let base = match default {
            Surrogate::Sigmoid { alpha }
            | Surrogate::ATan { alpha }
            | Surrogate::PiecewiseQuadratic { alpha }
            | Surrogate::PiecewiseExp { alpha }
            | Surrogate::SoftSign { alpha }
            | Surrogate::Erf { alpha }
            | Surrogate::FastSigmoid { alpha }
            | Surrogate::Triangle { alpha }
            | Surrogate::Stbp { alpha }
            | Surrogate::Stca { alpha } => alpha,
            Surrogate::PiecewiseLeakyReLU { w, .. } => w,
            Surrogate::BilinearLeakyReLU { a, .. } => a,
            Surrogate::SignSwish { beta } => beta,
        };
        for k in [0.5, 1.0, 2.0] {
            out.push(Surrogate::parse(name, Some(base * k)).unwrap());
        }
    }
    out
}

/// Points where `g'` is discontinuous or has a kink (`g''` jumps).
fn breakpoints(s: &Surrogate) -> Vec<f64> {
    match *s {
        Surrogate::PiecewiseQuadratic { alpha } => vec![-1.0 / alpha, 0.0, 1.0 / alpha],
        Surrogate::Triangle { .. } => vec![-1.0, 0.0, 1.0],
        Surrogate::PiecewiseLeakyReLU { w, .. } => vec![-w, w],
        Surrogate::BilinearLeakyReLU { c, .. } => vec![-c, c],
        Surrogate::Stca { alpha } => vec![-alpha, alpha],
        Surrogate::PiecewiseExp { .. }
        | Surrogate::SoftSign { .. }
        | Surrogate::FastSigmoid { .. } => vec![0.0],
        _ => vec![],
    }
}

#[test]
fn names_parse_and_round_trip() {
    assert_eq!(Surrogate::NAMES.len(), 13);
    for name in Surrogate::NAMES {
        assert_eq!(Surrogate::parse(name, None).unwrap().name(), *name);
        assert_eq!(Surrogate::parse(name, Some(3.0)).unwrap().name(), *name);
    }
    assert_eq!(
        Surrogate::parse("super_spike", None).unwrap(),
        Surrogate::parse("fast_sigmoid", None).unwrap()
    );
    assert_eq!(
        Surrogate::parse("sigmoid", None).unwrap(),
        Surrogate::Sigmoid { alpha: 4.0 }
    );
    assert_eq!(
        Surrogate::parse("atan", Some(3.0)).unwrap(),
        Surrogate::ATan { alpha: 3.0 }
    );
    assert_eq!(
        Surrogate::parse("piecewise_leaky_relu", Some(2.0)).unwrap(),
        Surrogate::PiecewiseLeakyReLU { w: 2.0, c: 0.01 }
    );
    assert_eq!(
        Surrogate::parse("bilinear_leaky_relu", None).unwrap(),
        Surrogate::BilinearLeakyReLU {
            a: 1.0,
            b: 0.01,
            c: 0.5
        }
    );
    assert_eq!(
        Surrogate::parse("sign_swish", None).unwrap(),
        Surrogate::SignSwish { beta: 5.0 }
    );
}

#[test]
fn parse_rejects_unknown_names_and_bad_alphas() {
    let err = Surrogate::parse("relu", None).unwrap_err();
    assert!(err.contains("relu"), "{err}");
    for name in Surrogate::NAMES {
        assert!(err.contains(name), "error does not list {name}: {err}");
    }
    for bad in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for name in Surrogate::NAMES {
            assert!(
                Surrogate::parse(name, Some(bad)).is_err(),
                "{name} accepted alpha {bad}"
            );
        }
    }
}

#[test]
fn grad_matches_finite_difference_of_primitive() {
    let h = 1e-5;
    for s in all_with_three_alphas() {
        let bps = breakpoints(&s);
        for i in 0..=6000 {
            let x = -3.0 + i as f64 * 1e-3 + 3.7e-5; // offset: avoid landing exactly on grid points
            if bps.iter().any(|b| (x - b).abs() < 1e-3) {
                continue;
            }
            let fd = (s.primitive(x + h) - s.primitive(x - h)) / (2.0 * h);
            let g = s.grad(x);
            assert!(
                (fd - g).abs() <= 1e-6 * (1.0 + g.abs()),
                "{s:?} at x = {x}: grad {g} vs finite difference {fd}"
            );
        }
    }
}

#[test]
fn bounded_primitives_approach_zero_and_one() {
    for name in [
        "sigmoid",
        "atan",
        "piecewise_quadratic",
        "piecewise_exp",
        "soft_sign",
        "erf",
    ] {
        for k in [0.5, 1.0, 2.0] {
            let s = Surrogate::parse(name, None).unwrap();
            let s = match s {
                Surrogate::Sigmoid { alpha } => Surrogate::Sigmoid { alpha: alpha * k },
                Surrogate::ATan { alpha } => Surrogate::ATan { alpha: alpha * k },
                Surrogate::PiecewiseQuadratic { alpha } => {
                    Surrogate::PiecewiseQuadratic { alpha: alpha * k }
                }
                Surrogate::PiecewiseExp { alpha } => Surrogate::PiecewiseExp { alpha: alpha * k },
                Surrogate::SoftSign { alpha } => Surrogate::SoftSign { alpha: alpha * k },
                Surrogate::Erf { alpha } => Surrogate::Erf { alpha: alpha * k },
                other => panic!("unexpected {other:?}"),
            };
            assert!(
                s.primitive(-1e7).abs() < 1e-6,
                "{s:?}: g(-inf) = {}",
                s.primitive(-1e7)
            );
            assert!(
                (s.primitive(1e7) - 1.0).abs() < 1e-6,
                "{s:?}: g(+inf) = {}",
                s.primitive(1e7)
            );
            assert!(
                (s.primitive(0.0) - 0.5).abs() < 1e-15,
                "{s:?}: g(0) = {}",
                s.primitive(0.0)
            );
            // Monotone, within [0, 1].
            let mut prev = s.primitive(-10.0);
            for i in 1..=2000 {
                let g = s.primitive(-10.0 + i as f64 * 0.01);
                assert!(
                    g >= prev - 1e-15 && (0.0..=1.0).contains(&g),
                    "{s:?} not monotone in [0, 1]"
                );
                prev = g;
            }
        }
    }
    // g(0) = 1/2 also for the unbounded fast_sigmoid, piecewise_leaky_relu and triangle (α = 1).
    for name in ["fast_sigmoid", "piecewise_leaky_relu", "triangle"] {
        let s = Surrogate::parse(name, None).unwrap();
        assert!(
            (s.primitive(0.0) - 0.5).abs() < 1e-15,
            "{name}: g(0) = {}",
            s.primitive(0.0)
        );
    }
    // The SpikingFlow primitives are centred on 0 (they approximate H − 1/2 and sign(x)).
    for name in ["bilinear_leaky_relu", "sign_swish"] {
        let s = Surrogate::parse(name, None).unwrap();
        assert_eq!(s.primitive(0.0), 0.0, "{name}");
    }
    let ss = Surrogate::parse("sign_swish", None).unwrap();
    assert!((ss.primitive(50.0) - 1.0).abs() < 1e-12 && (ss.primitive(-50.0) + 1.0).abs() < 1e-12);
}

/// Points including exact breakpoints of every default and scaled surrogate (all exact in f32).
const XS: [f32; 21] = [
    -3.0, -2.0, -1.5, -1.0, -0.75, -0.5, -0.25, -0.1, -0.01, -0.0, 0.0, 0.01, 0.1, 0.25, 0.5, 0.75,
    1.0, 1.5, 2.0, 2.5, 3.0,
];

fn flex() -> DispatchDevice {
    DispatchDevice::Flex(Default::default())
}

#[test]
fn spike_forward_is_exact_heaviside() {
    for dev in [flex(), DispatchDevice::autodiff(flex())] {
        for s in all_with_three_alphas() {
            let x = Tensor::<Dispatch, 1>::from_floats(XS, &dev);
            let y: Vec<f32> = s.spike(x).into_data().to_vec().unwrap();
            for (xi, yi) in XS.iter().zip(&y) {
                let want = if *xi >= 0.0 { 1.0 } else { 0.0 };
                assert_eq!(*yi, want, "{s:?} at x = {xi:?}");
            }
        }
    }
    // -0.0 counts as x >= 0.
    let y: Vec<f32> = Surrogate::parse("atan", None)
        .unwrap()
        .spike(Tensor::<Dispatch, 1>::from_floats(
            [-0.0f32, 0.0, -1e-30, 1e-30],
            &flex(),
        ))
        .into_data()
        .to_vec()
        .unwrap();
    assert_eq!(y, vec![1.0, 1.0, 0.0, 1.0]);
}

#[test]
fn spike_forward_works_in_two_dimensions() {
    let s = Surrogate::parse("sigmoid", None).unwrap();
    let x = Tensor::<Dispatch, 2>::from_floats([[-1.0f32, 0.0], [0.5, -0.5]], &flex());
    let y: Vec<f32> = s.spike(x).into_data().to_vec().unwrap();
    assert_eq!(y, vec![0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn autodiff_gradient_of_spike_equals_grad() {
    let dev = DispatchDevice::autodiff(flex());
    for s in all_with_three_alphas() {
        let x = Tensor::<Dispatch, 1>::from_floats(XS, &dev).require_grad();
        let y = s.spike(x.clone()).sum();
        let grads = y.backward();
        let got: Vec<f32> = x
            .grad(&grads)
            .expect("x has a gradient")
            .into_data()
            .to_vec()
            .unwrap();
        assert_eq!(got.len(), XS.len());
        for (xi, gi) in XS.iter().zip(&got) {
            let want = s.grad(f64::from(*xi));
            let gi = f64::from(*gi);
            assert!(
                (gi - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{s:?} at x = {xi:?}: autodiff {gi} vs grad {want}"
            );
        }
    }
}

#[test]
fn autodiff_gradient_scales_with_upstream_gradient() {
    let dev = DispatchDevice::autodiff(flex());
    let s = Surrogate::parse("piecewise_leaky_relu", None).unwrap();
    let x = Tensor::<Dispatch, 1>::from_floats([-2.0f32, 0.5, 2.0], &dev).require_grad();
    let w = Tensor::<Dispatch, 1>::from_floats([3.0f32, -2.0, 10.0], &dev);
    let grads = (s.spike(x.clone()) * w).sum().backward();
    let got: Vec<f32> = x.grad(&grads).unwrap().into_data().to_vec().unwrap();
    let want = [3.0 * 0.01, -2.0 * 0.5, 10.0 * 0.01];
    for (g, w) in got.iter().zip(want) {
        assert!((f64::from(*g) - w).abs() < 1e-6, "{got:?} vs {want:?}");
    }
}

#[test]
fn breakpoint_gradients_take_the_window_value() {
    let plr = Surrogate::parse("piecewise_leaky_relu", None).unwrap();
    assert_eq!(plr.grad(1.0), 0.5);
    assert_eq!(plr.grad(-1.0), 0.5);
    assert_eq!(plr.grad(1.0 + 1e-12), 0.01);
    let bl = Surrogate::parse("bilinear_leaky_relu", None).unwrap();
    assert_eq!(bl.grad(0.5), 1.0);
    assert_eq!(bl.grad(-0.5), 1.0);
    assert_eq!(bl.grad(-0.5 - 1e-12), 0.01);
    let pe = Surrogate::parse("piecewise_exp", None).unwrap();
    assert_eq!(pe.grad(0.0), 0.5);
    // Peak values.
    assert_eq!(Surrogate::parse("sigmoid", None).unwrap().grad(0.0), 1.0);
    assert_eq!(Surrogate::parse("atan", None).unwrap().grad(0.0), 1.0);
    assert_eq!(
        Surrogate::parse("fast_sigmoid", None).unwrap().grad(0.0),
        1.0
    );
    assert_eq!(Surrogate::parse("sign_swish", None).unwrap().grad(0.0), 5.0);
    // SPAIC: STBP's peak 1/(2πα) (α = 0.5: 1/π); STCA's window is open (|x| < α).
    assert!((Surrogate::parse("stbp", None).unwrap().grad(0.0) - 1.0 / std::f64::consts::PI).abs() < 1e-15);
    let stca = Surrogate::parse("stca", None).unwrap();
    assert_eq!((stca.grad(0.0), stca.grad(0.499_999), stca.grad(0.5), stca.grad(-0.5)), (1.0, 1.0, 0.0, 0.0));
    assert!(
        (Surrogate::parse("erf", None).unwrap().grad(0.0) - 2.0 / std::f64::consts::PI.sqrt())
            .abs()
            < 1e-15
    );
}

#[test]
fn large_inputs_give_finite_spikes_and_gradients() {
    let xs: [f32; 12] = [
        -1e6, -1e4, -100.0, -50.0, -20.0, -5.0, 5.0, 20.0, 50.0, 100.0, 1e4, 1e6,
    ];
    let dev = DispatchDevice::autodiff(flex());
    for s in all_with_three_alphas() {
        let x = Tensor::<Dispatch, 1>::from_floats(xs, &dev).require_grad();
        let y = s.spike(x.clone());
        let spikes: Vec<f32> = y.clone().into_data().to_vec().unwrap();
        let grads = y.sum().backward();
        let got: Vec<f32> = x.grad(&grads).unwrap().into_data().to_vec().unwrap();
        for ((xi, si), gi) in xs.iter().zip(&spikes).zip(&got) {
            assert_eq!(
                *si,
                if *xi >= 0.0 { 1.0 } else { 0.0 },
                "{s:?} spike at {xi}"
            );
            let want = s.grad(f64::from(*xi));
            assert!(
                gi.is_finite() && want.is_finite(),
                "{s:?} at {xi}: {gi} / {want}"
            );
            assert!(
                (f64::from(*gi) - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{s:?} at {xi}: {gi} vs {want}"
            );
        }
    }
}

// ---- pinned values against the sources' closed forms ----------------------------------

/// `erf(z)` at the arguments the references below need, computed with mpmath
/// (`mpmath.erf(mpf(z))` at 50 digits, rounded to f64), so that the references do not rely on
/// the crate's own series. Looked up by argument (within 1e-14).
const ERF_TABLE: [(f64, f64); 10] = [
    // erf(1.4 * x) for the `erf` surrogate (α = 1.4).
    (-1.8375, -0.9906399973168861),
    (-0.7875, -0.7345891640448409),
    (-0.26249999999999996, -0.2895345592587083),
    (0.5249999999999999, 0.542192605809058),
    (2.9749999999999996, 0.9999741543294554),
    // erf(x / sqrt(2 * 0.8)) for `stbp` (α = 0.8).
    (-1.0376223572427494, -0.8577380569028767),
    (-0.44469529596117835, -0.4705816233081958),
    (-0.14823176532039278, -0.1660446083645655),
    (0.29646353064078557, 0.32497588006575456),
    (1.6799600069644516, 0.9824901034143341),
];

fn erf_ref(z: f64) -> f64 {
    ERF_TABLE.iter().find(|(a, _)| (a - z).abs() <= 1e-14).unwrap_or_else(|| panic!("erf({z}) is not in ERF_TABLE")).1
}

/// Points away from 0, exact in f32 (so the tensor path sees the same x), on both sides of
/// every window below: -1.3125 and 2.125 are outside all of them, -0.5625 inside
/// piecewise_quadratic's (α = 1.7: |x| <= 0.588), piecewise_leaky_relu's (w = 0.9) and
/// triangle's, outside bilinear_leaky_relu's (c = 0.5) and stca's (α = 0.3); -0.1875 inside
/// every window; 0.375 inside all but stca's.
const PIN_XS: [f64; 5] = [-1.3125, -0.5625, -0.1875, 0.375, 2.125];

/// The surrogates with a non-default parameter each (`parse(name, Some(alpha))`).
const PIN_ALPHAS: [(&str, f64); 13] = [
    ("sigmoid", 3.3),
    ("atan", 1.7),
    ("piecewise_quadratic", 1.7),
    ("piecewise_exp", 1.3),
    ("soft_sign", 2.6),
    ("erf", 1.4),
    ("piecewise_leaky_relu", 0.9),
    ("fast_sigmoid", 7.5),
    ("triangle", 1.8),
    ("bilinear_leaky_relu", 1.6),
    ("sign_swish", 3.2),
    ("stbp", 0.8),
    ("stca", 0.3),
];

/// `(g(x), g'(x))` of surrogate `name` with parameter `a`, from the closed forms of the
/// sources, written out here (not with the crate's helpers).
fn closed_form(name: &str, a: f64, x: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let sig = |u: f64| 1.0 / (1.0 + (-u).exp());
    match name {
        // SpikingJelly Sigmoid (SpikingFlow's soft_pulse_function.Sigmoid has the same forms,
        // seeds/003): g = sigmoid(αx), g' = α(1 − sigmoid(αx))·sigmoid(αx).
        "sigmoid" => (sig(a * x), a * (1.0 - sig(a * x)) * sig(a * x)),
        // SpikingJelly ATan: g = arctan(π/2·αx)/π + 1/2, g' = α / (2(1 + (π/2·αx)²)).
        "atan" => ((PI / 2.0 * a * x).atan() / PI + 0.5, a / (2.0 * (1.0 + (PI / 2.0 * a * x).powi(2)))),
        // SpikingJelly PiecewiseQuadratic: g = 0 (x < −1/α), −½α²|x|x + αx + ½ (|x| ≤ 1/α),
        // 1 (x > 1/α); g' = −α²|x| + α inside, 0 outside.
        "piecewise_quadratic" => {
            if x < -1.0 / a {
                (0.0, 0.0)
            } else if x > 1.0 / a {
                (1.0, 0.0)
            } else {
                (-0.5 * a * a * x.abs() * x + a * x + 0.5, -a * a * x.abs() + a)
            }
        }
        // SpikingJelly PiecewiseExp: g = ½e^{αx} (x < 0), 1 − ½e^{−αx} (x ≥ 0); g' = (α/2)e^{−α|x|}.
        "piecewise_exp" => {
            let g = if x < 0.0 { 0.5 * (a * x).exp() } else { 1.0 - 0.5 * (-a * x).exp() };
            (g, a / 2.0 * (-a * x.abs()).exp())
        }
        // SpikingJelly SoftSign: g = ½(αx/(1 + |αx|) + 1), g' = 1/(2α(1/α + |x|)²) (its backward's form).
        "soft_sign" => (0.5 * (a * x / (1.0 + (a * x).abs()) + 1.0), 1.0 / (2.0 * a * (1.0 / a + x.abs()).powi(2))),
        // SpikingJelly Erf: g = ½erfc(−αx) = ½(1 + erf(αx)), g' = (α/√π)e^{−α²x²}.
        "erf" => (0.5 * (1.0 + erf_ref(a * x)), a / PI.sqrt() * (-(a * a) * x * x).exp()),
        // SpikingJelly PiecewiseLeakyReLU (w = α, c = 0.01), its primitive_function:
        // g = cx + cw (x < −w), x/(2w) + ½ (−w ≤ x ≤ w), cx − cw + 1 (x > w); g' its
        // derivative, 1/(2w) inside and c outside. (SpikingJelly's backward code and formula
        // use 1/w inside, twice its primitive's slope: see the note in
        // `piecewise_leaky_relu_window_gradient_is_its_primitives_slope`.)
        "piecewise_leaky_relu" => {
            let c = 0.01;
            if x < -a {
                (c * x + c * a, c)
            } else if x > a {
                (c * x - c * a + 1.0, c)
            } else {
                (x / (2.0 * a) + 0.5, 1.0 / (2.0 * a))
            }
        }
        // snnTorch fast_sigmoid (SuperSpike): S ≈ U/(1 + k|U|), ∂S/∂U = 1/(1 + k|U|)²; the
        // crate's g adds ½ (so that g(0) = ½, as the others).
        "fast_sigmoid" => (x / (1.0 + a * x.abs()) + 0.5, (1.0 + a * x.abs()).powi(-2)),
        // Triangle (Esser et al. 2016; Bellec et al. 2018: pseudo-derivative γ·max(0, 1 − |v|),
        // written from the cited papers): g' = α·max(0, 1 − |x|); g its integral from −∞:
        // 0 (x < −1), α(1 + x)²/2 (−1 ≤ x ≤ 0), α(1 − (1 − x)²/2) (0 ≤ x ≤ 1), α (x > 1).
        "triangle" => {
            let g = if x < -1.0 {
                0.0
            } else if x <= 0.0 {
                a * (1.0 + x).powi(2) / 2.0
            } else if x <= 1.0 {
                a * (1.0 - (1.0 - x).powi(2) / 2.0)
            } else {
                a
            };
            (g, if x.abs() < 1.0 { a * (1.0 - x.abs()) } else { 0.0 })
        }
        // SpikingFlow BilinearLeakyReLU (a = α, b = 0.01, c = 0.5; seeds/003):
        // g = bx + bc − ac (x < −c), ax (−c ≤ x ≤ c), bx − bc + ac (x > c); g' = a inside, b outside.
        "bilinear_leaky_relu" => {
            let (b, c) = (0.01, 0.5);
            if x < -c {
                (b * x + b * c - a * c, b)
            } else if x > c {
                (b * x - b * c + a * c, b)
            } else {
                (a * x, a)
            }
        }
        // SpikingFlow SignSwish (β = α; seeds/003, Darabi et al. 2018):
        // g = 2·sigmoid(βx)·(1 + βx(1 − sigmoid(βx))) − 1 (the sigmoid form, not the crate's
        // tanh form), g' = β(2 − βx·tanh(βx/2)) / (1 + cosh(βx)).
        "sign_swish" => {
            let s = sig(a * x);
            (2.0 * s * (1.0 + a * x * (1.0 - s)) - 1.0, a * (2.0 - a * x * (a * x / 2.0).tanh()) / (1.0 + (a * x).cosh()))
        }
        // SPAIC STBP learner (spaic/Learning/STBP_Learner.py, ActFun.backward):
        // g' = exp(−x²/(2α)) / (2πα); g its integral from −∞, (1 + erf(x/√(2α))) / (2√(2πα)).
        "stbp" => ((1.0 + erf_ref(x / (2.0 * a).sqrt())) / (2.0 * (2.0 * PI * a).sqrt()), (-x * x / (2.0 * a)).exp() / (2.0 * PI * a)),
        // SPAIC STCA learner (STCA_Learner.py): g' = 1 where |x| < α, else 0; g = clamp(x, −α, α).
        "stca" => (x.clamp(-a, a), if x.abs() < a { 1.0 } else { 0.0 }),
        other => panic!("no closed form for {other}"),
    }
}

/// `got` equals `want` within 1e-12 relative (exactly where `want` is 0).
fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-12 * want.abs()
}

#[test]
fn primitive_and_grad_match_the_sources_closed_forms() {
    assert_eq!(PIN_ALPHAS.len(), Surrogate::NAMES.len());
    for (name, a) in PIN_ALPHAS {
        assert!(Surrogate::NAMES.contains(&name), "{name}");
        let s = Surrogate::parse(name, Some(a)).unwrap();
        assert_ne!(s, Surrogate::parse(name, None).unwrap(), "{name}: the test's parameter should not be the default");
        for x in PIN_XS {
            let (g, dg) = closed_form(name, a, x);
            assert!(close(s.primitive(x), g), "{name} (alpha {a}) g({x}): {} vs reference {g}", s.primitive(x));
            assert!(close(s.grad(x), dg), "{name} (alpha {a}) g'({x}): {} vs reference {dg}", s.grad(x));
        }
    }
}

#[test]
fn smooth_and_spike_tensors_match_the_sources_closed_forms() {
    // The tensor path (`smooth` = g, the autodiff gradient of `spike` = g') is separate code
    // from `primitive`/`grad`: pinned too, within f32 precision (1e-5 relative, plus 1e-6
    // for the cancellation of 1 − s near s = 1 in f32, as in sigmoid's tail).
    let dev = DispatchDevice::autodiff(flex());
    let xs: [f32; 5] = PIN_XS.map(|x| x as f32);
    for (name, a) in PIN_ALPHAS {
        let s = Surrogate::parse(name, Some(a)).unwrap();
        let x = Tensor::<Dispatch, 1>::from_floats(xs, &dev).require_grad();
        let smooth: Vec<f32> = s.smooth(x.clone()).into_data().to_vec().unwrap();
        let grads = s.spike(x.clone()).sum().backward();
        let grad: Vec<f32> = x.grad(&grads).unwrap().into_data().to_vec().unwrap();
        for (i, &xi) in PIN_XS.iter().enumerate() {
            let (g, dg) = closed_form(name, a, xi);
            let (sg, sd) = (f64::from(smooth[i]), f64::from(grad[i]));
            assert!((sg - g).abs() <= 1e-5 * g.abs() + 1e-6, "{name} (alpha {a}) smooth({xi}): {sg} vs reference {g}");
            assert!((sd - dg).abs() <= 1e-5 * dg.abs() + 1e-6, "{name} (alpha {a}) autodiff g'({xi}): {sd} vs reference {dg}");
        }
    }
}

#[test]
fn piecewise_leaky_relu_window_gradient_is_its_primitives_slope() {
    // SpikingJelly's PiecewiseLeakyReLU is not self-consistent: its primitive_function has
    // slope 1/(2w) in the window (and its `w` docstring says "the gradient is 1/2w"), but its
    // backward (`piecewise_leaky_relu_backward`: masked_fill(|x| < w, 1/w)) and its g'
    // formula use 1/w. The crate follows the primitive (g' = 1/(2w)), so its gradient in the
    // window is half SpikingJelly's backward: pinned here so that a change is deliberate.
    for w in [0.9, 1.0, 2.0] {
        let s = Surrogate::parse("piecewise_leaky_relu", Some(w)).unwrap();
        for x in [-0.5 * w, 0.0, 0.3 * w] {
            assert!(close(s.grad(x), 1.0 / (2.0 * w)), "w = {w}, x = {x}: {}", s.grad(x));
            let spikingjelly_backward = 1.0 / w;
            assert!(close(2.0 * s.grad(x), spikingjelly_backward));
        }
    }
}
