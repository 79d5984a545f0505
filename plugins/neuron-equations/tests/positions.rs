//! Neurons' positions (NEST's spatial positions, Brian2's `x : metre` with `x_pre`,
//! `x_post`): a population's `positions` against its formulas and its streams, the ends'
//! positions in a synapse's `p`, weight and delay against the formulas of the distance,
//! Python's `%` and `//`, the same synapses by target ranges and the same spikes in
//! shards, and the refusals.

use spikeworld::api::language::NEURON_NAMES;
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, entity_key, purpose};
use spikeworld::util::units::Dim;

mod common;
use common::*;

/// Grid side of `G`: its neurons are `(i % SIDE, i // SIDE)` × 25 µm.
const SIDE: usize = 12;

/// `G` (a `SIDE` × `SIDE` grid, 25 µm apart) onto itself by `rule`, and `H` (5 neurons),
/// seed 9.
fn grid(rule: &str, weight: &str, delay: &str) -> String {
    let n = SIDE * SIDE;
    format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\nseed = 9\n[[population]]\nname = \"G\"\nsize = {n}\nmodel = \"lif\"\npositions = {{ x = \"(i % {SIDE})*25*um\", y = \"(i // {SIDE})*25*um\" }}\n[[population]]\nname = \"H\"\nsize = 5\nmodel = \"lif\"\n[[projection]]\nname = \"gg\"\nfrom = \"G\"\nto = \"G\"\n{rule}\nreceptor = \"v\"\nweight = {weight}\ndelay = {delay}\n"
    )
}

/// Neuron `i`'s place on the grid, µm.
fn at(i: usize) -> (f64, f64) {
    ((i % SIDE) as f64 * 25.0, (i / SIDE) as f64 * 25.0)
}

fn dist(s: usize, t: usize) -> f64 {
    let ((a, b), (c, d)) = (at(s), at(t));
    ((a - c).powi(2) + (b - d).powi(2)).sqrt()
}

/// The synapses of the first projection as (source, target, weight, delay steps), sorted,
/// onto `ranges` (`None`: all).
fn synapses(text: &str, ranges: Option<&[std::ops::Range<usize>]>) -> Vec<(usize, usize, f64, u32)> {
    let sc = load(text).unwrap_or_else(|e| panic!("{e}"));
    let to = sc.projections[0].to.start;
    let drawn = spikeworld_cli::builder().draw_synapses(&sc, ranges).unwrap();
    let d = &drawn[0];
    let mut out = Vec::new();
    for s in 0..d.csr.row_ptr.len() - 1 {
        for k in d.csr.row(s) {
            out.push((s, d.csr.col[k] as usize - to, d.weight_of(k), d.delay.of(k)));
        }
    }
    out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    out
}

/// Each axis is the formula of `i` (to rounding: it is computed in metres), a distribution
/// drawn from the neuron's stream with purpose `POSITION` + the axis, or a list; an axis
/// not given is 0.
#[test]
fn positions_are_their_formulas_and_streams() {
    let text = grid("rule = \"one_to_one\"", "\"1 mV\"", "0").replace(
        "y = \"(i // 12)*25*um\" }",
        "y = \"(i // 12)*25*um\", z = { dist = \"uniform\", low = \"-1 mm\", high = \"1 mm\" } }\n[population.init]\nv = 0",
    );
    let sc = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let p = sc.populations[0].positions.as_ref().expect("positions");
    let key = entity_key("population", "G");
    for i in 0..SIDE * SIDE {
        let (x, y) = at(i);
        assert!((p.axes[0][i] - x).abs() <= 1e-12 * x.max(1.0), "neuron {i}: x {} != {x}", p.axes[0][i]);
        assert!((p.axes[1][i] - y).abs() <= 1e-12 * y.max(1.0), "neuron {i}: y {} != {y}", p.axes[1][i]);
        let z = -1000.0 + 2000.0 * Stream::new(9, key, purpose::POSITION + 2, i as u64).uniform();
        assert_eq!(p.axes[2][i].to_bits(), z.to_bits(), "neuron {i}");
    }
    assert!(sc.populations[1].positions.is_none());
    let listed = load(&format!("{text}[[population]]\nname = \"L\"\nsize = 3\nmodel = \"lif\"\npositions = {{ y = [\"1 mm\", 2, \"3 nm\"] }}\n")).unwrap_or_else(|e| panic!("{e}"));
    let l = listed.populations.iter().find(|p| p.name == "L").unwrap().positions.as_ref().unwrap();
    assert_eq!(l.axes, [vec![0.0; 3], vec![1000.0, 2.0, 0.003], vec![0.0; 3]]);
}

/// Python's `%` (the sign of the divisor) and `//` (floor), of numbers and of lengths.
#[test]
fn modulo_and_floor_division_are_pythons() {
    let lang = spikeworld_cli::builder().registry().model_languages.get("equations").expect("the equations language").clone();
    let value = |text: &str, dim: Dim, i: f64| {
        let f = lang.value_expression(text, dim, NEURON_NAMES).expect("reads").unwrap_or_else(|e| panic!("{text}: {e:?}"));
        f.value(&[i, 10.0], &mut Stream::new(1, 1, 1, 1))
    };
    for i in 0..10 {
        let a = i as f64 - 4.5;
        // Python: a % 3 = a - 3*floor(a/3), in [0, 3); a % -3 in (-3, 0].
        assert_eq!(value("(i - 4.5) % 3", Dim::Dimensionless, i as f64), a - 3.0 * (a / 3.0).floor(), "{a} % 3");
        assert_eq!(value("(i - 4.5) % -3", Dim::Dimensionless, i as f64), a + 3.0 * (a / -3.0).floor(), "{a} % -3");
        assert_eq!(value("(i - 4.5) // 2", Dim::Dimensionless, i as f64), (a / 2.0).floor(), "{a} // 2");
        let m = value("(i - 4.5)*um % (2*um)", Dim::Length, i as f64);
        assert!((m - (a - 2.0 * (a / 2.0).floor())).abs() < 1e-9, "{a} um % 2 um = {m}");
    }
    // Precedence: as `*` and `/`, left to right.
    assert_eq!(value("7 % 4 * 2", Dim::Dimensionless, 0.0), 6.0);
    assert_eq!(value("2 + 7 // 2", Dim::Dimensionless, 0.0), 5.0);
    assert_eq!(value("i*mV // mV", Dim::Dimensionless, 7.0), 7.0);
    let err = |text: &str, dim: Dim| lang.value_expression(text, dim, NEURON_NAMES).unwrap().err().unwrap_or_else(|| panic!("{text} accepted")).1;
    assert!(err("i*um % 3", Dim::Length).contains("dimensions differ"), "{}", err("i*um % 3", Dim::Length));
    assert!(err("i*mV // ms", Dim::Dimensionless).contains("dimensions differ"));
}

/// `p`, `weight` and `delay` read the ends' positions: the pairs are the rule's definition
/// with `p` the Gaussian of the distance; each weight and delay is its formula of it.
#[test]
fn synapses_read_the_ends_positions() {
    let d2 = "((x_pre - x_post)**2 + (y_pre - y_post)**2)";
    let text = grid(
        &format!("rule = \"pairwise_bernoulli\"\np = \"0.8*exp(-{d2}/(2*(40*um)**2))\""),
        &format!("\"2*mV*exp(-sqrt({d2})/(100*um))\""),
        &format!("\"1*ms + sqrt({d2})/(250*um/ms)\""),
    );
    let got = synapses(&text, None);
    let key = entity_key("projection", "gg");
    let n = SIDE * SIDE;
    let mut want = Vec::new();
    for t in 0..n {
        let mut u = Stream::new(9, key, purpose::CONNECT, t as u64);
        for s in 0..n {
            let d = dist(s, t);
            if u.uniform() < 0.8 * (-d * d / (2.0 * 40.0 * 40.0)).exp() {
                want.push((s, t));
            }
        }
    }
    want.sort();
    assert!(want.len() > 5 * n && want.iter().all(|&(s, t)| dist(s, t) < 200.0), "{} pairs", want.len());
    assert_eq!(got.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(), want);
    for &(s, t, w, steps) in &got {
        let d = dist(s, t);
        let w0 = 2.0 * (-d / 100.0).exp();
        assert!((w - w0).abs() <= 1e-12 * w0, "{s} -> {t}: weight {w} != {w0}");
        // (1 ms + d / 250 µm/ms) / 0.1 ms = 10 + d / 25 µm: sqrt of a whole number, never
        // half way between steps.
        assert_eq!(steps, (10.0 + d / 25.0).round() as u32, "{s} -> {t} at {d} um");
    }
    assert!(got.iter().any(|x| x.3 > 11), "some delay reaches beyond the neighbours");
    // Two target ranges draw the synapses of one build.
    let mut split = synapses(&text, Some(&[0..70, 0..5]));
    split.extend(synapses(&text, Some(&[70..n, 0..5])));
    split.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    assert_eq!(split.iter().map(|x| (x.0, x.1, x.2.to_bits(), x.3)).collect::<Vec<_>>(), got.iter().map(|x| (x.0, x.1, x.2.to_bits(), x.3)).collect::<Vec<_>>());
}

/// Between populations (only one end may have positions) and from a selection: `x_pre` is
/// the selected source's own position.
#[test]
fn one_end_and_selections_read_their_own_positions() {
    let text = grid("rule = \"all_to_all\"", "\"(x_pre + 1000*y_pre)/um*mV + j*mV\"", "0").replace("from = \"G\"\nto = \"G\"", "from = \"G[30:40]\"\nto = \"H\"");
    let got = synapses(&text, None);
    assert_eq!(got.len(), 50);
    for &(s, t, w, _) in &got {
        let (x, y) = at(30 + s);
        assert!((w - (x + 1000.0 * y + t as f64)).abs() < 1e-6, "{s} -> {t}: {w}");
    }
    // A row of pairs (computed as a batch) reads the selected sources' positions too:
    // G[30:40] lie at x = 150, ..., 275, 0, 25, 50, 75 µm.
    let near = text.replace("rule = \"all_to_all\"", "rule = \"pairwise_bernoulli\"\np = \"1.0*(x_pre < 100*um)\"");
    let got: Vec<(usize, usize)> = synapses(&near, None).iter().map(|x| (x.0, x.1)).collect();
    assert_eq!(got, (6..10).flat_map(|s| (0..5).map(move |t| (s, t))).collect::<Vec<_>>());
}

/// A network of a sheet with distance-dependent `p` and delays gives the same spikes in one
/// world, on 2 threads and in 3 shards.
#[test]
fn a_sheet_runs_the_same_in_shards() {
    let coba = std::fs::read_to_string(repo().join("scenarios/coba.toml")).unwrap();
    let d2 = "((x_pre - x_post)**2 + (y_pre - y_post)**2)";
    let small = coba
        .replace("t_stop = \"1 s\"", "t_stop = \"200 ms\"")
        .replace("size = 4000", "size = 800\npositions = { x = \"(i % 40)*20*um\", y = \"(i // 40)*20*um\" }")
        .replace("P[:3200]", "P[:640]")
        .replace("P[3200:]", "P[640:]")
        .replace("\np = 0.02", &format!("\np = \"0.25*exp(-{d2}/(2*(100*um)**2))\"\ndelay = \"0.2*ms + sqrt({d2})/(400*um/ms)\""));
    let (one, _) = run(&small);
    assert!(one.len() > 1000, "{} spikes", one.len());
    assert_eq!(run_with(&small, &RunOptions { threads: 2, ..Default::default() }).0, one);
    assert_eq!(run_with(&small, &RunOptions { shards: 3, ..Default::default() }).0, one);
    // The run's outputs hold the positions, a row (x, y, z) in µm per neuron.
    let dir = std::env::temp_dir().join(format!("spikeworld-positions-{}", std::process::id()));
    let sim = spikeworld_cli::builder().build(load(&small).unwrap(), &RunOptions::default()).expect("build");
    let manifest = sim.write_outputs(&dir, Default::default()).expect("outputs");
    assert!(manifest.files.iter().any(|f| f.path == "P.positions.npy" && f.unit == "um" && f.shape == [800, 3]));
    let a = spikeworld::util::npy::read_npy_f64(&dir.join("P.positions.npy"), Some(&[800, 3])).unwrap();
    for i in 0..800 {
        let want = [(i % 40) as f64 * 20.0, (i / 40) as f64 * 20.0, 0.0];
        for (k, w) in want.iter().enumerate() {
            assert!((a.values[3 * i + k] - w).abs() <= 1e-12 * w.max(1.0), "neuron {i} axis {k}: {}", a.values[3 * i + k]);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Refused where the scenario is read, at the key: a position that is no length, one that
/// is not finite (naming the neuron), an unknown axis, an empty table; `x_pre` from a
/// population or an encoder without positions; `x_post` onto one without.
#[test]
fn bad_positions_are_refused() {
    let base = grid("rule = \"one_to_one\"", "\"1 mV\"", "0");
    let e = load_err(&base.replace("x = \"(i % 12)*25*um\"", "x = \"1 mV\""));
    assert!(e.contains("positions.x") && e.contains("length"), "{e}");
    let e = load_err(&base.replace("x = \"(i % 12)*25*um\"", "x = \"log(i)*um\""));
    assert!(e.contains("positions.x") && e.contains("neuron 0") && e.contains("-inf"), "{e}");
    let e = load_err(&base.replace("x = \"(i % 12)*25*um\"", "w = 1"));
    assert!(e.contains("positions.w") && e.contains("unknown key"), "{e}");
    let e = load_err(&base.replace("positions = { x = \"(i % 12)*25*um\", y = \"(i // 12)*25*um\" }", "positions = {}"));
    assert!(e.contains("positions") && e.contains("`x`, `y` and/or `z`"), "{e}");
    let to_h = base.replace("to = \"G\"", "to = \"H\"").replace("one_to_one", "all_to_all");
    let e = load_err(&to_h.replace("\"1 mV\"", "\"x_post/um*mV\""));
    assert!(e.contains("weight") && e.contains("`x_post` is the target's position") && e.contains("no `positions`"), "{e}");
    let from_h = base.replace("from = \"G\"", "from = \"H\"").replace("one_to_one", "all_to_all");
    let e = load_err(&from_h.replace("delay = 0", "delay = \"y_pre/(1*um/ms)\""));
    assert!(e.contains("delay") && e.contains("`y_pre` is the source's position"), "{e}");
    let enc = format!("{}[[encoder]]\nname = \"E\"\nkind = \"poisson\"\nsize = 4\nrate = \"5 Hz\"\n", base.replace("from = \"G\"", "from = \"E\"").replace("one_to_one", "all_to_all"))
        .replace("rule = \"all_to_all\"", "rule = \"pairwise_bernoulli\"\np = \"0.5*(z_pre > 0*um)\"");
    let e = load_err(&enc);
    assert!(e.contains("`z_pre` is the source's position") && e.contains("encoder"), "{e}");
    // In the unit of a length.
    let e = load_err(&base.replace("\"1 mV\"", "\"x_pre*mV\""));
    assert!(e.contains("weight") && e.contains("expected a voltage"), "{e}");
}

/// A value per neuron reads its own position (`x`, `y`, `z`, as Brian2's `G.v = 'x/mm*mV'`
/// reads a `x : metre` parameter): an `init` value and a per-neuron parameter against the
/// formula (the parameter as the built network holds it); without positions, refused.
#[test]
fn values_per_neuron_read_their_own_position() {
    let text = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"0.3 ms\"\n[[population]]\nname = \"G\"\nsize = 30\nmodel = \"lif\"\npositions = { x = \"(i % 5)*20*um\", y = \"(i // 5)*1*mm\", z = \"-3*um\" }\nparams = { i_e = \"x/um*pA + y/mm*pA\" }\ninit = { v = \"-70*mV + z/um*mV + 0.001*x/um*mV\" }\n[[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"G\"\nvariables = [\"i_e\"]\n";
    let sc = load(text).unwrap_or_else(|e| panic!("{e}"));
    let p = &sc.populations[0];
    let key = entity_key("population", "G");
    let (vi, v) = &p.init[0];
    for i in 0..30 {
        let want = -73.0 + 0.001 * (i % 5) as f64 * 20.0;
        let got = v.at(0, key, purpose::INIT + *vi as u64, i);
        assert!((got - want).abs() < 1e-9, "neuron {i}: v {got} != {want}");
    }
    let (_, states) = run(text);
    for i in 0..30 {
        let want = (i % 5) as f64 * 20.0 + (i / 5) as f64;
        for x in of(&states[0][0], i, 30) {
            assert!((x - want).abs() < 1e-9, "neuron {i}: i_e {x} != {want}");
        }
    }
    let e = load_err(&text.replace("positions = { x = \"(i % 5)*20*um\", y = \"(i // 5)*1*mm\", z = \"-3*um\" }\n", ""));
    assert!(e.contains("params.i_e") && e.contains("`x` is the neuron's position") && e.contains("no `positions`"), "{e}");
    // A position does not read positions.
    let e = load_err(&text.replace("z = \"-3*um\"", "z = \"x\""));
    assert!(e.contains("positions.z") && e.contains("a position does not read the positions"), "{e}");
}

/// `distance` (NEST's `nest.spatial.distance`) is the ends' Euclidean distance, each axis's
/// difference wrapped into `[-P/2, P/2)` where the source population has a `period` `P`
/// (NEST's `edge_wrap`), through one value (weights) and a row's batch (`p`); a period of
/// the target alone wraps nothing; refusals.
#[test]
fn distance_is_euclidean_and_wraps_with_the_sources_period() {
    let wrap = |d: f64, p: f64| d - p * (d / p + 0.5).floor();
    let periodic = grid("rule = \"all_to_all\"", "\"distance/um*mV\"", "0").replace("y = \"(i // 12)*25*um\" }", "y = \"(i // 12)*25*um\", period = { x = \"300 um\" } }");
    let got = synapses(&periodic, None);
    assert_eq!(got.len(), 144 * 144);
    let torus = |s: usize, t: usize| {
        let ((a, b), (c, d)) = (at(s), at(t));
        (wrap(a - c, 300.0).powi(2) + (b - d).powi(2)).sqrt()
    };
    for &(s, t, w, _) in &got {
        assert!((w - torus(s, t)).abs() < 1e-9, "{s} -> {t}: {w} != {}", torus(s, t));
    }
    // Across the x edge: x = 0 and x = 275 um are 25 um apart.
    assert!(got.iter().any(|&(s, t, w, _)| s == 0 && t == 11 && (w - 25.0).abs() < 1e-9));
    // A row's batch: the pairs within 60 um on the torus, exactly.
    let near = periodic.replace("rule = \"all_to_all\"", "rule = \"pairwise_bernoulli\"\np = \"1.0*(distance < 60*um)\"");
    let pairs: Vec<(usize, usize)> = synapses(&near, None).iter().map(|x| (x.0, x.1)).collect();
    let want: Vec<(usize, usize)> = (0..144).flat_map(|s| (0..144).map(move |t| (s, t))).filter(|&(s, t)| torus(s, t) < 60.0).collect();
    assert!(want.len() > 144 * 5, "{}", want.len());
    assert_eq!(pairs, want);
    // The source's period: from a population without one onto `G`, nothing wraps.
    let onto = format!("{periodic}[[population]]\nname = \"F\"\nsize = 144\nmodel = \"lif\"\npositions = {{ x = \"(i % 12)*25*um\", y = \"(i // 12)*25*um\" }}\n").replace("from = \"G\"", "from = \"F\"");
    for (s, t, w, _) in synapses(&onto, None) {
        assert!((w - dist(s, t)).abs() < 1e-9, "{s} -> {t}: {w} != {}", dist(s, t));
    }
    // Refused: an end without positions, a period not above 0, an unknown axis.
    let e = load_err(&periodic.replace("to = \"G\"", "to = \"H\""));
    assert!(e.contains("weight") && e.contains("`distance` is the distance between the synapse's ends") && e.contains("no `positions`"), "{e}");
    let e = load_err(&periodic.replace("x = \"300 um\"", "x = \"0 um\""));
    assert!(e.contains("positions.period.x") && e.contains("must be > 0"), "{e}");
    let e = load_err(&periodic.replace("x = \"300 um\"", "w = \"300 um\""));
    assert!(e.contains("positions.period.w") && e.contains("unknown key"), "{e}");
}
