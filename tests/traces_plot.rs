//! `traces.svg`: written beside `raster.svg` when a run has state monitors (one panel per
//! recorded variable, one line per recorded neuron, the unit on the y axis), absent (and
//! a stale one removed) when it has none, the same bytes for the same recorded data. An
//! output directory holding a manifest that spikeworld did not write is refused.

mod common;
use common::*;
use spikeworld::output::plot::{TRACES_MAX_LINES, TRACES_MAX_POINTS};
use spikeworld::output::Timings;
use spikeworld::prelude::*;
use std::path::Path;

fn run_into(sc: Scenario, out: &Path) {
    let sim = run_all(builder().build(sc, &RunOptions::default()).expect("build"));
    sim.write_outputs(out, Timings::default()).expect("write outputs");
}

/// The `points` attribute of every coloured `<polyline>` in `svg` (the traces: axes and
/// ticks are black polylines), each as its list of points.
fn polylines(svg: &str) -> Vec<Vec<&str>> {
    svg.match_indices("<polyline")
        .map(|(at, _)| &svg[at..at + svg[at..].find("/>").expect("closed tag")])
        .filter(|tag| !tag.contains("stroke=\"#000000\""))
        .map(|tag| {
            let pts = tag.split("points=\"").nth(1).expect("points attribute");
            pts[..pts.find('"').unwrap()].split_whitespace().collect()
        })
        .collect()
}

#[test]
fn traces_svg_has_a_panel_per_variable_a_line_per_neuron_and_caps() {
    let tmp = tempfile::tempdir().unwrap();

    // lif_poisson records v of neurons 0, 1 and 15 (`vm`): 50 ms at 0.1 ms = 500 samples.
    let a = tmp.path().join("a");
    run_into(load_file("lif_poisson.toml", &["simulation.t_stop=50ms"], None), &a);
    assert!(a.join("raster.svg").is_file());
    let svg = std::fs::read_to_string(a.join("traces.svg")).expect("traces.svg written");
    assert!(svg.contains("vm.v"), "panel title `vm.v` missing");
    assert!(svg.contains("v (mV)"), "y axis unit mV missing");
    for label in ["neuron 0", "neuron 1", "neuron 15"] {
        assert!(svg.contains(label), "legend `{label}` missing");
    }
    let lines = polylines(&svg);
    assert_eq!(lines.len(), 3, "one line per recorded neuron");
    for l in &lines {
        assert_eq!(l.len(), 500, "every sample drawn when there are few");
    }
    assert!(lines[0] != lines[1] && lines[1] != lines[2], "each line draws its own neuron");
    assert!(!svg.contains("every "), "no decimation announced for 500 samples");
    // Not in the manifest's list of data files (as raster.svg), but left no temporary file.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    assert!(!m["files"].as_array().unwrap().iter().any(|f| f["path"] == "traces.svg"));
    let mut names: Vec<String> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names.iter().filter(|n| n.ends_with(".svg")).collect::<Vec<_>>(), ["raster.svg", "traces.svg"]);
    assert!(names.iter().all(|n| !n.contains("tmp")), "no temporary files: {names:?}");

    // Deterministic: the same data, recorded in one go or in two pieces, gives the same bytes.
    let b = tmp.path().join("b");
    let mut sim = builder().build(load_file("lif_poisson.toml", &["simulation.t_stop=50ms"], None), &RunOptions::default()).unwrap();
    sim.run_steps(217);
    sim.run_steps(500 - 217);
    sim.write_outputs(&b, Timings::default()).unwrap();
    assert!(std::fs::read(a.join("traces.svg")).unwrap() == std::fs::read(b.join("traces.svg")).unwrap(), "traces.svg differs");

    // Many neurons and samples: 15 neurons recorded (10 drawn), 3000 samples (every 2nd
    // drawn), two variables (one dimensionless) in two panels.
    let text = r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "300 ms"
        [[population]]
        name = "p"
        size = 20
        model = "lif"
        params = { i_e = "400 pA", t_ref = "2 ms" }
        [[monitor]]
        name = "st"
        kind = "state"
        target = "p"
        variables = ["v", "refr"]
        indices = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    "#;
    let c = tmp.path().join("c");
    run_into(load(text), &c);
    assert!(!c.join("raster.svg").exists(), "no spike monitor, no raster");
    let svg = std::fs::read_to_string(c.join("traces.svg")).unwrap();
    assert!(svg.contains("st.v (first 10 of 15 neurons; every 2nd sample drawn (1500 of 3000))"), "title states the caps");
    assert!(svg.contains("st.refr (first 10 of 15 neurons"));
    assert!(svg.contains("refr (dimensionless)"));
    let lines = polylines(&svg);
    assert_eq!(lines.len(), 2 * TRACES_MAX_LINES, "10 lines in each of the 2 panels");
    for l in &lines {
        assert_eq!(l.len(), 1500);
        assert!(l.len() <= TRACES_MAX_POINTS);
    }
    assert!(!svg.contains("neuron 10"), "neuron 10 is beyond the cap");
}

#[test]
fn no_state_monitor_no_traces_svg_and_a_stale_one_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh");
    run_into(load_file("coba.toml", &["simulation.t_stop=20ms"], None), &fresh);
    assert!(fresh.join("raster.svg").is_file());
    assert!(!fresh.join("traces.svg").exists(), "coba has no state monitor");

    let out = tmp.path().join("o");
    run_into(load_file("lif_poisson.toml", &["simulation.t_stop=20ms"], None), &out);
    assert!(out.join("traces.svg").is_file());
    run_into(load_file("coba.toml", &["simulation.t_stop=20ms"], None), &out);
    assert!(out.join("raster.svg").is_file());
    assert!(!out.join("traces.svg").exists(), "the earlier run's traces.svg is removed");
}

#[test]
fn a_stale_weights_svg_is_removed_and_a_foreign_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    run_into(load_file("stdp_two_inputs.toml", &["simulation.t_stop=20ms"], None), &out);
    assert!(out.join("weights.svg").is_file());
    run_into(load_file("coba.toml", &["simulation.t_stop=20ms"], None), &out);
    assert!(!out.join("weights.svg").exists(), "the earlier run's weights.svg is removed");

    // A directory the user keeps data in, with a manifest of their own: refused, and
    // nothing in it touched.
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    let theirs = r#"{"name": "my dataset", "files": [{"path": "data.csv"}, {"path": "raster.svg"}]}"#;
    std::fs::write(mine.join("data.csv"), "precious").unwrap();
    std::fs::write(mine.join("raster.svg"), "<svg/>").unwrap();
    std::fs::write(mine.join("manifest.json"), theirs).unwrap();
    let sim = run_all(builder().build(load_file("coba.toml", &["simulation.t_stop=20ms"], None), &RunOptions::default()).expect("build"));
    let err = sim.write_outputs(&mine, Timings::default()).expect_err("a foreign manifest is not replaced").to_string();
    assert!(err.contains("manifest.json that spikeworld did not write"), "{err}");
    assert_eq!(std::fs::read_to_string(mine.join("data.csv")).unwrap(), "precious");
    assert_eq!(std::fs::read_to_string(mine.join("raster.svg")).unwrap(), "<svg/>");
    assert_eq!(std::fs::read_to_string(mine.join("manifest.json")).unwrap(), theirs);
}

/// A rate monitor's bins are its spikes over its neurons and the bin's length, the last
/// bin's too when the run ends inside it (198 ms in bins of 5 ms: the last one 3 ms).
#[test]
fn rate_bins_divide_by_their_own_length_the_last_one_too() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    run_into(load_file("lif_poisson.toml", &["simulation.t_stop=198ms"], None), &out);
    let t = npy_f64(&out.join("spikes.t_ms.npy"));
    let rate = npy_f64(&out.join("rate.rate_hz.npy"));
    assert_eq!(npy_f64(&out.join("rate.t_ms.npy")), (0..40).map(|b| b as f64 * 5.0).collect::<Vec<_>>());
    let n = 20.0; // neurons in the population
    for (b, r) in rate.iter().enumerate() {
        let (lo, hi) = (b as f64 * 5.0, (b as f64 * 5.0 + 5.0).min(198.0));
        let count = t.iter().filter(|&&x| x >= lo - 1e-9 && x < hi - 1e-9).count() as f64;
        assert_eq!(*r, count / n / ((hi - lo) / 1000.0), "bin {b}");
    }
    assert!(rate[39] > 0.0, "the last bin holds a spike");
}

/// A run whose writing fails part-way leaves no `manifest.json` (the earlier run's is set
/// aside, not left beside the new files): the directory is never taken for a complete run.
/// The next run that succeeds removes what the set-aside manifest listed, and that file (a
/// file the failed run wrote is listed nowhere, and stays).
#[test]
fn a_run_that_fails_writing_leaves_no_manifest_and_the_next_one_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    run_into(load_file("coba.toml", &["simulation.t_stop=20ms"], None), &out);
    let previous = out.join(spikeworld::output::PREVIOUS_MANIFEST);
    // The second run cannot write `spikes.index.npy` (a directory with a file in it).
    std::fs::remove_file(out.join("spikes.index.npy")).unwrap();
    std::fs::create_dir_all(out.join("spikes.index.npy").join("x")).unwrap();
    let b = builder();
    let mut sim = b.build(load_file("coba.toml", &["simulation.t_stop=30ms", "monitor.spikes.name=\"s2\""], None), &RunOptions::default()).expect("build");
    sim.run_to_end(u64::MAX, |_| {});
    let err = sim.write_outputs(&out, Timings::default());
    assert!(err.is_ok(), "s2 is written, not spikes: {err:?}");
    // Now a failing one: the monitor named `spikes` again.
    let mut sim = b.build(load_file("coba.toml", &["simulation.t_stop=30ms"], None), &RunOptions::default()).expect("build");
    sim.run_to_end(u64::MAX, |_| {});
    assert!(sim.write_outputs(&out, Timings::default()).is_err(), "spikes.index.npy cannot be written");
    assert!(!out.join("manifest.json").exists(), "no manifest after a failed write");
    assert!(previous.is_file(), "the earlier manifest is set aside");
    assert!(out.join("spikes.t_ms.npy").exists() && out.join("s2.t_ms.npy").exists());
    std::fs::remove_dir_all(out.join("spikes.index.npy")).unwrap();
    run_into(load_file("coba.toml", &["simulation.t_stop=20ms", "monitor.spikes.name=\"s3\""], None), &out);
    assert!(out.join("manifest.json").is_file() && !previous.exists());
    assert!(out.join("s3.t_ms.npy").exists());
    assert!(!out.join("s2.t_ms.npy").exists(), "the set-aside manifest's files are removed");
}
