//! Tempotrons as an event population fed by a Gaussian-tuning event source: V_max of every
//! window and every spike time equal the library's exact `Tempotron::v_max` of the
//! presented pattern (computed on its own here, window by window); a checkpoint in the
//! middle of a window resumes bit for bit; bad keys are located errors.

use std::path::{Path, PathBuf};

use spikeworld::prelude::*;
use spikeworld_event_driven::class_task::{PatternSet, feature_ranges};
use spikeworld_event_driven::gaussian_tuning::GaussianTuning;
use spikeworld_event_driven::tempotron::Tempotron;
use spikeworld_event_driven::world::EventDrivenPlugin;

fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin).add_plugin(EventDrivenPlugin);
    b
}

const P: usize = 8;
const N_FEAT: usize = 4;
const M: usize = 5;
const K: usize = 3;
const T: f64 = 40.0;

/// Features and weights (some strong, so that some windows fire) in `dir`.
fn data(dir: &Path) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..P * N_FEAT).map(|i| ((i * 37 + 11) % 23) as f64 * 0.5).collect();
    let w: Vec<f64> = (0..K * N_FEAT * M).map(|i| (((i * 53 + 7) % 41) as f64 - 14.0) * 0.02 + if i / (N_FEAT * M) == 2 { 0.1 } else { 0.0 }).collect();
    spikeworld::output::write_npy_f64(&dir.join("x.npy"), &[P as u64, N_FEAT as u64], &x).unwrap();
    spikeworld::output::write_npy_f64(&dir.join("w.npy"), &[K as u64, (N_FEAT * M) as u64], &w).unwrap();
    (x, w)
}

fn scenario(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[simulation]
dt = "0.1 ms"
t_stop = "{t_stop} ms"
seed = 2

[[event_source]]
name = "feat"
kind = "gaussian_tuning"
x = "x.npy"
tuning = {M}
window = "{T} ms"
round_times = false

[[event_population]]
name = "tempo"
size = {K}
model = "tempotron"
window = "{T} ms"
record = true
{extra}
[[event_population.input]]
from = "feat"
rule = "all_to_all"
weight = {{ file = "w.npy" }}
"#,
        t_stop = P as f64 * T + 5.0
    );
    let p = dir.join("s.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn window_v_max_and_spikes_equal_the_library_tempotron() {
    let tmp = tempfile::tempdir().unwrap();
    let (x, w) = data(tmp.path());
    let path = scenario(tmp.path(), "");
    let b = builder();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_to_end(u64::MAX, |_| {});
    let arrays = spikeworld_event_driven::world::run::exact_spikes_output(&sim.world);
    let get = |q: &str| arrays.iter().find(|a| a.name == "tempo" && a.quantity == q).unwrap_or_else(|| panic!("no tempo.{q}"));
    let f64s = |q: &str| match &get(q).data {
        spikeworld::api::output::OutputData::F64(v) => v.clone(),
        spikeworld::api::output::OutputData::I64(v) => v.iter().map(|&i| i as f64).collect(),
    };
    assert_eq!(get("v_max").shape, [P as u64, K as u64], "one row per complete window");
    let vmax = f64s("v_max");
    let times = f64s("t_ms");
    let index = f64s("index");

    // The library, pattern by pattern, with times relative to the window.
    let (lo, hi) = feature_ranges(&x, N_FEAT);
    let g = GaussianTuning::new(M, &lo, &hi).unwrap();
    let set = PatternSet::from_features(&x, &g, T, false, vec![0; P]).unwrap();
    let t = Tempotron::new(15.0, 3.75, 1.0, T).unwrap();
    let mut want_spikes = Vec::new();
    let (mut fired, mut quiet) = (0, 0);
    for (s, pat) in set.patterns.iter().enumerate() {
        for k in 0..K {
            let vm = t.v_max(pat, &w[k * N_FEAT * M..(k + 1) * N_FEAT * M]).unwrap();
            let got = vmax[s * K + k];
            assert!((got - vm.v_max).abs() <= 1e-9, "window {s}, tempotron {k}: V_max {got} against the library's {}", vm.v_max);
            if let Some(ts) = vm.t_spike {
                want_spikes.push((s as f64 * T + ts, k));
                fired += 1;
            } else {
                quiet += 1;
            }
        }
    }
    assert!(fired >= 3 && quiet >= 3, "the case should have both firing and silent windows ({fired}, {quiet})");
    want_spikes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    assert_eq!(times.len(), want_spikes.len(), "spikes {times:?} against {want_spikes:?}");
    for ((&tt, &i), (wt, wk)) in times.iter().zip(&index).zip(&want_spikes) {
        assert!((tt - wt).abs() <= 1e-9 && i as usize == *wk, "spike ({tt}, {i}) against the library's ({wt}, {wk})");
    }
}

#[test]
fn a_checkpoint_inside_a_window_resumes_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    data(tmp.path());
    let path = scenario(tmp.path(), "");
    let b = builder();
    // 1234 steps: 123.4 ms, inside window 3 (120–160 ms), spikes and inputs in flight.
    spikeworld::testing::check_resume(&b, &path, 1234, tmp.path(), &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn bad_tempotron_and_source_keys_are_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    data(tmp.path());
    let path = scenario(tmp.path(), "");
    let good = std::fs::read_to_string(&path).unwrap();
    for (from, to, key) in [
        ("model = \"tempotron\"\nwindow = \"40 ms\"", "model = \"tempotron\"", "window"),
        ("window = \"40 ms\"\nround_times", "window = \"-1 ms\"\nround_times", "event_source[0].window"),
        ("x = \"x.npy\"", "x = \"missing.npy\"", "event_source[0].x"),
        ("kind = \"gaussian_tuning\"", "kind = \"poisson\"", "event_source[0].kind"),
        ("tuning = 5", "tuning = 2", "event_source[0].tuning"),
        ("record = true", "record = true\nt_ref = \"1 ms\"", "t_ref"),
        ("rule = \"all_to_all\"\nweight", "rule = \"one_to_one\"\nweight", "rule"),
    ] {
        assert!(good.contains(from), "{from}");
        let text = good.replacen(from, to, 1);
        let p = tmp.path().join("bad.toml");
        std::fs::write(&p, &text).unwrap();
        let b = builder();
        let err = Scenario::load(&p, b.registry(), &LoadOptions::default()).map(|_| ()).map_err(|e| e.to_string()).err().unwrap_or_else(|| panic!("`{to}` should be refused"));
        assert!(err.contains("bad.toml:") && err.contains(key), "`{to}`: {err}");
    }
    // A weight file with the wrong number of columns, and an unknown source, are refused
    // at their keys.
    spikeworld::output::write_npy_f64(&tmp.path().join("w.npy"), &[K as u64, 7], &[0.1; K * 7]).unwrap();
    let b = builder();
    let err = Scenario::load(&path, b.registry(), &LoadOptions::default()).map(|_| ()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("s.toml:") && err.contains("weight.file") && err.contains("[3, 20]"), "{err}");
    std::fs::write(&path, good.replace("from = \"feat\"", "from = \"nobody\"")).unwrap();
    let err = Scenario::load(&path, b.registry(), &LoadOptions::default()).map(|_| ()).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("s.toml:") && err.contains("nobody"), "{err}");
}

/// `spikeworld run scenarios/tempotron_digits.toml`: the world's ten tempotrons give every
/// held-out digit the V_max (and so the class) that the library gives with the same
/// weights, so the run's accuracy is the trainer's test accuracy.
#[test]
fn the_digits_run_classifies_like_the_trainer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("scenarios/tempotron_digits.toml");
    let b = builder();
    let sc = Scenario::load(&path, b.registry(), &LoadOptions::default()).unwrap();
    let mut sim = b.build(sc, &RunOptions::default()).unwrap();
    sim.run_to_end(u64::MAX, |_| {});
    let arrays = spikeworld_event_driven::world::run::exact_spikes_output(&sim.world);
    let v = arrays.iter().find(|a| a.name == "tempo" && a.quantity == "v_max").unwrap();
    assert_eq!(v.shape, [297, 10]);
    let spikeworld::api::output::OutputData::F64(vmax) = &v.data else { panic!("v_max is f64") };
    let x = spikeworld::util::npy::read_npy_f64(&root.join("data/digits/x.npy"), None).unwrap().values;
    let y = spikeworld_event_driven::class_task::read_labels(&root.join("data/digits/y.npy")).unwrap();
    let w = spikeworld::util::npy::read_npy_f64(&root.join("data/digits/tempotron_weights.npy"), None).unwrap().values;
    let (lo, hi) = feature_ranges(&x, 64);
    let g = GaussianTuning::new(6, &lo, &hi).unwrap();
    let set = PatternSet::from_features(&x[1500 * 64..], &g, 50.0, true, y[1500..].to_vec()).unwrap();
    let t = Tempotron::new(15.0, 3.75, 1.0, 50.0).unwrap();
    let rows: Vec<Vec<f64>> = w.chunks(384).map(<[f64]>::to_vec).collect();
    let mut correct = 0;
    for (s, pat) in set.patterns.iter().enumerate() {
        for k in 0..10 {
            let want = t.v_max(pat, &rows[k]).unwrap().v_max;
            assert!((vmax[s * 10 + k] - want).abs() <= 1e-9, "digit {s}, tempotron {k}: {} against {want}", vmax[s * 10 + k]);
        }
        let row = &vmax[s * 10..(s + 1) * 10];
        let class = (0..10).fold(0, |b, k| if row[k] > row[b] { k } else { b });
        correct += usize::from(class == set.labels[s]);
    }
    let acc = correct as f64 / 297.0;
    let lib = spikeworld_event_driven::class_task::class_accuracy(&t, &set, &rows).unwrap();
    assert_eq!(acc, lib, "the world's classes are the library's");
    assert!(acc > 0.8, "held-out accuracy {acc}");
}
