//! Brian2's expressions for one value per neuron (`group.v = '-60*mV + 10*mV*rand()'`) in
//! `init` and per-neuron `params`, of any model: against the formula with the neuron's
//! own stream, the distributions written as expressions (the same bits), every split, and
//! the refusals.

use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, entity_key, purpose};

mod common;
use common::*;

/// A population of `lif` with these `params` and `init`, and no input.
fn lif(size: usize, params: &str, init: &str) -> String {
    format!("[simulation]\ndt = \"0.1 ms\"\nt_stop = \"0.1 ms\"\nseed = 7\n[[population]]\nname = \"P\"\nsize = {size}\nmodel = \"lif\"\nparams = {{ {params} }}\ninit = {{ {init} }}\n")
}

/// The values a built network holds: `P`'s `var` before any step.
fn built(text: &str, var: &str, opts: &RunOptions) -> Vec<f64> {
    let sim = spikeworld_cli::builder().build(load(text).unwrap(), opts).unwrap();
    sim.state("P", var).unwrap()
}

/// Neuron `i`'s stream for `init` of variable `k` (lif's `v` is 0), seed 7.
fn stream(purpose: u64, i: usize) -> Stream {
    Stream::new(7, entity_key("population", "P"), purpose, i as u64)
}

/// Each `rand()` and `randn()` is a draw of its own, in the order written, from the
/// neuron's stream (seed, population, `INIT` + variable, neuron); `i` and `N` are the
/// neuron's index and the population's size; units convert to the core's (mV).
#[test]
fn values_are_the_formula_with_the_neurons_own_stream() {
    let n = 50;
    let got = built(&lif(n, "", "v = \"-70*mV + 15*mV*rand() + 0.5*mV*randn() + 0.002*volt*i/N\""), "v", &RunOptions::default());
    for (i, g) in got.iter().enumerate() {
        let mut s = stream(purpose::INIT, i);
        let (u, z) = (s.uniform(), s.normal());
        let want = -70.0 + 15.0 * u + 0.5 * z + 2.0 * i as f64 / n as f64;
        assert_eq!(g.to_bits(), want.to_bits(), "neuron {i}: {g} vs {want}");
    }
    // Two neurons differ; the same text gives the same values in another run.
    assert_ne!(got[0], got[1]);
    assert_eq!(got, built(&lif(n, "", "v = \"-70*mV + 15*mV*rand() + 0.5*mV*randn() + 0.002*volt*i/N\""), "v", &RunOptions::default()));
}

/// `{ dist = "uniform" }` and `{ dist = "normal" }` written as Brian2 writes them
/// (`low + (high - low)*rand()`, `mean + std*randn()`) are the same bits, for `init` and
/// for a per-neuron parameter, on 1 thread, 2 threads and in 3 shards.
#[test]
fn distributions_as_expressions_are_the_same_bits() {
    let n = 1000;
    let pairs = [
        ("v = { dist = \"uniform\", low = \"-70 mV\", high = \"-55 mV\" }", "v = \"-70*mV + 15*mV*rand()\"", "v"),
        ("v = { dist = \"normal\", mean = \"-65 mV\", std = \"4 mV\" }", "v = \"-65*mV + 4*mV*randn()\"", "v"),
    ];
    for (dist, expr, var) in pairs {
        let want = built(&lif(n, "", dist), var, &RunOptions::default());
        for opts in [RunOptions::default(), RunOptions { threads: 2, ..Default::default() }, RunOptions { shards: 3, ..Default::default() }] {
            assert!(built(&lif(n, "", expr), var, &opts) == want, "{expr} {opts:?}: not the distribution's values");
        }
    }
    // A per-neuron parameter: the same spikes as with the distribution.
    let dist = lif(n, "i_e = \"400 pA\", tau_m = { dist = \"uniform\", low = \"10 ms\", high = \"20 ms\" }", "").replace("0.1 ms\"\nseed", "50 ms\"\nseed");
    let expr = lif(n, "i_e = \"400 pA\", tau_m = \"10*ms + 10*ms*rand()\"", "").replace("0.1 ms\"\nseed", "50 ms\"\nseed");
    let spikes = |text: &str| run_with(&(text.to_string() + "[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"P\"\n"), &RunOptions::default()).0;
    let a = spikes(&dist);
    assert!(a.len() > n, "{} spikes", a.len());
    assert!(a == spikes(&expr), "tau_m as an expression: other spikes");
}

/// Readable errors at the value, with the key: a wrong unit, an unknown name, arguments
/// to `rand`, a syntax error, a value that is not finite for some neuron (seeded), a
/// parameter the model refuses for neuron 3 (its `i`), and an
/// expression for a parameter that takes one value for the population.
#[test]
fn bad_expressions_are_refused_at_the_value() {
    let cases = [
        ("", "v = \"-70*mV + 15*nA*rand()\"", "`population[0].init.v`", "`+` of volt and amp"),
        ("", "v = \"-70*nA\"", "`population[0].init.v`", "is in amp; expected a voltage (in mV)"),
        ("", "v = \"-70*mV + Vt*rand()\"", "`population[0].init.v`", "unknown name `Vt`"),
        ("", "v = \"rand(1)*mV\"", "`population[0].init.v`", "`rand()` takes no arguments"),
        ("", "v = \"-70*mV +\"", "`population[0].init.v`", "expected"),
        ("", "v = \"log(rand() - 0.5)*mV\"", "`population[0].init.v`", "is NaN for neuron"),
        ("tau_m = \"5*ms*(3 - i)\"", "", "`population[0].params.tau_m`", "neuron 3: parameter `tau_m` must be > 0"),
    ];
    for (params, init, key, want) in cases {
        let text = lif(10, params, init);
        let e = load_err(&text);
        assert!(e.contains(want) && e.contains(key) && e.contains("eq.toml:"), "{params}{init}:\nwant `{want}` at {key} in: {e}");
    }
    // A model parameter that is not per neuron (`reset` is a choice; the equations' `m`
    // is a constant of its coefficients under `exact`).
    let m = "[neuron_models.m]\nequations = \"dv/dt = -v/tau : volt\"\nparams = { tau = \"10 ms\" }\n";
    let text = lif(10, "", "").replace("model = \"lif\"", "model = \"m\"").replace("[[population]]", &format!("{m}[[population]]")).replace("params = {  }", "params = { tau = \"10*ms*(1 + rand())\" }");
    let e = load_err(&text);
    assert!(e.contains("params.tau") && e.contains("not a list, a distribution, a file or an expression"), "{e}");
}
