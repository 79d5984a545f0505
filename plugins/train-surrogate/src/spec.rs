//! The network's specification, read from a built scenario: each population a layer
//! ([`LayerSpec`]: its SpikingJelly neuron form), each projection an edge ([`EdgeSpec`]:
//! dense, convolution or pooling, trainable or fixed), checked for what training supports.
//! [`crate::net`] makes tensors of it.

use burn::tensor::Tensor;
use spikeworld::api::synapse::SpikeFilter;
use spikeworld::net::synapse::{Delays, SynapseTable};
use spikeworld::scenario::SourceRef;
use spikeworld::sim::Sim;

use crate::config::TrainConfig;
use crate::fused::SeqLif;

/// A population's neuron form (SpikingJelly's nodes, as the `sj_*` models define them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NeuronForm {
    /// `sj_if`: H = V + X.
    If,
    /// `sj_lif` with decay_input = true: H = V + (X − (V − v_reset))/τ; false: H = V − (V − v_reset)/τ + X.
    Lif {
        /// τ.
        tau: f64,
        /// decay_input.
        decay_input: bool,
    },
    /// `sj_plif`: as `Lif` with 1/τ = sigmoid(w) and `w` trained (one per population).
    Plif {
        /// Initial w = −ln(init_tau − 1).
        w0: f64,
        /// decay_input.
        decay_input: bool,
    },
}

/// One population of the network.
#[derive(Clone, Debug)]
pub struct LayerSpec {
    /// Scenario population index.
    pub pop: usize,
    /// Name.
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// Its form.
    pub form: NeuronForm,
    /// v_threshold.
    pub v_th: f64,
    /// v_reset (`None`: soft reset).
    pub v_reset: Option<f64>,
    /// Initial V.
    pub v0: f64,
}

/// What a projection computes from its source's spikes.
#[derive(Clone, Debug, PartialEq)]
pub enum EdgeOp {
    /// `W · s`, `W` dense `[targets, sources]`.
    Dense,
    /// `conv2d` (PyTorch's Conv2d, no bias): the kernel `[c_out, c_in, k, k]` is the
    /// edge's weights, kept as `[c_out, c_in·k·k]`.
    Conv {
        /// Source layout [c_in, h, w].
        src: [usize; 3],
        /// Target layout [c_out, oh, ow].
        tgt: [usize; 3],
        /// Kernel side.
        k: usize,
        /// Stride.
        stride: usize,
        /// Zero padding.
        pad: usize,
    },
    /// `pool2d` with one weight `w`: `w · k² · avg_pool2d(s)` (window sums), fixed.
    Pool {
        /// Source layout [c, h, w].
        src: [usize; 3],
        /// Window side.
        k: usize,
        /// Stride.
        stride: usize,
        /// The weight of every synapse.
        weight: f64,
    },
}

/// One projection: source (`None` = the input encoder, else a layer index) → target layer.
#[derive(Clone, Debug)]
pub struct EdgeSpec {
    /// Scenario projection index.
    pub proj: usize,
    /// Name.
    pub name: String,
    /// Source layer (`None`: the input).
    pub from: Option<usize>,
    /// Target layer.
    pub to: usize,
    /// Whether its weights are trained.
    pub trainable: bool,
    /// Initial weights (the scenario's drawn weights): `[targets, sources]` row-major
    /// (dense), the kernel `[c_out, c_in, k, k]` (conv), empty (pool).
    pub w0: Vec<f64>,
    /// Sources.
    pub n_src: usize,
    /// What it computes.
    pub op: EdgeOp,
    /// A filter of the source's spikes before the weights (`exp_decay_current`,
    /// `low_pass` synapses).
    pub filter: Option<SpikeFilter>,
}

impl EdgeSpec {
    /// The shape of its weight tensor: dense `[targets, sources]`, conv `[c_out, c_in·k·k]`,
    /// pool `[1, 1]` (the weight).
    pub fn weight_shape(&self, n_tgt: usize) -> [usize; 2] {
        match self.op {
            EdgeOp::Dense => [n_tgt, self.n_src],
            EdgeOp::Conv { src, tgt, k, .. } => [tgt[0], src[0] * k * k],
            EdgeOp::Pool { .. } => [1, 1],
        }
    }

    /// The shape the trained weights are written in (what `weight = { file = ... }` loads).
    pub fn file_shape(&self, n_tgt: usize) -> Vec<u64> {
        match self.op {
            EdgeOp::Conv { src, tgt, k, .. } => vec![tgt[0] as u64, src[0] as u64, k as u64, k as u64],
            _ => self.weight_shape(n_tgt).iter().map(|&d| d as u64).collect(),
        }
    }

    /// What the edge delivers for source spikes `x` (`[rows, sources]` → `[rows, targets]`).
    /// A dense edge from spikes takes the backend's spike matmul where it has one.
    pub fn apply<B: SeqLif>(&self, x: Tensor<B, 2>, w: &Tensor<B, 2>) -> Tensor<B, 2> {
        let rows = x.dims()[0];
        match self.op {
            EdgeOp::Dense => B::spike_matmul(&x, w).unwrap_or_else(|| x.matmul(w.clone().transpose())),
            EdgeOp::Conv { src, tgt, k, stride, pad } => {
                let kernel = w.clone().reshape([tgt[0], src[0], k, k]);
                let y = burn::tensor::module::conv2d(x.reshape([rows, src[0], src[1], src[2]]), kernel, None, burn::tensor::ops::ConvOptions::new([stride; 2], [pad; 2], [1, 1], 1));
                y.reshape([rows, tgt[0] * tgt[1] * tgt[2]])
            }
            EdgeOp::Pool { src, k, stride, weight } => {
                let y = burn::tensor::module::avg_pool2d(x.reshape([rows, src[0], src[1], src[2]]), [k, k], [stride, stride], [0, 0], true, false);
                let [_, c, oh, ow] = y.dims();
                y.reshape([rows, c * oh * ow]).mul_scalar(weight * (k * k) as f64)
            }
        }
    }
}

/// The network read from a built simulation.
#[derive(Clone, Debug)]
pub struct NetSpec {
    /// Populations that take part (every population some edge reaches, in scenario order).
    pub layers: Vec<LayerSpec>,
    /// Projections in scenario order.
    pub edges: Vec<EdgeSpec>,
    /// Input width.
    pub n_in: usize,
    /// Index of the output layer.
    pub output: usize,
}

impl NetSpec {
    /// Reads the network of `sim` under `cfg`; errors name what training cannot take.
    pub fn from_sim(sim: &Sim, cfg: &TrainConfig) -> Result<NetSpec, String> {
        let sc = &sim.scenario;
        let n_in = sc.encoders[cfg.input].size;
        let mut layers: Vec<LayerSpec> = Vec::new();
        let mut layer_of = vec![None; sc.populations.len()];
        for (i, p) in sc.populations.iter().enumerate() {
            let form = match p.model.name() {
                "sj_if" => NeuronForm::If,
                "sj_lif" => NeuronForm::Lif {
                    tau: p.params.get("tau"),
                    decay_input: p.params.choice("decay_input") == "true",
                },
                "sj_plif" => NeuronForm::Plif {
                    w0: -(p.params.get("init_tau") - 1.0).ln(),
                    decay_input: p.params.choice("decay_input") == "true",
                },
                other => {
                    return Err(format!(
                        "population `{}`: model `{other}` has no trainable form; training takes sj_if, sj_lif, sj_plif",
                        p.name
                    ));
                }
            };
            let v_reset = (p.params.choice("reset") != "soft").then(|| p.params.get("v_reset"));
            layer_of[i] = Some(layers.len());
            layers.push(LayerSpec {
                pop: i,
                name: p.name.clone(),
                size: p.size,
                form,
                v_th: p.params.get("v_threshold"),
                v_reset,
                v0: v_reset.unwrap_or(0.0),
            });
        }
        let mut edges = Vec::new();
        for (k, (pd, &e)) in sc.projections.iter().zip(&sim.projections).enumerate() {
            let table = sim
                .world
                .get::<SynapseTable>(e)
                .ok_or_else(|| format!("projection `{}` has no synapse table", pd.name))?;
            // Errors at the projection's line.
            let at = |key: &str, m: String| sc.error_at(&[format!("projection[{k}].{key}"), format!("projection[{k}].from")], m).to_string();
            if !matches!(table.delay, Delays::Const(0)) {
                return Err(at("delay", format!("projection `{}`: training takes zero-delay projections (a spike acts in the next step)", pd.name)));
            }
            let filter = match &table.dynamics {
                None => None,
                Some(d) => Some(d.spike_filter().ok_or_else(|| at("from", format!(
                    "projection `{}`: training takes static synapses, or the exp_decay_current and low_pass synapse models",
                    pd.name
                )))?),
            };
            let (from, n_src) = match &pd.from {
                SourceRef::Encoder(s) if s.index == cfg.input && s.start == 0 && s.end == n_in => {
                    (None, n_in)
                }
                SourceRef::Population(s)
                    if s.start == 0 && s.end == sc.populations[s.index].size =>
                {
                    (layer_of[s.index], s.end)
                }
                _ => {
                    return Err(at("from", format!("projection `{}`: training takes whole populations, or the whole input encoder, as sources", pd.name)));
                }
            };
            if pd.to.start != 0 || pd.to.end != sc.populations[pd.to.index].size {
                return Err(at("to", format!("projection `{}`: training takes whole populations as targets", pd.name)));
            }
            let n_tgt = pd.to.end;
            let chw = |shape: &Option<Vec<usize>>| match shape.as_deref() {
                Some(&[c, h, w]) => [c, h, w],
                Some(&[h, w]) => [1, h, w],
                _ => [0, 0, 0],
            };
            let whole = |name: &str| pd.rule.params.get(name) as usize;
            let (op, w0) = match (pd.rule.spec.name, &table.kernel_index) {
                ("conv2d", Some(_)) => (EdgeOp::Conv { src: chw(&pd.src_shape), tgt: chw(&pd.tgt_shape), k: whole("kernel_size"), stride: whole("stride"), pad: whole("padding") }, table.weight.clone()),
                ("pool2d", None) => {
                    let w = table.weight.first().copied().unwrap_or(0.0);
                    if table.weight.iter().any(|&x| x != w) {
                        return Err(at("weight", format!("projection `{}`: training takes pool2d projections with one weight for every synapse", pd.name)));
                    }
                    let k = whole("kernel_size");
                    let stride = match whole("stride") {
                        0 => k,
                        s => s,
                    };
                    (EdgeOp::Pool { src: chw(&pd.src_shape), k, stride, weight: w }, Vec::new())
                }
                (_, Some(_)) => {
                    return Err(at("rule", format!("projection `{}`: training takes shared weights from conv2d projections only", pd.name)));
                }
                (_, None) => {
                    let mut w0 = vec![0.0; n_tgt * n_src];
                    let mut pairs = 0usize;
                    for s in 0..n_src {
                        let row = table.csr.row(s);
                        pairs += row.len();
                        for (k, &t) in row.clone().zip(&table.csr.col[row]) {
                            w0[t as usize * n_src + s] += table.weight_of(k);
                        }
                    }
                    // A trained matrix has a weight for every pair: a table that leaves pairs
                    // unconnected (or connects one twice) would train weights the network does
                    // not have, and a run would drop (or repeat) them.
                    if cfg.trainable.contains(&k) && (pairs != n_tgt * n_src || !distinct_pairs(table, n_src, n_tgt)) {
                        return Err(at("rule", format!(
                            "projection `{}`: a trainable projection connects every source to every target once (rule = \"all_to_all\"; or conv2d): `{}` made {pairs} synapses for {} × {} pairs",
                            pd.name, pd.rule.spec.name, n_tgt, n_src
                        )));
                    }
                    (EdgeOp::Dense, w0)
                }
            };
            if matches!(op, EdgeOp::Pool { .. }) && cfg.trainable.contains(&k) {
                return Err(at("rule", format!("projection `{}`: a pool2d projection has no trainable weights (its windows are fixed); remove it from train.trainable", pd.name)));
            }
            let to = layer_of[pd.to.index].expect("every population is a layer");
            edges.push(EdgeSpec {
                proj: k,
                name: pd.name.clone(),
                from,
                to,
                trainable: cfg.trainable.contains(&k),
                w0,
                n_src,
                op,
                filter,
            });
        }
        let output = layer_of[cfg.output].expect("every population is a layer");
        if cfg
            .trainable
            .iter()
            .any(|&k| edges.iter().all(|e| e.proj != k))
        {
            return Err("a trainable projection is not part of the network".into());
        }
        Ok(NetSpec {
            layers,
            edges,
            n_in,
            output,
        })
    }
}

/// Whether no (source, target) pair of `table` has two synapses.
fn distinct_pairs(table: &spikeworld::prelude::SynapseTable, n_src: usize, n_tgt: usize) -> bool {
    let mut seen = vec![false; n_src * n_tgt];
    (0..n_src).all(|s| table.csr.col[table.csr.row(s)].iter().all(|&t| !std::mem::replace(&mut seen[t as usize * n_src + s], true)))
}
