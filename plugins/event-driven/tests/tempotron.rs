//! The exact tempotron against brute-force evaluations of its formulas: V(t) by the direct
//! sum, V_max and the first crossing on a fine grid refined by bisection, the GS rule's
//! Δw by its sum, the mse loss's gradient by finite differences, and the seed's integer
//! grid as a lower bound of the exact V_max.

mod common;

use spikeworld::util::rng::Stream;
use spikeworld_event_driven::tempotron::{Pattern, Spike, Tempotron, mse_loss, mse_loss_and_grad};

const V0: f64 = 2.116534735957599; // 1/(4^(-1/3) − 4^(-4/3)) for τ = 15, τ_s = 3.75

/// K written out from its definition.
fn k(s: f64) -> f64 {
    if s >= 0.0 { V0 * ((-s / 15.0).exp() - (-s / 3.75).exp()) } else { 0.0 }
}

/// V from the definition: the inputs with t_i < `cut` (shunting) at time t.
fn v_brute(p: &Pattern, w: &[f64], t: f64, cut: f64) -> f64 {
    p.spikes().iter().filter(|s| s.time < cut).map(|s| w[s.afferent as usize] * k(t - s.time)).sum()
}

fn random_case(seed: u64, n: usize, t_end: f64, w_scale: f64, spikes_per: usize) -> (Pattern, Vec<f64>) {
    let mut s = Stream::new(seed, 7, 7, 0);
    let spikes = (0..n * spikes_per).map(|i| Spike { time: t_end * s.uniform(), afferent: (i % n) as u32 }).collect();
    let w = (0..n).map(|_| w_scale * (s.uniform() - 0.3)).collect();
    (Pattern::new(spikes, n).unwrap(), w)
}

/// First t in [0, T] with V(t) ≥ θ: grid of step h, then 200 bisections.
fn brute_crossing(p: &Pattern, w: &[f64], theta: f64, t_end: f64, h: f64) -> Option<f64> {
    let n = (t_end / h).ceil() as usize;
    let mut prev = 0.0;
    for i in 0..=n {
        let t = (i as f64 * h).min(t_end);
        if v_brute(p, w, t, f64::INFINITY) >= theta {
            let (mut lo, mut hi) = (prev, t);
            for _ in 0..200 {
                let m = 0.5 * (lo + hi);
                if v_brute(p, w, m, f64::INFINITY) >= theta { hi = m } else { lo = m }
            }
            return Some(hi);
        }
        prev = t;
    }
    None
}

#[test]
fn potential_equals_the_direct_sum() {
    let t = Tempotron::new(15.0, 3.75, 1.0, 100.0).unwrap();
    assert!((t.kernel().v0() - V0).abs() < 1e-14);
    let (p, w) = random_case(1, 30, 100.0, 1.0, 2);
    for i in 0..2000 {
        let at = i as f64 * 0.0537;
        let got = t.potential(&p, &w, at).unwrap();
        let want = v_brute(&p, &w, at, f64::INFINITY);
        assert!((got - want).abs() <= 1e-12, "V({at}) = {got}, direct sum {want}");
    }
}

#[test]
fn crossing_and_v_max_equal_brute_force() {
    // tolerance: crossing times within 1e-9 ms of grid (h = 0.005 ms) + bisection;
    // V_max within 1e-12 of V_sh(t_max) and ≥ every grid value of V_sh (step 0.005 ms).
    let mut fired = 0;
    for seed in 0..12 {
        let theta = 1.0;
        let t = Tempotron::new(15.0, 3.75, theta, 60.0).unwrap();
        let (p, w) = random_case(seed, 20, 60.0, 0.15 + 0.05 * seed as f64, 1);
        let vm = t.v_max(&p, &w).unwrap();
        let want = brute_crossing(&p, &w, theta, 60.0, 0.005);
        match (vm.t_spike, want) {
            (Some(a), Some(b)) => {
                fired += 1;
                assert!((a - b).abs() <= 1e-9, "seed {seed}: crossing {a} vs brute {b}");
                assert!(v_brute(&p, &w, a, f64::INFINITY) >= theta - 1e-12);
            }
            (None, None) => {}
            other => panic!("seed {seed}: exact vs brute {other:?}"),
        }
        let cut = vm.t_spike.unwrap_or(f64::INFINITY);
        assert_eq!(vm.n_counted, p.spikes().iter().filter(|s| s.time < cut && s.time <= 60.0).count());
        assert!((vm.v_max - v_brute(&p, &w, vm.t_max, cut)).abs() <= 1e-12, "seed {seed}: V_max is V_sh(t_max)");
        let grid = (0..=12_000).map(|i| v_brute(&p, &w, i as f64 * 0.005, cut)).fold(f64::NEG_INFINITY, f64::max);
        assert!(vm.v_max >= grid - 1e-12, "seed {seed}: exact {} below grid {grid}", vm.v_max);
        assert!(vm.v_max - grid <= 1e-5, "seed {seed}: exact {} far above grid {grid}", vm.v_max);
        assert_eq!(vm.fired(), vm.v_max >= theta);
        let sh = t.potential_shunted(&p, &w, &vm, vm.t_max).unwrap();
        assert!((sh - vm.v_max).abs() <= 1e-12);
    }
    assert!((3..12).contains(&fired), "the cases should mix firing and silent patterns ({fired} fired)");
}

#[test]
fn exact_v_max_bounds_the_seed_grid() {
    let t = Tempotron::new(15.0, 3.75, 1.0, 200.0).unwrap();
    let mut buf = Vec::new();
    let mut fired = 0;
    for seed in 0..20 {
        let (p, w) = random_case(100 + seed, 50, 200.0, 0.3, 1);
        let vm = t.v_max(&p, &w).unwrap();
        let (g, _) = common::grid::grid_v_max(&t, &p, &w, &mut buf);
        // Without a spike nothing is shunted: the exact maximum bounds every grid value.
        // With one, the seed's unshunted grid V may be larger; only the decision is shared.
        if !vm.fired() {
            assert!(vm.v_max >= g - 1e-12, "seed {seed}: exact V_max {} < grid {g}", vm.v_max);
        }
        assert!(!(g >= 1.0) || vm.fired(), "seed {seed}: the grid fired but the exact one did not");
        fired += vm.fired() as usize;
    }
    assert!((2..18).contains(&fired), "cases should mix ({fired} fired)");
}

#[test]
fn gs_delta_is_the_kernel_sum() {
    let t = Tempotron::new(15.0, 3.75, 1.0, 80.0).unwrap();
    let mut errors = [0, 0];
    for (seed, label) in (0..40u64).flat_map(|s| [(s, true), (s, false)]) {
        let (p, w) = random_case(seed, 25, 80.0, 0.02 + 0.02 * seed as f64, 2);
        let vm = t.v_max(&p, &w).unwrap();
        let mut dw = vec![0.0; 25];
        let correct = t.gs_delta(&p, &w, label, 0.01, &mut dw).unwrap();
        assert_eq!(correct, vm.fired() == label);
        if correct {
            continue;
        }
        errors[label as usize] += 1;
        let sign = if label { 1.0 } else { -1.0 };
        let cut = vm.t_spike.unwrap_or(f64::INFINITY);
        for a in 0..25 {
            let want: f64 = sign * 0.01 * p.spikes().iter().filter(|s| s.afferent == a as u32 && s.time < vm.t_max && s.time < cut).map(|s| k(vm.t_max - s.time)).sum::<f64>();
            assert!((dw[a] - want).abs() <= 1e-14, "afferent {a}: Δw {} vs formula {want}", dw[a]);
        }
    }
    assert!(errors[0] >= 3 && errors[1] >= 3, "both misses and false alarms should be tested ({errors:?})");
    // correct patterns: no change
    let (p, w) = random_case(3, 25, 80.0, 0.0, 1);
    let mut dw = vec![1.0; 25];
    assert!(t.gs_delta(&p, &w, false, 0.01, &mut dw).unwrap());
    assert!(dw.iter().all(|&d| d == 0.0));
}

#[test]
fn mse_loss_matches_its_formula_and_its_gradient_finite_differences() {
    // hand example: B = 2, J = 3, θ = 1
    let v = [0.5, 1.2, 0.9, 1.1, 1.3, 0.2];
    let want = ((0.5f64 - 1.0).powi(2) + (1.2f64 - 1.0).powi(2) + (1.3f64 - 1.0).powi(2)) / 2.0;
    assert!((mse_loss(&v, &[0, 0], 3, 1.0).unwrap() - want).abs() < 1e-15);
    assert!(mse_loss(&v, &[0, 3], 3, 1.0).is_err());

    let t = Tempotron::new(15.0, 3.75, 1.0, 50.0).unwrap();
    let (n, j_n, b_n) = (12, 3, 6);
    let mut s = Stream::new(11, 1, 1, 1);
    let pats: Vec<Pattern> = (0..b_n).map(|_| Pattern::new((0..n).map(|a| Spike { time: 50.0 * s.uniform(), afferent: a as u32 }).collect(), n).unwrap()).collect();
    let labels: Vec<usize> = (0..b_n).map(|b| b % j_n).collect();
    let weights: Vec<Vec<f64>> = (0..j_n).map(|_| (0..n).map(|_| 0.9 * s.uniform() - 0.2).collect()).collect();
    let (loss, grad) = mse_loss_and_grad(&t, &pats, &labels, &weights).unwrap();
    assert!(loss > 0.0);
    let h = 1e-6;
    let mut nonzero = 0;
    for j in 0..j_n {
        for a in 0..n {
            let mut wp = weights.clone();
            wp[j][a] += h;
            let mut wm = weights.clone();
            wm[j][a] -= h;
            let fd = (mse_loss_and_grad(&t, &pats, &labels, &wp).unwrap().0 - mse_loss_and_grad(&t, &pats, &labels, &wm).unwrap().0) / (2.0 * h);
            assert!((fd - grad[j][a]).abs() <= 1e-6 * (1.0 + fd.abs()), "w[{j}][{a}]: analytic {} vs finite difference {fd}", grad[j][a]);
            nonzero += (grad[j][a].abs() > 1e-6) as usize;
        }
    }
    assert!(nonzero > n, "the gradient should not be trivially zero ({nonzero} nonzero)");
}

#[test]
fn bad_inputs_are_errors() {
    let t = Tempotron::new(15.0, 3.75, 1.0, 50.0).unwrap();
    assert!(Pattern::new(vec![Spike { time: f64::NAN, afferent: 0 }], 1).is_err());
    assert!(Pattern::new(vec![Spike { time: -1.0, afferent: 0 }], 1).is_err());
    assert!(Pattern::new(vec![Spike { time: 1.0, afferent: 1 }], 1).is_err());
    let p = Pattern::new(vec![Spike { time: 1.0, afferent: 0 }], 1).unwrap();
    assert!(t.v_max(&p, &[1.0, 2.0]).is_err());
    assert!(Tempotron::new(15.0, 15.0, 1.0, 50.0).is_err());
    assert!(Tempotron::new(15.0, 3.75, 0.0, 50.0).is_err());
}
