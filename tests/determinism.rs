//! Same seed, same bits: repeated runs and different thread counts give byte-identical
//! output files.

mod common;
use std::path::{Path, PathBuf};

fn run_cli(args: &[&str], out: &Path) {
    let mut v = vec!["spikeworld", "run", "--quiet", "--out", out.to_str().unwrap()];
    v.extend_from_slice(args);
    assert_eq!(spikeworld_cli::main_with_args(v), 0, "run {args:?} failed");
}

fn npy_files(dir: &Path) -> Vec<PathBuf> {
    let mut f: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "npy")).collect();
    f.sort();
    f
}

fn assert_same_outputs(a: &Path, b: &Path) {
    let fa = npy_files(a);
    assert!(!fa.is_empty());
    assert_eq!(fa.len(), npy_files(b).len());
    for f in fa {
        let g = b.join(f.file_name().unwrap());
        assert!(std::fs::read(&f).unwrap() == std::fs::read(&g).unwrap(), "{} differs between runs", f.file_name().unwrap().to_string_lossy());
    }
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = common::scenario_path("coba.toml");
    let set = ["--set", "simulation.t_stop=200ms"];
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    run_cli(&[sc.to_str().unwrap(), set[0], set[1]], &a);
    run_cli(&[sc.to_str().unwrap(), set[0], set[1]], &b);
    assert_same_outputs(&a, &b);
    run_cli(&[sc.to_str().unwrap(), set[0], set[1], "--seed", "99"], &c);
    let t = a.join("spikes.t_ms.npy");
    assert_ne!(std::fs::read(&t).unwrap(), std::fs::read(c.join("spikes.t_ms.npy")).unwrap(), "another seed should give other spikes");
    let sc = common::scenario_path("lif_poisson.toml");
    let (d, e) = (tmp.path().join("d"), tmp.path().join("e"));
    run_cli(&[sc.to_str().unwrap()], &d);
    run_cli(&[sc.to_str().unwrap()], &e);
    assert_same_outputs(&d, &e);
}

#[test]
fn one_and_two_threads_give_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    // Large enough that the cpu engine really splits the population across threads.
    let sc = common::scenario_path("coba.toml");
    let sets = [
        "--set", "population.P.size=10000",
        "--set", "projection.exc.from=P[:8000]",
        "--set", "projection.inh.from=P[8000:]",
        "--set", "projection.exc.p=0.008",
        "--set", "projection.inh.p=0.008",
        "--set", "simulation.t_stop=100ms",
    ];
    let mut args = vec![sc.to_str().unwrap()];
    args.extend_from_slice(&sets);
    let (a, b) = (tmp.path().join("t1"), tmp.path().join("t2"));
    let mut a1 = args.clone();
    a1.extend_from_slice(&["--threads", "1"]);
    let mut a2 = args.clone();
    a2.extend_from_slice(&["--threads", "2"]);
    run_cli(&a1, &a);
    run_cli(&a2, &b);
    assert_same_outputs(&a, &b);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["threads"], 2);
    assert!(m["populations"]["P"]["spikes"].as_u64().unwrap() > 1000, "the network should be active");
}
