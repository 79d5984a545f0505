//! The `spikeworld` command line, as a library so that tests can call it in-process.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use spikeworld::output::{Timings, default_out_dir};
use spikeworld::util::units::fmt_ms;
use spikeworld::prelude::*;
use spikeworld::util::sysmem::{fmt_bytes, parse_size};

#[macro_use]
mod say;
mod checkpoints;
mod info;
mod processes;
mod train;
pub use info::info_text;
use checkpoints::{CheckpointPlan, checkpoint_plan, interrupt_plan, prepare_dirs, time_steps, write_checkpoint};

/// Exit code of a run ended by Ctrl-C (SIGINT) or SIGTERM (SIGHUP too), after it saved
/// its state and outputs.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Most worker threads `--threads` may ask for.
pub const MAX_THREADS: usize = 1024;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// From now on, Ctrl-C, SIGTERM and SIGHUP ask the stepping loop to stop after the current
/// step (a second one quits at once).
#[cfg_attr(unix, expect(unsafe_code, reason = "libc's sigaction and signal: a query of SIGHUP's disposition, and setting it back to SIG_IGN"))]
fn catch_interrupts() {
    // A run started under `nohup` (SIGHUP ignored) must outlive its terminal: the handler
    // takes SIGHUP too, so it is ignored again afterwards.
    #[cfg(unix)]
    let hup_ignored = {
        // SAFETY: a query (null new action) into a zeroed sigaction owned here.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        (unsafe { libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old) } == 0) && old.sa_sigaction == libc::SIG_IGN
    };
    // Only one handler per process; a second call (tests calling main twice) keeps the first.
    let _ = ctrlc::set_handler(|| {
        train::stop_training();
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            warn_user!("\ninterrupted twice: quitting without saving");
            std::process::exit(EXIT_INTERRUPTED);
        }
    });
    #[cfg(unix)]
    if hup_ignored {
        // SAFETY: setting a signal's disposition to SIG_IGN has no memory effects.
        unsafe {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
        }
    }
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A builder with every plugin this binary ships.
pub fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin)
        .add_plugin(spikeworld_neuron_sj::SjPlugin)
        .add_plugin(spikeworld_neuron_physical::PhysicalPlugin)
        .add_plugin(spikeworld_neuron_hh::HhPlugin)
        .add_plugin(spikeworld_neuron_equations::EquationsPlugin)
        .add_plugin(spikeworld_encoder_basic::EncoderPlugin)
        .add_plugin(spikeworld_synapse_basic::SynapsePlugin)
        .add_plugin(spikeworld_plasticity_stdp::StdpPlugin)
        .add_plugin(spikeworld_plasticity_reward::RewardPlugin)
        .add_plugin(spikeworld_event_driven::world::EventDrivenPlugin)
        .add_plugin(spikeworld_train_surrogate::TrainPlugin);
    b
}

#[derive(Parser, Debug)]
#[command(name = "spikeworld", version, about = "Spiking neural network simulator: run scenario files, reproducibly.")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Most memory a scenario may need, by the up-front estimate (e.g. 64GiB, 500MB).
    /// Default: $SPIKEWORLD_MAX_MEMORY, else 80% of the available memory.
    #[arg(long, global = true, value_name = "SIZE")]
    max_memory: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EngineArg {
    Cpu,
    Tensor,
    /// The whole step on the device (`--device cuda`; on `flex`, the same kernels as host loops).
    Device,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeliveryArg {
    /// Push for projections of at least 2^22 synapses, pull for the others.
    Auto,
    /// Each target reads all its synapses every step.
    Pull,
    /// Each spike pushes into its targets' buckets, sorted per target.
    Push,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum ThreadsMode {
    /// Shards of one thread each where that pays (a large network on the cpu engine), a
    /// pool splitting one world otherwise.
    Auto,
    /// A pool splitting one world's update and delivery.
    Pool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceArg {
    Flex,
    Cuda,
}

#[derive(clap::Args, Debug, Clone)]
struct ExecArgs {
    /// Worker threads of the cpu engine (results do not depend on it). A network with a
    /// population of at least 4096 neurons per thread runs as that many shards (see
    /// --threads-mode).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// How --threads are used: `auto` runs a large network as one shard per thread
    /// (faster: docs/sharding.md), `pool` splits one world over a thread pool.
    #[arg(long, value_enum, default_value = "auto")]
    threads_mode: ThreadsMode,
    /// Split the network into this many shards, each a world on its own thread holding a
    /// range of every population (cpu engine; results do not depend on it). Default: the
    /// scenario's `simulation.shards`, else 1.
    #[arg(long)]
    shards: Option<usize>,
    /// Steps between two spike exchanges of a sharded run (results do not depend on it).
    /// Default: the longest the delays allow, the shortest delay plus one step.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    exchange_every: Option<u64>,
    /// One shard per MPI process: launch with `mpirun -n K spikeworld run SCENARIO --mpi`
    /// (results do not depend on K; the process holding shard 0 writes the outputs).
    /// Needs a build with `--features mpi` (`bash scripts/install-mpi.sh` installs OpenMPI).
    #[arg(long)]
    mpi: bool,
    /// Executor.
    #[arg(long, value_enum, default_value = "cpu")]
    engine: EngineArg,
    /// Device of the tensor and device engines (default: flex, burn's CPU backend). Refused
    /// with the cpu engine, which never uses one.
    #[arg(long, value_enum)]
    device: Option<DeviceArg>,
    /// Spike delivery of the device engine (every mode gives the same bits; default:
    /// auto). Refused with another engine.
    #[arg(long, value_enum)]
    delivery: Option<DeliveryArg>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args, Debug, Clone)]
struct CheckpointArgs {
    /// Write a checkpoint every this much simulated time (e.g. 100ms), at multiples of it.
    #[arg(long, value_name = "DURATION")]
    checkpoint_every: Option<String>,
    /// Where checkpoints go (default: OUT/checkpoints). A run given a directory also writes
    /// a checkpoint at its last step.
    #[arg(long, value_name = "DIR")]
    checkpoint_dir: Option<PathBuf>,
    /// Checkpoints to keep: older ones are deleted once a newer one is complete.
    #[arg(long, default_value_t = 2, value_name = "K")]
    keep: usize,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a scenario and write its outputs.
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Output directory (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed (replaces simulation.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a value: --set population.P.size=8000 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        exec: ExecArgs,
        #[command(flatten)]
        ckpt: CheckpointArgs,
        /// Stop at this time (e.g. 500ms), write outputs so far and a checkpoint there.
        #[arg(long, value_name = "T")]
        stop_at: Option<String>,
    },
    /// Resume a run from a checkpoint and write its outputs (identical to those of a run
    /// that never stopped).
    Resume {
        /// The checkpoint file (`*.swck`).
        checkpoint: PathBuf,
        /// Run until this time (e.g. 2s; default: the scenario's t_stop).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Output directory (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Rebuild from this scenario file instead of the copy stored in the checkpoint
        /// (it must be the same scenario: its SHA-256 is checked).
        #[arg(long)]
        scenario: Option<PathBuf>,
        #[command(flatten)]
        exec: ExecArgs,
        #[command(flatten)]
        ckpt: CheckpointArgs,
    },
    /// Train the scenario's network by surrogate gradients (its `[train]` table) or its
    /// tempotrons (its `[tempotron]` table): writes the weights (.npy), curve.csv, curve.svg,
    /// train.json and a checkpoint per epoch.
    Train {
        /// The scenario file (TOML) with a `[train]` or `[tempotron]` table.
        scenario: PathBuf,
        /// Output directory (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed (replaces simulation.seed: the initial weights).
        #[arg(long)]
        seed: Option<u64>,
        /// Override a value: --set train.epochs=5 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// No progress output.
        #[arg(long)]
        quiet: bool,
        /// Resume from a training checkpoint (OUT/checkpoints/epoch_NNNN.swtr for `[train]`,
        /// epoch_NNNN.swtt for `[tempotron]`, written after every epoch): on the device that
        /// wrote it, the weights come out bit for bit as without the stop.
        #[arg(long, value_name = "FILE")]
        resume: Option<PathBuf>,
        /// Where the network trains: `flex` (the CPU), `cuda` (a build with `--features
        /// cuda`) or `wgpu` (`--features wgpu`: Vulkan, Metal or DirectX). On a GPU the
        /// layers over all time steps run as CubeCL kernels.
        #[arg(long, value_enum, default_value = "flex")]
        device: train::TrainDevice,
    },
    /// Check a scenario without running it.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Override a value (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// List every registered name with its parameters, defaults and units.
    Info,
}

/// Runs the command line `args` (including the program name); returns the exit code:
/// 0 ok, 2 bad input, 1 internal failure, 130 interrupted (state and outputs saved).
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            warn_user!("error: {e}");
            if e.is_user_error() { 2 } else { 1 }
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    let t0 = Instant::now();
    let b = builder();
    b.check()?;
    let max_memory = cli.max_memory.as_deref().map(|m| parse_size(m).map_err(|e| Error::Input(format!("--max-memory {m}: {e}")))).transpose()?;
    match cli.cmd {
        Cmd::Info => {
            say!("{}", info_text(&b).trim_end_matches('\n'));
            Ok(0)
        }
        Cmd::Train { scenario, out, seed, set, quiet, resume, device } => {
            let out = out.unwrap_or_else(|| default_out_dir(&scenario));
            let again = train::resume_command(&scenario, &out, seed, &set, device, cli.max_memory.as_deref());
            let sc = Scenario::load(&scenario, b.registry(), &LoadOptions { overrides: set, seed, max_memory })?;
            let sim = b.build(sc, &RunOptions::default())?;
            train::on_interrupt_resume(&out, again);
            catch_interrupts();
            let r = train::run_train(&sim, &out, quiet, resume, device);
            train::training_done();
            r
        }
        Cmd::Validate { scenario, set } => {
            let sc = Scenario::load(&scenario, b.registry(), &LoadOptions { overrides: set, seed: None, max_memory })?;
            let neurons: usize = sc.populations.iter().map(|p| p.size).sum();
            let est = &sc.estimate;
            say!(
                "{}: ok: {} populations ({neurons} neurons), {} projections, {} encoders, {} monitors; {} steps of {} ms, seed {}; \
                 estimated memory {} (limit {}), {:.0} synapses, {:.3e} neuron updates",
                scenario.display(),
                sc.populations.len(),
                sc.projections.len(),
                sc.encoders.len(),
                sc.monitors.len(),
                sc.steps,
                sc.dt_ms,
                sc.seed,
                fmt_bytes(est.total()),
                sc.limit.describe(),
                est.synapses + 0.0,
                est.neuron_updates + 0.0
            );
            Ok(0)
        }
        Cmd::Run { scenario, out, seed, set, exec, ckpt, stop_at } => {
            let (mut opts, quiet) = run_options(&exec)?;
            let mpi = processes::start_mpi(&exec, &mut opts)?;
            let sc = Scenario::load(&scenario, b.registry(), &LoadOptions { overrides: set, seed, max_memory })?;
            // NOTE: under MPI, an error from here on may be this process's alone (a fault, a
            // state check, a build refused): it ends every process (`finish_mpi`) rather
            // than leave the others waiting in a collective.
            let r = (|| -> Result<i32> {
                let out = out.unwrap_or_else(|| default_out_dir(&scenario));
                let dt = sc.dt_ms;
                let stop = stop_at.as_deref().map(|t| time_steps("--stop-at", t, dt)).transpose()?;
                if let Some(s) = stop
                    && s > sc.steps
                {
                    return Err(Error::Input(format!("--stop-at {} is after the end of the run ({} ms)", stop_at.unwrap_or_default(), fmt_ms(sc.steps as f64 * dt))));
                }
                let plan = checkpoint_plan(&ckpt, &out, dt, stop.is_some())?;
                prepare_dirs(&out, &ckpt)?;
                let t_build = Instant::now();
                let mut sim = b.build(sc, &opts)?;
                let build_time_s = t_build.elapsed().as_secs_f64();
                let end = sim.end_step();
                let on_interrupt = interrupt_plan(&ckpt, &out);
                run_and_write(&mut sim, stop.unwrap_or(end), plan.as_ref(), &on_interrupt, &out, quiet, t0, build_time_s, None, &opts)
            })();
            processes::finish_mpi(mpi, r)
        }
        Cmd::Resume { checkpoint, until, out, scenario, exec, ckpt } => {
            let (mut opts, quiet) = run_options(&exec)?;
            // Under MPI every process reads the checkpoint and takes its shard.
            let mpi = processes::start_mpi(&exec, &mut opts)?;
            let r = (|| -> Result<i32> {
                let t_build = Instant::now();
                let mut sim = Sim::load_with(&checkpoint, &b, &opts, scenario.as_deref(), max_memory)?;
                let build_time_s = t_build.elapsed().as_secs_f64();
                let dt = sim.scenario.dt_ms;
                let out = out.unwrap_or_else(|| default_out_dir(&sim.scenario.path));
                if let Some(t) = &until {
                    let u = time_steps("--until", t, dt)?;
                    if u < sim.step_count() {
                        return Err(Error::Input(format!("--until {t} is before the checkpoint's time ({} ms)", fmt_ms(sim.t_ms()))));
                    }
                    // Monitors record longer: check the memory again.
                    sim.scenario.estimate_for(u).check(&sim.scenario.limit)?;
                    sim.set_end(u);
                }
                let plan = checkpoint_plan(&ckpt, &out, dt, false)?;
                prepare_dirs(&out, &ckpt)?;
                let end = sim.end_step();
                let from = checkpoint.display().to_string();
                let on_interrupt = interrupt_plan(&ckpt, &out);
                run_and_write(&mut sim, end, plan.as_ref(), &on_interrupt, &out, quiet, t0, build_time_s, Some(from), &opts)
            })();
            processes::finish_mpi(mpi, r)
        }
    }
}

/// ", 2 threads each" where the shards split their work over threads.
fn each(threads: usize) -> String {
    if threads > 1 { format!(", {threads} threads each") } else { String::new() }
}

fn run_options(a: &ExecArgs) -> Result<(RunOptions, bool)> {
    // Refused before any directory is made (the build checks it again for library users).
    spikeworld::api::run::Simd::from_env()?;
    if a.threads == 0 {
        return Err(Error::Input("--threads must be at least 1".into()));
    }
    // More threads than cores only wait for each other; a typo (--threads 100000) spent
    // half a minute starting threads before it failed.
    if a.threads > MAX_THREADS {
        return Err(Error::Input(format!("--threads {}: at most {MAX_THREADS} (this machine has {} cores)", a.threads, std::thread::available_parallelism().map_or(1, |n| n.get()))));
    }
    if a.shards == Some(0) {
        return Err(Error::Input("--shards must be at least 1".into()));
    }
    // A flag the chosen engine would ignore is a mistake the user should hear of (a run
    // asked for on a GPU that runs on the CPU).
    if a.device.is_some() && matches!(a.engine, EngineArg::Cpu) {
        return Err(Error::Input("--device: the cpu engine uses no device; add --engine tensor or --engine device".into()));
    }
    if a.delivery.is_some() && !matches!(a.engine, EngineArg::Device) {
        return Err(Error::Input("--delivery is the device engine's: add --engine device".into()));
    }
    let opts = RunOptions {
        engine: match a.engine {
            EngineArg::Cpu => EngineKind::Cpu,
            EngineArg::Tensor => EngineKind::Tensor,
            EngineArg::Device => EngineKind::Device,
        },
        device: match a.device.unwrap_or(DeviceArg::Flex) {
            DeviceArg::Flex => TensorDevice::Flex,
            DeviceArg::Cuda => TensorDevice::Cuda(0),
        },
        threads: a.threads,
        delivery: match a.delivery.unwrap_or(DeliveryArg::Auto) {
            DeliveryArg::Auto => Delivery::Auto,
            DeliveryArg::Pull => Delivery::Pull,
            DeliveryArg::Push => Delivery::Push { capacity: 16 },
        },
        shards: a.shards.unwrap_or(0),
        exchange_every: a.exchange_every.unwrap_or(0),
        processes: None,
        threads_as_shards: a.threads_mode == ThreadsMode::Auto,
    };
    Ok((opts, a.quiet))
}

#[expect(clippy::too_many_arguments, reason = "the run loop takes the whole command's context")]
fn run_and_write(
    sim: &mut Sim,
    end: u64,
    plan: Option<&CheckpointPlan>,
    on_interrupt: &CheckpointPlan,
    out: &std::path::Path,
    quiet: bool,
    t0: Instant,
    build_time_s: f64,
    resumed_from: Option<String>,
    opts: &RunOptions,
) -> Result<i32> {
    let dt = sim.scenario.dt_ms;
    let start = sim.step_count();
    // NOTE: a run split over processes takes no Ctrl-C here (each process would stop at its
    // own step and leave the others waiting): mpirun's signal ends them all.
    let split = sim.process().is_some();
    if !split {
        catch_interrupts();
    }
    let writer = sim.writes_outputs();
    let bar = progress_bar(quiet || !writer, end);
    let t_loop = Instant::now();
    // A batch of steps ends a sharded run's exchange window: batches of whole windows.
    let window = sim.exchange_window().unwrap_or(1).max(1);
    // Batches of steps: 200 per run for the progress bar; with --quiet, a batch ends only
    // at checkpoints and at the end (each batch ends with the device engine's copy of
    // its spikes to the host; Ctrl-C is checked every step either way). Every process of
    // an MPI run batches alike (only the first draws a bar).
    let report = if quiet { end.max(1) } else { (end / 200).clamp(1, 1000) }.div_ceil(window) * window;
    let mut last_saved: Option<spikeworld::persist::Saved> = None;
    // A checkpoint that cannot be written (a full disk) does not end the run: it goes on,
    // its outputs are written, and the run then ends with the error (exit code 1).
    let mut ck_error: Option<Error> = None;
    let mut ck_time = 0.0;
    while sim.step_count() < end && sim.fault().is_none() && !interrupted() {
        let s = sim.step_count();
        let mut target = end.min((s / report + 1) * report);
        if let Some(k) = plan.and_then(|p| p.every) {
            target = target.min((s / k + 1) * k);
        }
        // Ctrl-C stops after the current step (a sharded run: after the current chunk of
        // at most 64 steps, `Sim::run_steps_while`).
        sim.run_steps_while(target - s, || !interrupted());
        let s = sim.step_count();
        if let (Some(p), Some(k)) = (plan, plan.and_then(|p| p.every))
            && s.is_multiple_of(k)
            && s < end
        {
            let t = Instant::now();
            match write_checkpoint(sim, p) {
                Ok(saved) => last_saved = Some(saved),
                Err(e) => {
                    if writer {
                        warn_user!("warning: the checkpoint at t = {} ms could not be written ({e}); the run goes on", fmt_ms(s as f64 * dt));
                    }
                    ck_error.get_or_insert(e);
                }
            }
            ck_time += t.elapsed().as_secs_f64();
        }
        if let Some(bar) = &bar {
            bar.set_position(s);
            let el = t_loop.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("t = {:.1} ms, {:.3} biological s per wall s", s as f64 * dt, (s - start) as f64 * dt / 1000.0 / el));
        }
    }
    let stopped = sim.step_count() < end && sim.fault().is_none() && interrupted();
    if let Some(p) = plan.or(stopped.then_some(on_interrupt))
        && last_saved.as_ref().is_none_or(|s| s.step != sim.step_count())
    {
        let t = Instant::now();
        match write_checkpoint(sim, p) {
            Ok(saved) => last_saved = Some(saved),
            Err(e) => {
                ck_error.get_or_insert(e);
            }
        }
        ck_time += t.elapsed().as_secs_f64();
    }
    let loop_time_s = t_loop.elapsed().as_secs_f64() - ck_time;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if sim.fault().is_some() {
        sim.check()?;
    }
    // A variable that became NaN or infinite ends the run with an error, after its outputs
    // are written: what was recorded is the user's to inspect.
    let not_finite = sim.check_finite().err();
    let timings = Timings { wall_time_s: t0.elapsed().as_secs_f64(), build_time_s, loop_time_s };
    let m = sim.write_outputs_with(out, timings, resumed_from.clone())?;
    if let Some(e) = not_finite {
        return Err(Error::Runtime(format!("{e}; the outputs are written to {}", out.display())));
    }
    if let Some(e) = ck_error {
        let last = last_saved.map_or("none".to_string(), |s| s.path.display().to_string());
        return Err(Error::Runtime(format!("{e}: a checkpoint could not be written (the last one written: {last}); the run went to t = {} ms and its outputs are in {}", fmt_ms(sim.step_count() as f64 * dt), out.display())));
    }
    if !writer {
        return Ok(0);
    }
    say!(
        "{}: {} steps ({} ms) in {:.3} s loop, {:.3} s build [{} engine, {}, seed {}]{}",
        sim.scenario.path.display(),
        m.steps - start,
        (m.steps - start) as f64 * dt,
        loop_time_s,
        build_time_s,
        match opts.engine {
            EngineKind::Cpu => "cpu",
            EngineKind::Tensor => "tensor",
            EngineKind::Device => "device",
        },
        match (m.shards, split, sim.threads_per_shard()) {
            (1, _, _) => format!("{} thread(s)", opts.threads),
            (k, true, t) => format!("{k} shards in {k} MPI processes{}, exchanging every {} steps", each(t), sim.exchange_window().unwrap_or(1)),
            (k, false, t) if opts.shards == 0 && opts.threads == k && sim.scenario.shards <= 1 => format!("{k} threads as {k} shards{}, exchanging every {} steps", each(t), sim.exchange_window().unwrap_or(1)),
            (k, false, t) => format!("{k} shards on their own threads{}, exchanging every {} steps", each(t), sim.exchange_window().unwrap_or(1)),
        },
        m.seed,
        match &resumed_from {
            Some(f) => format!(", resumed from {f} at {} ms", fmt_ms(start as f64 * dt)),
            None => String::new(),
        }
    );
    for (name, p) in &m.populations {
        say!("  {name:<12} {:>8} neurons  {:>10} spikes  {:>8.3} Hz", p.size, p.spikes, p.rate_hz);
    }
    say!("outputs: {}", out.display());
    if let Some(sv) = &last_saved {
        say!("checkpoint: {} (t = {} ms, {:.1} MB, {:.3} s writing checkpoints)", sv.path.display(), sv.step as f64 * dt, sv.bytes as f64 / 1e6, ck_time);
    }
    if stopped {
        let ck = last_saved.map(|s| s.path.display().to_string()).unwrap_or_default();
        warn_user!(
            "interrupted at t = {} ms (step {} of {end}): state saved to {ck}, outputs so far in {out}; continue with: spikeworld resume {ck} --out {out}",
            fmt_ms(sim.step_count() as f64 * dt),
            sim.step_count(),
            out = out.display()
        );
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(0)
}

fn progress_bar(quiet: bool, steps: u64) -> Option<indicatif::ProgressBar> {
    if quiet {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(steps), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{wide_bar} {percent:>3}% {msg} ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

