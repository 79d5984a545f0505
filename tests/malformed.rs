//! A corpus of malformed scenarios: each must be rejected with exit code 2 and a message
//! naming file:line:col, the key, and what was expected. Each file says what it expects in
//! its first lines (`# key: ...`, `# expect: ...`) and marks the offending line with `# <-`.
//! Resource abuse is part of it: those cases are refused by the memory estimate against a
//! limit of 6 GB here (`cli/tests/malformed_corpus.rs` runs the same corpus through the
//! real binary under an 8 GB address-space limit, with its default limit).

mod common;
use std::path::Path;

use spikeworld::prelude::*;
use spikeworld::scenario::MemoryLimit;

#[test]
fn every_malformed_scenario_is_rejected_with_location_and_key() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    files.sort();
    assert!(files.len() >= 60, "the corpus should hold at least 60 cases");
    let limit = MemoryLimit::fixed(6_000_000_000);
    let b = common::builder();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let key = text.lines().find_map(|l| l.strip_prefix("# key: ")).expect("# key: line").trim();
        let expect = text.lines().find_map(|l| l.strip_prefix("# expect: ")).expect("# expect: line").trim();
        let line = text.lines().position(|l| l.ends_with("# <-")).expect("a line marked # <-") + 1;
        let err = match Scenario::load_with_limit(f, b.registry(), &LoadOptions::default(), &limit) {
            Ok(_) => panic!("{} should be rejected", f.display()),
            Err(e) => e,
        };
        assert!(err.is_user_error(), "{}: should be a user error: {err}", f.display());
        let msg = err.to_string();
        let loc = format!("{}:{line}:", f.display());
        assert!(msg.starts_with(&loc), "{}: message should start with `{loc}`, got: {msg}", f.display());
        assert!(msg.contains(&format!("`{key}`")), "{}: message should name key `{key}`, got: {msg}", f.display());
        assert!(msg.contains(expect), "{}: message should contain `{expect}`, got: {msg}", f.display());
        assert_eq!(msg.lines().count(), 1, "one-line message expected: {msg}");
        // The same limit for the command line (it is process-wide: every call sets the same).
        let code = spikeworld_cli::main_with_args(["spikeworld", "validate", "--max-memory", "6GB", f.to_str().unwrap()]);
        assert_eq!(code, 2, "{}: validate must exit with 2", f.display());
        let code = spikeworld_cli::main_with_args(["spikeworld", "run", "--max-memory", "6GB", "--quiet", f.to_str().unwrap(), "--out", std::env::temp_dir().join("sw-malformed").to_str().unwrap()]);
        assert_eq!(code, 2, "{}: run must exit with 2", f.display());
    }
}

#[test]
fn bad_overrides_name_the_override() {
    let b = common::builder();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/coba.toml");
    let opts = LoadOptions { overrides: vec!["population.P.size=-3".into()], seed: None, ..Default::default() };
    let msg = Scenario::load(&path, b.registry(), &opts).err().expect("rejected").to_string();
    assert!(msg.starts_with("--set population.P.size=-3: `population[0].size`"), "{msg}");
    let opts = LoadOptions { overrides: vec!["population.Q.size=3".into()], seed: None, ..Default::default() };
    let msg = Scenario::load(&path, b.registry(), &opts).err().expect("rejected").to_string();
    assert!(msg.contains("no element named `Q`; valid: P"), "{msg}");
    let opts = LoadOptions { overrides: vec!["population.P.model=lif_curr_exp".into(), "simulation.t_stop=20ms".into()], seed: None, ..Default::default() };
    let sc = Scenario::load(&path, b.registry(), &opts);
    // lif_curr_exp has no `g_l`: the override applies and the mismatch is reported.
    let msg = sc.err().expect("rejected").to_string();
    assert!(msg.contains("`population[0].params.") && msg.contains("unknown key; valid keys here: c_m, tau_m"), "{msg}");
}

/// An unnamed projection answers to its default name (`projectionK`, as in the manifest)
/// in `--set`, and the list of valid names shows it.
#[test]
fn overrides_reach_an_unnamed_projection_by_its_default_name() {
    let b = common::builder();
    let text = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\n\n[[population]]\nname = \"P\"\nsize = 20\nmodel = \"lif\"\n\n\
                [[projection]]\nfrom = \"P\"\nto = \"P\"\nrule = \"fixed_indegree\"\nindegree = 5\nreceptor = \"v\"\nweight = \"1 mV\"\n\n\
                [[projection]]\nname = \"named\"\nfrom = \"P\"\nto = \"P\"\nrule = \"fixed_indegree\"\nindegree = 5\nreceptor = \"v\"\nweight = \"1 mV\"\n";
    let load = |set: &str| Scenario::from_str(text, Path::new("p.toml"), b.registry(), &LoadOptions { overrides: vec![set.into()], ..Default::default() });
    let sc = load("projection.projection0.indegree=10").expect("the default name selects the first projection");
    assert_eq!(sc.projections[0].name, "projection0");
    assert_eq!(sc.projections.iter().map(|p| p.rule.params.get("indegree")).collect::<Vec<_>>(), vec![10.0, 5.0]);
    let msg = load("projection.projection1.indegree=10").err().expect("the second has its own name").to_string();
    assert!(msg.contains("no element named `projection1`; valid: projection0, named"), "{msg}");
}

/// A negative weight into a conductance (NEST's habit for inhibition) is refused where it
/// is written; a negative current (CUBA's inhibition) is a weight like any other.
#[test]
fn negative_conductance_weights_are_refused() {
    let b = common::builder();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let load = |file: &str, set: &str| Scenario::load(&dir.join(file), b.registry(), &LoadOptions { overrides: vec![set.into()], ..Default::default() });
    for set in ["projection.inh.weight=-67 nS", "projection.exc.weight={ dist = \"uniform\", low = \"-1 nS\", high = \"6 nS\" }"] {
        let msg = load("coba.toml", set).err().expect("refused").to_string();
        assert!(msg.contains(".weight`") && msg.contains("a conductance increment must be >= 0") && msg.contains("`inh`"), "{msg}");
    }
    assert!(load("coba.toml", "projection.inh.weight=67 nS").is_ok());
    assert!(load("cuba.toml", "projection.inh.weight=-90 pA").is_ok());
}

/// A spike monitor may record an encoder (Brian2 users monitor a PoissonGroup); a state
/// monitor of one says what it is.
#[test]
fn a_state_monitor_of_an_encoder_says_it_is_one() {
    let b = common::builder();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lif_poisson.toml");
    let load = |set: &str| Scenario::load(&path, b.registry(), &LoadOptions { overrides: vec![set.into()], ..Default::default() });
    assert!(load("monitor.spikes.target=input[:10]").is_ok());
    let msg = load("monitor.vm.target=input").err().expect("refused").to_string();
    assert!(msg.contains("`monitor[1].target`") && msg.contains("`input` is an encoder: it has no state variables"), "{msg}");
    let msg = load("monitor.spikes.target=bias").err().expect("refused").to_string();
    assert!(msg.contains("`monitor[0].target`") && msg.contains("encoder `bias` injects a current"), "{msg}");
}
