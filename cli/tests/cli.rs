//! The command line as a user runs it: the real binary, exit codes, outputs.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spikeworld"))
}

fn scenario(name: &str) -> String {
    format!("{}/../scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn run_writes_the_manifest_and_numpy_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let r = bin().args(["run", &scenario("lif_poisson.toml"), "--quiet", "--out"]).arg(&out).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    for k in ["spikeworld_version", "scenario", "scenario_sha256", "seed", "dt_ms", "steps", "t_stop_ms", "threads", "engine", "simd", "wall_time_s", "loop_time_s", "populations", "projections", "files"] {
        assert!(m.get(k).is_some(), "manifest lacks `{k}`");
    }
    assert_eq!(m["steps"], 5000);
    assert_eq!(m["populations"]["neurons"]["size"], 20);
    assert_eq!(m["projections"]["drive"]["synapses"], 600);
    for f in m["files"].as_array().unwrap() {
        let p = out.join(f["path"].as_str().unwrap());
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        let header = String::from_utf8_lossy(&bytes[10..10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize]).to_string();
        assert!(header.contains(f["dtype"].as_str().unwrap()), "{header}");
        let shape: Vec<String> = f["shape"].as_array().unwrap().iter().map(|x| x.to_string()).collect();
        assert!(header.replace(' ', "").contains(&format!("({}", shape.join(","))), "{header} vs {shape:?}");
    }
    assert!(out.join("raster.svg").exists());
    assert!(String::from_utf8_lossy(&r.stdout).contains("neurons"));
}

/// `SPIKEWORLD_SIMD` picks the build of the fused loop: every build writes the same files
/// (the manifest says which ran), and a word that names none is bad input.
#[test]
fn every_simd_build_writes_the_same_spikes_and_a_bad_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first: Option<Vec<u8>> = None;
    for simd in ["portable", "avx2", "avx512"] {
        let out = tmp.path().join(simd);
        let r = bin().env("SPIKEWORLD_SIMD", simd).args(["run", &scenario("coba.toml"), "--quiet", "--set", "simulation.t_stop=100ms", "--out"]).arg(&out).output().unwrap();
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        let ran = m["simd"].as_str().unwrap().to_string();
        // A CPU without the build asked for runs the highest it has, never a higher one.
        let order = ["portable", "avx2", "avx512"];
        assert!(order.iter().position(|&x| x == ran) <= order.iter().position(|&x| x == simd), "{simd} asked, {ran} ran");
        let spikes = [std::fs::read(out.join("spikes.t_ms.npy")).unwrap(), std::fs::read(out.join("spikes.index.npy")).unwrap()].concat();
        assert!(spikes.len() > 1000, "COBA spikes in 100 ms");
        match &first {
            None => first = Some(spikes),
            Some(f) => assert!(f == &spikes, "{simd}: other spikes than the portable build"),
        }
    }
    let r = bin().env("SPIKEWORLD_SIMD", "sse9").args(["run", &scenario("coba.toml"), "--quiet", "--out"]).arg(tmp.path().join("bad")).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("SPIKEWORLD_SIMD=sse9: expected one of portable, avx2, avx512"));
    assert!(!tmp.path().join("bad").exists(), "nothing written");
}

#[test]
fn quiet_prints_nothing_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let r = bin().args(["run", &scenario("lif_poisson.toml"), "--out"]).arg(tmp.path()).output().unwrap();
    assert!(r.status.success());
    let r = bin().args(["run", &scenario("lif_poisson.toml"), "--quiet", "--out"]).arg(tmp.path()).output().unwrap();
    assert!(r.stderr.is_empty(), "--quiet should print nothing on stderr: {}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn validate_info_and_exit_codes() {
    let ok = bin().args(["validate", &scenario("coba.toml")]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let info = bin().arg("info").output().unwrap();
    let text = String::from_utf8_lossy(&info.stdout);
    for name in ["lif", "lif_cond_exp", "lif_curr_exp", "pairwise_bernoulli", "fixed_total_number", "poisson", "spike_generator", "constant_current", "tau_syn_ex", "nS"] {
        assert!(text.contains(name), "info should list `{name}`");
    }
    // A learning rule's keys in the weight's unit say so in the dimension column.
    let a_pre = text.lines().find(|l| l.trim_start().starts_with("a_pre") && l.contains("> 0 potentiates")).expect("stdp's a_pre");
    assert!(a_pre.contains("weight's unit") && !a_pre.contains("dimensionless"), "{a_pre}");
    // (Also where the doc does not say so: the spec's `in_weight_unit` decides.)
    let apre_pos = text.lines().find(|l| l.trim_start().starts_with("apre_pos")).expect("reward_switch_stdp's apre_pos");
    assert!(apre_pos.contains("weight's unit") && !apre_pos.contains("dimensionless"), "{apre_pos}");
    let missing = bin().args(["run", "/nonexistent.toml", "--quiet"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2), "a missing scenario is bad input");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.toml"));
    let bad = bin().args(["run", &scenario("coba.toml"), "--threads", "0", "--quiet"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let bad = bin().args(["run", &scenario("coba.toml"), "--threads", "100000", "--quiet"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at most 1024"), "{}", String::from_utf8_lossy(&bad.stderr));
    let bad = bin().args(["run", &scenario("coba.toml"), "--engine", "gpu"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    // A flag the chosen engine would ignore: refused (not a CPU run taken for a GPU one).
    for (args, want) in [(&["--device", "cuda"][..], "--engine tensor"), (&["--engine", "tensor", "--delivery", "push"][..], "--engine device")] {
        let bad = bin().args(["run", &scenario("coba.toml"), "--quiet"]).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(bad.status.code() == Some(2) && err.contains(want) && bad.stdout.is_empty(), "{args:?}: {err}");
    }
}

/// `train` writes the trained weights, the curve, `train.json` (naming the device) and a
/// checkpoint per epoch; a device this build lacks is refused with the feature to build.
#[test]
fn train_writes_its_outputs_and_refuses_a_device_this_build_lacks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t");
    let r = bin().args(["train", &scenario("train_digits.toml"), "--quiet", "--set", "train.epochs=2", "--out"]).arg(&out).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for f in ["weights/fc1.npy", "weights/fc2.npy", "curve.csv", "curve.svg", "train.json", "checkpoints/epoch_0002.swtr"] {
        assert!(out.join(f).exists(), "`{f}` was not written");
    }
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("train.json")).unwrap()).unwrap();
    assert_eq!(j["device"], "flex");
    assert_eq!(j["epochs"], 2);
    for (device, built) in [("cuda", cfg!(feature = "cuda")), ("wgpu", cfg!(feature = "wgpu"))] {
        if built {
            continue;
        }
        let r = bin().args(["train", &scenario("train_digits.toml"), "--quiet", "--device", device, "--out"]).arg(tmp.path().join(device)).output().unwrap();
        assert_eq!(r.status.code(), Some(2), "--device {device}");
        let e = String::from_utf8_lossy(&r.stderr);
        assert!(e.contains(&format!("--features {device}")), "{e}");
        assert!(!tmp.path().join(device).exists(), "nothing is written for a refused device");
    }
}

/// `--shards K` writes the files one world writes, byte for byte (the manifest differs only
/// in timings, `shards` and the bytes of row pointers); a checkpoint written by 2 shards
/// resumes with 3 to the same files.
#[test]
fn shards_write_the_files_of_one_world() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let r = bin().args(["run", &scenario("delayed_recurrent.toml"), "--quiet", "--set", "simulation.t_stop=200 ms", "--out"]).arg(&out).args(extra).output().unwrap();
        assert!(r.status.success(), "{name}: {}", String::from_utf8_lossy(&r.stderr));
        out
    };
    let one = run("one", &[]);
    let files: Vec<String> = std::fs::read_dir(&one).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|f| f != "manifest.json").collect();
    assert!(files.len() >= 5, "{files:?}");
    for k in ["1", "2", "3", "4"] {
        let out = run(&format!("k{k}"), &["--shards", k]);
        for f in &files {
            assert!(std::fs::read(one.join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(), "--shards {k}: {f} differs");
        }
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["shards"].as_u64(), Some(k.parse().unwrap()));
    }
    // Stopped at 100 ms by 2 shards, resumed by 3.
    let ck = tmp.path().join("ck");
    let r = bin().args(["run", &scenario("delayed_recurrent.toml"), "--quiet", "--set", "simulation.t_stop=200 ms", "--shards", "2", "--stop-at", "100ms", "--checkpoint-dir"]).arg(&ck).arg("--out").arg(tmp.path().join("stopped")).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let resumed = tmp.path().join("resumed");
    let r = bin().args(["resume", "--quiet", "--shards", "3", "--out"]).arg(&resumed).arg(ck.join("step-000000001000.swck")).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    for f in &files {
        assert!(std::fs::read(one.join(f)).unwrap() == std::fs::read(resumed.join(f)).unwrap(), "resumed with 3 shards: {f} differs");
    }
}

/// Plastic scenario files (learning rules, a reward table, weight monitors, synapse
/// models) and the co-simulation scenario (event-driven populations, their exact spike
/// times) write one world's files with 2, 3 and 4 shards; what cannot run in shards is
/// refused with the reason.
#[test]
fn plugins_in_shards_write_the_files_of_one_world() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |file: &str, name: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        // Song et al.'s weight monitor samples every second.
        let stop = if file == "stdp_song2000.toml" { "simulation.t_stop=3 s" } else { "simulation.t_stop=200 ms" };
        let r = bin().args(["run", &scenario(file), "--quiet", "--set", stop, "--out"]).arg(&out).args(extra).output().unwrap();
        (out, r)
    };
    for file in ["stdp_song2000.toml", "spaic_nearest_online_stdp.toml", "spaic_postpre_int_stdp.toml", "reward_pathways.toml", "reward_rate_difference.toml", "stdp_two_inputs.toml", "syn_tsodyks_markram.toml", "cosim_mixed.toml", "spaic_meta_nearest_online_stdp.toml", "stdp_norse_conv2d.toml"] {
        let (one, r) = run(file, &format!("{file}.one"), &[]);
        assert!(r.status.success(), "{file}: {}", String::from_utf8_lossy(&r.stderr));
        let files: Vec<String> = std::fs::read_dir(&one).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|f| f.ends_with(".npy")).collect();
        assert!(!files.is_empty(), "{file}: no data file");
        if file == "stdp_song2000.toml" {
            let mean = std::fs::read(one.join("w.mean.npy")).unwrap();
            assert!(mean.len() >= 128 + 3 * 8, "{file}: three weight samples");
        }
        for k in ["2", "3", "4"] {
            let (out, r) = run(file, &format!("{file}.{k}"), &["--shards", k]);
            assert!(r.status.success(), "{file}, --shards {k}: {}", String::from_utf8_lossy(&r.stderr));
            for f in &files {
                assert!(std::fs::read(one.join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(), "{file}, --shards {k}: {f} differs");
            }
        }
    }
    for (file, why) in [("tempotron_patterns.toml", "[tempotron]")] {
        let (_, r) = run(file, &format!("{file}.refused"), &["--shards", "2"]);
        assert_eq!(r.status.code(), Some(2), "{file}");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(why) && err.contains("not sharded yet"), "{file}: {err}");
    }
}
