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

/// The exact sum of `xs` rounded once, half to even: CPython's `math.fsum` (Shewchuk's
/// partials), written on its own (not `util::exact`'s superaccumulator) for the references
/// of tests of rules whose sums are exact (`net::plastic::EntrySums`).
pub fn fsum(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for mut x in xs {
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    let mut n = partials.len();
    let mut hi = 0.0;
    if n > 0 {
        n -= 1;
        hi = partials[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Half-way between two doubles: the partial below says which way.
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
    }
    hi
}
