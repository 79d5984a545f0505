//! Models written as equations: each integration scheme against its formula computed here,
//! `exact` against the analytic solution, Brian2's refractoriness and order within a step,
//! per-neuron parameters, every engine, resume, and errors that say where.

use spikeworld::prelude::*;

mod common;
use common::*;

const RELAX: &str = "equations = '''\ndv/dt = (E - v)/tau : volt\nE : volt\ntau : second\n'''";

#[test]
fn euler_rk2_rk4_step_as_brian2_writes_them() {
    let (e, tau, dt, v0) = (-50.0f64, 10.0f64, 0.1f64, -70.0f64);
    let f = |v: f64| (e - v) / tau;
    for method in ["euler", "rk2", "rk4"] {
        let model = format!("{RELAX}\nmethod = \"{method}\"");
        let (_, st) = run(&single(&model, 1, "E = \"-50 mV\", tau = \"10 ms\"", "v = \"-70 mV\"", "20 ms", "\"v\""));
        let mut v = v0;
        for (k, got) in st[0][0].iter().enumerate() {
            v = match method {
                "euler" => dt * f(v) + v,
                "rk2" => {
                    let k1 = dt * f(v);
                    dt * f(0.5 * k1 + v) + v
                }
                _ => {
                    let k1 = dt * f(v);
                    let k2 = dt * f(0.5 * k1 + v);
                    let k3 = dt * f(0.5 * k2 + v);
                    let k4 = dt * f(k3 + v);
                    k1 / 6.0 + k2 / 3.0 + k3 / 3.0 + k4 / 6.0 + v
                }
            };
            assert_eq!(got.to_bits(), v.to_bits(), "{method}: step {k}: {got} vs {v}");
        }
        assert_eq!(st[0][0].len(), 200);
    }
}

#[test]
fn exact_is_the_analytic_solution_of_a_coupled_system() {
    // v driven by a decaying g: v(t) = E + (v0 - E) e^{-t/tm} + g0 te/(te - tm) (e^{-t/te} - e^{-t/tm}).
    let model = "equations = '''\ndv/dt = (g - (v - E))/tm : volt\ndg/dt = -g/te : volt\n'''\nparams = { E = \"-60 mV\", tm = \"20 ms\", te = \"5 ms\" }";
    let (_, st) = run(&single(model, 1, "", "v = \"-70 mV\", g = \"12 mV\"", "50 ms", "\"v\", \"g\""));
    let (e, tm, te, v0, g0) = (-60.0f64, 20.0f64, 5.0f64, -70.0f64, 12.0f64);
    for (k, (v, g)) in st[0][0].iter().zip(&st[0][1]).enumerate() {
        let t = (k + 1) as f64 * 0.1;
        let want_v = e + (v0 - e) * (-t / tm).exp() + g0 * te / (te - tm) * ((-t / te).exp() - (-t / tm).exp());
        let want_g = g0 * (-t / te).exp();
        assert!((v - want_v).abs() < 1e-11, "step {k}: v {v} vs {want_v}");
        assert!((g - want_g).abs() < 1e-12, "step {k}: g {g} vs {want_g}");
    }
    // `exact` is the default for linear equations, and is refused for others.
    let nonlinear = "equations = '''\ndv/dt = -v*v/(mV*ms) : volt\n'''\nmethod = \"exact\"";
    let e = load_err(&single(nonlinear, 1, "", "", "1 ms", "\"v\""));
    assert!(e.contains("not linear") && e.contains("product of state variables") && e.contains("neuron_models.m.equations"), "{e}");
}

/// A neuron driven above threshold: Brian2's `(unless refractory)`: after a spike at step
/// k, `v` stays at the reset until step k + T, T = timestep(refractory).
#[test]
fn refractoriness_and_reset_are_brian2s() {
    let model = "equations = '''\ndv/dt = (vd - v)/tau : volt (unless refractory)\ndx/dt = -x/tau : volt\n'''\nthreshold = \"v > -50*mV\"\nreset = \"v = -70*mV; x += 1*mV\"\nrefractory = \"2 ms\"\nmethod = \"euler\"\nparams = { vd = \"-40 mV\", tau = \"10 ms\" }";
    let (spikes, st) = run(&single(model, 1, "", "v = \"-70 mV\"", "100 ms", "\"v\", \"x\", \"refr\""));
    let (vd, tau, dt, big_t) = (-40.0f64, 10.0f64, 0.1f64, 20u64);
    let (mut v, mut x, mut last): (f64, f64, Option<u64>) = (-70.0, 0.0, None);
    let mut want = Vec::new();
    for k in 0..1000u64 {
        let refractory = last.is_some_and(|s| k < s + big_t);
        if !refractory {
            v = dt * ((vd - v) / tau) + v;
        }
        x = dt * (-x / tau) + x;
        if !refractory && v > -50.0 {
            want.push((k, 0u32));
            v = -70.0;
            x += 1.0;
            last = Some(k);
        }
        assert_eq!(st[0][0][k as usize].to_bits(), v.to_bits(), "v at step {k}");
        assert_eq!(st[0][1][k as usize].to_bits(), x.to_bits(), "x at step {k}");
    }
    assert!(want.len() > 5);
    assert_eq!(spikes, want);
    // The counter: T − 1 right after a spike, down to 0 when the neuron integrates again.
    let s = want[0].0 as usize;
    assert_eq!(st[0][2][s], (big_t - 1) as f64);
    assert_eq!(st[0][2][s + big_t as usize - 1], 0.0);
}

/// Brian2 runs `on_pre` after the threshold and before the reset: an input at a variable
/// the reset sets, arriving in the step after the spike, is overwritten; one at another
/// variable is kept.
#[test]
fn input_overwritten_by_the_reset_is_dropped() {
    let text = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"3 ms\"\n[neuron_models.m]\nequations = '''\ndv/dt = 0/ms : 1\ndx/dt = 0/ms : 1\n'''\nthreshold = \"v > 0.5\"\nreset = \"v = 0\"\nreceptors = [\"v\", \"x\"]\n\
        [[population]]\nname = \"n\"\nsize = 1\nmodel = \"m\"\n\
        [[encoder]]\nname = \"g\"\nkind = \"spike_generator\"\nsize = 1\ntimes = [\"1.0 ms\", \"1.1 ms\"]\nindices = [0, 0]\n\
        [[projection]]\nfrom = \"g\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = 1\n\
        [[projection]]\nfrom = \"g\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"x\"\nweight = 1\n\
        [[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [\"v\", \"x\"]\n[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n";
    let (spikes, st) = run(text);
    // The first input acts in step 11: v = 1 > 0.5, a spike, v = 0. The second, due in
    // step 12, is dropped at v (Brian2: v += 1, then the reset) and kept at x.
    assert_eq!(spikes, vec![(11, 0)]);
    assert_eq!(st[0][0][12], 0.0);
    assert_eq!(st[0][1][12], 2.0);
}

/// A rate (Hz, the core's unit) enters the equations in 1/ms and leaves in Hz again.
#[test]
fn rates_keep_their_unit() {
    let model = "equations = '''\ndr/dt = (r0 - r)/tau : Hz\n'''\nthreshold = \"r > 15*Hz\"\nreset = \"r = 0*Hz\"\nmethod = \"euler\"\nparams = { r0 = \"20 Hz\", tau = \"10 ms\" }";
    let (spikes, st) = run(&single(model, 1, "", "r = \"5 Hz\"", "20 ms", "\"r\""));
    let mut r = 5.0f64;
    let mut want = Vec::new();
    for (k, got) in st[0][0].iter().enumerate() {
        // In 1/ms: r0 = 20 * 1e-3, r = r_Hz * 1e-3; the threshold 15 * 1e-3; back in Hz.
        let x = r * 1e-3;
        let x = 0.1 * ((20.0 * 1e-3 - x) / 10.0) + x;
        r = if x > 15.0 * 1e-3 {
            want.push((k as u64, 0));
            0.0
        } else {
            x / 1e-3
        };
        assert_eq!(got.to_bits(), r.to_bits(), "step {k}: {got} Hz vs {r} Hz");
    }
    assert_eq!(spikes, want);
    assert!(!want.is_empty());
}

/// Brian2 leaves a variable marked `(unless refractory)` alone in `on_pre` while the
/// neuron is refractory: from the spike's step to the last refractory step, whose input
/// spikeworld adds in the next step. (Brian2 2.9, this neuron with inputs whose `on_pre`
/// runs at steps 18 to 21: v = -65, -65, -64.05, -63.1095 at steps 18 to 21.)
#[test]
fn input_to_a_clamped_variable_is_dropped_while_refractory() {
    let text = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"2.4 ms\"\n[neuron_models.m]\nequations = \"dv/dt = (-60*mV - v)/(10*ms) : volt (unless refractory)\"\nthreshold = \"v > -50*mV\"\nreset = \"v = -65*mV\"\nrefractory = \"2 ms\"\nmethod = \"euler\"\nreceptors = [\"v\"]\n\
        [[population]]\nname = \"n\"\nsize = 1\nmodel = \"m\"\ninit = { v = \"-49 mV\" }\n\
        [[encoder]]\nname = \"g\"\nkind = \"spike_generator\"\nsize = 1\ntimes = [\"1.8 ms\", \"1.9 ms\", \"2.0 ms\", \"2.1 ms\"]\nindices = [0, 0, 0, 0]\n\
        [[projection]]\nfrom = \"g\"\nto = \"n\"\nrule = \"all_to_all\"\nreceptor = \"v\"\nweight = \"0.9 mV\"\n\
        [[monitor]]\nname = \"st\"\nkind = \"state\"\ntarget = \"n\"\nvariables = [\"v\"]\n[[monitor]]\nname = \"sp\"\nkind = \"spikes\"\ntarget = \"n\"\n";
    let (spikes, st) = run(text);
    assert_eq!(spikes, vec![(0, 0)]);
    let v = &st[0][0];
    let euler = |v: f64| 0.1 * ((-60.0 - v) / 10.0) + v;
    assert!(v[..20].iter().all(|&x| x == -65.0), "{:?}", &v[..20]);
    // The input of step 20 (Brian2's `on_pre` in step 19) is dropped; those of 21 and 22 act.
    assert_eq!(v[20], euler(-65.0));
    assert_eq!(v[21], euler(v[20] + 0.9));
    assert_eq!(v[22], euler(v[21] + 0.9));
    // Brian2's samples (its `on_pre` of the step already applied).
    assert!((v[20] + 0.9 - -64.05).abs() < 1e-12 && (v[21] + 0.9 - -63.1095).abs() < 1e-12);
}

/// A population holds per neuron only the parameters it gives per neuron: a model with
/// many parameters may vary a few (a model has at most 16 state rows).
#[test]
fn only_the_parameters_given_per_neuron_take_rows() {
    let names: Vec<String> = (0..16).map(|k| format!("p{k}")).collect();
    let sum = names.join(" + ");
    let decl = names.iter().map(|n| format!("{n} : volt")).collect::<Vec<_>>().join("\n");
    let model = format!("equations = '''\ndv/dt = ({sum} - v)/(10*ms) : volt\n{decl}\n'''\nmethod = \"euler\"");
    let some = names.iter().map(|n| if n == "p3" { format!("{n} = [\"1 mV\", \"2 mV\"]") } else { format!("{n} = \"0 mV\"") }).collect::<Vec<_>>().join(", ");
    let (_, st) = run(&single(&model, 2, &some, "", "0.1 ms", "\"v\", \"p3\""));
    assert_eq!(of(&st[0][0], 0, 2), vec![0.1 * (1.0 / 10.0)]);
    assert_eq!(of(&st[0][0], 1, 2), vec![0.1 * (2.0 / 10.0)]);
    assert_eq!(of(&st[0][1], 1, 2), vec![2.0], "the row of p3");
    let all = names.iter().map(|n| format!("{n} = [\"1 mV\", \"2 mV\"]")).collect::<Vec<_>>().join(", ");
    let e = load_err(&single(&model, 2, &all, "", "0.1 ms", "\"v\""));
    assert!(e.contains("a model holds at most 16 rows"), "{e}");
}

/// Brian2's documented Izhikevich model, verbatim: `u` and `I` in volt/second (a unit the
/// core has no name for: numbers in mV/ms), constants written as Brian2 writes them.
#[test]
fn brian2s_izhikevich_runs_verbatim() {
    let model = "equations = '''\ndv/dt = (0.04/ms/mV)*v**2 + (5/ms)*v + 140*mV/ms - u + I : volt\ndu/dt = a*(b*v - u) : volt/second\nI : volt/second\n'''\nthreshold = \"v > 30*mV\"\nreset = \"v = c; u += d\"\nmethod = \"euler\"\nparams = { a = \"0.02/ms\", b = \"0.2/ms\", c = \"-65*mV\", d = \"2*mV/ms\" }";
    let (spikes, st) = run(&single(model, 1, "I = 10", "v = \"-65 mV\", u = -13", "200 ms", "\"v\", \"u\""));
    // The same operations by hand, in mV and ms (Brian2's own bits differ: it computes in SI).
    let (mut v, mut u, mut want) = (-65.0f64, -13.0f64, Vec::new());
    for k in 0..2000u64 {
        let dv = 0.04 * (v * v) + 5.0 * v + 140.0 - u + 10.0;
        let du = 0.02 * (0.2 * v - u);
        (v, u) = (0.1 * dv + v, 0.1 * du + u);
        if v > 30.0 {
            want.push((k, 0));
            v = -65.0;
            u += 2.0;
        }
        assert_eq!(st[0][0][k as usize].to_bits(), v.to_bits(), "v at step {k}: {} vs {v}", st[0][0][k as usize]);
        assert_eq!(st[0][1][k as usize].to_bits(), u.to_bits(), "u at step {k}");
    }
    assert!(want.len() > 5);
    assert_eq!(spikes, want);
}

#[test]
fn per_neuron_parameters_equal_populations_of_one() {
    let model = format!("{RELAX}\nthreshold = \"v > -52*mV\"\nreset = \"v = -70*mV\"\nmethod = \"rk4\"");
    let taus = [5.0, 7.5, 10.0, 12.5];
    let list = taus.iter().map(|t| format!("\"{t} ms\"")).collect::<Vec<_>>().join(", ");
    let (spikes, st) = run(&single(&model, 4, &format!("E = \"-50 mV\", tau = [{list}]"), "v = \"-70 mV\"", "50 ms", "\"v\""));
    for (i, tau) in taus.iter().enumerate() {
        let (one_spikes, one) = run(&single(&model, 1, &format!("E = \"-50 mV\", tau = \"{tau} ms\""), "v = \"-70 mV\"", "50 ms", "\"v\""));
        let mine: Vec<u64> = spikes.iter().filter(|s| s.1 == i as u32).map(|s| s.0).collect();
        assert_eq!(mine, one_spikes.iter().map(|s| s.0).collect::<Vec<_>>(), "neuron {i}");
        assert_eq!(of(&st[0][0], i, 4), one[0][0], "neuron {i}: v");
        assert!(!mine.is_empty());
    }
    // Parameters in `exact`'s coefficients stay per population.
    let e = load_err(&single(RELAX, 2, "E = \"-50 mV\", tau = [\"5 ms\", \"6 ms\"]", "", "1 ms", "\"v\""));
    assert!(e.contains("tau"), "{e}");
    // Those outside them may vary.
    let (_, st) = run(&single(RELAX, 2, "E = [\"-50 mV\", \"-40 mV\"], tau = \"10 ms\"", "v = \"-70 mV\"", "1 ms", "\"v\""));
    assert!(of(&st[0][0], 0, 2)[9] < of(&st[0][0], 1, 2)[9]);
}

#[test]
fn every_engine_gives_coba_equations_the_built_in_models_spikes() {
    let short = |t: &str| t.replace("t_stop = \"1 s\"", "t_stop = \"100 ms\"");
    let eq = short(&std::fs::read_to_string(repo().join("scenarios/coba_equations.toml")).unwrap());
    let built_in = short(&std::fs::read_to_string(repo().join("scenarios/coba.toml")).unwrap());
    let (want, _) = run(&built_in);
    assert!(want.len() > 1000);
    for engine in [EngineKind::Cpu, EngineKind::Tensor, EngineKind::Device] {
        let (got, _) = run_with(&eq, &RunOptions { engine, ..Default::default() });
        assert_eq!(got, want, "{engine:?}");
    }
    let (got, _) = run_with(&eq, &RunOptions { shards: 3, ..Default::default() });
    assert_eq!(got, want, "3 shards");
}

#[test]
fn a_resumed_run_equals_one_that_never_stopped() {
    let dir = std::env::temp_dir().join(format!("sw_eq_resume_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = "equations = '''\ndv/dt = (gl*(El - v) + ge*(Ee - v) + I)/C : volt (unless refractory)\ndge/dt = -ge/te : siemens\n'''\nthreshold = \"v > -50*mV\"\nreset = \"v = -65*mV\"\nrefractory = \"1 ms\"\nmethod = \"rk2\"\nreceptors = [\"v\", \"ge\"]\ncurrents = [\"I\"]\nparams = { gl = \"10 nS\", El = \"-65 mV\", Ee = \"0 mV\", C = \"200 pF\", te = \"5 ms\" }";
    let mut text = single(model, 50, "", "v = { dist = \"uniform\", low = \"-65 mV\", high = \"-50 mV\" }", "60 ms", "\"v\", \"ge\"");
    text += "[[encoder]]\nname = \"drive\"\nkind = \"constant_current\"\ntarget = \"n\"\nreceptor = \"I\"\namplitude = \"250 pA\"\n";
    let path = dir.join("resume.toml");
    std::fs::write(&path, &text).unwrap();
    let (spikes, _) = run(&text);
    assert!(spikes.len() > 20, "{}", spikes.len());
    spikeworld::testing::check_resume(&spikeworld_cli::builder(), &path, 250, &dir, &RunOptions::default()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Inputs that once overflowed the stack or ran for hours: refused, or run, at once.
#[test]
fn hostile_expressions_are_refused_quickly() {
    // A chain of subexpressions each reading the previous twice (2^40 paths).
    let mut eqs = String::from("dv/dt = -s39*mV/ms : volt\ns0 = v/mV : 1\n");
    for k in 1..40 {
        eqs += &format!("s{k} = s{} + s{} : 1\n", k - 1, k - 1);
    }
    let e = load_err(&single(&format!("equations = '''\n{eqs}'''"), 1, "", "", "1 ms", "\"v\""));
    assert!(e.contains("subexpressions nested more than 32 deep"), "{e}");
    let mut eqs = String::from("dv/dt = -s20*mV/ms : volt\ns0 = v/mV : 1\n");
    for k in 1..=20 {
        eqs += &format!("s{k} = s{} + s{} : 1\n", k - 1, k - 1);
    }
    let (_, st) = run(&single(&format!("equations = '''\n{eqs}'''\nmethod = \"euler\""), 1, "", "v = \"1 mV\"", "0.1 ms", "\"v\""));
    assert_eq!(st[0][0][0], 1.0 + 0.1 * -(2f64.powi(20)));
    for bad in [format!("{}v{}", "(".repeat(5000), ")".repeat(5000)), vec!["v/ms"; 12_500].join(" + "), "-".repeat(100_000) + "v", "(".repeat(100_000)] {
        let e = load_err(&single(&format!("equations = \"dv/dt = {bad} : volt\""), 1, "", "", "1 ms", "\"v\""));
        assert!(e.contains("nested") || e.contains("operations deep"), "{}", &e[..e.len().min(300)]);
    }
}

#[test]
fn mistakes_are_located_and_explained() {
    let cases: &[(&str, &str)] = &[
        ("equations = '''\ndv/dt = (El - v)/tau : volt\n'''", "unknown name `El`"),
        ("equations = '''\ndv/dt = -v/tau : volt\ntau : second\ndw/dt = v/tau : amp\n'''", "line 3 (`dw/dt = v/tau : amp`), column 9: dw/dt is in volt/second"),
        ("equations = '''\ndv/dt = (v + 1*nA)/ms : volt\n'''", "`+` of volt and amp"),
        ("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v > 1*nS\"", "comparison of volt with siemens"),
        ("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v > 1*mV\"\nreset = \"w = 0\"", "the reset sets `w`, which is not a state variable"),
        ("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v > 1*mV\"\nreset = \"v = 1*ms\"", "`v` is in volt but the value is in second"),
        ("equations = \"dv/dt = -v/ms : volt\"\nmethod = \"rk3\"", "unknown method `rk3`"),
        ("equations = \"dv/dt = -v/ms : volt\"\nparams = { x = \"-40*mV + 1*nA\" }", "neither a number followed by a unit nor an expression"),
        ("equations = \"drefr/dt = 0/ms : 1\"", "reserves"),
        ("equations = \"dv/dt = -v/ms : volt\"\nreceptors = [\"g\"]", "`g` is not a state variable"),
        ("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v >\"", "expected a number"),
        ("equations = \"dv/dt = gamma(v/mV)/ms : volt\"", "unknown function `gamma`"),
        ("equations = \"dv/dt = -v/ms : volt\"\nspeed = 1", "unknown key"),
        ("equations = \"dv/dt = exp(v)/ms : volt\"", "`exp` of a value in volt"),
        ("equations = \"dv/dt = -v/ms : volt\"\nparams = { x = \"3 furlongs\" }", "`furlongs` is not a unit"),
        ("equations = \"dv/dt = (El - v)/ms : volt\"\nparams = { El = \"-60 mV\", Ell = \"-70 mV\" }", "`Ell` is not used by the equations"),
        ("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v\"", "the threshold must be a condition"),
        ("equations = \"dv/dt = -v/ms : volt\"\nreset = \"v = 0*mV\"", "a reset without a `threshold` never runs"),
        ("equations = \"dmV/dt = -mV/ms : volt\"", "`mV` is the name of a unit"),
        ("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v > 1*ms2\"", "unknown name `ms2`"),
        ("equations = \"dv/dt = -v/ms*int(not_refractory) : volt\"\nrefractory = \"1 ms\"\nmethod = \"exact\"", "write `(unless refractory)`"),
        ("equations = '''\ndv/dt = -v/ms : volt\nI = g*v : amp\n'''", "line 2 (`I = g*v : amp`), column 5: unknown name `g`"),
        ("equations = '''\ndv/dt = -v/ms : volt\nI = v/ms : amp\n'''", "`I` is declared in amp but its expression is in volt/second"),
        ("equations = '''\ndv/dt = -x/ms : volt\nx = y : volt\ny = x : volt\n'''", "is defined in terms of itself"),
    ];
    for (model, want) in cases {
        let e = load_err(&single(model, 1, "", "", "1 ms", "\"v\""));
        assert!(e.contains(want), "{model}\n  gave: {e}\n  want: {want}");
        assert!(e.starts_with("eq.toml:"), "{e}");
    }
    // A one-line expression's error points at its column.
    let e = load_err(&single("equations = \"dv/dt = -v/ms : volt\"\nthreshold = \"v > 1*nS\"", 1, "", "", "1 ms", "\"v\""));
    assert!(e.contains("eq.toml:6:16"), "{e}");
    // A model may not take a registered model's name, and populations see its parameters.
    let e = load_err(&single("equations = \"dv/dt = -v/tau : volt\\ntau : second\"", 1, "", "", "1 ms", "\"v\""));
    assert!(e.contains("params.tau") && e.contains("missing required parameter"), "{e}");
    let lif = "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\n[neuron_models.lif]\nequations = \"dv/dt = -v/ms : volt\"\n";
    assert!(load_err(lif).contains("registered neuron model"));
}
