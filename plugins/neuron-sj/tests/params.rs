//! Bad parameters are refused when the scenario loads, with a message that names the
//! parameter and what was expected; good ones (the defaults) load.

mod common;
use common::*;

fn scenario(model: &str, params: &str) -> String {
    format!(
        r#"
        [simulation]
        dt = "1 ms"
        t_stop = "10 ms"
        [[population]]
        name = "n"
        size = 2
        model = "{model}"
        params = {{ {params} }}
        "#
    )
}

fn error_of(model: &str, params: &str) -> String {
    match try_load(&scenario(model, params)) {
        Ok(_) => panic!("{model} {{{params}}} should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_load_for_every_model() {
    for model in ["sj_if", "sj_lif", "sj_plif", "sj_rif", "sj_qif", "sj_eif", "sj_izhikevich", "sf_if", "sf_lif"] {
        if let Err(e) = try_load(&scenario(model, "")) {
            panic!("{model} with its defaults should load: {e}");
        }
    }
}

#[test]
fn bad_parameters_name_the_parameter_and_the_bound() {
    // (model, params, words the message must contain)
    let cases: &[(&str, &str, &[&str])] = &[
        ("sj_lif", "tau = 1.0", &["`tau`", "> 1", "found 1"]),
        ("sj_lif", "tau = 0.5", &["`tau`", "> 1"]),
        ("sj_plif", "init_tau = 1.0", &["`init_tau`", "> 1"]),
        ("sj_plif", "init_tau = -3.0", &["`init_tau`", "> 1"]),
        ("sj_qif", "tau = 0.9", &["`tau`", "> 1"]),
        ("sj_qif", "a0 = 0.0", &["`a0`", "> 0"]),
        ("sj_qif", "v_reset = 2.0", &["`v_threshold`", "`v_reset`"]),
        ("sj_qif", "v_rest = -0.5", &["`v_rest`", ">= `v_reset`"]),
        ("sj_eif", "delta_t = 0.0", &["`delta_t`", "> 0"]),
        ("sj_eif", "tau = 1.0", &["`tau`", "> 1"]),
        ("sj_eif", "v_rest = -0.5", &["`v_rest`", ">= `v_reset`"]),
        ("sj_izhikevich", "tau = 1.0", &["`tau`", "> 1"]),
        ("sj_izhikevich", "a0 = -1.0", &["`a0`", "> 0"]),
        ("sj_izhikevich", "tau_w = 0.0", &["`tau_w`", "> 0"]),
        ("sj_rif", "amplitude = -1.0", &["`amplitude`", ">= 0"]),
        ("sj_rif", "amplitude = 0.01, init_w = 0.02", &["`init_w`", "(-amplitude, amplitude)"]),
        ("sf_lif", "tau = 0.0", &["`tau`", "> 0"]),
        ("sf_lif", "r = 0.0", &["`r`", "> 0"]),
        ("sf_if", "v_threshold = 0.0", &["`v_threshold`", "> `v_reset`"]),
        ("sj_lif", r#"decay_input = "maybe""#, &["decay_input", "true", "false"]),
        ("sj_if", r#"reset = "gentle""#, &["reset", "hard", "soft"]),
        ("sj_lif", r#"tau = "2 ms""#, &["tau"]),
    ];
    for &(model, params, words) in cases {
        let e = error_of(model, params);
        for w in words {
            assert!(e.contains(w), "{model} {{{params}}}: the error should mention {w}: {e}");
        }
    }
}

#[test]
fn soft_reset_lifts_the_hard_reset_orderings() {
    // SpikingJelly checks v_threshold > v_reset and v_rest >= v_reset only when v_reset is
    // a number; with a soft reset v_reset is not used.
    for model in ["sj_qif", "sj_eif"] {
        if let Err(e) = try_load(&scenario(model, r#"reset = "soft", v_reset = 5.0"#)) {
            panic!("{model} with a soft reset should ignore v_reset: {e}");
        }
    }
}
