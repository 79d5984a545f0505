//! SRM0 driven event by event, against brute-force evaluation of its definition (V from the
//! kernel sums; threshold times from a fine grid refined by bisection, within 1e-9 ms) and,
//! with the LIF-equivalent cumulative reset, against the exact solution of NEST's
//! `iaf_psc_exp` written out here from its ODE.

use spikeworld::util::rng::Stream;
use spikeworld_event_driven::srm0::{PspNorm, ResetMode, Srm0Model, Srm0Neuron, Srm0Params, Srm0State};

/// Poisson-like inputs: (time, weight) sorted, weights mostly excitatory.
fn inputs(seed: u64, n: usize, t_end: f64, w_hi: f64) -> Vec<(f64, f64)> {
    let mut s = Stream::new(seed, 4, 4, 0);
    let mut v: Vec<(f64, f64)> = (0..n).map(|_| (t_end * s.uniform(), w_hi * (s.uniform() - 0.15))).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// Output spikes by brute force: V from `Srm0Params::potential` (the definition) on a grid
/// of step h, each crossing refined by 200 bisections; spikes only after t̂ + t_ref.
fn brute_spikes(p: &Srm0Params, inp: &[(f64, f64)], t_end: f64, h: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    let v = |out: &[f64], t: f64| p.potential(inp, out, t).unwrap();
    let mut t = 0.0;
    loop {
        let start = out.last().map_or(0.0, |&s| s + p.t_ref).max(t);
        if start > t_end {
            return out;
        }
        if v(&out, start) >= p.theta {
            out.push(start);
            t = start;
            continue;
        }
        let mut prev = start;
        let mut found = None;
        let mut k = 1;
        loop {
            let x = (start + k as f64 * h).min(t_end);
            if v(&out, x) >= p.theta {
                let (mut lo, mut hi) = (prev, x);
                for _ in 0..200 {
                    let m = 0.5 * (lo + hi);
                    if v(&out, m) >= p.theta { hi = m } else { lo = m }
                }
                found = Some(hi);
                break;
            }
            if x >= t_end {
                break;
            }
            prev = x;
            k += 1;
        }
        match found {
            Some(s) => {
                out.push(s);
                t = s;
            }
            None => return out,
        }
    }
}

fn cases() -> Vec<Srm0Params> {
    let d = Srm0Params::default();
    vec![
        d,
        Srm0Params { reset: ResetMode::LastSpike, t_ref: 0.5, ..d },
        Srm0Params { t_ref: 2.0, u_r: 0.3, ..d },
        Srm0Params { tau_m: 15.0, tau_s: 3.75, norm: PspNorm::Current, reset: ResetMode::LastSpike, t_ref: 1.0, ..d },
    ]
}

#[test]
fn spike_times_and_potential_equal_brute_force() {
    for (ci, p) in cases().into_iter().enumerate() {
        for seed in 0..3 {
            let inp = inputs(seed, 120, 100.0, 0.9);
            let mut n = Srm0Neuron::new(p).unwrap();
            let mut out = Vec::new();
            for (k, &(t, w)) in inp.iter().enumerate() {
                n.receive(t, w, &mut out).unwrap();
                // state after the input at t: the definition with inputs up to and including k
                let want = p.potential(&inp[..=k], &out, t).unwrap();
                assert!((n.potential() - want).abs() <= 1e-12, "case {ci} seed {seed}: V({t}) = {} vs {want}", n.potential());
            }
            n.advance(100.0, &mut out).unwrap();
            let want = brute_spikes(&p, &inp, 100.0, 0.01);
            assert!(out.len() >= 3, "case {ci} seed {seed}: the case should spike ({} spikes)", out.len());
            assert_eq!(out.len(), want.len(), "case {ci} seed {seed}: {out:?} vs brute {want:?}");
            for (a, b) in out.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-9, "case {ci} seed {seed}: spike {a} vs brute {b}");
            }
            assert_eq!(n.state().n_spikes, out.len() as u64);
        }
    }
}

/// NEST `iaf_psc_exp` (E_L = 0, t_ref = 0): dV/dt = −V/τ_m + I/C, dI/dt = −I/τ_s, an input
/// adds J to I, V ≥ θ → V = u_r. Exact propagation between events; crossings by a grid of
/// 0.01 ms and bisection on that propagation.
struct Iaf {
    tau_m: f64,
    tau_s: f64,
    theta: f64,
    u_r: f64,
}

impl Iaf {
    fn prop(&self, v: f64, i_c: f64, s: f64) -> (f64, f64) {
        let (tm, ts) = (self.tau_m, self.tau_s);
        (v * (-s / tm).exp() + i_c * tm * ts / (tm - ts) * ((-s / tm).exp() - (-s / ts).exp()), i_c * (-s / ts).exp())
    }

    /// Spikes, and V sampled at `probes` (sorted), for inputs of current jumps J/C.
    fn run(&self, inp: &[(f64, f64)], t_end: f64, probes: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (mut v, mut i_c, mut t) = (0.0, 0.0, 0.0);
        let (mut out, mut vs) = (Vec::new(), Vec::new());
        let mut pi = 0;
        let stops: Vec<(f64, f64)> = inp.iter().copied().chain(std::iter::once((t_end, 0.0))).collect();
        for &(te, j) in &stops {
            loop {
                // first crossing in [t, te]
                let mut hit = None;
                let mut prev = t;
                let mut k = 1;
                while hit.is_none() {
                    let x = (t + k as f64 * 0.01).min(te);
                    if self.prop(v, i_c, x - t).0 >= self.theta {
                        let (mut lo, mut hi) = (prev, x);
                        for _ in 0..200 {
                            let m = 0.5 * (lo + hi);
                            if self.prop(v, i_c, m - t).0 >= self.theta { hi = m } else { lo = m }
                        }
                        hit = Some(hi);
                    }
                    if x >= te {
                        break;
                    }
                    prev = x;
                    k += 1;
                }
                while pi < probes.len() && probes[pi] < hit.unwrap_or(te) {
                    vs.push(self.prop(v, i_c, probes[pi] - t).0);
                    pi += 1;
                }
                match hit {
                    Some(s) => {
                        (_, i_c) = self.prop(v, i_c, s - t);
                        v = self.u_r;
                        t = s;
                        out.push(s);
                    }
                    None => break,
                }
            }
            (v, i_c) = self.prop(v, i_c, te - t);
            t = te;
            i_c += j;
        }
        (out, vs)
    }
}

#[test]
fn cumulative_srm0_is_iaf_psc_exp() {
    let p = Srm0Params { u_r: 0.2, ..Srm0Params::default() };
    let c = p.psp_scale().unwrap();
    let iaf = Iaf { tau_m: p.tau_m, tau_s: p.tau_s, theta: p.theta, u_r: p.u_r };
    for seed in 10..13 {
        let inp = inputs(seed, 150, 120.0, 0.8);
        // weight w ↔ J/C = w·c·(τ_m − τ_s)/(τ_m·τ_s) (equal PSPs)
        let jumps: Vec<(f64, f64)> = inp.iter().map(|&(t, w)| (t, w * c * (p.tau_m - p.tau_s) / (p.tau_m * p.tau_s))).collect();
        let probes: Vec<f64> = (0..2400).map(|i| i as f64 * 0.05 + 0.013).collect();
        let (want, v_iaf) = iaf.run(&jumps, 120.0, &probes);
        let got = p.run(&inp, 120.0).unwrap();
        assert!(got.len() >= 3, "seed {seed}: should spike");
        assert_eq!(got.len(), want.len(), "seed {seed}: {got:?} vs iaf {want:?}");
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-9, "seed {seed}: spike {a} vs iaf_psc_exp {b}");
        }
        for (&t, &vi) in probes.iter().zip(&v_iaf) {
            let vs = p.potential(&inp, &got, t).unwrap();
            assert!((vs - vi).abs() <= 1e-9, "seed {seed}: V({t}) srm0 {vs} vs iaf {vi}");
        }
    }
}

#[test]
fn checkpoint_resume_and_next_spike() {
    let p = Srm0Params { t_ref: 1.0, ..Srm0Params::default() };
    let inp = inputs(21, 200, 100.0, 0.8);
    let whole = p.run(&inp, 100.0).unwrap();
    let mut n = Srm0Neuron::new(p).unwrap();
    let mut out = Vec::new();
    let half = inp.len() / 2;
    for &(t, w) in &inp[..half] {
        n.receive(t, w, &mut out).unwrap();
    }
    let (f, counts) = Srm0State::pack(&[n.state()]);
    assert_eq!(f.len(), Srm0State::WORDS);
    let mut r = Srm0Neuron::from_state(p, Srm0State::unpack(&f, &counts).unwrap()[0]).unwrap();
    for &(t, w) in &inp[half..] {
        // the scheduler's view: the predicted next spike is the one the input's advance finds
        let predicted = r.next_spike(t);
        let before = out.len();
        r.receive(t, w, &mut out).unwrap();
        assert_eq!(predicted, out.get(before).copied(), "next_spike before the input at {t}");
    }
    r.advance(100.0, &mut out).unwrap();
    assert_eq!(out, whole, "a resumed neuron emits exactly the same spikes (bit-equal)");
    assert!(Srm0State::unpack(&[f64::NAN, 0.0, 0.0, 0.0, 0.0], &[0]).is_err());
    assert!(Srm0State::unpack(&f, &[]).is_err());
}

#[test]
fn bad_inputs_are_errors() {
    let mut n = Srm0Neuron::new(Srm0Params::default()).unwrap();
    let mut out = Vec::new();
    n.receive(5.0, 0.1, &mut out).unwrap();
    assert!(n.receive(4.0, 0.1, &mut out).is_err(), "inputs must come in time order");
    assert!(n.receive(6.0, f64::NAN, &mut out).is_err());
    assert!(n.advance(f64::INFINITY, &mut out).is_err());
    assert!(Srm0Neuron::new(Srm0Params { u_r: 1.0, ..Default::default() }).is_err());
    assert!(Srm0Neuron::new(Srm0Params { tau_s: 10.0, ..Default::default() }).is_err());
    assert!(Srm0Neuron::new(Srm0Params { reset: ResetMode::LastSpike, t_ref: 0.0, ..Default::default() }).is_err());
}


/// The scheduler's short path (`receive_quiet`, which skips the crossing search for an
/// input well before the predicted crossing) gives the same bits as `receive`: states and
/// spike times, over long random input streams, for both reset modes and refractoriness.
#[test]
fn quiet_receive_equals_full_receive_bit_for_bit() {
    for (k, p) in [
        Srm0Params { tau_m: 10.0, tau_s: 2.5, ..Default::default() },
        Srm0Params { tau_m: 10.0, tau_s: 2.5, t_ref: 2.0, u_r: -0.5, norm: PspNorm::Current, ..Default::default() },
        Srm0Params { tau_m: 4.0, tau_s: 9.0, t_ref: 1.0, reset: ResetMode::LastSpike, ..Default::default() },
    ]
    .into_iter()
    .enumerate()
    {
        let m = Srm0Model::new(p).unwrap();
        let inp = inputs(40 + k as u64, 20_000, 2000.0, 0.35);
        let (mut full, mut quiet) = (Srm0State::default(), Srm0State::default());
        let (mut out_full, mut out_quiet) = (Vec::new(), Vec::new());
        let mut quiet_until = f64::INFINITY;
        let mut short = 0;
        for &(t, w) in &inp {
            m.receive(&mut full, t, w, &mut out_full).unwrap();
            if t + spikeworld_event_driven::srm0::QUIET_MARGIN_MS < quiet_until {
                short += 1;
            }
            m.receive_quiet(&mut quiet, quiet_until, t, w, &mut out_quiet).unwrap();
            assert_eq!(format!("{full:?}"), format!("{quiet:?}"), "params {k}, input at {t}");
            quiet_until = m.next_spike(&quiet, quiet.t + 1e6).unwrap_or(f64::INFINITY);
        }
        assert_eq!(out_full.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), out_quiet.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        assert!(out_full.len() > 50, "params {k}: the stream should make the neuron fire ({})", out_full.len());
        assert!(short > inp.len() / 2, "params {k}: most inputs should take the short path ({short})");
    }
}
