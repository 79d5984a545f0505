//! The training loop: minibatches in a seeded order, BPTT through the T steps, burn's
//! optimizer, test accuracy after every epoch, and the outputs (trained weights as `.npy`
//! that a `run` scenario loads, the learning curve, `train.json`).

use std::path::{Path, PathBuf};

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{
    AdaGradConfig, RmsPropConfig,
    AdamConfig, AdamWConfig, GradientsParams, Optimizer, SgdConfig, momentum::MomentumConfig,
};
use burn::tensor::{DType, Int, Tensor, TensorData};
use burn::tensor::backend::Backend;
use burn_flex::FlexDevice;

use crate::fused::{CpuTrain, SeqLif, TrainBackend};
use burn::module::Module;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use spikeworld::sim::Sim;

use crate::checkpoint::TrainCheckpoint;
use spikeworld::util::rng::{Stream, purpose};

pub use crate::data::{Dataset, input_at, read_array};
use crate::config::{Loss, OptimizerKind, Schedule, TrainConfig};
use crate::net::{Net, NetSpec, Output, Params, Pass, Readout};
use crate::pipeline::Pipeline;

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct EpochStats {
    /// Epoch (1-based).
    pub epoch: u64,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (during the epoch).
    pub train_accuracy: f64,
    /// Test accuracy after the epoch.
    pub test_accuracy: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Training samples per second.
    pub samples_per_s: f64,
}

/// What the caller sees as training runs.
pub enum Progress {
    /// A batch is done: (epoch, batch, batches, mean loss so far).
    Batch(u64, usize, usize, f64),
    /// An epoch is done.
    Epoch(EpochStats),
}

fn lr_at(cfg: &TrainConfig, epoch: u64) -> f64 {
    let e = epoch as f64;
    let lr = match &cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Cosine => cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * e / cfg.epochs as f64).cos()),
        Schedule::Step { every, gamma } => cfg.lr * gamma.powi((epoch / every) as i32),
        Schedule::MultiStep { milestones, gamma } => cfg.lr * gamma.powi(milestones.iter().filter(|&&m| m <= epoch).count() as i32),
        Schedule::Exponential { gamma } => cfg.lr * gamma.powi(epoch as i32),
        Schedule::Cyclic { every, low } => {
            let phase = (epoch % every) as f64 / *every as f64;
            let tri = 1.0 - (2.0 * phase - 1.0).abs();
            cfg.lr * (low + (1.0 - low) * tri)
        }
    };
    if epoch < cfg.warmup { lr * (e + 1.0) / (cfg.warmup as f64 + 1.0) } else { lr }
}

fn onehot<B: Backend>(labels: &[usize], classes: usize, on: f32, off: f32, device: &B::Device) -> Tensor<B, 2> {
    let mut v = vec![off; labels.len() * classes];
    for (r, &l) in labels.iter().enumerate() {
        v[r * classes + l] = on;
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), classes]), device)
}

fn cross_entropy<B: Backend>(logits: Tensor<B, 2>, labels: &[usize], device: &B::Device) -> Tensor<B, 1> {
    let logp = burn::tensor::activation::log_softmax(logits, 1);
    let ix = Tensor::<B, 1, Int>::from_data(TensorData::new(labels.iter().map(|&l| l as i64).collect::<Vec<_>>(), [labels.len()]), device);
    logp.gather(1, ix.unsqueeze_dim(1)).mean().neg()
}

/// The loss of `out` against `labels` (the formulas: [`Loss`]).
pub fn loss_of<B: Backend>(loss: Loss, out: &Output<B>, labels: &[usize], steps: usize, v_th: f64, device: &B::Device) -> Tensor<B, 1> {
    let classes = out.count.dims()[1];
    let target = |on: f64, off: f64| onehot::<B>(labels, classes, on as f32, off as f32, device).cast(out.count.dtype());
    let first = || out.first_spike.clone().expect("a first-spike loss runs with the first-spike readout");
    let membrane = || out.membrane.clone().expect("a membrane loss runs with the membrane readout");
    match loss {
        Loss::MseRate => (out.count.clone() / steps as f64 - target(1.0, 0.0)).powf_scalar(2.0).mean(),
        Loss::CeRate => cross_entropy(out.count.clone(), labels, device),
        Loss::CeFirstSpike => cross_entropy(first().neg(), labels, device),
        Loss::MseFirstSpike => (first() / steps as f64 - target(0.0, 1.0)).powf_scalar(2.0).mean(),
        Loss::CeMembrane => cross_entropy(membrane(), labels, device),
        Loss::MseMembrane => (membrane() - target(v_th, 0.0)).powf_scalar(2.0).mean(),
    }
}

/// The predicted class of every sample: the most spikes (rate losses), the earliest first
/// spike, more spikes breaking ties (first-spike losses), the highest mean membrane
/// potential (membrane losses); remaining ties go to the lowest index.
pub fn predict<B: Backend>(loss: Loss, out: &Output<B>, steps: usize) -> Vec<usize> {
    let score = match loss.readout() {
        Readout::Count => out.count.clone(),
        // Steps are whole numbers and counts ≤ T, so −first·(T + 1) + count orders by the
        // first spike, then by the count.
        Readout::FirstSpike => out.first_spike.clone().expect("first-spike readout").neg() * (steps as f64 + 1.0) + out.count.clone(),
        Readout::Membrane => out.membrane.clone().expect("membrane readout"),
    };
    argmax_rows(&score.detach())
}

fn argmax_rows<B: Backend>(score: &Tensor<B, 2>) -> Vec<usize> {
    let [b, c] = score.dims();
    let v: Vec<f64> = score.clone().into_data().convert::<f64>().to_vec().expect("f64 data");
    (0..b)
        .map(|r| {
            let row = &v[r * c..(r + 1) * c];
            // Ties go to the lowest index (deterministic).
            let mut best = 0;
            for (j, &x) in row.iter().enumerate() {
                if x > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// Trains the network of `sim` as its `[train]` table says, on the CPU ([`CpuTrain`]);
/// calls `progress` as it goes. Returns the network (with its trained weights) and the
/// per-epoch numbers.
pub fn train(
    sim: &Sim,
    cfg: &TrainConfig,
    opts: &TrainOptions,
    progress: impl FnMut(Progress),
) -> Result<(NetSpec, Params<CpuTrain>, Vec<EpochStats>), String> {
    train_on::<CpuTrain>(sim, cfg, opts, &FlexDevice, progress)
}

/// [`train`] on any training backend and device: [`CpuTrain`] (flex), or a GPU's
/// (`fused::CudaTrain`, `cube::CubeTrain` over wgpu), where the fused layers run as CubeCL
/// kernels. The same data order, draws and optimizer steps as on the CPU; the floats
/// differ from the CPU's in their last bits (the matmuls add in another order). A run
/// resumes bit for bit on the device that wrote its checkpoint (tested on flex and wgpu);
/// on another device it continues from the same state, not to the same bits. A device
/// that cannot be used (no GPU, no driver) is an error, not a panic.
pub fn train_on<B: TrainBackend>(
    sim: &Sim,
    cfg: &TrainConfig,
    opts: &TrainOptions,
    device: &B::Device,
    mut progress: impl FnMut(Progress),
) -> Result<(NetSpec, Params<B>, Vec<EpochStats>), String> {
    probe::<B>(device)?;
    let spec = NetSpec::from_sim(sim, cfg)?;
    check_memory(&spec, cfg, Dataset::estimate_bytes(cfg, &sim.scenario.path, spec.n_in), sim.scenario.limit.bytes)?;
    if spec.edges.iter().all(|e| !e.trainable) && !spec.layers.iter().any(|l| matches!(l.form, crate::net::NeuronForm::Plif { .. })) {
        return Err(cfg.error_at("trainable", "nothing to train: no projection is listed and no layer is sj_plif (whose time constant trains)"));
    }
    let classes = spec.layers[spec.output].size;
    // The dataset's files are part of what a checkpoint belongs to (an N-MNIST folder's
    // thousands of event files are not digested).
    let (data, files) = spikeworld::util::inputs::collecting(|| Dataset::load(cfg, &sim.scenario.path, spec.n_in, classes));
    let data = data?;
    let digests: Vec<&str> = files.iter().map(|(_, d)| d.as_str()).collect();
    let (net, params) = Net::<B>::new(spec.clone(), device, DType::F32);
    let n = data.y.len();
    let wd = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    let run = Run {
        net: &net,
        data: &data,
        cfg,
        device,
        n_train: n - cfg.test_count as usize,
        n,
        opts,
        fingerprint: format!("{} data {}", sim.scenario.fingerprint(), digests.join(",")),
        pipe: pipeline(&net, cfg).map_err(|e| format!("{}: [train]: {e}", sim.scenario.path.display()))?,
    };
    let (params, stats) = match cfg.optimizer {
        OptimizerKind::Adam => run.fit(
            AdamConfig::new().with_weight_decay(wd).init(),
            params,
            &mut progress,
        )?,
        OptimizerKind::AdamW => run.fit(
            AdamWConfig::new()
                .with_weight_decay(cfg.weight_decay as f32)
                .init(),
            params,
            &mut progress,
        )?,
        OptimizerKind::Sgd => run.fit(
            SgdConfig::new()
                .with_weight_decay(wd)
                .with_momentum(Some(MomentumConfig::new().with_momentum(cfg.momentum)))
                .init(),
            params,
            &mut progress,
        )?,
        OptimizerKind::RmsProp => run.fit(RmsPropConfig::new().with_momentum(cfg.momentum as f32).with_weight_decay(wd).init(), params, &mut progress)?,
        OptimizerKind::AdaGrad => run.fit(AdaGradConfig::new().with_weight_decay(wd).init(), params, &mut progress)?,
        OptimizerKind::AdamRewiring => run.fit(crate::rewiring::AdamRewiring::new(cfg.rewiring.0, cfg.rewiring.1, cfg.weight_decay, cfg.seed), params, &mut progress)?,
    };
    Ok((spec, params, stats))
}

/// Bytes per neuron, time step and sample that training holds at its peak: the forward
/// pass of a batch keeps every step's state for the backward pass, and an evaluation chunk
/// ([`EVAL_CHUNK`] samples) every step's output. Measured on `train_digits` (max RSS against
/// steps, batch and hidden size: 12 B, three f32); 16 B leaves a margin.
const BYTES_PER_NEURON_STEP: f64 = 16.0;

/// Samples evaluated at once.
const EVAL_CHUNK: usize = 256;

/// Refuses, before anything large is allocated, a training whose batch (or evaluation
/// chunk) of `steps` time steps, with its dataset (`data_bytes`), needs more memory than `limit` (the scenario's:
/// `--max-memory`, `SPIKEWORLD_MAX_MEMORY`, or 80 % of what is available).
fn check_memory(spec: &NetSpec, cfg: &TrainConfig, data_bytes: f64, limit: u64) -> Result<(), String> {
    let neurons = (spec.n_in + spec.layers.iter().map(|l| l.size).sum::<usize>()) as f64;
    let samples = (cfg.batch_size as usize).max(EVAL_CHUNK) as f64;
    let weights: f64 = spec.edges.iter().map(|e| e.w0.len() as f64).sum();
    // (Weights: the values, their gradient and two moments of the optimizer, in f32.)
    let need = samples * cfg.steps as f64 * neurons * BYTES_PER_NEURON_STEP + weights * 16.0 + data_bytes;
    if need > limit as f64 {
        // (Below the evaluation chunk a smaller batch does not help.)
        let lower = if cfg.batch_size as usize > EVAL_CHUNK { "train.steps or train.batch_size" } else { "train.steps" };
        return Err(cfg.error_at(
            "steps",
            format!(
                "training needs about {} ({samples:.0} samples (batch_size or an evaluation chunk of {EVAL_CHUNK}) × {} steps × {neurons:.0} neurons × {BYTES_PER_NEURON_STEP} B, the weights and the dataset), more than the limit of {}: lower {lower}, or raise the limit (--max-memory)",
                spikeworld::util::sysmem::fmt_bytes(need),
                cfg.steps,
                spikeworld::util::sysmem::fmt_bytes(limit as f64)
            ),
        ));
    }
    Ok(())
}

/// Puts one value on `device` and reads it back: a backend that cannot reach its device
/// panics there (burn-cuda without a driver, burn-wgpu without an adapter), which becomes
/// an error here that gives the first panic's message as the cause.
fn probe<B: TrainBackend>(device: &B::Device) -> Result<(), String> {
    // The first panic's message (a backend may fail on a thread of its own, the caller
    // then on a closed channel) stands for the cause; the reports themselves are held back.
    let first = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let seen = first.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let mut f = seen.lock().unwrap_or_else(|e| e.into_inner());
        f.get_or_insert_with(|| info.to_string());
    }));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Tensor::<B, 1>::from_data(TensorData::new(vec![1.0f32], [1]), device).into_data()));
    std::panic::set_hook(hook);
    let cause = first.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
    r.map(|_| ()).map_err(|_| format!("the training device {device:?} cannot be used: {}", cause.replace('\n', " ")))
}

struct Run<'a, B: TrainBackend> {
    net: &'a Net<B>,
    data: &'a Dataset,
    cfg: &'a TrainConfig,
    device: &'a B::Device,
    n_train: usize,
    n: usize,
    opts: &'a TrainOptions,
    fingerprint: String,
    /// The pipeline (`train.partitions`, `train.micro_batches`), if asked for.
    pipe: Option<Pipeline>,
}

/// Where training keeps its per-epoch checkpoints, and where it resumes from.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Write `epoch_NNNN.swtr` here after every epoch (the last two are kept).
    pub checkpoint_dir: Option<PathBuf>,
    /// Resume from this checkpoint (written for the same scenario and overrides).
    pub resume: Option<PathBuf>,
}

type Rec = BinBytesRecorder<FullPrecisionSettings>;

impl<B: TrainBackend> Run<'_, B> {
    fn fit<O: Optimizer<Params<B>, B>>(
        &self,
        mut optim: O,
        mut params: Params<B>,
        progress: &mut impl FnMut(Progress),
    ) -> Result<(Params<B>, Vec<EpochStats>), String> {
        let Run { net, data, cfg, device, n_train, n, opts, ref fingerprint, .. } = *self;
        let v_th = net.spec.layers[net.spec.output].v_th;
        let mut stats = Vec::new();
        let bs = cfg.batch_size as usize;
        let rec = Rec::default();
        let mut start = 0;
        if let Some(path) = &opts.resume {
            let ck = TrainCheckpoint::read(path)?;
            if &ck.fingerprint != fingerprint {
                return Err(format!("`{}` was written for another scenario, other overrides, another seed or other input files ({}; this run: {fingerprint})", path.display(), ck.fingerprint));
            }
            if ck.epoch > cfg.epochs {
                return Err(format!("`{}` is at epoch {}, past train.epochs = {}", path.display(), ck.epoch, cfg.epochs));
            }
            let bad = |e: burn::record::RecorderError| format!("`{}`: cannot load its records: {e}", path.display());
            params = params.load_record(Recorder::<B>::load(&rec, ck.params, device).map_err(bad)?);
            // The optimizer's state lives on the inner (non-autodiff) backend.
            optim = optim.load_record(Recorder::<B>::load(&rec, ck.optim, device).map_err(bad)?);
            start = ck.epoch;
            stats = ck.stats;
        }
        for epoch in start..cfg.epochs {
            let started = std::time::Instant::now();
            let lr = lr_at(cfg, epoch);
            // A seeded Fisher-Yates order of the training samples for this epoch.
            let mut order: Vec<usize> = (0..n_train).collect();
            let mut s = Stream::new(cfg.seed, 0, purpose::TRAIN, epoch);
            for i in (1..order.len()).rev() {
                order.swap(i, s.below(i as u64 + 1) as usize);
            }
            let batches = order.len().div_ceil(bs);
            let (mut loss_sum, mut correct) = (0.0, 0usize);
            for (b, idx) in order.chunks(bs).enumerate() {
                let labels: Vec<usize> = idx.iter().map(|&i| data.y[i]).collect();
                let masks = dropout_masks(net, cfg, idx, epoch, device);
                let (lv, right, grads) = self.batch(&params, idx, &labels, &masks, v_th);
                correct += right;
                if !lv.is_finite() {
                    return Err(format!(
                        "the loss became {lv} at epoch {}, batch {} (lower train.lr?)",
                        epoch + 1,
                        b + 1
                    ));
                }
                loss_sum += f64::from(lv) * idx.len() as f64;
                params = optim.step(lr, params, grads);
                progress(Progress::Batch(
                    epoch + 1,
                    b + 1,
                    batches,
                    loss_sum / ((b * bs + idx.len()) as f64),
                ));
            }
            // A loss can stay finite over weights that are not (no spike comes out of NaN):
            // refuse to go on, or to write them.
            let names = net.spec.edges.iter().filter(|e| e.trainable).map(|e| e.name.as_str());
            for (name, w) in names.zip(&params.weights) {
                let v = w.val().into_data().convert::<f32>().to_vec::<f32>().expect("f32 data");
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(format!("the weights of `{name}` became {} (entry {i}) at epoch {} (lower train.lr?); nothing of this epoch is written", v[i], epoch + 1));
                }
            }
            let secs = started.elapsed().as_secs_f64();
            let test_accuracy = evaluate(net, &params, data, cfg, n_train..n, device);
            let st = EpochStats {
                epoch: epoch + 1,
                loss: loss_sum / n_train as f64,
                train_accuracy: correct as f64 / n_train as f64,
                test_accuracy,
                lr,
                samples_per_s: n_train as f64 / secs,
            };
            progress(Progress::Epoch(st));
            stats.push(st);
            if let Some(dir) = &opts.checkpoint_dir {
                let bad = |e: burn::record::RecorderError| format!("cannot record the training state: {e}");
                let ck = TrainCheckpoint {
                    fingerprint: fingerprint.clone(),
                    epoch: epoch + 1,
                    stats: stats.clone(),
                    params: Recorder::<B>::record(&rec, params.clone().into_record(), ()).map_err(bad)?,
                    optim: Recorder::<B>::record(&rec, optim.to_record(), ()).map_err(bad)?,
                };
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
                ck.write(&dir.join(format!("epoch_{:04}.swtr", epoch + 1)))?;
                if epoch >= 2 {
                    let _ = std::fs::remove_file(dir.join(format!("epoch_{:04}.swtr", epoch - 1)));
                }
            }
        }
        Ok((params, stats))
    }
}

/// The pipeline `cfg` asks for (`None`: one partition, the whole batch at once).
fn pipeline<B: TrainBackend>(net: &Net<B>, cfg: &TrainConfig) -> Result<Option<Pipeline>, String> {
    if cfg.partitions == 1 && cfg.micro_batches == 1 {
        return Ok(None);
    }
    if !B::PIPELINE {
        return Err("partitions and micro_batches (a pipeline) run on the CPU only (--device flex)".into());
    }
    if !net.layered(&pass(cfg)) {
        return Err("partitions and micro_batches (a pipeline) need a feed-forward network of IF, LIF or PLIF layers without spike filters".into());
    }
    Pipeline::split(&net.spec, cfg.partitions as usize, cfg.micro_batches as usize).map(Some)
}

impl<B: TrainBackend> Run<'_, B> {
    /// One batch's forward and backward passes (through the pipeline if there is one):
    /// its mean loss, how many of its samples the output got right, and the gradients.
    fn batch(&self, params: &Params<B>, idx: &[usize], labels: &[usize], masks: &[Option<Tensor<B, 2>>], v_th: f64) -> (f32, usize, GradientsParams) {
        let Run { net, data, cfg, device, .. } = *self;
        let steps = cfg.steps as usize;
        let right = |out: &Output<B>, labels: &[usize]| predict(cfg.loss, out, steps).iter().zip(labels).filter(|(p, l)| p == l).count();
        let Some(pipe) = &self.pipe else {
            let out = net.run_masked(params, |t| input_at(data, idx, cfg, t, device), &pass(cfg), masks);
            let loss = loss_of(cfg.loss, &out, labels, steps, v_th, device);
            let lv: f32 = loss.clone().into_data().convert::<f32>().to_vec::<f32>().expect("scalar")[0];
            return (lv, right(&out, labels), GradientsParams::from_grads(loss.backward(), params));
        };
        let input = |rows: std::ops::Range<usize>, t: usize| input_at(data, &idx[rows], cfg, t, device);
        let loss = |out: &Output<B>, rows: std::ops::Range<usize>| loss_of(cfg.loss, out, &labels[rows], steps, v_th, device);
        let (results, grads) = crate::pipeline::batch_gradients(net, params, pipe, idx.len(), &input, masks, &pass(cfg), &loss);
        let mut lv = 0.0f32;
        let mut correct = 0;
        for (r, rows) in results.iter().zip(pipe.rows(idx.len())) {
            // The micro-batches' losses, each scaled by its share, sum to the batch's mean.
            lv += r.loss;
            correct += right(&r.output, &labels[rows]);
        }
        (lv, correct, grads)
    }
}

/// The dropout masks of a minibatch, per layer: sample `i`'s mask of layer `l` in `epoch`
/// is drawn from the stream (seed, i, DROPOUT, epoch · 2¹⁶ + l), a neuron kept (scaled by
/// 1/(1 − p)) when its uniform draw is ≥ p.
pub fn dropout_masks<B: Backend>(net: &Net<B>, cfg: &TrainConfig, idx: &[usize], epoch: u64, device: &B::Device) -> Vec<Option<Tensor<B, 2>>> {
    net.spec
        .layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            let &(_, p) = cfg.dropout.iter().find(|(pop, _)| *pop == layer.pop)?;
            let keep = (1.0 / (1.0 - p)) as f32;
            let mut v = Vec::with_capacity(idx.len() * layer.size);
            for &i in idx {
                let mut s = Stream::new(cfg.seed, i as u32, purpose::DROPOUT, (epoch << 16) | l as u64);
                v.extend((0..layer.size).map(|_| if s.uniform() >= p { keep } else { 0.0 }));
            }
            Some(Tensor::<B, 2>::from_data(TensorData::new(v, [idx.len(), layer.size]), device).cast(net.dtype))
        })
        .collect()
}

/// The pass `cfg` trains with.
fn pass(cfg: &TrainConfig) -> Pass {
    Pass { readout: cfg.loss.readout(), ..Pass::new(cfg.steps as usize, cfg.surrogate, cfg.detach_reset) }
}

/// Accuracy on samples `range` (no gradient kept).
pub fn evaluate<B: SeqLif>(
    net: &Net<B>,
    params: &Params<B>,
    data: &Dataset,
    cfg: &TrainConfig,
    range: std::ops::Range<usize>,
    device: &B::Device,
) -> f64 {
    if range.is_empty() {
        return f64::NAN;
    }
    let idx: Vec<usize> = range.collect();
    let mut correct = 0;
    for chunk in idx.chunks(EVAL_CHUNK) {
        let out = net.run(params, |t| input_at(data, chunk, cfg, t, device), &pass(cfg));
        correct += predict(cfg.loss, &out, cfg.steps as usize)
            .iter()
            .zip(chunk)
            .filter(|(p, i)| **p == data.y[**i])
            .count();
    }
    correct as f64 / idx.len() as f64
}

/// Writes the trained weights (`weights/<projection>.npy`, float64 `[targets, sources]`,
/// what `weight = { file = ... }` loads), `train.json` (naming the `device` it trained on)
/// and `curve.csv`; returns the paths.
pub fn write_outputs<B: Backend>(
    dir: &Path,
    spec: &NetSpec,
    params: &Params<B>,
    stats: &[EpochStats],
    cfg: &TrainConfig,
    device: &str,
) -> Result<Vec<PathBuf>, String> {
    let wdir = dir.join("weights");
    std::fs::create_dir_all(&wdir)
        .map_err(|e| format!("cannot create `{}`: {e}", wdir.display()))?;
    let mut files = Vec::new();
    let mut tw = params.weights.iter();
    // The fraction of exact zeros of each trained projection (AdamRewiring's dormant weights).
    let mut zeros = serde_json::Map::new();
    for e in &spec.edges {
        if !e.trainable {
            continue;
        }
        let w = tw.next().expect("one per trainable edge").val();
        let shape = e.file_shape(spec.layers[e.to].size);
        let v: Vec<f64> = w
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("f32 data")
            .into_iter()
            .map(f64::from)
            .collect();
        zeros.insert(e.name.clone(), serde_json::json!(v.iter().filter(|&&x| x == 0.0).count() as f64 / v.len().max(1) as f64));
        let p = wdir.join(format!("{}.npy", e.name));
        spikeworld::output::write_npy_f64(&p, &shape, &v)
            .map_err(|e| e.to_string())?;
        files.push(p);
    }
    let mut csv = String::from("epoch,loss,train_accuracy,test_accuracy,lr,samples_per_s\n");
    for s in stats {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            s.epoch, s.loss, s.train_accuracy, s.test_accuracy, s.lr, s.samples_per_s
        ));
    }
    let p = dir.join("curve.csv");
    spikeworld::util::fsio::write_atomic(&p, |w| std::io::Write::write_all(w, csv.as_bytes()))
        .map_err(|e| e.to_string())?;
    files.push(p);
    let p = dir.join("curve.svg");
    crate::plot::curve_svg(&p, stats)?;
    files.push(p);
    // Each PLIF layer's trained `w` and its time constant `tau = 1/sigmoid(w)`: a run
    // scenario takes it as `init_tau` (the simulation holds w fixed at -ln(init_tau - 1)).
    let mut plif = serde_json::Map::new();
    let plif_layers = spec.layers.iter().filter(|l| matches!(l.form, crate::net::NeuronForm::Plif { .. }));
    for (l, w) in plif_layers.zip(&params.plif_w) {
        let w = w.val().into_data().convert::<f64>().to_vec::<f64>().expect("f64 data")[0];
        plif.insert(l.name.clone(), serde_json::json!({ "w": w, "init_tau": 1.0 + (-w).exp() }));
    }
    let last = stats.last();
    let json = serde_json::json!({
        "seed": cfg.seed,
        "plif": plif,
        "epochs": stats.len(),
        "final": last,
        "curve": stats,
        "steps": cfg.steps,
        "surrogate": cfg.surrogate.name(),
        "device": device,
        "zero_fraction": zeros,
        "weights": files.iter().filter(|f| f.extension().is_some_and(|x| x == "npy")).map(|f| f.strip_prefix(dir).unwrap_or(f).display().to_string()).collect::<Vec<_>>(),
    });
    let p = dir.join("train.json");
    let bytes = serde_json::to_vec_pretty(&json).map_err(|e| e.to_string())?;
    spikeworld::util::fsio::write_atomic(&p, |w| std::io::Write::write_all(w, &bytes))
        .map_err(|e| e.to_string())?;
    files.push(p);
    Ok(files)
}
