//! The scenario's network as layers of tensors: each population a neuron layer with a
//! surrogate spike, each projection a dense weight matrix `[targets, sources]`, stepped
//! with the simulation's timing (a spike of step `t` acts in step `t + 1`, as the engines
//! deliver a zero-delay synapse), so that trained weights run unchanged in `spikeworld run`.

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use spikeworld::api::synapse::SpikeFilter;
use spikeworld::net::synapse::{Delays, SynapseTable};
use spikeworld::scenario::SourceRef;
use spikeworld::sim::Sim;

use crate::config::TrainConfig;
use crate::fused::SeqLif;
use crate::surrogate::Surrogate;

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

/// The trainable parameters: every edge's weights (fixed ones are plain tensors kept
/// beside, see [`Net::fixed`]) and every PLIF layer's `w`.
#[derive(Module, Debug)]
pub struct Params<B: Backend> {
    /// Trainable edges' weights, in edge order.
    pub weights: Vec<Param<Tensor<B, 2>>>,
    /// PLIF layers' `w` (shape [1]), in layer order.
    pub plif_w: Vec<Param<Tensor<B, 1>>>,
}

/// The network: its specification and its tensors.
#[derive(Debug)]
pub struct Net<B: Backend> {
    /// What it is.
    pub spec: NetSpec,
    /// Fixed weights (`None` for trainable edges).
    pub fixed: Vec<Option<Tensor<B, 2>>>,
    /// The float type of every tensor (f32 to train fast, f64 to match the engines bit for bit).
    pub dtype: DType,
}

impl<B: SeqLif> Net<B> {
    /// The network and its initial parameters on `device`, in floats of `dtype`.
    pub fn new(spec: NetSpec, device: &B::Device, dtype: DType) -> (Net<B>, Params<B>) {
        let mut weights = Vec::new();
        let mut fixed = Vec::new();
        for e in &spec.edges {
            let n_tgt = spec.layers[e.to].size;
            // Created in `dtype` (not converted from the default float type: f64 weights
            // must keep their f64 bits).
            let w0 = if let EdgeOp::Pool { weight, .. } = e.op { vec![weight] } else { e.w0.clone() };
            let w = Tensor::<B, 2>::from_data(TensorData::new(w0, e.weight_shape(n_tgt)), (device, dtype));
            if e.trainable {
                weights.push(Param::from_tensor(w));
                fixed.push(None);
            } else {
                fixed.push(Some(w));
            }
        }
        let plif_w = spec
            .layers
            .iter()
            .filter_map(|l| match l.form {
                NeuronForm::Plif { w0, .. } => Some(Param::from_tensor(
                    Tensor::<B, 1>::from_data(TensorData::new(vec![w0], [1]), (device, dtype)),
                )),
                _ => None,
            })
            .collect();
        (Net { spec, fixed, dtype }, Params { weights, plif_w })
    }

    /// Output spike counts `[batch, outputs]` over `steps` steps for `input(t)` (`[batch,
    /// n_in]`: the input encoder's spikes, or currents, of step `t`), and the spikes of
    /// every step of every layer when `record`. (The count readout of [`Net::run`].)
    pub fn forward(
        &self,
        p: &Params<B>,
        steps: usize,
        input: impl Fn(usize) -> Tensor<B, 2>,
        sg: Surrogate,
        detach_reset: bool,
        record: bool,
    ) -> (Tensor<B, 2>, Vec<Vec<Tensor<B, 2>>>) {
        let out = self.run(p, input, &Pass { record, ..Pass::new(steps, sg, detach_reset) });
        (out.count, out.spikes)
    }

    /// Every edge's weights in edge order: trainable ones from `p`, fixed ones from `self`.
    pub(crate) fn weights(&self, p: &Params<B>) -> Vec<Tensor<B, 2>> {
        let mut tw = p.weights.iter();
        self.fixed.iter().map(|f| f.clone().unwrap_or_else(|| tw.next().expect("one per trainable edge").val())).collect()
    }

    /// Runs the network over `pass.steps` steps on `input(t)` (`[batch, n_in]`: the input
    /// encoder's spikes, or currents, of step `t`) and reads the output layer out.
    pub fn run(&self, p: &Params<B>, input: impl Fn(usize) -> Tensor<B, 2>, pass: &Pass) -> Output<B> {
        self.run_masked(p, input, pass, &[])
    }

    /// [`Net::run`] with time-shared dropout: `masks[l]` (`[batch, size]`, 0 or 1/(1 − p))
    /// multiplies layer `l`'s spikes wherever they are delivered, in every step.
    pub fn run_masked(&self, p: &Params<B>, input: impl Fn(usize) -> Tensor<B, 2>, pass: &Pass, masks: &[Option<Tensor<B, 2>>]) -> Output<B> {
        if self.fused_layers(pass, &input) {
            return self.run_layers(p, input, pass, masks);
        }
        let (steps, sg, detach_reset) = (pass.steps, pass.surrogate, pass.detach_reset);
        let spec = &self.spec;
        // The input of every step is known before the network runs: one matmul per input
        // edge over all steps ([steps · batch, n_in] × Wᵀ), as SpikingJelly's multi-step
        // `Linear` does; step t reads rows (t − 1)·batch.. (the input of step t − 1).
        let xs: Vec<Tensor<B, 2>> = (0..steps).map(|t| input(t).cast(self.dtype)).collect();
        let batch = xs[0].dims()[0];
        let device = xs[0].device();
        let opts = (&device, self.dtype);
        // Input edges through a spike filter carry the filtered inputs.
        let filtered = |f: &SpikeFilter| -> Tensor<B, 2> {
            let mut state: Option<Tensor<B, 2>> = None;
            let seq: Vec<Tensor<B, 2>> = xs.iter().map(|x| {
                let next = filter_step(state.take(), x, f);
                state = Some(next.clone());
                next
            }).collect();
            Tensor::cat(seq, 0)
        };
        let x_all = Tensor::cat(xs.clone(), 0);
        let w = self.weights(p);
        // Each input edge's currents of all steps, cut into per-step pieces by halving (log2 T
        // levels of `narrow`): the backward of a `narrow` adds into a zero tensor as large as
        // what it cuts, so T narrows of the whole [T·B, N] would cost O(T²·B·N) (measured: 72 %
        // of the backward at N = 4096, T = 100); halving costs O(T·B·N·log T).
        let pre: Vec<Option<Vec<Tensor<B, 2>>>> = spec
            .edges
            .iter()
            .zip(&w)
            .map(|(e, we)| {
                e.from.is_none().then(|| {
                    let mut pieces = Vec::with_capacity(steps);
                    let x = e.filter.as_ref().map_or_else(|| x_all.clone(), filtered);
                    halve(e.apply(x, we), steps, batch, &mut pieces);
                    pieces
                })
            })
            .collect();
        let mut pw = p.plif_w.iter();
        let k: Vec<Option<Tensor<B, 1>>> = spec.layers.iter().map(|l| matches!(l.form, NeuronForm::Plif { .. }).then(|| sigmoid(pw.next().expect("one per PLIF layer").val()))).collect();
        let mut v: Vec<Tensor<B, 2>> = spec.layers.iter().map(|l| Tensor::full([batch, l.size], l.v0, opts)).collect();
        // Spikes of the previous step, per layer (what this step's deliveries carry).
        let mut prev: Vec<Tensor<B, 2>> = spec.layers.iter().map(|l| Tensor::zeros([batch, l.size], opts)).collect();
        let n_out = spec.layers[spec.output].size;
        let mut count = Tensor::<B, 2>::zeros([batch, n_out], opts);
        let mut rec: Vec<Vec<Tensor<B, 2>>> = vec![Vec::new(); spec.layers.len()];
        // First-spike readout: `alive` = Π(1 − S) over the steps so far (1 until the first
        // spike), `first` = Σ t·S[t]·alive[t − 1]; at the end `+ T·alive` (no spike: T).
        let mut first = matches!(pass.readout, Readout::FirstSpike).then(|| (Tensor::<B, 2>::zeros([batch, n_out], opts), Tensor::<B, 2>::ones([batch, n_out], opts)));
        let mut h_sum = matches!(pass.readout, Readout::Membrane).then(|| Tensor::<B, 2>::zeros([batch, n_out], opts));
        // The state of every filtered edge from a layer (its source's filtered spikes).
        let mut trace: Vec<Option<Tensor<B, 2>>> = vec![None; spec.edges.len()];
        let mask = |l: usize, x: Tensor<B, 2>| match masks.get(l) {
            Some(Some(m)) => x * m.clone(),
            _ => x,
        };
        for t in 0..steps {
            let mut x: Vec<Option<Tensor<B, 2>>> = vec![None; spec.layers.len()];
            for (j, ((e, we), pre)) in spec.edges.iter().zip(&w).zip(&pre).enumerate() {
                let add = match (e.from, pre) {
                    (None, Some(_)) if t == 0 => continue,
                    (None, Some(pieces)) => pieces[t - 1].clone(),
                    (Some(l), _) => match &e.filter {
                        None => e.apply(mask(l, prev[l].clone()), we),
                        Some(f) => {
                            let next = filter_step(trace[j].take(), &prev[l], f);
                            trace[j] = Some(next.clone());
                            e.apply(mask(l, next), we)
                        }
                    },
                    (None, None) => unreachable!("input edges have their currents"),
                };
                x[e.to] = Some(match x[e.to].take() {
                    Some(acc) => acc + add,
                    None => add,
                });
            }
            let mut now = Vec::with_capacity(spec.layers.len());
            for (i, l) in spec.layers.iter().enumerate() {
                let vi = v[i].clone();
                let xi = x[i]
                    .take()
                    .unwrap_or_else(|| Tensor::zeros([batch, l.size], opts));
                let vr = l.v_reset.unwrap_or(0.0);
                let h = match (l.form, &k[i]) {
                    (NeuronForm::If, _) => vi + xi,
                    (NeuronForm::Lif { tau, decay_input: true }, _) => vi.clone() + (xi - (vi - vr)) / tau,
                    (NeuronForm::Lif { tau, decay_input: false }, _) => vi.clone() - (vi - vr) / tau + xi,
                    (NeuronForm::Plif { decay_input: true, .. }, Some(k)) => vi.clone() + (xi - (vi - vr)) * k.clone().unsqueeze::<2>(),
                    (NeuronForm::Plif { decay_input: false, .. }, Some(k)) => vi.clone() - (vi - vr) * k.clone().unsqueeze::<2>() + xi,
                    (NeuronForm::Plif { .. }, None) => unreachable!("a PLIF layer has its w"),
                };
                let s = if pass.smooth { sg.smooth(h.clone() - l.v_th) } else { sg.spike(h.clone() - l.v_th) };
                let sr = if detach_reset {
                    s.clone().detach()
                } else {
                    s.clone()
                };
                if i == spec.output {
                    count = count + s.clone();
                    if let Some((f, alive)) = first.take() {
                        first = Some((f + s.clone() * alive.clone() * t as f64, alive * (s.clone().neg() + 1.0)));
                    }
                    if let Some(sum) = h_sum.take() {
                        h_sum = Some(sum + h.clone());
                    }
                }
                v[i] = match l.v_reset {
                    Some(vr) => h * (sr.clone().neg() + 1.0) + sr * vr,
                    None => h - sr * l.v_th,
                };
                if pass.record {
                    rec[i].push(s.clone());
                }
                now.push(s);
            }
            prev = now;
        }
        Output {
            count,
            first_spike: first.map(|(f, alive)| f + alive * steps as f64),
            membrane: h_sum.map(|s| s / steps as f64),
            spikes: rec,
        }
    }
}

/// What [`Net::run`] reads out of the output layer besides its spike counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readout {
    /// Spike counts only.
    Count,
    /// Also the first-spike step of every output neuron, differentiable through the
    /// surrogate: `Σ_t t·S[t]·Π_{t'<t}(1 − S[t'])`, plus `T·Π_t(1 − S[t])` (T when it never fires).
    FirstSpike,
    /// Also the mean over the steps of the membrane potential before spike and reset (`H[t]`).
    Membrane,
}

/// How [`Net::run`] runs.
#[derive(Clone, Copy, Debug)]
pub struct Pass {
    /// T.
    pub steps: usize,
    /// The surrogate of the spike.
    pub surrogate: Surrogate,
    /// Leave the reset out of the gradient.
    pub detach_reset: bool,
    /// Keep every layer's spikes of every step.
    pub record: bool,
    /// The readout.
    pub readout: Readout,
    /// Spike through the surrogate's smooth primitive `g` forward too (a differentiable
    /// network, for checking BPTT against finite differences), instead of `H`.
    pub smooth: bool,
    /// Run layer by layer with fused layers where the backend and the network allow
    /// ([`crate::layered`]); `false`: step by step (the reference path).
    pub fused: bool,
}

impl Pass {
    /// Counts, no recording, the Heaviside spike.
    pub fn new(steps: usize, surrogate: Surrogate, detach_reset: bool) -> Pass {
        Pass { steps, surrogate, detach_reset, record: false, readout: Readout::Count, smooth: false, fused: true }
    }
}

/// What [`Net::run`] returns.
#[derive(Debug)]
pub struct Output<B: Backend> {
    /// Output spike counts `[batch, outputs]`.
    pub count: Tensor<B, 2>,
    /// First-spike steps `[batch, outputs]` (with [`Readout::FirstSpike`]).
    pub first_spike: Option<Tensor<B, 2>>,
    /// Mean membrane potentials `[batch, outputs]` (with [`Readout::Membrane`]).
    pub membrane: Option<Tensor<B, 2>>,
    /// Every layer's spikes of every step (with `record`).
    pub spikes: Vec<Vec<Tensor<B, 2>>>,
}

/// One step of a spike filter: `i − (1 − s)·i/τ + a·s` (`a·s` from no state).
fn filter_step<B: Backend>(state: Option<Tensor<B, 2>>, s: &Tensor<B, 2>, f: &SpikeFilter) -> Tensor<B, 2> {
    let kick = s.clone().mul_scalar(f.amplitude);
    match state {
        None => kick,
        Some(i) => i.clone() - (s.clone().neg() + 1.0) * i / f.tau_steps + kick,
    }
}

/// Cuts `x` (`n` blocks of `batch` rows) into its blocks, in order, by recursive halving.
fn halve<B: Backend>(x: Tensor<B, 2>, n: usize, batch: usize, out: &mut Vec<Tensor<B, 2>>) {
    if n <= 1 {
        out.push(x);
        return;
    }
    let m = n / 2;
    halve(x.clone().narrow(0, 0, m * batch), m, batch, out);
    halve(x.narrow(0, m * batch, (n - m) * batch), n - m, batch, out);
}

/// Whether no (source, target) pair of `table` has two synapses.
fn distinct_pairs(table: &spikeworld::prelude::SynapseTable, n_src: usize, n_tgt: usize) -> bool {
    let mut seen = vec![false; n_src * n_tgt];
    (0..n_src).all(|s| table.csr.col[table.csr.row(s)].iter().all(|&t| !std::mem::replace(&mut seen[t as usize * n_src + s], true)))
}
