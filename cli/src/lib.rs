//! The `spikeworld` command line, as a library so that tests can call it in-process.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use spikeworld::output::{Timings, default_out_dir};
use spikeworld::prelude::*;

/// A builder with every plugin this binary ships.
pub fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin);
    b
}

#[derive(Parser, Debug)]
#[command(name = "spikeworld", version, about = "Spiking neural network simulator: run scenario files, reproducibly.")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EngineArg {
    Cpu,
    Tensor,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DeviceArg {
    Flex,
    Cuda,
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
        /// Worker threads of the cpu engine (results do not depend on it).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Executor.
        #[arg(long, value_enum, default_value = "cpu")]
        engine: EngineArg,
        /// Device of the tensor engine.
        #[arg(long, value_enum, default_value = "flex")]
        device: DeviceArg,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
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
/// 0 ok, 2 bad input, 1 internal failure.
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
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_user_error() { 2 } else { 1 }
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let t0 = Instant::now();
    let b = builder();
    b.check()?;
    match cli.cmd {
        Cmd::Info => {
            print!("{}", info_text(&b));
            Ok(())
        }
        Cmd::Validate { scenario, set } => {
            let sc = Scenario::load(&scenario, b.registry(), &LoadOptions { overrides: set, seed: None })?;
            let neurons: usize = sc.populations.iter().map(|p| p.size).sum();
            println!(
                "{}: ok: {} populations ({neurons} neurons), {} projections, {} encoders, {} monitors; {} steps of {} ms, seed {}",
                scenario.display(),
                sc.populations.len(),
                sc.projections.len(),
                sc.encoders.len(),
                sc.monitors.len(),
                sc.steps,
                sc.dt_ms,
                sc.seed
            );
            Ok(())
        }
        Cmd::Run { scenario, out, seed, set, threads, engine, device, quiet } => {
            if threads == 0 {
                return Err(Error::Input("--threads must be at least 1".into()));
            }
            let sc = Scenario::load(&scenario, b.registry(), &LoadOptions { overrides: set, seed })?;
            let out = out.unwrap_or_else(|| default_out_dir(&scenario));
            let opts = RunOptions {
                engine: match engine {
                    EngineArg::Cpu => EngineKind::Cpu,
                    EngineArg::Tensor => EngineKind::Tensor,
                },
                device: match device {
                    DeviceArg::Flex => TensorDevice::Flex,
                    DeviceArg::Cuda => TensorDevice::Cuda(0),
                },
                threads,
            };
            let t_build = Instant::now();
            let mut sim = b.build(sc, &opts)?;
            let build_time_s = t_build.elapsed().as_secs_f64();
            let steps = sim.scenario.steps;
            let dt = sim.scenario.dt_ms;
            let bar = progress_bar(quiet, steps);
            let t_loop = Instant::now();
            let every = (steps / 200).clamp(1, 1000);
            sim.run_to_end(every, |s| {
                if let Some(bar) = &bar {
                    bar.set_position(s);
                    let el = t_loop.elapsed().as_secs_f64().max(1e-9);
                    bar.set_message(format!("t = {:.1} ms, {:.3} biological s per wall s", s as f64 * dt, s as f64 * dt / 1000.0 / el));
                }
            });
            let loop_time_s = t_loop.elapsed().as_secs_f64();
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            sim.check_finite()?;
            let m = sim.write_outputs(&out, Timings { wall_time_s: t0.elapsed().as_secs_f64(), build_time_s, loop_time_s })?;
            println!(
                "{}: {} steps ({} ms) in {:.3} s loop, {:.3} s build [{} engine, {} thread(s), seed {}]",
                scenario.display(),
                m.steps,
                m.t_stop_ms,
                loop_time_s,
                build_time_s,
                match opts.engine {
                    EngineKind::Cpu => "cpu",
                    EngineKind::Tensor => "tensor",
                },
                threads,
                m.seed
            );
            for (name, p) in &m.populations {
                println!("  {name:<12} {:>8} neurons  {:>10} spikes  {:>8.3} Hz", p.size, p.spikes, p.rate_hz);
            }
            println!("outputs: {}", out.display());
            Ok(())
        }
    }
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

/// The text of `spikeworld info`.
pub fn info_text(b: &SimBuilder) -> String {
    use std::fmt::Write;
    let r = b.registry();
    let mut s = String::new();
    let param_line = |s: &mut String, p: &ParamSpec| {
        let d = match p.default {
            Some(v) => format!("{v} {}", p.dim.unit()),
            None => "required".into(),
        };
        let _ = writeln!(s, "      {:<14} {:<16} {:<14} {}", p.name, d, p.dim.to_string(), p.doc);
    };
    let _ = writeln!(s, "NEURON MODELS");
    for (name, m) in &r.neuron_models {
        let _ = writeln!(s, "  {name}\n    {}", m.doc());
        let _ = writeln!(s, "    parameters (name, default, dimension, meaning):");
        for p in m.params() {
            param_line(&mut s, p);
        }
        for c in m.choices() {
            let _ = writeln!(s, "      {:<14} {:<16} {:<14} {}", c.name, format!("\"{}\"", c.options[0]), c.options.join("|"), c.doc);
        }
        let _ = writeln!(s, "    state:");
        for v in m.vars() {
            let _ = writeln!(s, "      {:<14} {:<16} {}", v.name, v.dim.unit(), v.doc);
        }
        let _ = writeln!(s, "    receptors:");
        for rc in m.receptors() {
            let _ = writeln!(s, "      {:<14} {:<16} {:?}, {}", rc.name, rc.dim.unit(), rc.kind, rc.doc);
        }
    }
    let _ = writeln!(s, "\nSYNAPSE MODELS");
    for (name, sm) in &r.synapse_models {
        let _ = writeln!(s, "  {name:<20} {}", sm.doc);
    }
    let _ = writeln!(s, "\nCONNECTION RULES (projection keys: from, to, rule, receptor, weight, delay, allow_autapses, allow_multapses)");
    for (name, rule) in &r.rules {
        let _ = writeln!(s, "  {name:<20} {}", rule.doc);
        for p in rule.params {
            param_line(&mut s, p);
        }
    }
    let _ = writeln!(s, "\nENCODERS");
    for (name, e) in &r.encoders {
        let _ = writeln!(s, "  {name:<20} {:?}: {}", e.kind(), e.doc());
        for p in e.keys() {
            param_line(&mut s, p);
        }
    }
    let _ = writeln!(s, "\nMONITORS");
    for (name, m) in &r.monitors {
        let _ = writeln!(s, "  {name:<20} {}", m.doc);
    }
    s
}
