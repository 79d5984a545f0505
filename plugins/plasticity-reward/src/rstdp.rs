//! SPAIC's reward-modulated STDP with all-to-all traces (`spaic/Learning/RSTDP.py`,
//! `Conv_RSTDP.py`): `rstdp` (class `RSTDP`, Florian 2007 with a point eligibility),
//! `rstdp_et` (class `RSTDPET`, with an eligibility trace) and `conv2d_rstdp` (class
//! `Conv2d_RSTDP`, one shared kernel).
//!
//! ```text
//! p_plus  = A_plus  * s_pre  + exp(-dt/tau_plus)  * p_plus        (per source)
//! p_minus = A_minus * s_post + exp(-dt/tau_minus) * p_minus       (per target)
//! e       = s_post * p_plus + p_minus * s_pre                     (per synapse, traces with this step's spike)
//! rstdp:         W += lr * R * e_prev;                  e_prev = e
//! rstdp_et:      W += lr * dt * R * E_prev;             E_prev = exp(-dt/tau_e_trace) * E_prev + (dt/tau_e) * e
//! conv2d_rstdp:  W[c] += lr * R * e_prev[c];            e_prev[c] = sum of e over the synapses sharing entry c
//! ```
//!
//! `s_pre` is a presynaptic spike reaching the synapse this step, `s_post` a postsynaptic
//! one; `R` the modulator `signal` this step. The eligibility of step `t` is applied at
//! `t + 1` (SPAIC reads it without `[updated]`).

use bevy_ecs::prelude::{Component, World};
use spikeworld::api::synapse::SynapseVarSpec;
use spikeworld::net::plastic::{DelaySite, EntrySums, PlasticStep, PlasticityRule, TableAccum, TraceRing};
use spikeworld::prelude::*;
use spikeworld_plasticity_stdp::{DELAY_KEY, Keys, TargetRange, finite, positive};

use crate::{SIGNAL_KEY, Sparse, accumulate, config, signal_name};

/// The `rstdp` add-on.
pub struct RstdpAddon;
/// The `rstdp_et` add-on.
pub struct RstdpEtAddon;
/// The `conv2d_rstdp` add-on.
pub struct Conv2dRstdpAddon;

const KEYS: &[ParamSpec] = &[
    ParamSpec::new("lr", Dim::Dimensionless, 0.1, "learning rate (SPAIC `lr`), in the weight's unit").in_weight_unit(),
    ParamSpec::new("tau_plus", Dim::Time, 20.0, "time constant of the presynaptic trace p_plus (decay exp(-dt/tau_plus) per step)"),
    ParamSpec::new("tau_minus", Dim::Time, 20.0, "time constant of the postsynaptic trace p_minus"),
    ParamSpec::new("a_plus", Dim::Dimensionless, 1.0, "added to p_plus by a presynaptic spike (SPAIC `A_plus`)"),
    ParamSpec::new("a_minus", Dim::Dimensionless, -1.0, "added to p_minus by a postsynaptic spike (SPAIC `A_minus`; negative: depression)"),
    SIGNAL_KEY,
    DELAY_KEY,
];

const ET_KEYS: &[ParamSpec] = &[
    ParamSpec::required("lr", Dim::Dimensionless, "learning rate (SPAIC `lr`, required there too), in the weight's unit per ms").in_weight_unit(),
    ParamSpec::new("tau_plus", Dim::Time, 20.0, "time constant of the presynaptic trace p_plus"),
    ParamSpec::new("tau_minus", Dim::Time, 20.0, "time constant of the postsynaptic trace p_minus"),
    ParamSpec::new("tau_e_trace", Dim::Time, 25.0, "decay time constant of the eligibility trace E (decay exp(-dt/tau_e_trace))"),
    ParamSpec::new("tau_e", Dim::Time, 25.0, "input time constant of the eligibility trace (E gains dt/tau_e times e)"),
    ParamSpec::new("a_plus", Dim::Dimensionless, 1.0, "added to p_plus by a presynaptic spike"),
    ParamSpec::new("a_minus", Dim::Dimensionless, -1.0, "added to p_minus by a postsynaptic spike"),
    SIGNAL_KEY,
    DELAY_KEY,
];

/// The constants of the traces and the rate.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Learning rate.
    pub lr: f64,
    /// `exp(-dt/tau_plus)`.
    pub decay_plus: f64,
    /// `exp(-dt/tau_minus)`.
    pub decay_minus: f64,
    /// Presynaptic jump.
    pub a_plus: f64,
    /// Postsynaptic jump.
    pub a_minus: f64,
}

fn read_params(k: &mut Keys<'_, '_>, keys: &[ParamSpec], dt: f64) -> Result<Params, ScenarioError> {
    let spec = |name: &str| keys.iter().find(|s| s.name == name).expect("key declared");
    let lr = k.num(spec("lr"), finite, "finite")?;
    let tau_plus = k.num(spec("tau_plus"), positive, "> 0")?;
    let tau_minus = k.num(spec("tau_minus"), positive, "> 0")?;
    let a_plus = k.num(spec("a_plus"), finite, "finite")?;
    let a_minus = k.num(spec("a_minus"), finite, "finite")?;
    Ok(Params { lr, decay_plus: (-dt / tau_plus).exp(), decay_minus: (-dt / tau_minus).exp(), a_plus, a_minus })
}

/// What the three rules share: the traces and the eligibility of this step.
pub struct Core {
    p: Params,
    signal: String,
    site: DelaySite,
    range: TargetRange,
    x: TraceRing,
    y: TraceRing,
    mark: Vec<f64>,
}

impl Core {
    fn new(p: Params, signal: String, site: DelaySite, range: TargetRange, n_src: usize, tb: &SynapseTable) -> Self {
        let depth = tb.max_delay as usize + 1;
        Core { p, signal, site, range, x: TraceRing::new(n_src, depth, 0.0), y: TraceRing::new(range.n, depth, 0.0), mark: Vec::new() }
    }

    /// Updates the traces with this step's spikes; returns the reward.
    fn traces(&mut self, s: &PlasticStep<'_>) -> f64 {
        let (a, b, range, p) = (s.table.src_start, s.table.src_end, self.range, self.p);
        accumulate(&mut self.x, s.pre_now.iter().filter(|&&i| i >= a && i < b).map(|&i| (i - a) as usize), p.a_plus, p.decay_plus, &mut self.mark);
        accumulate(&mut self.y, s.post_now.iter().filter_map(|&j| range.rel(j)), p.a_minus, p.decay_minus, &mut self.mark);
        s.modulators.get(&self.signal)
    }

    /// The terms of this step's `e`, per synapse `k`: `f(k, p_plus, true)` for each
    /// postsynaptic spike reaching a synapse (`s_post * p_plus`), then `f(k, p_minus,
    /// false)` for each presynaptic one (`p_minus * s_pre`).
    fn eligibility(&self, s: &PlasticStep<'_>, mut f: impl FnMut(usize, f64, bool)) {
        let (x, y, range) = (&self.x, &self.y, self.range);
        s.events.post(s.table, |e| f(e.k, x.lagged(e.i as usize, e.pre_lag), true));
        s.events.pre(s.table, |e| f(e.k, y.lagged(range.rel(e.j).expect("target in the selection"), e.post_lag), false));
    }
}

impl Checkpoint for Core {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.x.save_state(out)?;
        self.y.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.x.load_state(inp)?;
        self.y.load_state(inp)
    }
}

fn parse_common(t: &mut Table<'_>, ctx: &AddonCtx, keys: &[ParamSpec]) -> Result<(Params, String, DelaySite), ScenarioError> {
    let signal = signal_name(t, "signal", "reward")?;
    let mut k = Keys::new(t, ctx.receptor_dim);
    let p = read_params(&mut k, keys, ctx.dt_ms)?;
    let site = k.site()?;
    Ok((p, signal, site))
}

impl ProjectionAddon for RstdpAddon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "rstdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC RSTDP (Florian 2007, point eligibility): p_plus = a_plus s_pre + decay p_plus, p_minus = a_minus s_post + decay p_minus, e = s_post p_plus + p_minus s_pre; W += lr R e_prev (the previous step's e, this step's reward R)"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let (p, signal, site) = parse_common(t, ctx, KEYS)?;
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        let rule = config(
            move |tb: &SynapseTable| Rstdp { core: Core::new(p, signal.clone(), site, range, n_src, tb), e: TableAccum::new(tb, "eligibility", "eligibility_set"), new: Sparse::new(tb.len()) },
            false,
        );
        Ok(rule
            .synapse_var(SynapseVarSpec { name: "eligibility", initial: 0.0, doc: "the point eligibility e of the last step, applied in this one" })
            .synapse_var(SynapseVarSpec { name: "eligibility_set", initial: 0.0, doc: "1 where eligibility is set" })
            .in_shards()
            .into())
    }
}

/// `rstdp` on one projection.
#[derive(Component)]
pub struct Rstdp {
    core: Core,
    /// The eligibility of the last step (applied in the next one), in the table.
    e: TableAccum,
    /// Scratch: this step's eligibility.
    new: Sparse,
}

impl Checkpoint for Rstdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        // (The eligibility is saved with the table.)
        self.core.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.core.load_state(inp)?;
        self.e.reloaded();
        Ok(())
    }
}

impl PlasticityRule for Rstdp {
    fn delay_site(&self) -> DelaySite {
        self.core.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let r = self.core.traces(&s);
        // W += lr * R * e_prev: the eligibility is zero but where the last step touched it.
        let c = self.core.p.lr * r;
        self.e.drain(s.table, |k, e, w| w[k] += c * e);
        let new = &mut self.new;
        self.core.eligibility(&s, |k, v, _| new.add(k, v));
        self.e.replace(s.table, &self.new);
        self.new.clear();
    }
}

impl ProjectionAddon for RstdpEtAddon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "rstdp_et"
    }
    fn doc(&self) -> &'static str {
        "SPAIC RSTDPET (R-STDP with an eligibility trace): e as rstdp; W += lr dt R E_prev; E = exp(-dt/tau_e_trace) E + (dt/tau_e) e"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        ET_KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let signal = signal_name(t, "signal", "reward")?;
        let mut k = Keys::new(t, ctx.receptor_dim);
        let p = read_params(&mut k, ET_KEYS, ctx.dt_ms)?;
        let tau_e_trace = k.num(&ET_KEYS[3], positive, "> 0")?;
        let tau_e = k.num(&ET_KEYS[4], positive, "> 0")?;
        let site = k.site()?;
        let dt = ctx.dt_ms;
        let (decay_e, gain_e) = ((-dt / tau_e_trace).exp(), dt / tau_e);
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        Ok(config(
            move |tb: &SynapseTable| RstdpEt {
                core: Core::new(p, signal.clone(), site, range, n_src, tb),
                dt,
                decay_e,
                gain_e,
                trace: tb.var("eligibility_trace").expect("declared"),
                e: vec![0.0; tb.weight.len()],
            },
            false,
        )
        .synapse_var(SynapseVarSpec { name: "eligibility_trace", initial: 0.0, doc: "the eligibility trace E after the last step" })
        .in_shards()
        .into())
    }
}

/// `rstdp_et` on one projection.
#[derive(Component)]
pub struct RstdpEt {
    core: Core,
    dt: f64,
    decay_e: f64,
    gain_e: f64,
    /// The table's array of the eligibility trace E after the last step.
    trace: usize,
    /// Scratch: this step's point eligibility (zero between steps).
    e: Vec<f64>,
}

impl Checkpoint for RstdpEt {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        // (The eligibility trace is saved with the table.)
        self.core.save_state(out)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.core.load_state(inp)
    }
}

impl PlasticityRule for RstdpEt {
    fn delay_site(&self) -> DelaySite {
        self.core.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let r = self.core.traces(&s);
        let e = &mut self.e;
        self.core.eligibility(&s, |k, v, _| e[k] += v);
        let c = self.core.p.lr * self.dt * r;
        let (de, ge) = (self.decay_e, self.gain_e);
        // NOTE: the weight takes E before this step's update (SPAIC reads the trace
        // without `[updated]`); E then decays and takes this step's e.
        let t = &mut *s.table;
        for ((w, tr), e) in t.weight.iter_mut().zip(t.vars[self.trace].iter_mut()).zip(self.e.iter_mut()) {
            *w += c * *tr;
            *tr = de * *tr + ge * *e;
            *e = 0.0;
        }
    }
}

impl ProjectionAddon for Conv2dRstdpAddon {
    fn table(&self) -> &'static str {
        "plasticity"
    }
    fn name(&self) -> &'static str {
        "conv2d_rstdp"
    }
    fn doc(&self) -> &'static str {
        "SPAIC Conv2d_RSTDP on a conv2d projection (shared kernel): the rstdp eligibility summed over the synapses sharing each kernel entry; W[c] += lr R e_prev[c]; global reward"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(&self, t: &mut Table<'_>, ctx: &AddonCtx) -> Result<std::sync::Arc<dyn AddonConfig>, ScenarioError> {
        let (p, signal, site) = parse_common(t, ctx, KEYS)?;
        let (n_src, range) = (ctx.n_src, TargetRange::of(ctx));
        Ok(config(
            move |tb: &SynapseTable| {
                let n = tb.weight.len();
                Conv2dRstdp { core: Core::new(p, signal.clone(), site, range, n_src, tb), e: vec![0.0; n], sums: EntrySums::new(n), shared: tb.kernel_index.is_some() }
            },
            true,
        )
        .kernel_in_shards()
        .into())
    }
}

/// `conv2d_rstdp` on one (conv2d) projection.
#[derive(Component)]
pub struct Conv2dRstdp {
    core: Core,
    /// The eligibility of the last step, per kernel entry.
    e: Vec<f64>,
    /// This step's sums per entry (exact, over every shard).
    sums: EntrySums,
    shared: bool,
}

impl Checkpoint for Conv2dRstdp {
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()> {
        self.core.save_state(out)?;
        out.blob(&self.e)
    }
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError> {
        self.core.load_state(inp)?;
        inp.blob_into(&mut self.e, "kernel eligibility")
    }
}

impl PlasticityRule for Conv2dRstdp {
    fn delay_site(&self) -> DelaySite {
        self.core.site
    }
    fn step(&mut self, s: PlasticStep<'_>) {
        let r = self.core.traces(&s);
        let Some(ix) = s.table.kernel_index.take() else { return };
        let sums = &mut self.sums;
        self.core.eligibility(&s, |k, v, post| if post { sums.add_plus(ix[k] as usize, v) } else { sums.add_minus(ix[k] as usize, v) });
        let (plus, minus) = sums.finish(s.shards);
        let c = self.core.p.lr * r;
        for (((w, e), pl), mi) in s.table.weight.iter_mut().zip(self.e.iter_mut()).zip(plus).zip(minus) {
            *w += c * *e;
            // SPAIC: bmm(Q, p_plus^T) + bmm(p_minus, P^T), each summed over positions.
            *e = *pl + *mi;
        }
        s.table.kernel_index = Some(ix);
    }
}

/// Fails the build when `conv2d_rstdp` sits on a projection without a shared kernel (SPAIC
/// raises for anything but `conv_connect`).
pub(crate) fn check_conv2d_projections(w: &mut World) -> Result<(), String> {
    let mut q = w.query::<(&SynapseTable, &Conv2dRstdp)>();
    for (t, r) in q.iter(w) {
        if !r.shared {
            return Err(format!("projection `{}`: plasticity rule `conv2d_rstdp` needs a `rule = \"conv2d\"` projection (a shared kernel); use `rstdp` on other projections", t.name));
        }
    }
    Ok(())
}
