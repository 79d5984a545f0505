//! Statistics of every connection rule.

mod common;
use common::*;
use spikeworld::prelude::*;
use spikeworld::net::synapse::SynapseTable as Projection;

fn net(rule: &str, extra: &str, n_src: usize, n_tgt: usize, same: bool) -> Sim {
    let to = if same { "A" } else { "B" };
    let weight = if extra.contains("weight") { "" } else { "weight = \"1 mV\"" };
    let text = format!(
        r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "0 ms"
        seed = 7
        [[population]]
        name = "A"
        size = {n_src}
        model = "lif"
        [[population]]
        name = "B"
        size = {n_tgt}
        model = "lif"
        [[projection]]
        name = "p"
        from = "A"
        to = "{to}"
        rule = "{rule}"
        receptor = "v"
        {weight}
        {extra}
        "#
    );
    build(load(&text), EngineKind::Cpu, 1)
}

fn pairs(sim: &Sim) -> Vec<(u32, u32)> {
    let p = sim.world.get::<Projection>(sim.projections[0]).unwrap();
    let mut out = Vec::new();
    for s in 0..p.csr.row_ptr.len() - 1 {
        for k in p.csr.row_ptr[s]..p.csr.row_ptr[s + 1] {
            out.push((s as u32, p.csr.col[k as usize]));
        }
    }
    out
}

#[test]
fn fixed_indegree_gives_exact_indegree() {
    let sim = net("fixed_indegree", "indegree = 37", 500, 300, false);
    let mut indeg = vec![0usize; 300];
    for (_, t) in pairs(&sim) {
        indeg[t as usize] += 1;
    }
    assert!(indeg.iter().all(|&d| d == 37), "every target must have exactly 37 sources");
}

#[test]
fn fixed_outdegree_gives_exact_outdegree_without_multapses() {
    let sim = net("fixed_outdegree", "outdegree = 20\nallow_multapses = false", 200, 50, false);
    let ps = pairs(&sim);
    for s in 0..200u32 {
        let mut ts: Vec<u32> = ps.iter().filter(|p| p.0 == s).map(|p| p.1).collect();
        assert_eq!(ts.len(), 20);
        ts.sort();
        ts.dedup();
        assert_eq!(ts.len(), 20, "source {s} has a multapse");
    }
}

#[test]
fn pairwise_bernoulli_count_within_four_sigma() {
    let (n, p) = (2000usize, 0.05f64);
    let sim = net("pairwise_bernoulli", &format!("p = {p}"), n, n, false);
    let count = pairs(&sim).len() as f64;
    let pairs_n = (n * n) as f64;
    let (mean, sd) = (pairs_n * p, (pairs_n * p * (1.0 - p)).sqrt());
    assert!((count - mean).abs() < 4.0 * sd, "{count} synapses, expected {mean} ± 4·{sd}");
    // The in-degree distribution is binomial too: its variance should be close to n p (1-p).
    let mut indeg = vec![0f64; n];
    for (_, t) in pairs(&sim) {
        indeg[t as usize] += 1.0;
    }
    let m = indeg.iter().sum::<f64>() / n as f64;
    let var = indeg.iter().map(|d| (d - m) * (d - m)).sum::<f64>() / (n - 1) as f64;
    let expected = n as f64 * p * (1.0 - p);
    assert!((var / expected - 1.0).abs() < 0.15, "in-degree variance {var}, expected {expected}");
}

#[test]
fn autapses_are_excluded_on_request() {
    let sim = net("pairwise_bernoulli", "p = 1.0\nallow_autapses = false", 50, 50, true);
    let ps = pairs(&sim);
    assert_eq!(ps.len(), 50 * 49);
    assert!(ps.iter().all(|(s, t)| s != t));
    let sim = net("all_to_all", "", 30, 30, true);
    assert_eq!(pairs(&sim).len(), 900, "autapses are allowed by default");
    let sim = net("fixed_indegree", "indegree = 49\nallow_autapses = false\nallow_multapses = false", 50, 50, true);
    let ps = pairs(&sim);
    assert_eq!(ps.len(), 50 * 49);
    assert!(ps.iter().all(|(s, t)| s != t));
}

#[test]
fn fixed_total_number_one_to_one_all_to_all() {
    let sim = net("fixed_total_number", "n = 1234", 100, 80, false);
    assert_eq!(pairs(&sim).len(), 1234);
    let sim = net("one_to_one", "", 64, 64, false);
    assert_eq!(pairs(&sim), (0..64).map(|i| (i, i)).collect::<Vec<_>>());
    let sim = net("all_to_all", "", 7, 9, false);
    assert_eq!(pairs(&sim).len(), 63);
}

#[test]
fn subsets_connect_only_the_selected_ranges() {
    let text = r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "0 ms"
        [[population]]
        name = "P"
        size = 100
        model = "lif"
        [[projection]]
        from = "P[:80]"
        to = "P[50:]"
        rule = "all_to_all"
        receptor = "v"
        weight = 1.0
    "#;
    let sim = build(load(text), EngineKind::Cpu, 1);
    let ps = pairs(&sim);
    assert_eq!(ps.len(), 80 * 50);
    assert!(ps.iter().all(|&(s, t)| s < 80 && (50..100).contains(&t)));
}

#[test]
fn weight_and_delay_distributions_have_their_moments() {
    let sim = net(
        "fixed_indegree",
        "indegree = 100\nweight = { dist = \"normal\", mean = \"2 mV\", std = \"0.5 mV\" }\ndelay = { dist = \"uniform\", low = \"1 ms\", high = \"3 ms\" }",
        100,
        200,
        false,
    );
    let p = sim.world.get::<Projection>(sim.projections[0]).unwrap();
    let n = p.weight.len() as f64;
    let m = p.weight.iter().sum::<f64>() / n;
    let sd = (p.weight.iter().map(|w| (w - m) * (w - m)).sum::<f64>() / n).sqrt();
    assert!((m - 2.0).abs() < 4.0 * 0.5 / n.sqrt(), "mean weight {m}");
    assert!((sd - 0.5).abs() < 0.02, "weight sd {sd}");
    let spikeworld::net::synapse::Delays::Each(d) = &p.delay else { panic!("per-synapse delays expected") };
    assert!(d.iter().all(|&k| (10..=30).contains(&k)));
    let md = d.iter().map(|&k| k as f64).sum::<f64>() / d.len() as f64;
    assert!((md - 20.0).abs() < 0.2, "mean delay {md} steps");
}
