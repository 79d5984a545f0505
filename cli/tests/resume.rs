//! Checkpoints as a user meets them: the real binary, a new process for every resume.
//!
//! - every scenario in `scenarios/` (found automatically): run(0→2T) equals
//!   run(0→T) + checkpoint + `spikeworld resume` (T→2T), byte for byte: every output file,
//!   the manifest apart from timings, and the final state (final checkpoints);
//! - `--threads 1, 2, 4` give the same bytes;
//! - damaged checkpoints are rejected with one clear line and exit code 2;
//! - a run killed (SIGKILL) while writing a checkpoint leaves the previous one intact.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;

use spikeworld::persist::file_name;
use spikeworld::prelude::*;

/// Every scenario shipped in `scenarios/`, so that a new one is tested without a new test.
fn all_scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    assert!(v.len() >= 4, "expected the shipped scenarios, found {v:?}");
    v
}

/// Steps and dt of a scenario (with overrides).
fn steps_dt(path: &Path, set: &[&str]) -> (u64, f64) {
    let b = spikeworld_cli::builder();
    let sc = Scenario::load(path, b.registry(), &LoadOptions { overrides: set.iter().map(|s| s.to_string()).collect(), seed: None, ..Default::default() }).unwrap();
    (sc.steps, sc.dt_ms)
}

fn same_file(a: &Path, b: &Path) -> bool {
    std::fs::read(a).unwrap() == std::fs::read(b).unwrap()
}

#[test]
fn every_scenario_resumes_bit_exactly_in_a_new_process() {
    for sc in all_scenarios() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let (steps, dt) = steps_dt(&sc, &[]);
        // Stop off any round number: half way plus 7 steps.
        let split = steps / 2 + 7;
        let stop = format!("{}ms", split as f64 * dt);
        ok(bin().arg("run").arg(&sc).arg("--quiet").arg("--out").arg(t.join("whole")).arg("--checkpoint-dir").arg(t.join("ck_whole")));
        ok(bin().arg("run").arg(&sc).args(["--quiet", "--stop-at", &stop]).arg("--out").arg(t.join("first")).arg("--checkpoint-dir").arg(t.join("ck_first")));
        let ck = t.join("ck_first").join(file_name(split));
        assert!(ck.exists(), "--stop-at {stop} should leave {}", ck.display());
        let r = ok(bin().arg("resume").arg(&ck).arg("--quiet").arg("--out").arg(t.join("resumed")).arg("--checkpoint-dir").arg(t.join("ck_resumed")));
        assert!(String::from_utf8_lossy(&r.stdout).contains("resumed from"));
        let what = format!("{} resumed at step {split}", sc.display());
        assert_same_outputs(&t.join("whole"), &t.join("resumed"), &what);
        assert!(
            same_file(&t.join("ck_whole").join(file_name(steps)), &t.join("ck_resumed").join(file_name(steps))),
            "{what}: final state differs"
        );
        // The first part's outputs are those of the first `split` steps: its spike count is
        // that of the whole run's spikes before the split.
        let m1 = manifest(&t.join("first"));
        assert_eq!(m1["steps"], split);
    }
}

#[test]
fn spikes_in_transit_cross_the_checkpoint() {
    // Delays up to 30 ms: at the checkpoint, spikes wait in the ring for many steps ahead.
    let sc = scenario("delayed_recurrent.toml");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (steps, _) = steps_dt(&sc, &[]);
    ok(bin().arg("run").arg(&sc).args(["--quiet", "--checkpoint-every", "5ms", "--keep", "100"]).arg("--out").arg(t.join("whole")).arg("--checkpoint-dir").arg(t.join("ck")));
    let all = spikeworld::persist::list(&t.join("ck")).unwrap();
    assert_eq!(all.len() as u64, steps / 50, "one checkpoint every 5 ms, the last at the end");
    // The volley emitted in step 1000 (100 ms) travels 30 ms and acts in the update of step
    // 1000 + 1 + 300: at the checkpoint after step 1100 it is 201 steps ahead.
    let ck = t.join("ck").join(file_name(1100));
    let b = spikeworld_cli::builder();
    let sim = Sim::load(&ck, &b).unwrap();
    let ring = sim.world.get::<spikeworld::net::InputRing>(sim.populations[0]).unwrap();
    let pending = ring.pending(sim.step_count());
    assert!(ring.depth() > 300, "delays of 30 ms need a deep ring, got {}", ring.depth());
    let far: usize = pending[100..].iter().sum();
    assert!(far > 0, "expected spikes more than 10 ms in transit at the checkpoint: {pending:?}");
    assert!(pending[201] >= 500, "the volley (500 targets) should be in flight 201 steps ahead: {:?}", &pending[195..210]);
    // Resume from that checkpoint in a new process, with other threads and on the tensor
    // engine: the same bytes.
    ok(bin().arg("resume").arg(&ck).args(["--quiet", "--threads", "2"]).arg("--out").arg(t.join("r_threads")));
    assert_same_outputs(&t.join("whole"), &t.join("r_threads"), "resumed with 2 threads");
    ok(bin().arg("resume").arg(&ck).args(["--quiet", "--engine", "tensor"]).arg("--out").arg(t.join("r_tensor")));
    let engine_free = |d: &Path| {
        let mut m = manifest(d);
        m.as_object_mut().unwrap().remove("engine");
        m
    };
    assert_eq!(output_files(&t.join("whole")), output_files(&t.join("r_tensor")), "resumed on the tensor engine");
    assert_eq!(engine_free(&t.join("whole")), engine_free(&t.join("r_tensor")));
    // --until stops early; resuming that again reaches the same end.
    ok(bin().arg("resume").arg(&ck).args(["--quiet", "--until", "250ms"]).arg("--out").arg(t.join("r_until")).arg("--checkpoint-dir").arg(t.join("ck2")));
    assert_eq!(manifest(&t.join("r_until"))["steps"], 2500);
    ok(bin().arg("resume").arg(t.join("ck2").join(file_name(2500))).arg("--quiet").arg("--out").arg(t.join("r_chain")));
    assert_same_outputs(&t.join("whole"), &t.join("r_chain"), "resumed twice");
}

#[test]
fn keeps_the_last_k_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("ck");
    ok(bin().arg("run").arg(scenario("lif_poisson.toml")).args(["--quiet", "--checkpoint-every", "100ms"]).arg("--out").arg(tmp.path().join("o")).arg("--checkpoint-dir").arg(&d));
    let steps: Vec<u64> = spikeworld::persist::list(&d).unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, vec![4000, 5000], "default --keep 2");
    ok(bin().arg("run").arg(scenario("lif_poisson.toml")).args(["--quiet", "--checkpoint-every", "100ms", "--keep", "3"]).arg("--out").arg(tmp.path().join("o")).arg("--checkpoint-dir").arg(&d));
    let steps: Vec<u64> = spikeworld::persist::list(&d).unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, vec![3000, 4000, 5000]);
    let leftovers: Vec<String> =
        std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).filter(|n| n.contains(".tmp")).collect();
    assert!(leftovers.is_empty(), "no temporary files after a clean run: {leftovers:?}");
}

/// COBA at N = 16384 (4 chunks of >= 4096 neurons, so 4 threads really split the work).
const BIG: [&str; 4] =
    ["population.P.size=16384", "projection.exc.from=\"P[:13107]\"", "projection.inh.from=\"P[13107:]\"", "simulation.t_stop=\"60 ms\""];

fn big_args(cmd: &mut Command) -> &mut Command {
    for s in BIG {
        cmd.arg("--set").arg(s);
    }
    cmd
}

#[test]
fn threads_1_2_4_give_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sc = scenario("coba.toml");
    let (steps, _) = steps_dt(&sc, &BIG);
    // A pool of 1, 2 and 4 threads splitting one world; and 2 threads as 2 shards (the
    // default on 16,384 neurons), whose manifest also says so (shards, and the row
    // pointers each shard holds).
    for n in ["1", "2", "4", "2auto"] {
        let mode = if n == "2auto" { "auto" } else { "pool" };
        ok(big_args(bin().arg("run").arg(&sc).args(["--quiet", "--threads", &n[..1], "--threads-mode", mode]).arg("--out").arg(t.join(n)).arg("--checkpoint-dir").arg(t.join(format!("ck{n}")))));
    }
    for n in ["2", "4", "2auto"] {
        if n == "2auto" {
            for f in ["spikes.t_ms.npy", "spikes.index.npy"] {
                assert!(same_file(&t.join("1").join(f), &t.join(n).join(f)), "--threads 2 as shards: {f} differs");
            }
        } else {
            assert_same_outputs(&t.join("1"), &t.join(n), &format!("--threads {n}"));
        }
        assert!(same_file(&t.join("ck1").join(file_name(steps)), &t.join(format!("ck{n}")).join(file_name(steps))), "--threads {n}: final state differs");
    }
    let auto: serde_json::Value = serde_json::from_slice(&std::fs::read(t.join("2auto").join("manifest.json")).unwrap()).unwrap();
    if std::thread::available_parallelism().map_or(1, usize::from) >= 2 {
        assert_eq!(auto["shards"], 2, "--threads 2 on 16,384 neurons runs as 2 shards");
    }
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(t.join("4").join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["threads"], 4);
    assert!(m["populations"]["P"]["spikes"].as_u64().unwrap() > 1000, "the network should be active");
}

/// One line on stderr, exit code 2, naming the file and containing `expect`.
fn rejected(ck: &Path, expect: &str) {
    let r = bin().arg("resume").arg(ck).args(["--quiet", "--out"]).arg(ck.with_extension("out")).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{}: expected exit 2, got {:?}: {err}", ck.display(), r.status.code());
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(&ck.display().to_string()), "the message should name the file: {err}");
    assert!(err.contains(expect), "expected `{expect}` in: {err}");
}

#[test]
fn damaged_checkpoints_are_rejected_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    ok(bin().arg("run").arg(scenario("lif_poisson.toml")).args(["--quiet", "--stop-at", "250ms"]).arg("--out").arg(t.join("o")).arg("--checkpoint-dir").arg(t.join("ck")));
    let good_path = t.join("ck").join(file_name(2500));
    let good = std::fs::read(&good_path).unwrap();
    let n = good.len();
    assert!(n > 1000);
    let write = |name: &str, bytes: &[u8]| {
        let p = t.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    // Truncated at several points.
    for cut in [0, 3, 8, 11, 12, 40, n / 3, n / 2, n - 17, n - 16, n - 8, n - 1] {
        let p = write(&format!("cut{cut}.swck"), &good[..cut]);
        let expect = if cut == 0 { "not a spikeworld checkpoint" } else { "truncated" };
        rejected(&p, expect);
    }
    // One flipped bit anywhere.
    for (i, at) in [0, 6, 9, 14, 200, n / 2, n - 20, n - 12, n - 3].into_iter().enumerate() {
        let mut b = good.clone();
        b[at] ^= 1 << (i % 8);
        let p = write(&format!("flip{at}.swck"), &b);
        let expect = match at {
            0..=7 => "magic",
            x if x >= n - 16 && x < n - 8 => "no end marker",
            _ => "checksum mismatch",
        };
        rejected(&p, expect);
    }
    // A newer format version, otherwise valid.
    let b = good[..n - 16].to_vec();
    let with_version = |v: u32| {
        let mut b = b.clone();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        let sum = xxhash_rust::xxh3::xxh3_64(&b);
        b.extend_from_slice(b"SWCKEND\n");
        b.extend_from_slice(&sum.to_le_bytes());
        b
    };
    let next = spikeworld::persist::FORMAT_VERSION + 1;
    rejected(&write("newer.swck", &with_version(next)), &format!("format version {next} is newer"));
    // An older format version (this build reads only its own).
    rejected(&write("older.swck", &with_version(1)), "format version 1 was written by an older spikeworld");
    // Something else entirely.
    rejected(&scenario("lif_poisson.toml"), "not a spikeworld checkpoint");
    // The wrong scenario.
    let edited = std::fs::read_to_string(scenario("lif_poisson.toml")).unwrap().replace("rate = \"20 Hz\"", "rate = \"25 Hz\"");
    let other = write("other.toml", edited.as_bytes());
    let r = bin().arg("resume").arg(&good_path).arg("--scenario").arg(&other).args(["--quiet", "--out"]).arg(t.join("x")).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("another scenario") && err.contains(&other.display().to_string()), "{err}");
    // The good one still resumes, with the right scenario named explicitly too.
    ok(bin().arg("resume").arg(&good_path).arg("--scenario").arg(scenario("lif_poisson.toml")).arg("--quiet").arg("--out").arg(t.join("y")));
    // Bad times.
    let r = bin().arg("resume").arg(&good_path).args(["--until", "100ms", "--quiet"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("before the checkpoint"));
    let r = bin().arg("run").arg(scenario("lif_poisson.toml")).args(["--stop-at", "2s", "--quiet"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
    let r = bin().arg("run").arg(scenario("lif_poisson.toml")).args(["--checkpoint-every", "0.05ms", "--quiet"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2), "not a whole number of steps");
}

#[cfg(unix)]
#[test]
fn sigkill_while_writing_a_checkpoint_leaves_the_previous_one_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let sc = scenario("coba.toml");
    let (steps, _) = steps_dt(&sc, &BIG);
    let ck = t.join("ck");
    let is_tmp = |n: &str| n.starts_with(".step-") && n.contains(".tmp-");
    let mut killed_mid_write = false;
    for _attempt in 0..10 {
        let _ = std::fs::remove_dir_all(&ck);
        std::fs::create_dir_all(&ck).unwrap();
        let mut child = big_args(bin().arg("run").arg(&sc).args(["--quiet", "--checkpoint-every", "0.5ms"]).arg("--out").arg(t.join("killed")).arg("--checkpoint-dir").arg(&ck))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        // Kill as soon as a second checkpoint is being written.
        loop {
            let names: Vec<String> = std::fs::read_dir(&ck).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
            let complete = names.iter().filter(|n| n.ends_with(".swck") && !is_tmp(n)).count();
            if complete >= 1 && names.iter().any(|n| is_tmp(n)) {
                child.kill().unwrap(); // SIGKILL
                break;
            }
            if t0.elapsed().as_secs() > 120 || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        child.wait().unwrap();
        let names: Vec<String> = std::fs::read_dir(&ck).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
        if names.iter().any(|n| is_tmp(n)) {
            killed_mid_write = true;
            break;
        }
    }
    assert!(killed_mid_write, "could not kill the run while it was writing a checkpoint");
    let complete = spikeworld::persist::list(&ck).unwrap();
    assert!(!complete.is_empty());
    // Every complete checkpoint loads; the newest resumes to the bits of an uninterrupted run.
    let b = spikeworld_cli::builder();
    for (_, p) in &complete {
        spikeworld::persist::CheckpointFile::open(p).unwrap_or_else(|e| panic!("{e}"));
    }
    let (last_step, last) = complete.last().unwrap().clone();
    let sim = Sim::load(&last, &b).unwrap();
    assert_eq!(sim.step_count(), last_step);
    drop(sim);
    // Resuming into the same directory also clears the dead run's temporary file.
    ok(bin().arg("resume").arg(&last).arg("--quiet").arg("--out").arg(t.join("resumed")).arg("--checkpoint-dir").arg(&ck));
    let names: Vec<String> = std::fs::read_dir(&ck).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(!names.iter().any(|n| is_tmp(n)), "stale temporary files left: {names:?}");
    ok(big_args(bin().arg("run").arg(&sc).arg("--quiet").arg("--out").arg(t.join("whole"))));
    assert_same_outputs(&t.join("whole"), &t.join("resumed"), &format!("resumed after SIGKILL from step {last_step} of {steps}"));
}
