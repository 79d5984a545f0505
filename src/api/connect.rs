//! Connection rules: which (source, target) pairs a projection connects. A rule is a
//! function of a [`ConnectCtx`] and its parameters that draws from counter-based streams
//! keyed by the projection, so the synapses do not depend on threads or build order.
//!
//! A rule may be asked for a range of targets only ([`ConnectCtx::targets`]): a shard of a
//! partitioned network builds only its own neurons' incoming synapses. It must then give
//! exactly the pairs of a whole build whose target is in the range, in the same order. The
//! core's rules draw per target (`pairwise_bernoulli`, `fixed_indegree`, ...), so a range
//! costs only its own synapses, or place fixed counts by halves of the targets
//! (`fixed_outdegree`, `fixed_total_number`), so a range costs its own synapses plus a
//! path down the tree to each of its ends; a rule that ignores the range is still
//! correct: the core keeps only the pairs in range.

use std::sync::Arc;

use crate::api::language::ValueExpression;
use crate::api::model::{ParamSpec, Params};
use crate::util::rng::Stream;

/// What a rule knows about the projection it connects.
#[derive(Clone, Debug)]
pub struct ConnectCtx {
    /// Run seed.
    pub seed: u64,
    /// The projection's stream key.
    pub entity: u32,
    /// Sources in the selection.
    pub n_src: usize,
    /// Targets in the selection.
    pub n_tgt: usize,
    /// Population index of the first selected source.
    pub src_offset: usize,
    /// Population index of the first selected target.
    pub tgt_offset: usize,
    /// Source and target are the same population (autapses are possible).
    pub same_population: bool,
    /// Whether a neuron may connect to itself.
    pub allow_autapses: bool,
    /// Whether a pair may be connected more than once.
    pub allow_multapses: bool,
    /// The targets (relative, within `0..n_tgt`) whose pairs are wanted: the whole
    /// `0..n_tgt`, or one shard's range. Pairs outside it are dropped by the core.
    pub targets: std::ops::Range<usize>,
    /// Layout of the sources (`shape = [c, h, w]` of the population or encoder), when the
    /// projection selects the whole of one that has a shape.
    pub src_shape: Option<Vec<usize>>,
    /// Layout of the targets, likewise.
    pub tgt_shape: Option<Vec<usize>>,
    /// The rule's parameters written as expressions of the pair ([`RuleSpec::pair_params`]);
    /// such a parameter reads NaN in the rule's [`Params`].
    pub pair_values: Vec<PairValue>,
    /// The source population's positions (its whole population's, indexed from
    /// `src_offset`), when it has `positions`; `None` for an encoder.
    pub src_positions: Option<Arc<Positions>>,
    /// The target population's positions (indexed from `tgt_offset`), when it has them.
    pub tgt_positions: Option<Arc<Positions>>,
}

/// Where a population's neurons are (`positions = { x = ..., y = ... }` in a scenario; NEST's
/// spatial positions, Brian2's `x : metre` parameters): one value per neuron and axis, in µm
/// (an axis not given is 0). Values of synapses read them as `x_pre`, `y_post`, ...
/// ([`crate::api::language::synapse_names`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Positions {
    /// Per axis (x, y, z), one value per neuron of the population.
    pub axes: [Vec<f64>; 3],
    /// Per axis, the period of a population whose edges wrap round (a torus: `period` in
    /// a scenario, NEST's `extent` with `edge_wrap`), µm; `None`: no wrap.
    pub period: [Option<f64>; 3],
}

impl Positions {
    /// The distance from this population's neuron `s` to `other`'s neuron `t`, each axis's
    /// difference wrapped into `[-P/2, P/2)` where this population has a period `P`
    /// ([`Positions::wrapped`]), the squares summed in axis order.
    pub fn distance(&self, s: usize, other: &Positions, t: usize) -> f64 {
        let mut d2 = 0.0;
        for (k, a) in self.axes.iter().enumerate() {
            let d = self.wrapped(k, a[s] - other.axes[k][t]);
            d2 += d * d;
        }
        d2.sqrt()
    }

    /// [`Positions::distance`] from each of this population's neurons `sources` to `other`'s
    /// neuron `t`, into `out` (the same operations, axis by axis over the batch).
    pub fn distances(&self, sources: std::ops::Range<usize>, other: &Positions, t: usize, out: &mut Vec<f64>) {
        out.clear();
        out.resize(sources.len(), 0.0);
        for (k, a) in self.axes.iter().enumerate() {
            let (b, a) = (other.axes[k][t], &a[sources.clone()]);
            // (The period looked at once per axis, not per neuron.)
            match self.period[k] {
                Some(_) => out.iter_mut().zip(a).for_each(|(o, &x)| {
                    let d = self.wrapped(k, x - b);
                    *o += d * d;
                }),
                None => out.iter_mut().zip(a).for_each(|(o, &x)| {
                    let d = x - b;
                    *o += d * d;
                }),
            }
        }
        for o in out.iter_mut() {
            *o = o.sqrt();
        }
    }

    /// A difference on axis `k`, wrapped into `[-P/2, P/2)` where it has a period `P`:
    /// `d - P·floor(d/P + 1/2)`.
    #[inline(always)]
    fn wrapped(&self, k: usize, d: f64) -> f64 {
        match self.period[k] {
            Some(p) => d - p * crate::api::program::floor_exact(d / p + 0.5),
            None => d,
        }
    }
}

/// A rule parameter written as an expression of the pair, as Brian2's `S.connect(p='...')`
/// takes it (`p = "0.3*exp(-(i - j)**2/(2*10**2))"`): the names of
/// [`crate::api::language::synapse_names`] (`i` the source's index in the source
/// selection, `j` the target's, `N_pre`, `N_post`, and the ends' positions `x_pre`, ...,
/// `z_post` where their populations have them), numbers, `rand()`, `randn()` and the
/// language's functions; compiled by a model language
/// ([`crate::api::language::ModelLanguage::value_expression`]).
#[derive(Clone)]
pub struct PairValue {
    /// The parameter's name.
    pub name: &'static str,
    /// As written.
    pub text: String,
    /// As the language compiled it.
    pub f: Arc<dyn ValueExpression>,
}

impl std::fmt::Debug for PairValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PairValue({} = {:?})", self.name, self.text)
    }
}

impl PairValue {
    /// Its value for the pair of relative source `s` and target `t`, its random numbers
    /// (if it reads any) from `rng`, in the order written.
    pub fn at(&self, c: &ConnectCtx, s: usize, t: usize, rng: &mut Stream) -> f64 {
        let (place, n) = c.place(s, t, self.f.as_ref());
        self.f.value(&place[..n], rng)
    }
    /// Its values for the sources `sources` (consecutive, as numbers) to target `t`, in
    /// `out`: those of [`PairValue::at`] source after source, computed as a batch.
    pub fn row(&self, c: &ConnectCtx, sources: &[f64], t: usize, rng: &mut Stream, out: &mut [f64]) {
        use crate::api::program::Column;
        let mut place = vec![Column::Each(sources), Column::All(t as f64), Column::All(c.n_src as f64), Column::All(c.n_tgt as f64)];
        if let (Some(p), Some(&s0)) = (&c.src_positions, sources.first()) {
            let from = c.src_offset + s0 as usize;
            place.extend(p.axes.iter().map(|a| Column::Each(&a[from..from + sources.len()])));
        }
        if let Some(p) = &c.tgt_positions {
            place.extend(p.axes.iter().map(|a| Column::All(a[c.tgt_offset + t])));
        }
        // The ends' distance, computed only when the value reads it.
        let mut distance = Vec::new();
        if let (Some(a), Some(b), Some(&s0)) = (&c.src_positions, &c.tgt_positions, sources.first()) {
            if self.f.reads(place.len()) {
                let from = c.src_offset + s0 as usize;
                a.distances(from..from + sources.len(), b, c.tgt_offset + t, &mut distance);
                place.push(Column::Each(&distance));
            } else {
                place.push(Column::All(f64::NAN));
            }
        }
        self.f.values(&place, rng, out);
    }
}

impl ConnectCtx {
    /// What a value of the synapse from relative source `s` to target `t` reads, in the
    /// order of [`crate::api::language::synapse_names`] (with the ends' positions where
    /// they have them): the place and how many of its values are used. The ends' distance
    /// is computed only if `f` reads it (NaN in its place otherwise), as a row computes it.
    pub fn place(&self, s: usize, t: usize, f: &dyn ValueExpression) -> ([f64; crate::api::language::MAX_PLACE], usize) {
        let mut v = [0.0; crate::api::language::MAX_PLACE];
        v[..4].copy_from_slice(&[s as f64, t as f64, self.n_src as f64, self.n_tgt as f64]);
        let mut n = 4;
        for (p, k) in [(&self.src_positions, self.src_offset + s), (&self.tgt_positions, self.tgt_offset + t)] {
            if let Some(p) = p {
                for a in &p.axes {
                    v[n] = a[k];
                    n += 1;
                }
            }
        }
        if let (Some(a), Some(b)) = (&self.src_positions, &self.tgt_positions) {
            v[n] = if f.reads(n) { a.distance(self.src_offset + s, b, self.tgt_offset + t) } else { f64::NAN };
            n += 1;
        }
        (v, n)
    }
    /// The parameter `name` if written as an expression of the pair.
    pub fn pair_value(&self, name: &str) -> Option<&PairValue> {
        self.pair_values.iter().find(|v| v.name == name)
    }
    /// Whether target `t` (relative) is in the wanted range.
    pub fn wants(&self, t: usize) -> bool {
        self.targets.contains(&t)
    }
    /// Whether relative pair (s, t) is a neuron to itself.
    pub fn is_autapse(&self, s: usize, t: usize) -> bool {
        self.same_population && self.src_offset + s == self.tgt_offset + t
    }
    /// Targets source `s` may connect to.
    pub fn possible_targets(&self, s: usize) -> usize {
        let self_in = self.same_population && (self.tgt_offset..self.tgt_offset + self.n_tgt).contains(&(self.src_offset + s));
        self.n_tgt - usize::from(self_in && !self.allow_autapses)
    }
    /// Sources target `t` may receive from.
    pub fn possible_sources(&self, t: usize) -> usize {
        let self_in = self.same_population && (self.src_offset..self.src_offset + self.n_src).contains(&(self.tgt_offset + t));
        self.n_src - usize::from(self_in && !self.allow_autapses)
    }
}

/// Connected pairs, relative to the selections, in generation order.
#[derive(Clone, Debug, Default)]
pub struct Pairs {
    /// Source index (relative).
    pub src: Vec<u32>,
    /// Target index (relative).
    pub tgt: Vec<u32>,
    /// For a rule that shares weights: the kernel entry of each pair (empty otherwise).
    pub kernel: Vec<u32>,
}

impl Pairs {
    /// Adds a pair.
    pub fn push(&mut self, s: usize, t: usize) {
        self.src.push(s as u32);
        self.tgt.push(t as u32);
    }
    /// Adds a pair whose weight is kernel entry `k` (rules that share weights).
    pub fn push_shared(&mut self, s: usize, t: usize, k: usize) {
        self.push(s, t);
        self.kernel.push(k as u32);
    }
}

/// A connection rule: which (source, target) pairs exist.
#[derive(Clone)]
pub struct RuleSpec {
    /// NEST's name (`pairwise_bernoulli`).
    pub name: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// Its parameters (dimensionless).
    pub params: &'static [ParamSpec],
    /// Draws the pairs. The error names what is wrong with the parameters.
    pub connect: fn(&ConnectCtx, &Params) -> Result<Pairs, String>,
    /// For a rule whose synapses share weights (a convolution): the kernel's shape, from
    /// the selections' shapes and the parameters (checked when the scenario is read; the
    /// error names what is wrong). Its weights are stored once, `weight` then fills the
    /// kernel (a value, a distribution drawn per entry, a `matrix` of `shape[0]` rows, or a
    /// `.npy` file of this shape), and every pair [`Pairs::push_shared`]s its entry.
    pub kernel: Option<fn(&ConnectCtx, &Params) -> Result<Vec<usize>, String>>,
    /// Every refusal `connect` would make, made when the scenario is read (`validate`), from
    /// the selections' sizes and shapes and the parameters; the error names what is wrong
    /// (a parameter in backticks, `` `stride` ``, is located at its key).
    pub check: Option<fn(&ConnectCtx, &Params) -> Result<(), String>>,
    /// The parameters that may be written as expressions of the pair where a model
    /// language reads them ([`ConnectCtx::pair_value`]; `pairwise_bernoulli`'s `p`).
    pub pair_params: &'static [&'static str],
}

impl RuleSpec {
    /// A rule whose synapses each have their own weight.
    pub const fn new(name: &'static str, doc: &'static str, params: &'static [ParamSpec], connect: fn(&ConnectCtx, &Params) -> Result<Pairs, String>) -> Self {
        RuleSpec { name, doc, params, connect, kernel: None, check: None, pair_params: &[] }
    }
}
