//! The `[reward]` table (schedule values per step, rate_difference recomputed from the
//! recorded spikes, external with a program setting the reward between steps), its
//! history, and the errors of bad keys of the table and of every rule.

mod common;

use common::{builder, load, run, scenario_text, shaped_text};
use spikeworld::prelude::*;
use spikeworld_plasticity_reward::RewardHistory;

const SPARSE: &str = "rule = \"pairwise_bernoulli\"\np = 0.5";
const RULE: &str = "{ rule = \"rstdp\", lr = 0.01 }";

fn history(sim: &Sim) -> Vec<f64> {
    sim.world.resource::<RewardHistory>().values.clone()
}

#[test]
fn schedule_is_piecewise_constant_repeats_with_its_period_and_is_recorded() {
    let extra = "[reward]\nkind = \"schedule\"\ntimes = [\"3 ms\", \"5 ms\", \"12 ms\"]\nvalues = [0.5, -1.0, 2.0]\nperiod = \"20 ms\"\nrecord_every = 3";
    let tr = run(&scenario_text(SPARSE, "\"1 ms\"", RULE, 200, extra), |_, _| None);
    let want = |t: u64| match t % 20 {
        0..=2 => 0.0,
        3..=4 => 0.5,
        5..=11 => -1.0,
        _ => 2.0,
    };
    for (t, &r) in tr.reward.iter().enumerate() {
        assert_eq!(r, want(t as u64), "reward at step {t}");
    }
    let h = history(&tr.sim);
    assert_eq!(h, (0..200).step_by(3).map(want).collect::<Vec<_>>(), "every third step recorded");
}

#[test]
fn schedule_without_period_holds_its_last_value_and_overrides_the_program() {
    let extra = "[reward]\nkind = \"schedule\"\ntimes = [0, 10]\nvalues = [1.0, -0.25]";
    // The program's value is overwritten at the start of every step by the schedule.
    let tr = run(&scenario_text(SPARSE, "\"1 ms\"", RULE, 100, extra), |_, _| Some(7.0));
    for (t, &r) in tr.reward.iter().enumerate() {
        assert_eq!(r, if t < 10 { 1.0 } else { -0.25 }, "step {t}");
    }
    assert_eq!(history(&tr.sim), tr.reward);
}

#[test]
fn rate_difference_is_gain_times_the_rate_difference_over_the_window() {
    let extra = "[reward]\nkind = \"rate_difference\"\nplus = \"pre\"\nminus = \"post\"\nwindow = \"7 ms\"\ngain = 0.01\nsignal = \"reward\"";
    let tr = run(&scenario_text(SPARSE, "\"1 ms\"", RULE, 200, extra), |_, _| None);
    let count = |v: &Vec<Vec<bool>>, s: usize| v[s].iter().filter(|&&b| b).count() as f64;
    let mut nonzero = 0;
    for t in 0..tr.reward.len() {
        // The spikes of the 7 steps before step t (none before the start).
        let (mut a, mut b) = (0.0, 0.0);
        for s in t.saturating_sub(7)..t {
            a += count(&tr.pre, s);
            b += count(&tr.post, s);
        }
        let want = 0.01 * (a / (12.0 * 0.007) - b / (6.0 * 0.007));
        assert!((tr.reward[t] - want).abs() <= 1e-12 * want.abs().max(1.0), "step {t}: reward {} vs {want}", tr.reward[t]);
        nonzero += (want != 0.0) as usize;
    }
    assert!(nonzero > 150, "the test needs a varying reward");
    assert_eq!(history(&tr.sim), tr.reward);
}

#[test]
fn external_reward_is_set_by_the_program_between_steps_and_recorded() {
    let extra = "[reward]\nkind = \"external\"";
    // Closed loop: the reward is the number of targets that spiked in the last step, minus 1.
    let tr = run(&scenario_text(SPARSE, "\"1 ms\"", RULE, 150, extra), |_, last| Some(last.iter().filter(|&&b| b).count() as f64 - 1.0));
    for t in 0..tr.reward.len() {
        let want = if t == 0 { -1.0 } else { tr.post[t - 1].iter().filter(|&&b| b).count() as f64 - 1.0 };
        assert_eq!(tr.reward[t], want, "step {t}");
    }
    assert_eq!(history(&tr.sim), tr.reward, "the history holds what the program set");
    assert!(tr.w.last().unwrap() != &tr.w0, "the rule learned from the program's reward");
}

#[test]
fn a_rule_reads_the_signal_it_names() {
    // `signal = "dopamine"`: the `reward` modulator (set too) is not what it reads.
    let text = scenario_text(SPARSE, "\"1 ms\"", "{ rule = \"rstdp\", signal = \"dopamine\" }", 100, "[reward]\nkind = \"schedule\"\nsignal = \"dopamine\"\ntimes = [50]\nvalues = [1.0]");
    let tr = run(&text, |_, _| Some(-3.0));
    let w = &tr.w;
    assert!((0..50).all(|t| w[t] == tr.w0), "no dopamine before 50 ms");
    assert!(w[99] != tr.w0);
    assert_eq!(tr.sim.modulator("dopamine"), 1.0);
    assert_eq!(tr.sim.modulator("reward"), -3.0);
}

fn error_of(text: &str) -> String {
    match load(text) {
        Err(e) => e.to_string(),
        Ok(sc) => match builder().build(sc, &RunOptions::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("must be refused:\n{text}"),
        },
    }
}

#[test]
fn bad_keys_of_the_rules_are_refused_with_their_place_and_the_valid_choices() {
    let cases: &[(&str, &str, &str)] = &[
        ("{ rule = \"rstdp\", lr = 0.1, taup = 3 }", "projection[1].plasticity.taup", "unknown key"),
        ("{ rule = \"rstdp\", tau_plus = \"-1 ms\" }", "plasticity.tau_plus", "must be > 0"),
        ("{ rule = \"rstdp\", tau_plus = \"1 mV\" }", "plasticity.tau_plus", ""),
        ("{ rule = \"rstdp\", signal = \"\" }", "plasticity.signal", "must not be empty"),
        ("{ rule = \"rstdp\", delay = \"somatic\" }", "plasticity.delay", "\"axonal\", \"dendritic\""),
        ("{ rule = \"rstdp_et\" }", "plasticity.lr", "missing required key"),
        ("{ rule = \"rstdp_et\", lr = 1, tau_e = 0 }", "plasticity.tau_e", "must be > 0"),
        ("{ rule = \"reward_switch_stdp\", w_min = 0.5, w_max = 0.1 }", "plasticity.w_max", "must be >= w_min"),
        ("{ rule = \"reward_switch_stdp\", pre_decay = 1.5 }", "plasticity.pre_decay", "in (0, 1]"),
        ("{ rule = \"reward_switch_stdp\", lr = 0.1 }", "plasticity.lr", "unknown key"),
        ("{ rule = \"rate_modulation\" }", "plasticity.m_r", "missing required key"),
        ("{ rule = \"rate_modulation\", m_r = 3, output = 4 }", "plasticity.output", "expected a string"),
        ("{ rule = \"rstdpp\" }", "plasticity.rule", "rstdp"),
    ];
    for &(rule, key, says) in cases {
        let e = error_of(&scenario_text(SPARSE, "\"1 ms\"", rule, 50, ""));
        assert!(e.starts_with("reward.toml:") && e.contains(key) && e.contains(says), "{rule}: {e}");
    }
}

#[test]
fn conv2d_rstdp_needs_a_conv2d_projection_and_the_others_refuse_one() {
    let e = error_of(&scenario_text(SPARSE, "\"1 ms\"", "{ rule = \"conv2d_rstdp\" }", 50, ""));
    assert!(e.contains("projection `plastic`") && e.contains("conv2d_rstdp") && e.contains("conv2d"), "{e}");
    for rule in ["rstdp", "reward_switch_stdp"] {
        let text = shaped_text("shape = [1, 5, 5]", "shape = [2, 3, 3]", 18, "rule = \"conv2d\"\nkernel_size = 3", "\"1 ms\"", &format!("{{ rule = \"{rule}\" }}"), 50, "");
        let e = error_of(&text);
        assert!(e.contains(rule) && e.contains("plastic"), "{rule} on conv2d: {e}");
    }
}

#[test]
fn bad_keys_of_the_reward_table_are_refused_with_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        ("kind = \"sched\"", "reward.kind", "valid: \"schedule\", \"rate_difference\", \"external\""),
        ("times = [0]\nvalues = [1]", "reward.kind", "missing required key"),
        ("kind = \"schedule\"\nvalues = [1]", "reward.times", "missing required key"),
        ("kind = \"schedule\"\ntimes = [0, 5]\nvalues = [1]", "reward.values", "one value per time"),
        ("kind = \"schedule\"\ntimes = [5, 5]\nvalues = [1, 2]", "reward.times", "ascending"),
        ("kind = \"schedule\"\ntimes = [\"0 ms\", \"0.2 ms\"]\nvalues = [1, 2]", "reward.times", "at least one step"),
        ("kind = \"schedule\"\ntimes = [-3]\nvalues = [1]", "reward.times", "negative"),
        ("kind = \"schedule\"\ntimes = [0, 10]\nvalues = [1, 2]\nperiod = \"10 ms\"", "reward.period", "longer than the last time"),
        ("kind = \"schedule\"\ntimes = [0]\nvalues = [1]\nplus = \"pre\"", "reward.plus", "not a key of kind = \"schedule\""),
        ("kind = \"schedule\"\ntimes = [0]\nvalues = [1]\nrecord_every = -1", "reward.record_every", "negative"),
        ("kind = \"schedule\"\ntimes = [0]\nvalues = [1]\nwindw = 3", "reward.windw", "unknown key"),
        ("kind = \"rate_difference\"\nplus = \"pre\"", "reward.minus", "missing required key"),
        ("kind = \"rate_difference\"\nplus = \"pre\"\nminus = \"nobody\"", "reward.minus", "no population or encoder `nobody`; valid: post, pre, drive"),
        ("kind = \"rate_difference\"\nplus = \"pre\"\nminus = \"post\"\nwindow = \"0.2 ms\"", "reward.window", "at least one step"),
        ("kind = \"rate_difference\"\nplus = \"pre\"\nminus = \"post\"\ntimes = [0]", "reward.times", "not a key of kind = \"rate_difference\""),
        ("kind = \"external\"\ngain = 2", "reward.gain", "not a key of kind = \"external\""),
    ];
    for &(body, key, says) in cases {
        let e = error_of(&scenario_text(SPARSE, "\"1 ms\"", RULE, 50, &format!("[reward]\n{body}")));
        assert!(e.starts_with("reward.toml:") && e.contains(key) && e.contains(says), "{body}: {e}");
    }
}
