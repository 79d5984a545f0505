//! `conv2d_stdp` (SPAIC `Conv2d_STDP`, `Conv_STDP.py`; broken at SPAIC's HEAD, this is the
//! behaviour of its op list, identical to the working 2022 version):
//!
//! ```text
//! x_pre  = (spike - s_pre)  * (exp(-dt/tau_plus)  * x_pre)  + s_pre     (per neuron)
//! x_post = (spike - s_post) * (exp(-dt/tau_minus) * x_post) + s_post
//! e_new[c] = A_plus  * sum_{synapses k of entry c} s_post(k) x_pre(k)
//!          + A_minus * sum_{synapses k of entry c} x_post(k) s_pre(k)
//! W[c] += lr * e_prev[c]                     (the eligibility of the previous step)
//! e_prev = e_new
//! ```
//!
//! On a `rule = "conv2d"` projection `c` is the shared kernel entry (SPAIC's unfold and
//! bmm: the sum over every position the entry is used at); on any other projection each
//! synapse is its own entry. No clamp, no normalisation. SPAIC keeps the presynaptic
//! trace on unfolded copies; they equal the per-neuron trace (padding columns stay 0, and
//! here padding has no synapse, so any padding works; SPAIC's needs padding 0).

use bevy_ecs::prelude::Component;
use spikeworld::api::synapse::SynapseVarSpec;
use spikeworld::net::plastic::{DelaySite, EntrySums, PlasticStep, PlasticityRule, TraceRing};
use spikeworld::prelude::*;

use super::{spikes};
use crate::{DELAY_KEY, Keys, TargetRange, config, finite, positive};

/// The `conv2d_stdp` add-on.
pub struct Addon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("lr", Dim::Dimensionless, 0.1, "learning rate: W += lr * eligibility"),
    ParamSpec::new("tau_plus", Dim::Time, 20.0, "presynaptic trace time constant (decay exp(-dt/tau_plus) per step)"),
    ParamSpec::new("tau_minus", Dim::Time, 20.0, "postsynaptic trace time constant (decay exp(-dt/tau_minus) per step)"),
    ParamSpec::new("A_plus", Dim::Dimensionless, 1.0, "LTP scale, in the weight's unit").in_weight_unit(),
    ParamSpec::new("A_minus", Dim::Dimensionless, -1.0, "LTD scale, in the weight's unit (the sign is built in: negative depresses)").in_weight_unit(),
    ParamSpec::new("spike", Dim::Dimensionless, 1.0, "SPAIC's `spike` constant in x = (spike - s) * (decay * x) + s"),
    DELAY_KEY,
];

/// The rule's constants.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Learning rate.
    pub lr: f64,
    /// `exp(-dt/tau_plus)`.
    pub decay_plus: f64,
    /// `exp(-dt/tau_minus)`.
    pub decay_minus: f64,
    /// LTP scale.
    pub a_plus: f64,
    /// LTD scale.
    pub a_minus: f64,
    /// `spike`.
    pub spike: f64,
}

impl ProjectionAddon for Addon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "conv2d_stdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC Conv2d_STDP: nearest traces decaying by exp(-dt/tau); eligibility per kernel entry = A_plus*sum(s_post*x_pre) + A_minus*sum(x_post*s_pre) over the positions sharing it; W += lr*eligibility one step later; conv2d (shared kernel) or any projection (then per synapse)"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let mut k = Keys::new(t, ctx.receptor_dim);
        let lr = k.num(&KEYS[0], finite, "finite")?;
        let tau_plus = k.num(&KEYS[1], positive, "> 0")?;
        let tau_minus = k.num(&KEYS[2], positive, "> 0")?;
        let a_plus = k.num(&KEYS[3], finite, "finite")?;
        let a_minus = k.num(&KEYS[4], finite, "finite")?;
        let spike = k.num(&KEYS[5], finite, "finite")?;
        let site = k.site()?;
        let dt = ctx.dt_ms;
        let p = Params { lr, decay_plus: (-dt / tau_plus).exp(), decay_minus: (-dt / tau_minus).exp(), a_plus, a_minus, spike };
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        let rule = config(
            move |tb: &SynapseTable| {
                let depth = tb.max_delay as usize + 1;
                let n = tb.weight.len();
                // A shared entry sums many synapses' contributions (exactly: the same in
                // any number of shards), and its eligibility is the rule's; an unshared one
                // takes one of each kind a step, and its eligibility is the synapse's.
                let shared = tb.kernel_index.is_some();
                // (`AddonCtx::shared_kernel` declared the array exactly when there is no kernel.)
                debug_assert!(shared || tb.var(ELIGIBILITY.name).is_some(), "conv2d_stdp: no eligibility array on a projection without a kernel");
                Conv2dStdp {
                    p,
                    site,
                    range,
                    x: TraceRing::new(n_src, depth, 0.0),
                    y: TraceRing::new(range.n, depth, 0.0),
                    e_prev: if shared { vec![0.0; n] } else { Vec::new() },
                    e_var: tb.var(ELIGIBILITY.name),
                    sums: shared.then(|| EntrySums::new(n)),
                    plus: if shared { Vec::new() } else { vec![0.0; n] },
                    minus: if shared { Vec::new() } else { vec![0.0; n] },
                    mark: Vec::new(),
                }
            },
            true,
        );
        Ok(if ctx.shared_kernel { rule.kernel_in_shards() } else { rule.synapse_var(ELIGIBILITY).in_shards() }.into())
    }
}

/// Each synapse's eligibility of the previous step, on a projection without a shared kernel.
const ELIGIBILITY: SynapseVarSpec = SynapseVarSpec { name: "eligibility", initial: 0.0, doc: "the eligibility of the last step, applied in this one" };

/// `conv2d_stdp` on one projection.
#[derive(Component)]
pub struct Conv2dStdp {
    p: Params,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    /// The eligibility of the previous step, per kernel entry (a shared kernel).
    e_prev: Vec<f64>,
    /// The table's array of it, per synapse (no shared kernel).
    e_var: Option<usize>,
    /// This step's sums, per shared entry, over every shard.
    sums: Option<EntrySums>,
    /// This step's sums, per synapse (no shared kernel).
    plus: Vec<f64>,
    minus: Vec<f64>,
    mark: Vec<f64>,
}

impl Checkpoint for Conv2dStdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)?;
        out.blob(&self.e_prev)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)?;
        inp.blob_into(&mut self.e_prev, "conv2d_stdp eligibility")
    }
}

impl PlasticityRule for Conv2dStdp {
    fn delay_site(&self) -> DelaySite {
        self.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let p = self.p;
        let (pre, post) = spikes(&s, self.range);
        self.x.step(pre, &mut self.mark, |x, z| (p.spike - z) * (p.decay_plus * x) + z);
        self.y.step(post, &mut self.mark, |y, z| (p.spike - z) * (p.decay_minus * y) + z);
        let (t, ev, range) = (s.table, s.events, self.range);
        let e_prev = match self.e_var {
            Some(v) => &t.vars[v],
            None => &self.e_prev,
        };
        for (w, e) in t.weight.iter_mut().zip(e_prev) {
            *w += p.lr * e;
        }
        let (x, y) = (&self.x, &self.y);
        let post_trace = |j: u32, lag: u32| y.lagged(range.rel(j).expect("target in the selection"), lag);
        match (t.kernel_index.as_deref(), self.sums.as_mut()) {
            (Some(ix), Some(sums)) => {
                ev.post(t, |e| sums.add_plus(ix[e.k] as usize, x.lagged(e.i as usize, e.pre_lag)));
                ev.pre(t, |e| sums.add_minus(ix[e.k] as usize, post_trace(e.j, e.post_lag)));
                let (plus, minus) = sums.finish(s.shards);
                for ((e, pl), mi) in self.e_prev.iter_mut().zip(plus).zip(minus) {
                    *e = p.a_plus * *pl + p.a_minus * *mi;
                }
            }
            _ => {
                let (plus, minus) = (&mut self.plus, &mut self.minus);
                ev.post(t, |e| plus[e.k] += x.lagged(e.i as usize, e.pre_lag));
                ev.pre(t, |e| minus[e.k] += post_trace(e.j, e.post_lag));
                let e_prev = match self.e_var {
                    Some(v) => &mut t.vars[v],
                    None => &mut self.e_prev,
                };
                for ((e, pl), mi) in e_prev.iter_mut().zip(plus.iter_mut()).zip(minus.iter_mut()) {
                    *e = p.a_plus * *pl + p.a_minus * *mi;
                    *pl = 0.0;
                    *mi = 0.0;
                }
            }
        }
    }
}
