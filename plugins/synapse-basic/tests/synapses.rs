//! Each synapse model against its formula, computed here independently. The target is a
//! `lif` neuron made into an exact integrator (tau_m = 1e20 ms, so its decay factor is 1.0
//! in f64; e_l = 0; threshold out of reach): its `v` after step `t` is the running sum of
//! what arrived at `v` up to step `t`, so `v` is compared bit for bit with the running sum
//! of the reference's per-step input.

use std::path::Path;

use spikeworld::prelude::*;

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin);
    b
}

/// Source spikes of the test: (step, source index).
const SPIKES: &[(u64, u32)] = &[(3, 0), (4, 0), (10, 1), (11, 0), (30, 0), (30, 1), (31, 1)];
const STEPS: u64 = 60;
const W: [f64; 2] = [0.75, -1.25];

/// A 2-source, 2-target one-to-one projection through `synapse`, with delay `delay_steps`.
fn scenario(synapse: &str, delay_steps: u32) -> String {
    scenario_dt(synapse, delay_steps, 1.0)
}

/// [`scenario`] at a time step of `dt` ms: the same spikes, steps and delay counted in steps
/// (every time of the file is `steps * dt`, which the loader rounds back to whole steps).
fn scenario_dt(synapse: &str, delay_steps: u32, dt: f64) -> String {
    let times: Vec<String> = SPIKES.iter().map(|(s, _)| format!("\"{} ms\"", *s as f64 * dt)).collect();
    let idx: Vec<String> = SPIKES.iter().map(|(_, i)| i.to_string()).collect();
    let t_stop = STEPS as f64 * dt;
    let delay_ms = delay_steps as f64 * dt;
    format!(
        r#"
[simulation]
dt = "{dt} ms"
t_stop = "{t_stop} ms"
seed = 5
[[population]]
name = "post"
size = 2
model = "lif"
params = {{ tau_m = "1e20 ms", e_l = "0 mV", v_reset = "0 mV", v_th = "1e9 mV", t_ref = "0 ms" }}
[[encoder]]
name = "src"
kind = "spike_generator"
size = 2
times = [{}]
indices = [{}]
[[projection]]
name = "p"
from = "src"
to = "post"
rule = "one_to_one"
receptor = "v"
weight = {{ matrix = [[{}, 0.0], [0.0, {}]] }}
delay = "{delay_ms} ms"
synapse = {synapse}
"#,
        times.join(", "),
        idx.join(", "),
        W[0],
        W[1]
    )
}

/// `v` of both neurons after each step.
fn run(text: &str, engine: EngineKind) -> Vec<[f64; 2]> {
    let b = builder();
    let sc = Scenario::from_str(text, Path::new("t.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = b.build(sc, &RunOptions { engine, ..RunOptions::default() }).unwrap();
    let mut out = Vec::new();
    for _ in 0..STEPS {
        sim.step();
        let v = sim.state("post", "v").unwrap();
        out.push([v[0], v[1]]);
    }
    out
}

fn spiked(step: u64, i: usize) -> bool {
    SPIKES.iter().any(|&(s, j)| s == step && j as usize == i)
}

/// The running sums of `input[t][i]` (what reaches `v` in the update of step t), shifted by
/// the delivery latency (1 + delay): what `v` holds after each step.
fn integrate(effect: impl Fn(u64, usize) -> f64, delay: u64) -> Vec<[f64; 2]> {
    let mut v = [0.0f64; 2];
    (0..STEPS)
        .map(|t| {
            for (i, vi) in v.iter_mut().enumerate() {
                if t >= 1 + delay {
                    *vi = 0.0 + (*vi - 0.0) * 1.0 + 0.0 + effect(t - 1 - delay, i);
                }
            }
            v
        })
        .collect()
}

fn check(name: &str, synapse: &str, delay: u32, reference: &[[f64; 2]]) {
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        let got = run(&scenario(synapse, delay), engine);
        for (t, (g, r)) in got.iter().zip(reference).enumerate() {
            assert_eq!(g, r, "{name} ({engine:?}): v after step {t}");
        }
    }
    assert!(reference.iter().any(|v| v[0] != 0.0) && reference.iter().any(|v| v[1] != 0.0), "{name}: the test should drive both");
}

#[test]
fn delta_adds_amplitude_times_weight() {
    let a = 0.4;
    let r = integrate(|t, i| if spiked(t, i) { W[i] * a } else { 0.0 }, 0);
    check("delta", "{ model = \"delta\", amplitude = 0.4 }", 0, &r);
}

/// SpikingFlow's ExpDecayCurrent.forward: i += -i/tau*(1 - s) + amplitude*s.
fn exp_decay_reference(tau: f64, amplitude: f64) -> Vec<[f64; 2]> {
    let mut cur = vec![[0.0f64; 2]; STEPS as usize];
    let mut i = [0.0f64; 2];
    for t in 0..STEPS {
        for k in 0..2 {
            let s = if spiked(t, k) { 1.0 } else { 0.0 };
            let decay = -i[k] / tau;
            i[k] += decay * (1.0 - s) + amplitude * s;
            cur[t as usize][k] = i[k];
        }
    }
    cur
}

#[test]
fn exp_decay_current_follows_spikingflow() {
    let cur = exp_decay_reference(5.0, 1.5);
    for delay in [0u32, 2] {
        let r = integrate(|t, i| W[i] * cur[t as usize][i], delay as u64);
        check("exp_decay_current", "{ model = \"exp_decay_current\", tau = \"5 ms\", amplitude = 1.5 }", delay, &r);
    }
}

#[test]
fn low_pass_is_spikingflow_low_pass_synapse() {
    // I(t) = I(t-1) - (1 - S(t)) I(t-1)/tau + S(t)
    let mut cur = vec![[0.0f64; 2]; STEPS as usize];
    let mut y = [0.0f64; 2];
    for t in 0..STEPS {
        for k in 0..2 {
            let s = if spiked(t, k) { 1.0 } else { 0.0 };
            y[k] += -y[k] / 10.0 * (1.0 - s) + s;
            cur[t as usize][k] = y[k];
        }
    }
    let r = integrate(|t, i| W[i] * cur[t as usize][i], 0);
    check("low_pass", "{ model = \"low_pass\", tau = \"10 ms\" }", 0, &r);
}

#[test]
fn alpha_samples_the_alpha_function() {
    // Superposition of w*(t/tau)*exp(1 - t/tau) for every spike; compared within 1e-12
    // (the model steps a two-variable exact propagator, the reference sums closed forms).
    let tau = 4.0;
    let alpha = |t: u64, i: usize| -> f64 {
        SPIKES.iter().filter(|&&(s, j)| j as usize == i && s < t).map(|&(s, _)| {
            let x = (t - s) as f64 / tau;
            W[i] * x * (1.0 - x).exp()
        }).sum()
    };
    let r = integrate(alpha, 0);
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        let got = run(&scenario("{ model = \"alpha\", tau = \"4 ms\" }", 0), engine);
        for (t, (g, r)) in got.iter().zip(&r).enumerate() {
            for k in 0..2 {
                assert!((g[k] - r[k]).abs() < 1e-12, "alpha ({engine:?}) step {t}: {} vs {}", g[k], r[k]);
            }
        }
    }
    // Neuron 1's first spike (step 10) is alone until step 30: its response peaks at
    // t = tau with the weight's value, which is what `alpha` normalises to.
    let lone = |t: u64| alpha(t, 1);
    assert!((lone(14) - W[1]).abs() < 1e-12 && lone(13).abs() < W[1].abs() && lone(15).abs() < W[1].abs());
}

/// The seed's STP equations, forward Euler over steps of `dt` ms (`dt/tau` per step, as the
/// engine): every step x += (1-x) dt/tau_d, v += (v_base - v) dt/tau_f; at a spike v jumps
/// by v_base (1 - v), v*x is released (times w), and x loses it. The release of each step.
fn stp_reference(vb: f64, tf: f64, td: f64, dt: f64) -> Vec<[f64; 2]> {
    let mut out = vec![[0.0f64; 2]; STEPS as usize];
    let (mut x, mut v) = ([1.0f64; 2], [vb; 2]);
    for t in 0..STEPS {
        for k in 0..2 {
            x[k] += (1.0 - x[k]) * (dt / td);
            v[k] += (vb - v[k]) * (dt / tf);
            if spiked(t, k) {
                v[k] += vb * (1.0 - v[k]);
                let rel = v[k] * x[k];
                x[k] -= rel;
                out[t as usize][k] = W[k] * rel;
            }
        }
    }
    out
}

#[test]
fn stp_follows_the_seed_equations() {
    // dx/dt = (1-x)/tau_d - v x delta, dv/dt = (v_base - v)/tau_f + v_base (1 - v) delta,
    // forward Euler per step; at a spike: v jumps, v*x is released, x loses it.
    let out = stp_reference(0.3, 20.0, 50.0, 1.0);
    let r = integrate(|t, i| out[t as usize][i], 1);
    check("tsodyks_markram", "{ model = \"tsodyks_markram\", v_base = 0.3, tau_f = \"20 ms\", tau_d = \"50 ms\" }", 1, &r);
    // Depression: the second of two back-to-back spikes releases less.
    assert!(out[4][0] < out[3][0] && out[4][0] > 0.0);
}

#[test]
fn stp_in_spikingflow_order_follows_its_code() {
    // SpikingFlow's STPTransformer.forward, one Euler step from the old x and v:
    //   x = x + (1 - x)/tau_d - x*s*v;  v = v + (v_base - v)/tau_f + v_base*(1 - v)*s;
    //   output v*x*s (the new values).
    let (vb, tf, td) = (0.3, 20.0, 50.0);
    let mut out = vec![[0.0f64; 2]; STEPS as usize];
    let (mut x, mut v) = ([1.0f64; 2], [vb; 2]);
    for t in 0..STEPS {
        for k in 0..2 {
            let s = if spiked(t, k) { 1.0 } else { 0.0 };
            let (x0, v0) = (x[k], v[k]);
            // (In the arithmetic order the engine uses: dt/tau once, w times the release.)
            x[k] = x0 + (1.0 - x0) * (1.0 / td) - s * v0 * x0;
            v[k] = v0 + (vb - v0) * (1.0 / tf) + s * vb * (1.0 - v0);
            out[t as usize][k] = s * W[k] * (v[k] * x[k]);
        }
    }
    let r = integrate(|t, i| out[t as usize][i], 1);
    check("tsodyks_markram (spikingflow order)", "{ model = \"tsodyks_markram\", v_base = 0.3, tau_f = \"20 ms\", tau_d = \"50 ms\", order = \"spikingflow\" }", 1, &r);
    // From rest (x = 1, v = v_base) SpikingFlow's code depletes with the old v (x = 0.7),
    // then releases v·x = 0.51 · 0.7; Tsodyks–Markram's order releases 0.51 · 1.
    let (t0, k0) = (0..STEPS).flat_map(|t| (0..2).map(move |k| (t, k))).find(|&(t, k)| spiked(t, k)).unwrap();
    assert!((out[t0 as usize][k0] - W[k0] * 0.51 * 0.7).abs() < 1e-12, "{}", out[t0 as usize][k0]);
}

#[test]
fn gaussian_linear_adds_seeded_noise_to_every_target() {
    let text = scenario("{ model = \"gaussian_linear\", std = \"0.5 mV\" }", 0);
    let a = run(&text, EngineKind::Cpu);
    let b = run(&text, EngineKind::Tensor);
    assert_eq!(a, b, "same noise on both engines");
    // Without spikes, v is the running sum of N(0, 0.25) draws: its increments have the
    // right spread (60 draws per neuron, both neurons: a loose 4-sigma band on the variance).
    let mut inc = Vec::new();
    for t in 1..STEPS as usize {
        for k in 0..2 {
            let d = a[t][k] - a[t - 1][k] - if spiked(t as u64 - 1, k) { W[k] } else { 0.0 };
            inc.push(d);
        }
    }
    let n = inc.len() as f64;
    let var = inc.iter().map(|d| d * d).sum::<f64>() / n;
    assert!((var - 0.25).abs() < 4.0 * 0.25 * (2.0 / n).sqrt(), "noise variance {var}, expected 0.25");
    // Another seed, other noise.
    let other = run(&text.replace("seed = 5", "seed = 6"), EngineKind::Cpu);
    assert_ne!(a, other);
}

#[test]
fn bad_keys_are_clear_errors() {
    let b = builder();
    for (syn, want) in [
        ("{ model = \"exp_decay_current\" }", "tau"),
        ("{ model = \"exp_decay_current\", tau = \"-1 ms\" }", "must be > 0"),
        ("{ model = \"tsodyks_markram\", v_base = 1.5, tau_f = \"1 ms\", tau_d = \"1 ms\" }", "in (0, 1]"),
        ("{ model = \"alpha\", tau = \"1 ms\", tau_d = 3 }", "tau_d"),
    ] {
        let e = Scenario::from_str(&scenario(syn, 0), Path::new("t.toml"), b.registry(), &LoadOptions::default()).err().unwrap_or_else(|| panic!("{syn} should be refused")).to_string();
        assert!(e.contains(want) && e.contains("t.toml:"), "{syn}: {e}");
    }
}

#[test]
fn weight_matrix_shape_is_checked() {
    let b = builder();
    let text = scenario("\"static\"", 0).replace("[[0.75, 0.0], [0.0, -1.25]]", "[[0.75, 0.0, 1.0], [0.0, -1.25, 1.0]]");
    let e = Scenario::from_str(&text, Path::new("t.toml"), b.registry(), &LoadOptions::default()).err().expect("refused").to_string();
    assert!(e.contains("matrix[0]") && e.contains("expected 2"), "{e}");
}

// ---- dt = 0.1 ms -----------------------------------------------------------------------
//
// At dt = 1 ms, dt/tau == 1/tau and tau/dt == tau: a model that dropped dt from its per-step
// constants would pass every test above. Here the same spikes (in steps) run at dt = 0.1 ms,
// with time constants in ms, and each reference writes its formula with dt explicit. The
// references compute the same quantities in another order than the models do (`i*dt/tau`
// against `i/(tau/dt)`, closed forms against a propagator), so they are compared within
// 1e-12 (relative to max(1, |v|)) rather than bit for bit: a missing dt (a factor 10 in
// dt/tau) or a step's shift is off by far more.

/// The time step of the cases below, ms.
const DT: f64 = 0.1;

/// Runs `synapse` at dt = [`DT`] on both engines and compares `v` with `reference` at every
/// step, within 1e-12.
fn check_close_dt(name: &str, synapse: &str, delay: u32, reference: &[[f64; 2]]) {
    assert_eq!(reference.len(), STEPS as usize);
    for engine in [EngineKind::Cpu, EngineKind::Tensor] {
        let got = run(&scenario_dt(synapse, delay, DT), engine);
        for (t, (g, r)) in got.iter().zip(reference).enumerate() {
            for k in 0..2 {
                assert!((g[k] - r[k]).abs() <= 1e-12 * r[k].abs().max(1.0), "{name} at dt = {DT} ms ({engine:?}): v[{k}] after step {t}: simulated {}, reference {}", g[k], r[k]);
            }
        }
    }
    assert!(reference.iter().any(|v| v[0] != 0.0) && reference.iter().any(|v| v[1] != 0.0), "{name}: the test should drive both");
}

#[test]
fn delta_at_dt_0_1_adds_amplitude_times_weight_unscaled() {
    // A spike adds amplitude * w whatever dt is (no dt factor).
    let a = 0.4;
    let r = integrate(|t, i| if spiked(t, i) { W[i] * a } else { 0.0 }, 0);
    check_close_dt("delta", "{ model = \"delta\", amplitude = 0.4 }", 0, &r);
}

#[test]
fn exp_decay_current_at_dt_0_1_decays_by_dt_over_tau() {
    // SpikingFlow's ExpDecayCurrent with tau in steps, tau_steps = tau/dt:
    // i += -i*dt/tau*(1 - s) + amplitude*s, tau = 2.5 ms (25 steps of 0.1 ms).
    let (tau, amplitude) = (2.5, 1.5);
    let mut cur = vec![[0.0f64; 2]; STEPS as usize];
    let mut i = [0.0f64; 2];
    for t in 0..STEPS {
        for (k, i) in i.iter_mut().enumerate() {
            let s = if spiked(t, k) { 1.0 } else { 0.0 };
            *i += -*i * DT / tau * (1.0 - s) + amplitude * s;
        }
        cur[t as usize] = i;
    }
    for delay in [0u32, 2] {
        let r = integrate(|t, k| W[k] * cur[t as usize][k], delay as u64);
        check_close_dt("exp_decay_current", "{ model = \"exp_decay_current\", tau = \"2.5 ms\", amplitude = 1.5 }", delay, &r);
    }
}

#[test]
fn low_pass_at_dt_0_1_decays_by_dt_over_tau() {
    // SpikingFlow's LowPassSynapse: I += -(1 - S)*I*dt/tau + S, tau = 1.2 ms (12 steps).
    let tau = 1.2;
    let mut cur = vec![[0.0f64; 2]; STEPS as usize];
    let mut y = [0.0f64; 2];
    for t in 0..STEPS {
        for (k, y) in y.iter_mut().enumerate() {
            let s = if spiked(t, k) { 1.0 } else { 0.0 };
            *y += -(1.0 - s) * *y * DT / tau + s;
        }
        cur[t as usize] = y;
    }
    let r = integrate(|t, k| W[k] * cur[t as usize][k], 0);
    check_close_dt("low_pass", "{ model = \"low_pass\", tau = \"1.2 ms\" }", 0, &r);
}

#[test]
fn alpha_at_dt_0_1_samples_the_alpha_function_in_ms() {
    // w*(t/tau)*exp(1 - t/tau) with t the time since each spike in ms, (steps)*dt, and
    // tau = 0.7 ms (7 steps): superposed over the spikes.
    let tau = 0.7;
    let alpha = |t: u64, i: usize| -> f64 {
        SPIKES.iter().filter(|&&(s, j)| j as usize == i && s < t).map(|&(s, _)| {
            let since_ms = (t - s) as f64 * DT;
            W[i] * (since_ms / tau) * (1.0 - since_ms / tau).exp()
        }).sum()
    };
    let r = integrate(alpha, 0);
    check_close_dt("alpha", "{ model = \"alpha\", tau = \"0.7 ms\" }", 0, &r);
    // Neuron 1's lone spike at step 10 peaks at t = tau = 7 steps of 0.1 ms, with w.
    let lone = |t: u64| alpha(t, 1);
    assert!((lone(17) - W[1]).abs() < 1e-12 && lone(16).abs() < W[1].abs() && lone(18).abs() < W[1].abs());
}

#[test]
fn stp_at_dt_0_1_recovers_by_dt_over_tau() {
    // Forward Euler of dx/dt = (1-x)/tau_d, dv/dt = (v_base - v)/tau_f over dt, then the
    // spike (v jumps, v*x released, x depleted); tau_f = 1.5 ms, tau_d = 4 ms.
    let out = stp_reference(0.3, 1.5, 4.0, DT);
    let r = integrate(|t, i| out[t as usize][i], 1);
    check_close_dt("tsodyks_markram", "{ model = \"tsodyks_markram\", v_base = 0.3, tau_f = \"1.5 ms\", tau_d = \"4 ms\" }", 1, &r);
}
