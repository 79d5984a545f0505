//! The keys of the `[train]` table, documented (what `spikeworld info` lists).

use spikeworld::prelude::*;

pub(crate) const KEYS: &[ParamSpec] = &[
    ParamSpec::required(
        "input",
        Dim::Dimensionless,
        "the spike encoder whose output the dataset replaces (its size = the samples' width)",
    ),
    ParamSpec::required(
        "output",
        Dim::Dimensionless,
        "the population whose spike rates are the prediction (its size = the classes)",
    ),
    ParamSpec::required(
        "trainable",
        Dim::Dimensionless,
        "projections whose weights are learnt (array of names; dense or conv2d)",
    ),
    ParamSpec::required(
        "x",
        Dim::Dimensionless,
        "samples, .npy or IDX [n, input size] (relative to the scenario), or an N-MNIST folder (Train/ or Test/: event files integrated into `steps` frames)",
    ),
    ParamSpec::optional("y", Dim::Dimensionless, "labels, .npy [n] of integers 0 .. output size - 1 (required, except with an N-MNIST folder as x: its digit folders are the labels)"),
    ParamSpec::new(
        "scale",
        Dim::Dimensionless,
        1.0,
        "x · scale is the input: a current (direct) or a probability (bernoulli)",
    ),
    ParamSpec::optional("test_count", Dim::Dimensionless, "how many samples form the test split (default 0): the last of a seeded shuffle of the samples (the seed: `seed`)"),
    ParamSpec::optional("encoding", Dim::Dimensionless, "direct (default) | bernoulli (x · scale a firing probability in [0, 1] each step)"),
    ParamSpec::new("steps", Dim::Dimensionless, 8.0, "T, time steps per sample"),
    ParamSpec::new(
        "epochs",
        Dim::Dimensionless,
        10.0,
        "passes over the training split",
    ),
    ParamSpec::new(
        "batch_size",
        Dim::Dimensionless,
        32.0,
        "samples per gradient step",
    ),
    ParamSpec::optional("loss", Dim::Dimensionless, "mse_rate (default) | ce_rate | ce_first_spike | mse_first_spike | ce_membrane | mse_membrane"),
    ParamSpec::optional("learner", Dim::Dimensionless, "SPAIC's learners: stbp | stca (each fixes its surrogate window) | sbp (default: the surrogate key's function)"),
    ParamSpec::optional("surrogate", Dim::Dimensionless, "surrogate spike function: atan (default) | sigmoid | piecewise_quadratic | piecewise_exp | soft_sign | erf | piecewise_leaky_relu | fast_sigmoid (= super_spike) | triangle | bilinear_leaky_relu | sign_swish | stbp | stca"),
    ParamSpec::optional("alpha", Dim::Dimensionless, "the surrogate's sharpness (default: the function's; piecewise_leaky_relu: its width w, bilinear_leaky_relu: its slope a, sign_swish: its β)"),
    ParamSpec::optional("detach_reset", Dim::Dimensionless, "true | false (default): leave the reset out of the gradient (SpikingJelly's detach_reset)"),
    ParamSpec::optional("optimizer", Dim::Dimensionless, "adam (default) | adamw | sgd | rmsprop | adagrad | adam_rewiring (SpikingFlow's Deep R on Adam)"),
    ParamSpec::new("lr", Dim::Dimensionless, 1e-3, "learning rate"),
    ParamSpec::new("momentum", Dim::Dimensionless, 0.9, "SGD and RMSprop momentum"),
    ParamSpec::new("weight_decay", Dim::Dimensionless, 0.0, "weight decay"),
    ParamSpec::new("rewiring_temperature", Dim::Dimensionless, 1e-5, "adam_rewiring: the temperature T of the noise"),
    ParamSpec::new("rewiring_l1", Dim::Dimensionless, 1e-5, "adam_rewiring: the L1 penalty"),
    ParamSpec::optional("schedule", Dim::Dimensionless, "constant (default) | cosine | step | multistep | exponential | cyclic"),
    ParamSpec::new(
        "step_every",
        Dim::Dimensionless,
        10.0,
        "step: epochs per step; cyclic: epochs per cycle",
    ),
    ParamSpec::new(
        "step_gamma",
        Dim::Dimensionless,
        0.1,
        "step, multistep, exponential: the factor",
    ),
    ParamSpec::optional("milestones", Dim::Dimensionless, "multistep: epochs (an array) at which the rate is multiplied by step_gamma"),
    ParamSpec::new("cyclic_low", Dim::Dimensionless, 0.1, "cyclic: the lowest rate as a fraction of lr"),
    ParamSpec::new("warmup", Dim::Dimensionless, 0.0, "epochs of linear warm-up: in epoch e < warmup the schedule's rate times (e + 1)/(warmup + 1)"),
    ParamSpec::optional("dropout", Dim::Dimensionless, "time-shared dropout while training: { population = p, ... }; each sample's mask holds for all T steps (SpikingJelly's multi-step Dropout), kept spikes scaled by 1/(1 - p)"),
    ParamSpec::optional("seed", Dim::Dimensionless, "seed of the data order, the test split and the Bernoulli draws (default: the scenario's)"),
    ParamSpec::new(
        "partitions",
        Dim::Dimensionless,
        1.0,
        "pipeline (SpikingFlow's ModelPipeline): split the layers into this many partitions of consecutive layers, each on its own thread, micro-batches flowing through them; the gradients are those of one partition with the same micro-batches, bit for bit (a feed-forward network of IF/LIF/PLIF layers)",
    ),
    ParamSpec::new(
        "micro_batches",
        Dim::Dimensionless,
        1.0,
        "pipeline: micro-batches per batch (their gradients summed in order); at most batch_size",
    ),
];
