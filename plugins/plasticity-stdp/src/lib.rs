#![doc = include_str!("../README.md")]


use spikeworld::net::plastic::{DelaySite, register_rule};
use spikeworld::prelude::*;

pub mod classic;
pub mod norse;
pub mod spaic;
pub mod spikingflow;

/// Registers the rules of the STDP family as `plasticity = { rule = ... }` add-ons:
/// `stdp` (pair-based, Brian2/Song 2000), `sf_stdp` (SpikingFlow), `norse_stdp` (Norse,
/// dense and convolutional).
pub struct StdpPlugin;

impl Plugin for StdpPlugin {
    fn build(&self, b: &mut SimBuilder) {
        b.add_projection_addon(classic::Addon).add_projection_addon(spikingflow::Addon).add_projection_addon(norse::Addon);
        register_rule::<classic::PairStdp>(b, "plasticity.stdp");
        register_rule::<spikingflow::SfStdp>(b, "plasticity.sf_stdp");
        register_rule::<norse::NorseStdp>(b, "plasticity.norse_stdp");
        b.add_projection_addon(spaic::online::NearestAddon)
            .add_projection_addon(spaic::online::FullAddon)
            .add_projection_addon(spaic::meta::Addon)
            .add_projection_addon(spaic::postpre_int::Addon)
            .add_projection_addon(spaic::conv::Addon);
        register_rule::<spaic::online::NearestOnlineStdp>(b, "plasticity.nearest_online_stdp");
        register_rule::<spaic::online::FullOnlineStdp>(b, "plasticity.full_online_stdp");
        register_rule::<spaic::meta::MetaNearestOnlineStdp>(b, "plasticity.meta_nearest_online_stdp");
        register_rule::<spaic::postpre_int::PostPreIntStdp>(b, "plasticity.postpre_int_stdp");
        register_rule::<spaic::conv::Conv2dStdp>(b, "plasticity.conv2d_stdp");
    }
}

/// The key every rule of this crate takes for where delays lie.
pub const DELAY_KEY: ParamSpec =
    ParamSpec::optional("delay", Dim::Dimensionless, "where the synaptic delay lies: \"axonal\" (default: a presynaptic spike counts when it reaches the synapse, a postsynaptic one at once) or \"dendritic\" (NEST: the presynaptic spike counts when emitted, the postsynaptic one after the delay)");

/// Reads a rule's keys with their specs' defaults and checks, with `file:line:col` errors.
pub struct Keys<'t, 'a> {
    t: &'t mut Table<'a>,
    /// The receptor's dimension (weights' unit).
    pub wdim: Dim,
}

impl<'t, 'a> Keys<'t, 'a> {
    /// Keys of `t`, weights in `wdim`.
    pub fn new(t: &'t mut Table<'a>, wdim: Dim) -> Self {
        Keys { t, wdim }
    }
    /// A number of the spec's dimension (the receptor's when the spec is
    /// [`ParamSpec::in_weight_unit`]), default from the spec, checked by `ok` (`what` says
    /// what is expected).
    pub fn num(&mut self, spec: &ParamSpec, ok: fn(f64) -> bool, what: &str) -> Result<f64, ScenarioError> {
        let dim = if spec.weight_unit { self.wdim } else { spec.dim };
        match self.t.opt_quantity(spec.name, dim)? {
            Some((x, n)) if !ok(x) => Err(self.t.err(n, spec.name, format!("must be {what} (found {x})"))),
            Some((x, _)) => Ok(x),
            None => match spec.default_value() {
                Some(d) => Ok(d),
                None => Err(self.t.req(spec.name).err().expect("an absent key is an error")),
            },
        }
    }
    /// One of `choices` (the first is the default).
    pub fn choice(&mut self, key: &str, choices: &[&'static str]) -> Result<&'static str, ScenarioError> {
        match self.t.opt_str(key)? {
            None => Ok(choices[0]),
            Some((s, n)) => choices.iter().copied().find(|c| *c == s).ok_or_else(|| self.t.err(n, key, format!("must be one of {} (found \"{s}\")", choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")))),
        }
    }
    /// A boolean, `default` when absent.
    pub fn flag(&mut self, key: &str, default: bool) -> Result<bool, ScenarioError> {
        Ok(self.t.opt_bool(key)?.unwrap_or(default))
    }
    /// The `delay` key.
    pub fn site(&mut self) -> Result<DelaySite, ScenarioError> {
        Ok(match self.choice("delay", &["axonal", "dendritic"])? {
            "dendritic" => DelaySite::Dendritic,
            _ => DelaySite::Axonal,
        })
    }
    /// An error at the table itself (a combination of keys).
    pub fn error(&self, key: &str, msg: impl Into<String>) -> ScenarioError {
        spikeworld::util::table::err_at(self.t.loc(), self.t.key_path(key), msg)
    }
}

/// `x > 0`, finite.
pub fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
}
/// Finite.
pub fn finite(x: f64) -> bool {
    x.is_finite()
}
/// A per-step decay factor: in (0, 1] (above 1 a trace grows without bound).
pub fn decay_factor(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}

/// What the rules of this crate hold per synapse at most (pending updates and their marks,
/// scratch), for the memory estimate.
const BYTES_PER_SYNAPSE: usize = 24;

/// A rule's parse result: its component, made from the built synapse table.
pub(crate) fn config<C, F>(f: F, shared_ok: bool) -> spikeworld::net::plastic::Rule<F>
where
    C: bevy_ecs::component::Component,
    F: Fn(&SynapseTable) -> C + Send + Sync + 'static,
{
    spikeworld::net::plastic::rule(f).shared_weights(shared_ok).bytes_per_synapse(BYTES_PER_SYNAPSE)
}

/// The selection of targets a rule's post traces cover: `[start, start + n)`.
#[derive(Clone, Copy, Debug)]
pub struct TargetRange {
    /// First target (population-wide).
    pub start: u32,
    /// Targets.
    pub n: usize,
}

impl TargetRange {
    /// From the add-on's context.
    pub fn of(ctx: &AddonCtx) -> Self {
        TargetRange { start: ctx.tgt_start as u32, n: ctx.n_tgt }
    }
    /// Relative index of `j` if in range.
    #[inline]
    pub fn rel(&self, j: u32) -> Option<usize> {
        let r = j.wrapping_sub(self.start) as usize;
        (r < self.n).then_some(r)
    }
}
