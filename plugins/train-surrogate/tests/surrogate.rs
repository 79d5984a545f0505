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
