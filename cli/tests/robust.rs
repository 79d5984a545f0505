//! The command line under misuse: Ctrl-C, the README's checkpoint sequence, `--out` naming
//! a file, re-running into the same `--out`, and the raster of a busy run.

mod common;
use common::*;

use std::process::Command;

use spikeworld::persist::file_name;

/// Waits until process `pid` has used `secs` of CPU time (Linux: `/proc/PID/stat`; elsewhere
/// a fixed pause), at most a minute.
fn wait_for_cpu_seconds(pid: u32, secs: f64) {
    let t0 = std::time::Instant::now();
    loop {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            return;
        };
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0) + f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
        if ticks / 100.0 >= secs || t0.elapsed().as_secs() > 60 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(unix)]
#[test]
fn ctrl_c_saves_a_checkpoint_and_the_outputs_so_far_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let long = "simulation.t_stop=\"100 s\"";
    let mut child = bin().arg("run").arg(scenario("coba.toml")).args(["--quiet", "--set", long]).arg("--out").arg(t.join("o")).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Let it build and step for a while (about a second of CPU time: building takes a
    // fraction of that, so it is stepping, however loaded the machine), then a real SIGINT.
    wait_for_cpu_seconds(child.id(), 1.0);
    assert!(child.try_wait().unwrap().is_none(), "the 100 s run should still be stepping");
    let k = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(k.success());
    let r = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(130), "exit code after Ctrl-C: {:?}; stderr: {err}", r.status);
    // One checkpoint, in the default directory OUT/checkpoints, named in the message.
    let cks = spikeworld::persist::list(&t.join("o").join("checkpoints")).unwrap();
    assert_eq!(cks.len(), 1, "{cks:?}");
    let (step, ck) = cks[0].clone();
    assert!(step > 0 && step < 1_000_000, "stopped at step {step}");
    assert!(err.contains("interrupted at") && err.contains(&ck.display().to_string()) && err.contains("spikeworld resume"), "{err}");
    let hint = format!("spikeworld resume {} --out {}", ck.display(), t.join("o").display());
    assert!(err.contains(&hint), "the hint continues into the same outputs: {err}");
    let at = err.split("interrupted at t = ").nth(1).and_then(|r| r.split(" ms").next()).unwrap_or_default();
    assert_eq!(at.parse::<f64>().ok(), Some(step as f64 / 10.0), "the time printed: {err}");
    assert!(at.len() <= 12, "the time printed without the float's tail: {at}");
    assert!(err.contains(&t.join("o").display().to_string()), "the message names the outputs: {err}");
    // The outputs so far: those of the first `step` steps.
    let m = manifest(&t.join("o"));
    assert_eq!(m["steps"], step);
    assert!(t.join("o").join("spikes.t_ms.npy").exists() && t.join("o").join("raster.svg").exists());
    // Resuming it gives the bits of a run that was never interrupted.
    let until = format!("{}ms", (step + 300) as f64 * 0.1);
    ok(bin().arg("resume").arg(&ck).args(["--quiet", "--until", &until]).arg("--out").arg(t.join("resumed")).arg("--checkpoint-dir").arg(t.join("ck2")));
    ok(bin().arg("run").arg(scenario("coba.toml")).args(["--quiet", "--set", long, "--stop-at", &until]).arg("--out").arg(t.join("whole")).arg("--checkpoint-dir").arg(t.join("ck3")));
    assert_same_outputs(&t.join("whole"), &t.join("resumed"), &format!("interrupted at step {step}, resumed"));
}

/// SIGTERM (what `timeout`, `kill` and batch schedulers send) ends a run as Ctrl-C does:
/// the step finishes, a checkpoint and the outputs so far are written.
#[cfg(unix)]
#[test]
fn sigterm_saves_a_checkpoint_as_ctrl_c_does() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut child = bin().arg("run").arg(scenario("coba.toml")).args(["--quiet", "--set", "simulation.t_stop=\"100 s\""]).arg("--out").arg(t.join("o")).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    wait_for_cpu_seconds(child.id(), 1.0);
    assert!(child.try_wait().unwrap().is_none(), "the 100 s run should still be stepping");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let r = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(130), "exit code after SIGTERM: {:?}; stderr: {err}", r.status);
    assert_eq!(spikeworld::persist::list(&t.join("o").join("checkpoints")).unwrap().len(), 1);
    assert!(err.contains("spikeworld resume") && t.join("o").join("manifest.json").exists(), "{err}");
}

/// A periodic checkpoint that cannot be written does not throw the run away: a warning,
/// the run goes on (later checkpoints are written), its outputs are written, and it ends
/// with exit code 1 naming the last checkpoint written.
#[test]
fn a_checkpoint_that_cannot_be_written_does_not_lose_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ck = t.join("ck");
    // The 100 ms checkpoint's name is taken by a directory with a file in it.
    std::fs::create_dir_all(ck.join(file_name(1000)).join("x")).unwrap();
    let r = bin().arg("run").arg(scenario("coba.toml")).args(["--quiet", "--set", "simulation.t_stop=\"300 ms\"", "--checkpoint-every", "100ms"]).arg("--checkpoint-dir").arg(&ck).arg("--out").arg(t.join("o")).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("warning: the checkpoint at t = 100 ms could not be written") && err.contains("the run goes on"), "{err}");
    assert!(err.contains("the run went to t = 300 ms") && err.contains(&ck.join(file_name(3000)).display().to_string()), "{err}");
    assert_eq!(manifest(&t.join("o"))["steps"], 3000, "the outputs of the whole run");
    assert!(ck.join(file_name(2000)).is_file() && ck.join(file_name(3000)).is_file());
}

/// Under `nohup` (SIGHUP ignored) a run outlives its terminal: SIGHUP does not stop it
/// (SIGTERM still does).
#[cfg(unix)]
#[test]
fn a_run_under_nohup_ignores_sighup() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("trap '' HUP; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_spikeworld"))
        .arg("run")
        .arg(scenario("coba.toml"))
        .args(["--quiet", "--set", "simulation.t_stop=\"100 s\""])
        .arg("--out")
        .arg(t.join("o"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_cpu_seconds(child.id(), 1.0);
    assert!(Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP under nohup must not stop the run");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let r = child.wait_with_output().unwrap();
    assert_eq!(r.status.code(), Some(130), "{}", String::from_utf8_lossy(&r.stderr));
}

/// The README's sequence: periodic checkpoints into a directory, then `--stop-at 500ms`
/// into the same directory (which holds later steps of the first run), then `resume`.
#[test]
fn readme_checkpoint_sequence_keeps_the_checkpoint_it_just_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let ck = t.join("ck");
    let coba = scenario("coba.toml");
    ok(bin().arg("run").arg(&coba).args(["--quiet", "--checkpoint-every", "100ms"]).arg("--checkpoint-dir").arg(&ck).arg("--out").arg(t.join("whole")));
    let steps: Vec<u64> = spikeworld::persist::list(&ck).unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, vec![9000, 10000]);
    ok(bin().arg("run").arg(&coba).args(["--quiet", "--stop-at", "500ms"]).arg("--checkpoint-dir").arg(&ck).arg("--out").arg(t.join("first")));
    let at = ck.join(file_name(5000));
    assert!(at.exists(), "the run must keep the checkpoint it just wrote: {:?}", spikeworld::persist::list(&ck).unwrap());
    let r = ok(bin().arg("resume").arg(&at).arg("--quiet").arg("--out").arg(t.join("resumed")).arg("--checkpoint-dir").arg(t.join("ck_r")));
    assert!(String::from_utf8_lossy(&r.stdout).contains("resumed from"));
    assert_same_outputs(&t.join("whole"), &t.join("resumed"), "README sequence");
}

#[test]
fn out_naming_a_file_is_bad_input_found_before_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("taken");
    std::fs::write(&file, b"x").unwrap();
    for extra in [&[][..], &["--checkpoint-every", "100ms"][..]] {
        let r = bin().arg("run").arg(scenario("coba.toml")).arg("--quiet").args(extra).arg("--out").arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("--out {}", file.display())) && err.contains("not a directory"), "{err}");
        assert!(r.stdout.is_empty(), "nothing ran: {}", String::from_utf8_lossy(&r.stdout));
    }
    let r = bin().arg("run").arg(scenario("coba.toml")).arg("--quiet").arg("--out").arg(tmp.path().join("o")).arg("--checkpoint-dir").arg(&file).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("--checkpoint-dir"));
    assert_eq!(std::fs::read(&file).unwrap(), b"x", "the file is left alone");
}

/// A state variable that becomes infinite ends the run with exit 1 and names it, after
/// the outputs are written; a `--out` holding a manifest that spikeworld did not write is
/// refused before the run, and nothing in it is touched.
#[test]
fn a_run_gone_infinite_keeps_its_outputs_and_a_foreign_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let r = bin().arg("run").arg(scenario("cuba.toml")).args(["--quiet", "--set", "projection.exc.weight=1e308 pA", "--set", "simulation.t_stop=20ms"]).arg("--out").arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("`i_ex` became inf") && err.contains("the outputs are written to"), "{err}");
    assert_eq!(manifest(&out)["steps"], 200);
    assert!(out.join("spikes.t_ms.npy").exists());

    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("data.csv"), b"precious").unwrap();
    std::fs::write(mine.join("manifest.json"), br#"{"files": [{"path": "data.csv"}]}"#).unwrap();
    let r = bin().arg("run").arg(scenario("coba.toml")).arg("--quiet").arg("--out").arg(&mine).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("did not write") && r.stdout.is_empty(), "{err}");
    assert_eq!(std::fs::read(mine.join("data.csv")).unwrap(), b"precious");
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 2, "nothing written");
}

#[test]
fn rerunning_into_the_same_out_leaves_only_the_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    ok(bin().arg("run").arg(scenario("lif_poisson.toml")).arg("--quiet").arg("--out").arg(&out));
    assert!(out.join("vm.v.npy").exists() && out.join("rate.rate_hz.npy").exists());
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    ok(bin().arg("run").arg(scenario("coba.toml")).arg("--quiet").arg("--out").arg(&out));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let mut listed: Vec<String> = m["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    listed.extend(["manifest.json", "raster.svg", "notes.txt"].map(String::from));
    listed.sort();
    let mut present: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    present.sort();
    assert_eq!(present, listed, "only the second run's files (and the user's own) remain");
    assert!(m["scenario"].as_str().unwrap().ends_with("coba.toml"));
}

#[test]
fn raster_shows_every_spike_monitor_and_stays_small() {
    let tmp = tempfile::tempdir().unwrap();
    // Two populations firing every ~2 ms for 2 s: about 2 million spikes.
    let sc = tmp.path().join("busy.toml");
    let mut text = String::from("[simulation]\ndt = \"0.1 ms\"\nt_stop = \"2 s\"\n");
    for (p, n) in [("A", 600), ("B", 400)] {
        text += &format!("\n[[population]]\nname = \"{p}\"\nsize = {n}\nmodel = \"lif\"\nparams = {{ i_e = \"100000 pA\", t_ref = \"1 ms\" }}\n");
        text += &format!("\n[[monitor]]\nname = \"spikes_{p}\"\nkind = \"spikes\"\ntarget = \"{p}\"\n");
    }
    std::fs::write(&sc, text).unwrap();
    let out = tmp.path().join("o");
    ok(bin().arg("run").arg(&sc).arg("--quiet").arg("--out").arg(&out));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let spikes = m["populations"]["A"]["spikes"].as_u64().unwrap() + m["populations"]["B"]["spikes"].as_u64().unwrap();
    assert!(spikes > 1_000_000, "the test needs a busy run: {spikes} spikes");
    let svg = std::fs::read_to_string(out.join("raster.svg")).unwrap();
    assert!(svg.len() < 8_000_000, "raster.svg is {} bytes for {spikes} spikes", svg.len());
    assert!(svg.contains("spikes_A") && svg.contains("spikes_B"), "both monitors are shown");
    assert!(svg.contains("th spike drawn"), "the title says the spikes are subsampled");
    let rects = svg.matches("<rect").count();
    assert!((40_000..=60_000).contains(&rects), "{rects} rectangles drawn");
}

/// A tempotron training whose loss becomes infinite stops with an error (it had run on,
/// then hung drawing an infinite axis); a weights monitor's out-of-range synapse index,
/// found when the table is built, is located at its key; `validate` of a scenario with
/// nothing to estimate prints zeros, not `-0`.
#[test]
fn a_diverging_training_stops_and_late_errors_are_located() {
    let tmp = tempfile::tempdir().unwrap();
    let r = bin().arg("train").arg(scenario("tempotron_digits.toml")).args(["--quiet", "--set", "tempotron.lr=1e200", "--set", "tempotron.epochs=3"]).arg("--out").arg(tmp.path().join("t")).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("the loss became inf at epoch 1"), "{err}");

    let r = bin().arg("run").arg(scenario("stdp_song2000.toml")).args(["--quiet", "--set", "monitor.w.synapses=[0, 5000000]", "--set", "simulation.t_stop=1ms"]).arg("--out").arg(tmp.path().join("w")).output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("--set monitor.w.synapses=") && err.contains("synapse index 5000000 is out of range"), "{err}");

    let r = bin().arg("validate").arg(scenario("tempotron_digits.toml")).output().unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success() && out.contains("estimated memory 0 B") && !out.contains("-0"), "{out}");
}

/// Event populations are listed in the run's summary and the manifest beside the clock-driven
/// ones, and the recorded ones drawn in the raster.
#[test]
fn event_populations_are_in_the_summary_the_manifest_and_the_raster() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let r = bin().arg("run").arg(scenario("cosim_mixed.toml")).arg("--out").arg(&out).output().unwrap();
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let m = manifest(&out);
    let n = |name: &str| std::fs::metadata(out.join(format!("{name}.index.npy"))).unwrap().len();
    for pop in ["srm", "srm2"] {
        let p = &m["populations"][pop];
        assert_eq!(p["model"], "srm0", "{m}");
        assert_eq!(p["size"], 40);
        // The .npy holds a 128-byte header and 8 bytes a spike.
        assert_eq!(p["spikes"].as_u64().unwrap(), (n(pop) - 128) / 8, "{pop}");
        assert!(text.lines().any(|l| l.trim_start().starts_with(pop) && l.contains("40 neurons")), "{text}");
    }
    let svg = std::fs::read_to_string(out.join("raster.svg")).unwrap();
    assert!(svg.contains("`srm` (40 of 40)") && svg.contains("`srm2` (40 of 40)"), "the raster's title names the event populations");
}

/// Ctrl-C during `train` stops at once with 130, naming the last finished epoch's
/// checkpoint and the command that resumes from it (the same seed and overrides), and
/// that command trains on from there.
#[cfg(unix)]
#[test]
fn ctrl_c_in_training_names_the_command_that_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let o = tmp.path().join("o");
    let ck = o.join("checkpoints");
    let sc = scenario("train_digits.toml");
    let child = bin().arg("train").arg(&sc).args(["--quiet", "--seed", "4", "--set", "train.epochs=100"]).arg("--out").arg(&o).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let t0 = std::time::Instant::now();
    // (A finished checkpoint: the folder holds a temporary file while one is written.)
    let finished = || std::fs::read_dir(&ck).map_or(0, |d| d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with("epoch_")).count());
    while finished() == 0 && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let r = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    // (Stopped after its first epoch of 100: it cannot have finished.)
    assert_eq!(r.status.code(), Some(130), "{err}");
    assert!(std::fs::read_dir(&ck).unwrap().all(|e| e.unwrap().file_name().to_string_lossy().starts_with("epoch_")), "no temporary file left");
    let again = err.split("continue with: ").nth(1).unwrap_or_else(|| panic!("no resume command: {err}")).trim();
    let want = format!("spikeworld train {} --out {} --seed 4 --set train.epochs=100 --resume {}", sc.display(), o.display(), ck.display());
    assert!(again.starts_with(&want), "{again}\nshould start with {want}");
    let args: Vec<&str> = again.split_whitespace().skip(1).collect();
    let r = ok(bin().args(&args).arg("--quiet"));
    assert!(r.status.success());
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(o.join("train.json")).unwrap()).unwrap();
    assert_eq!(t["curve"].as_array().map(|c| c.len()), Some(100), "the resumed training ends at the last epoch, its curve whole");
}

/// `spikeworld run ... | head -1`: the pipe closes before the summary is printed. The run
/// still writes its outputs and exits 0 (`println!` panicked there, exit code 101).
#[test]
fn a_closed_stdout_does_not_fail_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = bin().arg("run").arg(scenario("izhikevich_network.toml")).arg("--out").arg(tmp.path().join("o")).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let r = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(tmp.path().join("o").join("manifest.json").exists());
    let mut child = bin().arg("info").stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let r = child.wait_with_output().unwrap();
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
}
