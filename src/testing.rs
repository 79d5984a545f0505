//! Checks every plugin gets for free. [`check_resume`] runs a scenario through a checkpoint
//! in the middle and compares the final state, byte for byte, with a run that never
//! stopped: a component that keeps state outside what it saves makes it fail. The resume
//! tests of this repository run it (through the real binary) on every scenario in
//! `scenarios/`; a plugin crate calls it on a scenario of its own.

use std::path::Path;

use crate::registry::SimBuilder;
use crate::scenario::{LoadOptions, Scenario};
use crate::api::run::RunOptions;
use crate::sim::Sim;

/// Runs `scenario` twice with `opts`: straight to the end, and to `split` steps, saved to a
/// checkpoint in `dir`, loaded into a new [`Sim`] and run to the end. Returns an error
/// describing the first difference of the final states (monitors' recordings included).
pub fn check_resume(builder: &SimBuilder, scenario: &Path, split: u64, dir: &Path, opts: &RunOptions) -> Result<(), String> {
    let load = || Scenario::load(scenario, builder.registry(), &LoadOptions::default()).map_err(|e| e.to_string());
    let mut whole = builder.build(load()?, opts).map_err(|e| e.to_string())?;
    let end = whole.end_step();
    if split > end {
        return Err(format!("split step {split} is after the end ({end} steps)"));
    }
    whole.run_to_end(u64::MAX, |_| {});
    let mut first = builder.build(load()?, opts).map_err(|e| e.to_string())?;
    first.run_until(split, u64::MAX, |_| {});
    let path = dir.join(crate::persist::file_name(split));
    first.save(&path).map_err(|e| e.to_string())?;
    drop(first);
    let mut resumed = Sim::load_with(&path, builder, opts, None, None).map_err(|e| e.to_string())?;
    resumed.run_to_end(u64::MAX, |_| {});
    let a = final_state(&whole)?;
    let b = final_state(&resumed)?;
    if a != b {
        let at = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        return Err(format!(
            "{}: resumed at step {split}, the final state differs from an uninterrupted run (checkpoints of {} and {} bytes, first difference at byte {at})",
            scenario.display(),
            a.len(),
            b.len()
        ));
    }
    Ok(())
}

fn final_state(sim: &Sim) -> Result<Vec<u8>, String> {
    let mut v = Vec::new();
    sim.write_checkpoint(&mut v).map_err(|e| e.to_string())?;
    Ok(v)
}
