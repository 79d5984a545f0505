//! A plastic projection fed by random spike trains, stepped one step at a time, and the
//! spikes each synapse saw, for references that recompute every weight per synapse.
#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::Path;

use spikeworld::prelude::*;

/// The simulator with the plugins these tests use.
pub fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_neuron_lif::LifPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin)
        .add_plugin(spikeworld_plasticity_stdp::StdpPlugin);
    b
}

/// 12 Poisson sources (150 Hz at dt = 1 ms) onto 6 `sj_if` targets, which a second Poisson
/// drive (one-to-one, weight 5) makes spike at random too; the plastic projection `plastic`
/// connects them by `connect` (a TOML fragment: rule and its keys), with `delay` and the
/// plasticity table `rule`.
pub fn scenario_text(connect: &str, delay: &str, rule: &str, steps: u64) -> String {
    shaped_text("size = 12", "size = 6", 6, connect, delay, rule, steps)
}

/// [`scenario_text`] with the sources' and targets' size or shape keys given.
pub fn shaped_text(pre: &str, post: &str, n_post: usize, connect: &str, delay: &str, rule: &str, steps: u64) -> String {
    format!(
        r#"
[simulation]
dt = "1 ms"
t_stop = "{steps} ms"
seed = 11

[[encoder]]
name = "pre"
kind = "poisson"
{pre}
rate = "150 Hz"

[[encoder]]
name = "drive"
kind = "poisson"
size = {n_post}
rate = "120 Hz"

[[population]]
name = "post"
{post}
model = "sj_if"

[[projection]]
name = "drive"
from = "drive"
to = "post"
rule = "one_to_one"
receptor = "x"
weight = 5.0

[[projection]]
name = "plastic"
from = "pre"
to = "post"
{connect}
receptor = "x"
weight = {{ dist = "uniform", low = 0.1, high = 0.4 }}
delay = {delay}
plasticity = {rule}
"#
    )
}

/// `text` (from [`scenario_text`] or [`shaped_text`], `steps` steps) at a time step of `dt`
/// ms: the same number of steps and the same spike probability per step (the Poisson rates
/// scaled by 1/dt). Delays are the caller's (in ms: give them for this dt).
pub fn at_dt(text: &str, dt: f64, steps: u64) -> String {
    let sub = |t: String, from: &str, to: String| {
        assert!(t.contains(from), "the scenario has no `{from}`");
        t.replacen(from, &to, 1)
    };
    let t = sub(text.to_string(), "dt = \"1 ms\"", format!("dt = \"{dt} ms\""));
    let t = sub(t, &format!("t_stop = \"{steps} ms\""), format!("t_stop = \"{} ms\"", steps as f64 * dt));
    let t = sub(t, "rate = \"150 Hz\"", format!("rate = \"{} Hz\"", 150.0 / dt));
    sub(t, "rate = \"120 Hz\"", format!("rate = \"{} Hz\"", 120.0 / dt))
}

/// One synapse as the reference sees it.
#[derive(Clone, Copy, Debug)]
pub struct Syn {
    /// Source index.
    pub i: usize,
    /// Target index.
    pub j: usize,
    /// Delay, steps.
    pub d: u64,
}

/// A run stepped one step at a time: the synapses, the spikes of both sides per step and
/// the weights after every step.
pub struct Trial {
    /// Synapses in table order.
    pub syn: Vec<Syn>,
    /// Kernel entry of each synapse (shared weights).
    pub kernel: Option<Vec<usize>>,
    /// Initial weights (per synapse, or the kernel).
    pub w0: Vec<f64>,
    /// Source spikes per step.
    pub pre: Vec<Vec<bool>>,
    /// Target spikes per step.
    pub post: Vec<Vec<bool>>,
    /// Weights after each step.
    pub w: Vec<Vec<f64>>,
}

fn table<'a>(sim: &'a Sim, name: &str) -> &'a SynapseTable {
    let i = sim.scenario.projections.iter().position(|p| p.name == name).unwrap();
    sim.world.get::<SynapseTable>(sim.projections[i]).unwrap()
}

/// Runs `text` step by step, recording what the reference needs.
pub fn run(text: &str) -> Trial {
    let b = builder();
    let sc = Scenario::from_str(text, Path::new("plastic.toml"), b.registry(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let steps = sc.steps;
    let mut sim = b.build(sc, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let tb = table(&sim, "plastic");
    let syn: Vec<Syn> = (0..tb.len()).map(|k| Syn { i: (tb.source_of(k) - tb.src_start) as usize, j: tb.csr.col[k] as usize, d: tb.delay.of(k) as u64 }).collect();
    let kernel = tb.kernel_index.as_ref().map(|ix| ix.iter().map(|&c| c as usize).collect());
    let w0 = tb.weight.clone();
    let pre_e = sim.encoders[sim.scenario.encoders.iter().position(|e| e.name == "pre").unwrap()];
    let post_e = sim.population("post").unwrap();
    let n_pre = sim.scenario.encoders.iter().find(|e| e.name == "pre").unwrap().size;
    let n_post = sim.scenario.populations.iter().find(|p| p.name == "post").unwrap().size;
    let (mut pre, mut post, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..steps {
        sim.step();
        let mark = |idx: &[u32], n: usize| {
            let mut v = vec![false; n];
            for &i in idx {
                v[i as usize] = true;
            }
            v
        };
        pre.push(mark(&sim.world.get::<Spikes>(pre_e).unwrap().indices, n_pre));
        post.push(mark(&sim.world.get::<Spikes>(post_e).unwrap().indices, n_post));
        w.push(table(&sim, "plastic").weight.clone());
    }
    let total_pre: usize = pre.iter().map(|s| s.iter().filter(|&&x| x).count()).sum();
    let total_post: usize = post.iter().map(|s| s.iter().filter(|&&x| x).count()).sum();
    assert!(total_pre > 50 && total_post > 20, "the trial needs spikes on both sides ({total_pre} pre, {total_post} post)");
    Trial { syn, kernel, w0, pre, post, w }
}

impl Trial {
    /// Whether the spike of synapse `s`'s source reaches it at step `t` (`lag` steps
    /// after emission), and likewise for its target.
    pub fn pre_at(&self, s: Syn, t: u64, lag: u64) -> bool {
        t >= lag && self.pre[(t - lag) as usize][s.i]
    }
    /// See [`Trial::pre_at`].
    pub fn post_at(&self, s: Syn, t: u64, lag: u64) -> bool {
        t >= lag && self.post[(t - lag) as usize][s.j]
    }
    /// Asserts the simulated weights equal `reference[t]` at every step within `tol`
    /// (relative to max(1, |w|)), and that the weights did change.
    pub fn check(&self, reference: &[Vec<f64>], tol: f64, what: &str) {
        assert_eq!(reference.len(), self.w.len());
        for (t, (r, w)) in reference.iter().zip(&self.w).enumerate() {
            for (k, (a, b)) in r.iter().zip(w).enumerate() {
                assert!((a - b).abs() <= tol * a.abs().max(1.0), "{what}: step {t}, weight {k}: reference {a}, simulated {b}");
            }
        }
        let changed = self.w.last().unwrap().iter().zip(&self.w0).filter(|(a, b)| a != b).count();
        assert!(changed * 2 > self.w0.len(), "{what}: only {changed} of {} weights changed", self.w0.len());
    }
}

/// CPython's `math.fsum`, for the references of rules whose sums are exact.
#[allow(unused_imports, reason = "not every test binary sums")]
pub use spikeworld::testing::fsum;
