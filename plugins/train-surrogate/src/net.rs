//! The scenario's network as layers of tensors: each population a neuron layer with a
//! surrogate spike, each projection a dense weight matrix `[targets, sources]`, stepped
//! with the simulation's timing (a spike of step `t` acts in step `t + 1`, as the engines
//! deliver a zero-delay synapse), so that trained weights run unchanged in `spikeworld run`.

use burn::module::{Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData};
use spikeworld::api::synapse::SpikeFilter;

pub use crate::spec::{EdgeOp, EdgeSpec, LayerSpec, NetSpec, NeuronForm};
use crate::fused::SeqLif;
use crate::surrogate::Surrogate;

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
