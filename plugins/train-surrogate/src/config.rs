//! `[train]`: what a scenario's network is trained on and how.
//!
//! ```toml
//! [train]
//! input = "pixels"               # the spike encoder the dataset's samples replace
//! output = "out"                 # the population whose spike counts are the prediction
//! trainable = ["fc1", "fc2"]     # projections whose weights are learnt (dense or conv2d)
//! x = "../data/digits/x.npy"     # samples, [n, input size] (relative to the scenario)
//! y = "../data/digits/y.npy"     # labels, [n], 0 .. output size − 1
//! scale = 0.0625                 # x · scale is the input (direct: a current; bernoulli: p)
//! test_count = 360               # the last samples are the test split
//! encoding = "direct"            # direct | bernoulli
//! steps = 8                      # T, time steps per sample
//! epochs = 20
//! batch_size = 32
//! loss = "mse_rate"              # mse_rate | ce_rate | ce_first_spike | mse_first_spike | ce_membrane | mse_membrane
//! learner = "sbp"                # SPAIC's: stbp | stca (fix the surrogate) | sbp (the surrogate below)
//! surrogate = "atan"             # see `spikeworld info`
//! alpha = 2.0
//! detach_reset = false
//! optimizer = "adam"             # adam | adamw | sgd
//! lr = 1e-3
//! momentum = 0.9                 # sgd only
//! weight_decay = 0.0
//! schedule = "cosine"            # constant | cosine | step (step_every epochs, × step_gamma)
//! seed = 1                       # data order and Bernoulli draws (default: the scenario's)
//! ```

use std::sync::Arc;

use bevy_ecs::prelude::{Resource, World};
use spikeworld::api::addon::{ScenarioTable, TableConfig, TableCtx};
use spikeworld::prelude::*;
use spikeworld::util::node::Val;
use spikeworld::util::table::{Table, err_at, node_count};

use crate::keys::KEYS;
use crate::surrogate::Surrogate;

/// How a sample becomes the input of each time step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `x · scale` added each step, as a current, through the first projection's weights
    /// (SpikingJelly's usual first layer: a `Linear` on the analog input).
    Direct,
    /// Spikes with probability `x · scale` each step, drawn from the counter-based stream.
    Bernoulli,
}

/// The loss on the output's spike rates over the T steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Mean squared error of the rates against the one-hot label (SpikingJelly's examples).
    MseRate,
    /// Cross-entropy of softmax(rates · T) against the label.
    CeRate,
    /// Cross-entropy of softmax(−first-spike step) against the label (snnTorch's
    /// `ce_temporal_loss`): the label's neuron should fire first.
    CeFirstSpike,
    /// MSE of first-spike step / T against 0 for the label's neuron and 1 (never) for the
    /// others (snnTorch's `mse_temporal_loss` with its default targets 0 and T).
    MseFirstSpike,
    /// Cross-entropy of softmax(mean membrane potential) against the label.
    CeMembrane,
    /// MSE of the mean membrane potential against v_threshold for the label's neuron and
    /// 0 for the others.
    MseMembrane,
}

impl Loss {
    /// The readout the loss needs.
    pub fn readout(self) -> crate::net::Readout {
        match self {
            Loss::MseRate | Loss::CeRate => crate::net::Readout::Count,
            Loss::CeFirstSpike | Loss::MseFirstSpike => crate::net::Readout::FirstSpike,
            Loss::CeMembrane | Loss::MseMembrane => crate::net::Readout::Membrane,
        }
    }
}

/// SPAIC's learner names: which surrogate gradient the spike's threshold uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learner {
    /// `stbp`: SPAIC's STBP window (the `stbp` surrogate).
    Stbp,
    /// `stca`: SPAIC's STCA window (the `stca` surrogate).
    Stca,
    /// `sbp`: SPAIC's SurrogateBP: the `surrogate` key's function (default atan, α = 2).
    Sbp,
}

/// The optimizer (burn's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    /// Adam.
    Adam,
    /// AdamW.
    AdamW,
    /// SGD with momentum.
    Sgd,
    /// RMSprop (momentum from `momentum`).
    RmsProp,
    /// Adagrad.
    AdaGrad,
    /// SpikingFlow's AdamRewiring (Deep R on Adam).
    AdamRewiring,
}

/// The learning-rate schedule, by epoch.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// lr throughout.
    Constant,
    /// lr · (1 + cos(π e / epochs)) / 2.
    Cosine,
    /// lr · gamma^(e / every).
    Step {
        /// Epochs per step.
        every: u64,
        /// Factor per step.
        gamma: f64,
    },
    /// lr · gamma^(number of milestones ≤ e).
    MultiStep {
        /// Epochs at which the rate is multiplied by gamma.
        milestones: Vec<u64>,
        /// Factor per milestone.
        gamma: f64,
    },
    /// lr · gamma^e.
    Exponential {
        /// Factor per epoch.
        gamma: f64,
    },
    /// Triangular cycles between lr · low and lr over `every` epochs (up, then down).
    Cyclic {
        /// Epochs per cycle.
        every: u64,
        /// Lowest rate, as a fraction of lr.
        low: f64,
    },
}

/// A parsed `[train]` table (inserted into the world as a resource).
#[derive(Resource, Clone, Debug)]
pub struct TrainConfig {
    /// Encoder index replaced by the dataset.
    pub input: usize,
    /// Output population index.
    pub output: usize,
    /// Trainable projections (indices).
    pub trainable: Vec<usize>,
    /// Samples file, as written.
    pub x: String,
    /// Labels file, as written.
    pub y: String,
    /// Where `x` and `y` are written (the `[train]` table when `y` is left out): the
    /// errors of reading them, when training starts, point there.
    pub x_at: spikeworld::util::error::Loc,
    /// See `x_at`.
    pub y_at: spikeworld::util::error::Loc,
    /// Where the keys that checks at training time name are written (`steps`, `batch_size`,
    /// `test_count`), else the `[train]` table: see [`TrainConfig::error_at`].
    pub key_at: Vec<(&'static str, spikeworld::util::error::Loc)>,
    /// Input scale.
    pub scale: f64,
    /// Test samples (the last ones).
    pub test_count: u64,
    /// Input encoding.
    pub encoding: Encoding,
    /// Time steps per sample.
    pub steps: u64,
    /// Epochs.
    pub epochs: u64,
    /// Batch size.
    pub batch_size: u64,
    /// Loss.
    pub loss: Loss,
    /// SPAIC's learner name (what chose the surrogate).
    pub learner: Learner,
    /// Surrogate spike function.
    pub surrogate: Surrogate,
    /// Whether the reset is left out of the gradient.
    pub detach_reset: bool,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Learning rate.
    pub lr: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// AdamRewiring's temperature and L1 penalty.
    pub rewiring: (f64, f64),
    /// Schedule.
    pub schedule: Schedule,
    /// Linear warm-up: the rate rises from lr / (warmup + 1) to the schedule's over these epochs.
    pub warmup: u64,
    /// Seed of the data order and the draws.
    pub seed: u64,
    /// Time-shared dropout: (population index, p) of the populations whose spikes are
    /// dropped on their way out during training (one mask per sample for all T steps).
    pub dropout: Vec<(usize, f64)>,
    /// Pipeline partitions (1: none).
    pub partitions: u64,
    /// Micro-batches per batch (1: the whole batch at once).
    pub micro_batches: u64,
}

impl TableConfig for TrainConfig {
    fn insert(&self, world: &mut World) {
        world.insert_resource(self.clone());
    }
}

/// The `[train]` table.
pub struct TrainTable;


fn choice<'a>(
    t: &mut Table<'a>,
    key: &str,
    options: &[&'static str],
) -> Result<Option<&'static str>, ScenarioError> {
    let Some((v, n)) = t.opt_str(key)? else {
        return Ok(None);
    };
    match options.iter().find(|o| **o == v) {
        Some(o) => Ok(Some(o)),
        None => Err(t.err(
            n,
            key,
            format!(
                "unknown \"{v}\"; valid: {}",
                options
                    .iter()
                    .map(|o| format!("\"{o}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn number(
    t: &mut Table<'_>,
    key: &str,
    default: f64,
    ok: impl Fn(f64) -> bool,
    what: &str,
) -> Result<f64, ScenarioError> {
    match t.opt_quantity(key, Dim::Dimensionless)? {
        None => Ok(default),
        Some((v, _)) if ok(v) => Ok(v),
        Some((_, n)) => Err(t.err(n, key, format!("must be {what}"))),
    }
}

fn count(t: &mut Table<'_>, key: &str, default: u64, min: u64) -> Result<u64, ScenarioError> {
    match t.get(key) {
        None => Ok(default),
        Some(n) => {
            let v = node_count(n, &t.key_path(key))?;
            if v < min {
                return Err(t.err(n, key, format!("must be at least {min}")));
            }
            Ok(v)
        }
    }
}

impl TrainConfig {
    /// `message` located at `train.KEY` where the file wrote it, else at the `[train]` table.
    pub fn error_at(&self, key: &'static str, message: impl Into<String>) -> String {
        let loc = self.key_at.iter().find(|(k, _)| *k == key).or(self.key_at.first()).map(|(_, l)| l.clone()).expect("the table's own location");
        err_at(&loc, format!("train.{key}"), message).to_string()
    }
}

impl ScenarioTable for TrainTable {
    fn name(&self) -> &'static str {
        "train"
    }
    fn doc(&self) -> &'static str {
        "surrogate-gradient training of the scenario's network by BPTT (`spikeworld train`); see plugins/train-surrogate"
    }
    fn keys(&self) -> &'static [ParamSpec] {
        KEYS
    }
    fn parse(
        &self,
        t: &mut Table<'_>,
        ctx: &TableCtx,
    ) -> Result<Arc<dyn TableConfig>, ScenarioError> {
        let (input, n) = t.str("input")?;
        let input =
            match ctx.encoders.iter().position(|e| e == input) {
                Some(i) if ctx.encoder_sizes[i].1 => i,
                Some(_) => return Err(t.err(
                    n,
                    "input",
                    format!(
                        "encoder \"{input}\" emits a current; the dataset replaces a spike encoder"
                    ),
                )),
                None => {
                    return Err(t.err(
                        n,
                        "input",
                        format!("no encoder \"{input}\"; encoders: {:?}", ctx.encoders),
                    ));
                }
            };
        let (output, n) = t.str("output")?;
        let Some(output) = ctx.populations.iter().position(|p| p == output) else {
            return Err(t.err(
                n,
                "output",
                format!(
                    "no population \"{output}\"; populations: {:?}",
                    ctx.populations
                ),
            ));
        };
        let node = t.req("trainable")?;
        let Val::Array(items) = &node.val else {
            return Err(t.err(node, "trainable", "must be an array of projection names"));
        };
        let mut trainable = Vec::new();
        for item in items {
            let Val::Str(name) = &item.val else {
                return Err(t.err(item, "trainable", "must be an array of projection names"));
            };
            match ctx.projections.iter().position(|p| p == name) {
                Some(i) if !trainable.contains(&i) => trainable.push(i),
                Some(_) => {
                    return Err(t.err(item, "trainable", format!("\"{name}\" is listed twice")));
                }
                None => {
                    return Err(t.err(
                        item,
                        "trainable",
                        format!(
                            "no projection \"{name}\"; projections: {:?}",
                            ctx.projections
                        ),
                    ));
                }
            }
        }
        // (The files are read when training starts: their errors are located here.)
        let (x, xn) = t.str("x")?;
        let (x, x_at) = (x.to_string(), xn.loc.clone());
        let folder = ctx.base_dir.join(&x).is_dir();
        let mut y_at = t.loc().clone();
        let y = match t.opt_str("y")? {
            Some((_, n)) if folder => return Err(t.err(n, "y", format!("`{x}` is an N-MNIST folder, whose digit folders are the labels; leave y out"))),
            Some((y, n)) => {
                y_at = n.loc.clone();
                y.to_string()
            }
            None if folder => String::new(),
            None => return Err(err_at(t.loc(), t.key_path("y"), "required: the labels (.npy or IDX) of the samples in x")),
        };
        let scale = number(t, "scale", 1.0, |v| v.is_finite(), "a finite number")?;
        let test_count = count(t, "test_count", 0, 0)?;
        let encoding = match choice(t, "encoding", &["direct", "bernoulli"])? {
            Some("bernoulli") => Encoding::Bernoulli,
            _ => Encoding::Direct,
        };
        let steps = count(t, "steps", 8, 1)?;
        let epochs = count(t, "epochs", 10, 1)?;
        let batch_size = count(t, "batch_size", 32, 1)?;
        let loss = match choice(t, "loss", &["mse_rate", "ce_rate", "ce_first_spike", "mse_first_spike", "ce_membrane", "mse_membrane"])? {
            Some("ce_rate") => Loss::CeRate,
            Some("ce_first_spike") => Loss::CeFirstSpike,
            Some("mse_first_spike") => Loss::MseFirstSpike,
            Some("ce_membrane") => Loss::CeMembrane,
            Some("mse_membrane") => Loss::MseMembrane,
            _ => Loss::MseRate,
        };
        let learner = match choice(t, "learner", &["stbp", "stca", "sbp"])? {
            Some("stbp") => Learner::Stbp,
            Some("stca") => Learner::Stca,
            _ => Learner::Sbp,
        };
        let fixed_name = match learner {
            Learner::Stbp => Some("stbp"),
            Learner::Stca => Some("stca"),
            Learner::Sbp => None,
        };
        let sname = t.opt_str("surrogate")?;
        if learner != Learner::Sbp
            && let Some((_, n)) = sname.filter(|(given, _)| Some(*given) != fixed_name)
        {
            return Err(t.err(n, "surrogate", format!("learner \"{}\" fixes the surrogate (SPAIC's {} window); give one of them, or learner = \"sbp\" with a surrogate", if learner == Learner::Stbp { "stbp" } else { "stca" }, if learner == Learner::Stbp { "STBP" } else { "STCA" })));
        }

        let alpha = t.opt_quantity("alpha", Dim::Dimensionless)?;
        let surrogate = Surrogate::parse(fixed_name.unwrap_or(sname.map_or("atan", |s| s.0)), alpha.map(|a| a.0))
            .map_err(|e| match (alpha, sname) {
                (Some((_, n)), _) if e.contains("alpha") => t.err(n, "alpha", e),
                (_, Some((_, n))) => t.err(n, "surrogate", e),
                (Some((_, n)), None) => t.err(n, "alpha", e),
                (None, None) => err_at(t.loc(), t.key_path("surrogate"), e),
            })?;
        let detach_reset = t.opt_bool("detach_reset")?.unwrap_or(false);
        let optimizer = match choice(t, "optimizer", &["adam", "adamw", "sgd", "rmsprop", "adagrad", "adam_rewiring"])? {
            Some("adam_rewiring") => OptimizerKind::AdamRewiring,
            Some("adamw") => OptimizerKind::AdamW,
            Some("sgd") => OptimizerKind::Sgd,
            Some("rmsprop") => OptimizerKind::RmsProp,
            Some("adagrad") => OptimizerKind::AdaGrad,
            _ => OptimizerKind::Adam,
        };
        let lr = number(t, "lr", 1e-3, |v| v > 0.0 && v < f64::from(f32::MAX), "positive and finite in f32 (below 3.4e38: training runs in f32)")?;
        let momentum = number(t, "momentum", 0.9, |v| (0.0..1.0).contains(&v), "in [0, 1)")?;
        let weight_decay = number(
            t,
            "weight_decay",
            0.0,
            |v| v.is_finite() && v >= 0.0,
            "at least 0",
        )?;
        let rewiring = (
            number(t, "rewiring_temperature", 1e-5, |v| v.is_finite() && v >= 0.0, "at least 0")?,
            number(t, "rewiring_l1", 1e-5, |v| v.is_finite() && v >= 0.0, "at least 0")?,
        );
        let kind = choice(t, "schedule", &["constant", "cosine", "step", "multistep", "exponential", "cyclic"])?;
        let every = count(t, "step_every", 10, 1)?;
        let gamma = number(t, "step_gamma", 0.1, |v| v.is_finite() && v > 0.0, "positive")?;
        let low = number(t, "cyclic_low", 0.1, |v| (0.0..=1.0).contains(&v), "in [0, 1]")?;
        let mut milestones = Vec::new();
        if let Some(node) = t.get("milestones") {
            let Val::Array(items) = &node.val else {
                return Err(t.err(node, "milestones", "must be an array of epochs"));
            };
            for item in items {
                let e = node_count(item, &t.key_path("milestones"))?;
                if milestones.last().is_some_and(|&m| m >= e) {
                    return Err(t.err(item, "milestones", "must be ascending"));
                }
                milestones.push(e);
            }
        }
        let schedule = match kind {
            Some("cosine") => Schedule::Cosine,
            Some("step") => Schedule::Step { every, gamma },
            Some("multistep") if milestones.is_empty() => {
                let n = t.get("schedule").expect("the key was read");
                return Err(t.err(n, "schedule", "\"multistep\" needs `milestones` (an array of epochs at which the rate is multiplied by step_gamma)"));
            }
            Some("multistep") => Schedule::MultiStep { milestones, gamma },
            Some("exponential") => Schedule::Exponential { gamma },
            Some("cyclic") => Schedule::Cyclic { every, low },
            _ => Schedule::Constant,
        };
        let warmup = count(t, "warmup", 0, 0)?;
        let seed = count(t, "seed", ctx.seed, 0)?;
        let partitions = count(t, "partitions", 1, 1)?;
        let micro_batches = count(t, "micro_batches", 1, 1)?;
        if micro_batches > batch_size
            && let Some(n) = t.get("micro_batches")
        {
            return Err(t.err(n, "micro_batches", format!("must be at most batch_size ({batch_size})")));
        }
        let mut dropout = Vec::new();
        if let Some(node) = t.get("dropout") {
            let Val::Table(entries) = &node.val else {
                return Err(t.err(node, "dropout", "must be a table of population = probability"));
            };
            for e in entries {
                let Some(pop) = ctx.populations.iter().position(|p| *p == e.key) else {
                    return Err(t.err(&e.node, "dropout", format!("no population \"{}\"; populations: {:?}", e.key, ctx.populations)));
                };
                if pop == output {
                    return Err(t.err(&e.node, "dropout", format!("\"{}\" is the output: dropping its spikes would drop the prediction", e.key)));
                }
                let p = match &e.node.val {
                    Val::Float(v) => *v,
                    Val::Int(v) => *v as f64,
                    _ => f64::NAN,
                };
                if !(0.0..1.0).contains(&p) {
                    return Err(t.err(&e.node, "dropout", format!("{}: the probability must be a number in [0, 1)", e.key)));
                }
                dropout.push((pop, p));
            }
        }
        let mut key_at = vec![("", t.loc().clone())];
        for key in ["steps", "batch_size", "test_count", "trainable"] {
            if let Some(n) = t.get(key) {
                key_at.push((key, n.loc.clone()));
            }
        }
        Ok(Arc::new(TrainConfig {
            key_at,
            input,
            output,
            trainable,
            x,
            y,
            x_at,
            y_at,
            scale,
            test_count,
            encoding,
            steps,
            epochs,
            batch_size,
            loss,
            learner,
            surrogate,
            detach_reset,
            optimizer,
            lr,
            momentum,
            weight_decay,
            rewiring,
            schedule,
            warmup,
            seed,
            dropout,
            partitions,
            micro_batches,
        }))
    }
}
