//! The network layer by layer: when every projection runs from the input or from an
//! earlier layer (no recurrence), each layer's inputs for all T steps are known once the
//! layers before it have run, so a layer is one fused operation over all steps
//! ([`crate::fused`]) and each projection one matmul (or convolution) over all steps.
//! Same timing as the per-step path (a spike of step t acts in step t + 1), same f32
//! operations per neuron, so the same spikes (`tests/fused.rs`).

use burn::tensor::{DType, Tensor};
use burn::tensor::activation::sigmoid;

use crate::fused::{LayerConsts, SeqLif};
use crate::net::{Net, NeuronForm, Output, Params, Pass, Readout};

/// A layer-by-layer run in progress: the input of all steps, every layer's spikes of all
/// steps ([T·B, N]) as the layers run, and the output layer's mean charge (with a
/// membrane readout).
pub(crate) struct LayerRun<B: burn::tensor::backend::Backend> {
    pub(crate) x_all: Tensor<B, 2>,
    pub(crate) batch: usize,
    pub(crate) spikes: Vec<Option<Tensor<B, 2>>>,
    pub(crate) membrane: Option<Tensor<B, 2>>,
}

impl<B: SeqLif> Net<B> {
    /// Whether [`Net::run_layers`] can run this network for `pass`: feed-forward
    /// projections without spike filters, IF/LIF/PLIF layers, Heaviside spikes.
    pub fn layered(&self, pass: &Pass) -> bool {
        let spec = &self.spec;
        !pass.smooth
            && spec.edges.iter().all(|e| e.filter.is_none() && e.from.is_none_or(|l| l < e.to))
    }

    /// Whether [`Net::run_masked`] runs layer by layer with fused layers: the backend has
    /// the fused op, the pass allows it, the network is [`Net::layered`], in f32, and its
    /// largest layer over all steps is within the op's [`SeqLif::FUSED_MAX`] values.
    pub(crate) fn fused_layers(&self, pass: &Pass, input: &impl Fn(usize) -> Tensor<B, 2>) -> bool {
        if !(B::FUSED && pass.fused && self.dtype == DType::F32 && self.layered(pass)) {
            return false;
        }
        let largest = self.spec.layers.iter().map(|l| l.size).max().unwrap_or(0);
        pass.steps * input(0).dims()[0] * largest <= B::FUSED_MAX
    }

    /// [`Net::run_masked`] layer by layer (see the module).
    pub(crate) fn run_layers(&self, p: &Params<B>, input: impl Fn(usize) -> Tensor<B, 2>, pass: &Pass, masks: &[Option<Tensor<B, 2>>]) -> Output<B> {
        let mut run = self.start_layers(input, pass);
        self.run_layer_range(p, &mut run, 0..self.spec.layers.len(), pass, masks);
        self.readout(run, pass)
    }

    /// The inputs of all steps, before any layer has run.
    pub(crate) fn start_layers(&self, input: impl Fn(usize) -> Tensor<B, 2>, pass: &Pass) -> LayerRun<B> {
        let xs: Vec<Tensor<B, 2>> = (0..pass.steps).map(|t| input(t).cast(self.dtype)).collect();
        let batch = xs[0].dims()[0];
        LayerRun { x_all: Tensor::cat(xs, 0), batch, spikes: vec![None; self.spec.layers.len()], membrane: None }
    }

    /// Runs the layers `range` (in order), reading the spikes of earlier layers from `run`
    /// (a pipeline's partition holds those of the partitions before it) and writing theirs.
    pub(crate) fn run_layer_range(&self, p: &Params<B>, run: &mut LayerRun<B>, range: std::ops::Range<usize>, pass: &Pass, masks: &[Option<Tensor<B, 2>>]) {
        let spec = &self.spec;
        let steps = pass.steps;
        // PLIF layers' w, in layer order (as the per-step path takes them).
        let plif_before = spec.layers[..range.start].iter().filter(|l| matches!(l.form, NeuronForm::Plif { .. })).count();
        let mut pw = p.plif_w.iter().skip(plif_before);
        let batch = run.batch;
        let device = run.x_all.device();
        let opts = (&device, self.dtype);
        let x_all = run.x_all.clone();
        let w = self.weights(p);
        let LayerRun { spikes, membrane, .. } = run;
        for (i, l) in spec.layers.iter().enumerate().take(range.end).skip(range.start) {
            // What the edges deliver in steps 1..T (the sources' steps 0..T − 1); step 0
            // receives nothing.
            let mut x: Option<Tensor<B, 2>> = None;
            if steps > 1 {
                for (e, we) in spec.edges.iter().zip(&w).filter(|(e, _)| e.to == i) {
                    let src = match e.from {
                        None => x_all.clone(),
                        Some(s) => {
                            let sp = spikes[s].clone().expect("sources run first");
                            match masks.get(s) {
                                Some(Some(m)) => sp * m.clone().repeat_dim(0, steps),
                                _ => sp,
                            }
                        }
                    };
                    let add = e.apply(src.narrow(0, 0, (steps - 1) * batch), we);
                    x = Some(match x {
                        Some(acc) => acc + add,
                        None => add,
                    });
                }
            }
            let x = match x {
                Some(x) => Tensor::cat(vec![Tensor::zeros([batch, l.size], opts), x], 0),
                None => Tensor::zeros([steps * batch, l.size], opts),
            };
            let c = LayerConsts {
                lif: match l.form {
                    NeuronForm::If => None,
                    NeuronForm::Lif { tau, decay_input } => Some((tau, decay_input)),
                    // τ unused: the op takes 1/τ = sigmoid(w) as its input `k` (below).
                    NeuronForm::Plif { decay_input, .. } => Some((f64::NAN, decay_input)),
                },
                v_th: l.v_th,
                v_reset: l.v_reset,
                v0: l.v0,
                surrogate: pass.surrogate,
                detach_reset: pass.detach_reset,
                out_charges: i == spec.output && pass.readout == Readout::Membrane,
            };
            let k = matches!(l.form, NeuronForm::Plif { .. }).then(|| sigmoid(pw.next().expect("one w per PLIF layer").val()));
            let out = B::lif_seq(x, steps, &c, k).expect("run_layers runs on a fused backend, in f32");
            if c.out_charges {
                // The spikes of the charges, as the layer's own threshold test (not differentiated:
                // the loss reads the charges).
                let n = out.dims()[1];
                let s = out.clone().detach().sub_scalar(l.v_th).greater_equal_elem(0.0).float().cast(self.dtype);
                let sum = Tensor::<B, 2>::ones([1, steps], opts).matmul(out.reshape([steps, batch * n])).reshape([batch, n]);
                *membrane = Some(sum / steps as f64);
                spikes[i] = Some(s);
            } else {
                spikes[i] = Some(out);
            }
        }
    }

    /// The readout of a finished run (every layer ran).
    pub(crate) fn readout(&self, run: LayerRun<B>, pass: &Pass) -> Output<B> {
        let (spec, steps, batch) = (&self.spec, pass.steps, run.batch);
        let device = run.x_all.device();
        let opts = (&device, self.dtype);
        let LayerRun { spikes, membrane, .. } = run;
        let n_out = spec.layers[spec.output].size;
        let out = spikes[spec.output].clone().expect("the output ran");
        // Σ over the steps as a [1, T] × [T, B·N] product: its backward hands the fused
        // layer a contiguous gradient (a `sum_dim`'s is a broadcast view, which costs a
        // strided copy as large as the layer's whole output). The sums of 0/1 are exact.
        let count = Tensor::<B, 2>::ones([1, steps], opts).matmul(out.clone().reshape([steps, batch * n_out])).reshape([batch, n_out]);
        let per_step = |s: Tensor<B, 2>| -> Vec<Tensor<B, 2>> { (0..steps).map(|t| s.clone().narrow(0, t * batch, batch)).collect() };
        let first_spike = (pass.readout == Readout::FirstSpike).then(|| {
            // Σ t·S[t]·alive[t − 1] + T·alive (the per-step path's formula).
            let mut first = Tensor::<B, 2>::zeros([batch, n_out], opts);
            let mut alive = Tensor::<B, 2>::ones([batch, n_out], opts);
            for (t, s) in per_step(out.clone()).into_iter().enumerate() {
                first = first + s.clone() * alive.clone() * t as f64;
                alive = alive * (s.neg() + 1.0);
            }
            first + alive * steps as f64
        });
        let spikes_rec = if pass.record { spikes.into_iter().map(|s| per_step(s.expect("every layer ran"))).collect() } else { vec![Vec::new(); spec.layers.len()] };
        Output { count, first_spike, membrane, spikes: spikes_rec }
    }
}
