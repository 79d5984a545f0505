//! `[tempotron]` and its learner: the scenario's task trains to the library's result, bit
//! for bit; a run resumed from an epoch's checkpoint ends where the straight run ends; bad
//! keys are located errors.

use std::path::Path;

use spikeworld::prelude::*;
use spikeworld_event_driven::pattern_task::PatternTaskConfig;
use spikeworld_event_driven::world::EventDrivenPlugin;
use spikeworld_event_driven::world::learn::{TempotronTask, train_tempotron};

fn task(text: &str) -> Result<TempotronTask, String> {
    let mut b = SimBuilder::new();
    b.add_plugin(EventDrivenPlugin);
    let sc = Scenario::from_str(text, Path::new("t.toml"), b.registry(), &LoadOptions::default()).map_err(|e| e.to_string())?;
    let sim = b.build(sc, &RunOptions::default()).map_err(|e| e.to_string())?;
    Ok(sim.world.resource::<TempotronTask>().clone())
}

const BASE: &str = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\nseed = 3\n\n[tempotron]\npatterns = 300\nepochs = 150\n";

#[test]
fn the_scenario_trains_like_the_library_and_resumes_bit_for_bit() {
    let t = task(&format!("{BASE}n_afferents = 300\n")).unwrap();
    let lib = PatternTaskConfig { n_afferents: 300, n_patterns: 300, max_epochs: 150, seed: 3, ..Default::default() };
    assert_eq!(t.cfg, lib, "the table's defaults are the paper's (as the library's)");
    let want = lib.train().unwrap();
    assert!(want.solved && want.accuracy.len() > 12, "α = 1 is solved, in more than 12 epochs ({})", want.accuracy.len());
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = 0;
    let o = train_tempotron(&t, Path::new("t.toml"), "fp", Some(tmp.path()), None, |_| seen += 1).unwrap();
    let (acc, solved, w, curve) = (o.final_accuracy, o.solved, o.weights, o.curve);
    assert!(solved && acc == want.final_accuracy && seen == curve.len());
    assert!(w == want.weights && curve == want.accuracy, "the scenario's run differs from PatternTaskConfig::train");
    // Stop after 10 epochs (a checkpoint there), then resume the full run from it.
    let short = TempotronTask { cfg: PatternTaskConfig { max_epochs: 10, ..t.cfg }, data: None };
    let dir = tmp.path().join("short");
    std::fs::create_dir_all(&dir).unwrap();
    train_tempotron(&short, Path::new("t.toml"), "fp", Some(&dir), None, |_| {}).unwrap();
    let ck = dir.join("epoch_0010.swtt");
    assert!(ck.exists() && !dir.join("epoch_0008.swtt").exists(), "checkpoints after every epoch, the last two kept");
    let mut after = Vec::new();
    let o2 = train_tempotron(&t, Path::new("t.toml"), "fp", None, Some(&ck), |e| after.push(e.epoch)).unwrap();
    let (acc2, solved2, w2, curve2) = (o2.final_accuracy, o2.solved, o2.weights, o2.curve);
    assert_eq!(after.first(), Some(&11), "the resumed run starts at epoch 11");
    assert!(w2 == want.weights && curve2 == want.accuracy && solved2 && acc2 == acc, "the resumed run ends elsewhere");
    let err = train_tempotron(&t, Path::new("t.toml"), "other", None, Some(&ck), |_| {}).unwrap_err();
    assert!(err.contains("another scenario"), "{err}");
}

#[test]
fn bad_tempotron_keys_are_located_errors() {
    for (bad, key) in [("momentum = 1.0", "tempotron.momentum"), ("n_afferents = 0", "tempotron.n_afferents"), ("tau_s = \"15 ms\"", "tempotron.tau_s"), ("lr = -1", "tempotron.lr"), ("colour = 1", "tempotron.colour")] {
        let text = format!("{BASE}{bad}\n");
        let err = task(&text).err().unwrap_or_else(|| panic!("`{bad}` should be refused"));
        assert!(err.contains("t.toml:") && err.contains(key), "`{bad}`: {err}");
    }
}
