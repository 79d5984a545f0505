//! SpikingFlow's `ModelPipeline`: a layered network split into partitions (runs of
//! consecutive layers), each on its own thread (its own device where there are several),
//! with micro-batches flowing through them (GPipe).
//!
//! A batch is cut into `micro_batches` runs of samples. Partition 0 runs its layers over
//! all T steps for micro-batch 0 and hands the spikes on, then micro-batch 1, and so on,
//! while partition 1 works on the micro-batch before. The last partition computes the
//! loss of each micro-batch, scaled by its share of the batch (`n_m / n`, so that the
//! losses sum to the batch's mean), and its backward pass at once; it hands back the
//! gradient of every spike tensor it received. A partition before it, given those
//! gradients, runs its own backward pass from `Σ sum(S_l ⊙ G_l)` over the spikes it sent
//! (whose gradient with respect to `S_l` is exactly `G_l`), and hands back the gradients
//! of what it received in turn.
//!
//! The gradients of the micro-batches are then summed in micro-batch order
//! (`GradientsAccumulator`); each parameter lives in one partition. So the gradients do
//! not depend on the number of partitions: P partitions give the bits of one partition
//! with the same micro-batches (tested), and with one micro-batch the bits of the
//! unsplit network wherever each layer's spikes feed one projection (a spike tensor read
//! twice gets its gradient summed in another order). Micro-batches change the float
//! sums over the batch, so they agree with the whole batch to rounding, not bit for bit.

use std::ops::Range;

use burn::module::Param;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};

use crate::fused::TrainBackend;
use crate::layered::LayerRun;
use crate::net::{Net, NetSpec, Output, Params, Pass};


/// How a network is split: each partition's layers, and the micro-batches of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// Layers of each partition, consecutive, covering every layer.
    pub partitions: Vec<Range<usize>>,
    /// Micro-batches per batch (at least 1).
    pub micro_batches: usize,
}

impl Pipeline {
    /// `parts` partitions of as equal a number of layers as can be, the output layer in
    /// the last; an error says why a network cannot be split so.
    pub fn split(spec: &NetSpec, parts: usize, micro_batches: usize) -> Result<Pipeline, String> {
        let n = spec.layers.len();
        if parts == 0 || parts > n {
            return Err(format!("train.partitions = {parts}: the network has {n} layers (1 to {n} partitions)"));
        }
        if micro_batches == 0 {
            return Err("train.micro_batches must be at least 1".into());
        }
        let partitions: Vec<Range<usize>> = (0..parts).map(|q| q * n / parts..(q + 1) * n / parts).collect();
        if spec.output < partitions[parts - 1].start {
            return Err(format!("train.partitions = {parts}: the output layer must be in the last partition (layers {:?})", partitions[parts - 1]));
        }
        Ok(Pipeline { partitions, micro_batches })
    }

    /// The samples of each micro-batch of a batch of `n`: as equal runs as can be (fewer
    /// micro-batches than asked when `n` is smaller).
    pub fn rows(&self, n: usize) -> Vec<Range<usize>> {
        let m = self.micro_batches.min(n).max(1);
        (0..m).map(|k| k * n / m..(k + 1) * n / m).collect()
    }
}

/// What a partition hands on: the micro-batch's input of all steps and the spikes of
/// every layer before the next partition (inner tensors: the next partition's leaves).
struct Forward<B: AutodiffBackend> {
    x_all: Tensor<B::InnerBackend, 2>,
    spikes: Vec<Option<Tensor<B::InnerBackend, 2>>>,
}

/// What a partition before the last keeps of each micro-batch for its backward pass: the
/// spikes it sent, the leaves it received, and its parameters' leaves.
type Kept<B> = (Vec<Option<Tensor<B, 2>>>, Vec<Option<Tensor<B, 2>>>, Params<B>);

/// What a partition hands back: the gradient of each spike tensor it received.
type Backward<B> = Vec<Option<Tensor<<B as AutodiffBackend>::InnerBackend, 2>>>;

/// The parameters as fresh leaves of their own (same ids, same values), for one
/// micro-batch in one partition: graphs that shared the parameters' leaves would be one
/// graph in burn's autodiff, and a backward pass run while another micro-batch's graph is
/// alive (in this partition or on another thread) would take part of it (seen: missing
/// and differing gradients).
fn fresh<B: AutodiffBackend>(params: &Params<B>) -> Params<B> {
    let leaf2 = |p: &Param<Tensor<B, 2>>| Param::initialized(p.id, Tensor::from_inner(p.val().inner()).require_grad());
    let leaf1 = |p: &Param<Tensor<B, 1>>| Param::initialized(p.id, Tensor::from_inner(p.val().inner()).require_grad());
    Params { weights: params.weights.iter().map(leaf2).collect(), plif_w: params.plif_w.iter().map(leaf1).collect() }
}

/// One micro-batch's result in the last partition: its loss (scaled) and outputs.
pub struct MicroResult<B: Backend> {
    /// Its loss times `n_m / n`.
    pub loss: f32,
    /// Its network output (to count correct predictions).
    pub output: Output<B>,
}

/// The gradients of one batch of `n` samples through the pipeline: `input(rows, t)` is
/// the input of step `t` for the batch's samples `rows`, `masks` the batch's dropout
/// masks per layer (rows by sample), `loss(output, rows)` a micro-batch's mean loss.
/// Returns each micro-batch's result, in order, and the summed parameter gradients.
///
/// # Panics
/// If a partition's thread panics (its panic is resumed here).
#[expect(clippy::too_many_arguments, reason = "the pieces of one training step")]
pub fn batch_gradients<B: TrainBackend>(
    net: &Net<B>,
    params: &Params<B>,
    pipe: &Pipeline,
    n: usize,
    input: &(dyn Fn(Range<usize>, usize) -> Tensor<B, 2> + Sync),
    masks: &[Option<Tensor<B, 2>>],
    pass: &Pass,
    loss: &(dyn Fn(&Output<B>, Range<usize>) -> Tensor<B, 1> + Sync),
) -> (Vec<MicroResult<B>>, GradientsParams) {
    let rows = pipe.rows(n);
    let m_count = rows.len();
    let parts = pipe.partitions.len();
    let (fwd_tx, fwd_rx): (Vec<_>, Vec<_>) = (0..parts).map(|_| crossbeam_channel::unbounded::<Forward<B>>()).unzip();
    let (bwd_tx, bwd_rx): (Vec<_>, Vec<_>) = (0..parts).map(|_| crossbeam_channel::unbounded::<Backward<B>>()).unzip();
    let per_part: Vec<(Vec<GradientsParams>, Vec<MicroResult<B>>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..parts)
            .map(|q| {
                let (rows, layers) = (&rows, pipe.partitions[q].clone());
                let last = q + 1 == parts;
                // Whether this partition's spikes carry a gradient: it received tracked
                // spikes, or a layer of it has a trainable input or a PLIF τ.
                let tracked = q > 0
                    || net.spec.edges.iter().zip(&net.fixed).any(|(e, f)| f.is_none() && layers.contains(&e.to))
                    || net.spec.layers[layers.clone()].iter().any(|l| matches!(l.form, crate::net::NeuronForm::Plif { .. }));
                // Partition q receives from q − 1 on fwd_rx[q] and bwd... from q + 1 on bwd_rx[q].
                let (rx_f, rx_b) = (fwd_rx[q].clone(), bwd_rx[q].clone());
                let tx_f = (!last).then(|| fwd_tx[q + 1].clone());
                let tx_b = (q > 0).then(|| bwd_tx[q - 1].clone());
                scope.spawn(move || {
                    let mut grads = Vec::with_capacity(rows.len());
                    let mut results = Vec::new();
                    let mut kept: Vec<Kept<B>> = Vec::new();
                    for r in rows {
                        let params = fresh(params);
                        let mb_masks: Vec<Option<Tensor<B, 2>>> = masks.iter().map(|m| m.as_ref().map(|m| m.clone().narrow(0, r.start, r.len()))).collect();
                        let (mut run, leaves) = if q == 0 {
                            let run = net.start_layers(|t| input(r.clone(), t), pass);
                            let none = vec![None; run.spikes.len()];
                            (run, none)
                        } else {
                            let Ok(f) = rx_f.recv() else { return (grads, results) };
                            let leaves: Vec<Option<Tensor<B, 2>>> = f.spikes.into_iter().map(|s| s.map(|s| Tensor::from_inner(s).require_grad())).collect();
                            let run = LayerRun { x_all: Tensor::from_inner(f.x_all), batch: r.len(), spikes: leaves.clone(), membrane: None };
                            (run, leaves)
                        };
                        net.run_layer_range(&params, &mut run, layers.clone(), pass, &mb_masks);
                        if last {
                            let output = net.readout(run, pass);
                            let mut l = loss(&output, r.clone());
                            if rows.len() > 1 {
                                l = l * (r.len() as f64 / n as f64);
                            }
                            let value = l.clone().into_data().convert::<f32>().to_vec::<f32>().expect("a scalar")[0];
                            let g = l.backward();
                            if let Some(tx) = &tx_b {
                                let _ = tx.send(leaves.iter().map(|s| s.as_ref().and_then(|s| s.grad(&g))).collect());
                            }
                            grads.push(GradientsParams::from_grads(g, &params));
                            results.push(MicroResult { loss: value, output });
                        } else {
                            let sent: Vec<Option<Tensor<B, 2>>> = run.spikes.clone();
                            let msg = Forward { x_all: run.x_all.clone().inner(), spikes: sent.iter().map(|s| s.as_ref().map(|s| s.clone().inner())).collect() };
                            if tx_f.as_ref().is_some_and(|tx| tx.send(msg).is_err()) {
                                return (grads, results);
                            }
                            kept.push((sent, leaves, params));
                        }
                    }
                    // The backward passes of the partitions before the last, in micro-batch order.
                    for (sent, leaves, params) in kept {
                        let Ok(back) = rx_b.recv() else { break };
                        let mut sur: Option<Tensor<B, 1>> = None;
                        for (s, g) in sent.iter().zip(back) {
                            let (Some(s), Some(g)) = (s, g) else { continue };
                            let term = (s.clone() * Tensor::from_inner(g)).sum();
                            sur = Some(match sur {
                                Some(a) => a + term,
                                None => term,
                            });
                        }
                        // (Nothing to differentiate: no spike sent was tracked, e.g. a first
                        // partition without trainable parameters.)
                        let Some(sur) = sur.filter(|_| tracked) else {
                            grads.push(GradientsParams::new());
                            if let Some(tx) = &tx_b {
                                let _ = tx.send(vec![None; leaves.len()]);
                            }
                            continue;
                        };
                        let g = sur.backward();
                        if let Some(tx) = &tx_b {
                            let _ = tx.send(leaves.iter().map(|s| s.as_ref().and_then(|s| s.grad(&g))).collect());
                        }
                        grads.push(GradientsParams::from_grads(g, &params));
                    }
                    (grads, results)
                })
            })
            .collect();
        drop((fwd_tx, bwd_tx));
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut acc = GradientsAccumulator::<Params<B>>::new();
    let mut per_part: Vec<(std::vec::IntoIter<GradientsParams>, Vec<MicroResult<B>>)> = per_part.into_iter().map(|(g, r)| (g.into_iter(), r)).collect();
    for _ in 0..m_count {
        for (g, _) in per_part.iter_mut() {
            if let Some(g) = g.next() {
                acc.accumulate(params, g);
            }
        }
    }
    let results = per_part.pop().map(|(_, r)| r).unwrap_or_default();
    (results, acc.grads())
}
