//! Brian2's expressions for a projection's weights (`syn.w = 'rand()*w_max'`): Brian2's
//! `i`, `j`, `N_pre`, `N_post` against the synapses made, a distribution written as an
//! expression (the same bits, whole or by target ranges), and the refusals; and the same
//! for delays (`S.delay = 'rand()*5*ms'`), rounded to steps as a quantity is.

use spikeworld::prelude::*;

mod common;
use common::*;

/// Two `lif` populations and one projection from `A[2:7]` to `B[1:4]` by `rule`, with
/// `weight` (mV at `v`).
fn net(rule: &str, weight: &str) -> String {
    format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\nseed = 5\n[[population]]\nname = \"A\"\nsize = 9\nmodel = \"lif\"\n[[population]]\nname = \"B\"\nsize = 6\nmodel = \"lif\"\n[[projection]]\nname = \"ab\"\nfrom = \"A[2:7]\"\nto = \"B[1:4]\"\n{rule}\nreceptor = \"v\"\nweight = {weight}\n"
    )
}

/// The synapses made, as (source, target, weight, delay in steps) in the selections'
/// indices, onto the target ranges `ranges` of `B` (`None`: all).
fn synapses(text: &str, ranges: Option<&[std::ops::Range<usize>]>) -> Vec<(usize, usize, f64, u32)> {
    let sc = load(text).unwrap();
    let drawn = spikeworld_cli::builder().draw_synapses(&sc, ranges).unwrap();
    let mut out = Vec::new();
    for d in &drawn {
        for s in 0..d.csr.row_ptr.len() - 1 {
            for k in d.csr.row(s) {
                out.push((s, d.csr.col[k] as usize - 1, d.weight_of(k), d.delay.of(k)));
            }
        }
    }
    out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    out
}

/// `i` and `j` are the source's and the target's index in their selections, `N_pre` and
/// `N_post` the selections' sizes: every synapse of `all_to_all` has `1 + 10 i + 100 j +
/// 1000 N_pre + 10000 N_post` mV.
#[test]
fn place_names_are_the_synapses_own() {
    let got = synapses(&net("rule = \"all_to_all\"", "\"(1 + 10*i + 100*j + 1000*N_pre + 10000*N_post)*mV\""), None);
    assert_eq!(got.len(), 15);
    for (i, j, w, _) in got {
        assert_eq!(w, 1.0 + 10.0 * i as f64 + 100.0 * j as f64 + 1000.0 * 5.0 + 10000.0 * 3.0, "synapse {i} -> {j}");
    }
}

/// `"rand()*2*mV"` is the bits of `{ dist = "uniform", low = "0 mV", high = "2 mV" }`
/// and `"0.5*mV + 0.1*mV*randn()"` those of the normal distribution, whole and drawn by
/// target ranges (as two shards draw them).
#[test]
fn distributions_as_expressions_are_the_same_bits() {
    let rule = "rule = \"pairwise_bernoulli\"\np = 0.6";
    for (dist, expr) in [
        ("{ dist = \"uniform\", low = \"0 mV\", high = \"2 mV\" }", "\"rand()*2*mV\""),
        ("{ dist = \"normal\", mean = \"0.5 mV\", std = \"0.1 mV\" }", "\"0.5*mV + 0.1*mV*randn()\""),
    ] {
        let want = synapses(&net(rule, dist), None);
        assert!(want.len() > 3 && want.windows(2).any(|w| w[0].2 != w[1].2), "{dist}: {want:?}");
        // Whole, and as two shards hold `B` (neurons 0..2 and 2..6; `A` whole in each).
        let whole = synapses(&net(rule, expr), None);
        let mut split = synapses(&net(rule, expr), Some(&[0..9, 0..2]));
        split.extend(synapses(&net(rule, expr), Some(&[0..9, 2..6])));
        split.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for got in [whole, split] {
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!((g.0, g.1, g.2.to_bits()), (w.0, w.1, w.2.to_bits()), "{expr}");
            }
        }
    }
}

/// Refused: a name a synapse does not have (`N`), a wrong unit (at the value, with the
/// key), an expression for a shared kernel; and, when the synapses are made, a weight
/// that is not finite or a negative conductance, naming the synapse.
#[test]
fn bad_weight_expressions_are_refused() {
    let e = load_err(&net("rule = \"all_to_all\"", "\"i*mV/N\""));
    assert!(e.contains("`projection[0].weight`") && e.contains("unknown name `N`: a value per synapse reads") && e.contains("eq.toml:"), "{e}");
    let e = load_err(&net("rule = \"all_to_all\"", "\"rand()*nS\""));
    assert!(e.contains("`projection[0].weight`") && e.contains("is in siemens; expected a voltage (in mV)"), "{e}");
    let build_err = |text: &str| match spikeworld_cli::builder().build(load(text).unwrap(), &RunOptions::default()) {
        Ok(_) => panic!("built:\n{text}"),
        Err(e) => e.to_string(),
    };
    let e = build_err(&net("rule = \"all_to_all\"", "\"log(j - 1)*mV\""));
    assert!(e.contains("projection `ab`: `weight` = `log(j - 1)*mV` is NaN for the synapse from source 0 to target 0: expected a finite number"), "{e}");
    let cond = net("rule = \"all_to_all\"", "\"(j - 1)*nS\"").replace("model = \"lif\"", "model = \"lif_cond_exp\"").replace("receptor = \"v\"", "receptor = \"exc\"");
    let e = build_err(&cond);
    assert!(e.contains("is -1 for the synapse from source 0 to target 0: a conductance increment must be >= 0"), "{e}");
}

/// The synapses' delays in steps of 0.1 ms, as (source, target, steps) in the selections'
/// indices, onto the target ranges `ranges` of `B`; and their weights' bits.
fn delays(text: &str, ranges: Option<&[std::ops::Range<usize>]>) -> (Vec<(usize, usize, u32)>, Vec<u64>) {
    let got = synapses(text, ranges);
    (got.iter().map(|x| (x.0, x.1, x.3)).collect(), got.iter().map(|x| x.2.to_bits()).collect())
}

/// Brian2's `S.delay = '...'`: a delay written as an expression reads the synapse's place
/// and is rounded to whole steps of dt, as a quantity is.
#[test]
fn delays_as_expressions_read_the_synapses_place() {
    let text = net("rule = \"all_to_all\"", "\"1 mV\"") + "delay = \"(0.1 + 0.2*i + 0.1*j + 0.01*N_pre*N_post - 0.14)*ms\"\n";
    let (got, _) = delays(&text, None);
    assert_eq!(got.len(), 15);
    for (i, j, d) in got {
        // 0.1 + 0.2 i + 0.1 j + 0.15 - 0.14 ms = 1.1 + 2 i + j steps: rounded to 1 + 2 i + j.
        assert_eq!(d as usize, 1 + 2 * i + j, "synapse {i} -> {j}");
    }
}

/// `"rand()*3*ms"` is the bits of `{ dist = "uniform", low = "0 ms", high = "3 ms" }`
/// and `"1*ms + 0.2*ms*randn()"` those of the normal distribution, whole and by target
/// ranges; the weights' draws are not moved by the delays' (each has its stream).
#[test]
fn delay_distributions_as_expressions_are_the_same_bits() {
    let rule = "rule = \"pairwise_bernoulli\"\np = 0.6";
    let weight = "{ dist = \"uniform\", low = \"0 mV\", high = \"2 mV\" }";
    for (dist, expr) in [
        ("{ dist = \"uniform\", low = \"0 ms\", high = \"3 ms\" }", "\"rand()*3*ms\""),
        ("{ dist = \"normal\", mean = \"1 ms\", std = \"0.2 ms\" }", "\"1*ms + 0.2*ms*randn()\""),
    ] {
        let (want, want_w) = delays(&(net(rule, weight) + &format!("delay = {dist}\n")), None);
        assert!(want.len() > 3 && want.windows(2).any(|w| w[0].2 != w[1].2), "{dist}: {want:?}");
        let with = net(rule, weight) + &format!("delay = {expr}\n");
        let (whole, whole_w) = delays(&with, None);
        let (mut split, _) = delays(&with, Some(&[0..9, 0..2]));
        split.extend(delays(&with, Some(&[0..9, 2..6])).0);
        split.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        assert_eq!(whole, want, "{expr}");
        assert_eq!(split, want, "{expr}, by target ranges");
        assert_eq!(whole_w, want_w, "{expr}: the weights");
    }
}

/// A network whose delays are `"rand()*3*ms"` runs as the one with the uniform
/// distribution: the same spikes, in one world and in two shards.
#[test]
fn a_network_with_delay_expressions_runs_as_with_the_distribution() {
    let coba = std::fs::read_to_string(repo().join("scenarios/coba.toml")).unwrap();
    let small = coba.replace("t_stop = \"1 s\"", "t_stop = \"200 ms\"").replace("size = 4000", "size = 800").replace("P[:3200]", "P[:640]").replace("P[3200:]", "P[640:]").replace("p = 0.02", "p = 0.1");
    let with = |delay: &str| small.replace("receptor = \"exc\"\n", &format!("receptor = \"exc\"\ndelay = {delay}\n"));
    let (want, _) = run(&with("{ dist = \"uniform\", low = \"0 ms\", high = \"3 ms\" }"));
    let (none, _) = run(&small);
    assert!(want.len() > 1000 && want != none, "{} spikes; the delays change them", want.len());
    assert_eq!(run(&with("\"rand()*3*ms\"")).0, want);
    assert_eq!(run_with(&with("\"rand()*3*ms\""), &RunOptions { shards: 2, ..Default::default() }).0, want);
}

/// Refused: a wrong unit (at the value, with the key); and, when the synapses are made, a
/// delay below 0, not finite or too long, naming the synapse.
#[test]
fn bad_delay_expressions_are_refused() {
    let with = |delay: &str| net("rule = \"all_to_all\"", "\"1 mV\"") + &format!("delay = {delay}\n");
    let e = load_err(&with("\"rand()*mV\""));
    assert!(e.contains("`projection[0].delay`") && e.contains("expected a time (in ms)") && e.contains("eq.toml:"), "{e}");
    let build_err = |text: &str| match spikeworld_cli::builder().build(load(text).unwrap(), &RunOptions::default()) {
        Ok(_) => panic!("built:\n{text}"),
        Err(e) => e.to_string(),
    };
    let e = build_err(&with("\"(j - 1)*ms\""));
    assert!(e.contains("projection `ab`: `delay` = `(j - 1)*ms` is -1 ms for the synapse from source 0 to target 0: a delay must be >= 0"), "{e}");
    let e = build_err(&with("\"log(j - 1)*ms\""));
    assert!(e.contains("is NaN ms for the synapse from source 0 to target 0: expected a finite number"), "{e}");
    let e = build_err(&with("\"(1 + i)*1e6*second\""));
    assert!(e.contains("is 1000000000 ms for the synapse from source 0 to target 0: 1e10 steps of dt (0.1 ms); at most 4294967293 steps"), "{e}");
}
