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

/// Sample variance of `xs`.
fn variance(xs: &[f64]) -> f64 {
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Each source's `k` targets are a uniform draw: with or without replacement, the number
/// of them in the first half of the targets (the rule's first split, drawn by one
/// sampler) and in the first third (a range that cuts through its halves and leaves) has
/// the binomial or hypergeometric mean and variance, and every target's in-degree the
/// binomial variance. The wrong sampler at the split is off by 13-15 % in the first half's
/// variance (8 standard errors); a whole row drawn the wrong way, by 13 % in the third's.
#[test]
fn fixed_outdegree_draws_targets_uniformly() {
    let (n_src, n_tgt, k) = (8000usize, 300usize, 40u64);
    for multapses in [false, true] {
        let sim = net("fixed_outdegree", &format!("outdegree = {k}\nallow_multapses = {multapses}"), n_src, n_tgt, false);
        let ps = pairs(&sim);
        assert_eq!(ps.len(), n_src * k as usize);
        let (mut half, mut third) = (vec![0f64; n_src], vec![0f64; n_src]);
        let mut indeg = vec![0f64; n_tgt];
        for &(s, t) in &ps {
            if (t as usize) < n_tgt / 2 {
                half[s as usize] += 1.0;
            }
            if (t as usize) < n_tgt / 3 {
                third[s as usize] += 1.0;
            }
            indeg[t as usize] += 1.0;
        }
        let (kf, nf) = (k as f64, n_tgt as f64);
        for (what, counts, q) in [("half", &half, 0.5), ("third", &third, 1.0 / 3.0)] {
            let want_var = kf * q * (1.0 - q) * if multapses { 1.0 } else { (nf - kf) / (nf - 1.0) };
            let mean = counts.iter().sum::<f64>() / n_src as f64;
            let se_mean = (want_var / n_src as f64).sqrt();
            assert!((mean - kf * q).abs() < 4.0 * se_mean, "multapses {multapses}: mean {mean} in the first {what}, expected {}", kf * q);
            let var = variance(counts);
            assert!((var / want_var - 1.0).abs() < 0.07, "multapses {multapses}: variance {var} in the first {what}, expected {want_var}");
        }
        // In-degrees: binomial, of n_src trials with probability k / n_tgt without
        // multapses (a source picks a target or not), of n_src·k trials with 1 / n_tgt with.
        let want_mean = n_src as f64 * kf / nf;
        let want_in = if multapses { want_mean * (1.0 - 1.0 / nf) } else { want_mean * (1.0 - kf / nf) };
        assert!(indeg.iter().all(|&d| (d - want_mean).abs() < 6.0 * want_in.sqrt()), "multapses {multapses}: an in-degree far from {want_mean}");
        let var_in = variance(&indeg);
        assert!((var_in / want_in - 1.0).abs() < 0.3, "multapses {multapses}: in-degree variance {var_in}, expected {want_in}");
    }
}

/// `n` pairs drawn uniformly among all pairs: exactly `n`, distinct without multapses, and
/// every target's in-degree and every source's out-degree with the hypergeometric variance
/// (without multapses) or the binomial one (with: twice as large here).
#[test]
fn fixed_total_number_draws_pairs_uniformly() {
    let (n_src, n_tgt, n) = (1000usize, 1000usize, 500_000u64);
    for multapses in [false, true] {
        let sim = net("fixed_total_number", &format!("n = {n}\nallow_multapses = {multapses}"), n_src, n_tgt, false);
        let mut ps = pairs(&sim);
        assert_eq!(ps.len() as u64, n);
        let (mut indeg, mut outdeg) = (vec![0f64; n_tgt], vec![0f64; n_src]);
        for &(s, t) in &ps {
            indeg[t as usize] += 1.0;
            outdeg[s as usize] += 1.0;
        }
        ps.sort();
        ps.dedup();
        let all = (n_src * n_tgt) as f64;
        let (nf, p) = (n as f64, n_src as f64 / all);
        let want_var = nf * p * (1.0 - p) * if multapses { 1.0 } else { (all - nf) / (all - 1.0) };
        for (what, degrees) in [("in-degree", &indeg), ("out-degree", &outdeg)] {
            let var = variance(degrees);
            assert!((var / want_var - 1.0).abs() < 0.2, "multapses {multapses}: {what} variance {var}, expected {want_var}");
        }
        if !multapses {
            assert_eq!(ps.len() as u64, n, "a pair drawn twice without multapses");
        } else {
            // Expected distinct pairs among n draws from `all`: all (1 - (1 - 1/all)^n).
            let distinct = all * (1.0 - (1.0 - 1.0 / all).powf(nf));
            assert!((ps.len() as f64 - distinct).abs() < 0.01 * distinct, "{} distinct pairs, expected {distinct}", ps.len());
        }
    }
}

/// Without autapses, the split rules never connect a neuron to itself and still place
/// exactly their counts.
#[test]
fn split_rules_exclude_autapses() {
    let sim = net("fixed_outdegree", "outdegree = 99\nallow_autapses = false\nallow_multapses = false", 100, 100, true);
    let ps = pairs(&sim);
    assert_eq!(ps.len(), 100 * 99);
    assert!(ps.iter().all(|(s, t)| s != t));
    let sim = net("fixed_total_number", "n = 9900\nallow_autapses = false\nallow_multapses = false", 100, 100, true);
    let mut ps = pairs(&sim);
    assert!(ps.iter().all(|(s, t)| s != t));
    ps.sort();
    ps.dedup();
    assert_eq!(ps.len(), 9900, "every possible pair once");
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

/// The synapses of the projection onto targets `range` of population `pop`, as
/// (source, target, weight bits, delay), in CSR order.
fn drawn_onto(sc: &Scenario, ranges: Option<&[std::ops::Range<usize>]>) -> Vec<Vec<(usize, u32, u64, u32)>> {
    let drawn = builder().draw_synapses(sc, ranges).expect("draw");
    drawn
        .iter()
        .map(|d| {
            let mut out = Vec::new();
            for s in 0..d.csr.row_ptr.len() - 1 {
                for k in d.csr.row(s) {
                    out.push((s, d.csr.col[k], d.weight_of(k).to_bits(), d.delay.of(k)));
                }
            }
            out
        })
        .collect()
}

/// A shard builds its targets' synapses alone: for every rule, with weights and delays
/// drawn from distributions, any split of the populations into ranges gives exactly the
/// whole build's synapses onto each range, in the same order, and the ranges together
/// give them all.
#[test]
fn every_rule_builds_a_range_of_targets_alone() {
    let rules = [
        ("all_to_all", ""),
        ("one_to_one", ""),
        ("pairwise_bernoulli", "p = 0.1"),
        ("pairwise_bernoulli", "p = 0.1\nallow_autapses = false"),
        ("fixed_indegree", "indegree = 7"),
        ("fixed_indegree", "indegree = 7\nallow_multapses = false\nallow_autapses = false"),
        ("fixed_outdegree", "outdegree = 9"),
        ("fixed_total_number", "n = 900\nallow_multapses = false"),
    ];
    let bounds = [vec![0, 120], vec![0, 60, 120], vec![0, 1, 50, 120], vec![0, 30, 31, 90, 120], vec![0, 0, 120]];
    for (rule, params) in rules {
        ranges_build_alone(120, rule, params, &bounds);
    }
}

/// The rules that place fixed counts by halves of the targets (`fixed_outdegree`,
/// `fixed_total_number`), over enough targets for a tree several levels deep, with and
/// without multapses and autapses, split at bounds that cut through its halves and leaves.
#[test]
fn split_rules_build_a_range_of_targets_alone() {
    let rules = [
        ("fixed_outdegree", "outdegree = 40"),
        ("fixed_outdegree", "outdegree = 40\nallow_multapses = false\nallow_autapses = false"),
        ("fixed_outdegree", "outdegree = 5\nallow_autapses = false"),
        ("fixed_total_number", "n = 30000"),
        ("fixed_total_number", "n = 30000\nallow_multapses = false\nallow_autapses = false"),
        ("fixed_total_number", "n = 200000\nallow_multapses = false"),
    ];
    let bounds = [vec![0, 1000], vec![0, 500, 1000], vec![0, 1, 333, 334, 1000], vec![0, 63, 64, 65, 129, 700, 999, 1000]];
    for (rule, params) in rules {
        ranges_build_alone(1000, rule, params, &bounds);
    }
}

/// Builds two projections (A → B and A → A, on selections of `n`-neuron populations) as a
/// whole and as the targets' ranges between consecutive `bounds`, and compares.
fn ranges_build_alone(n: usize, rule: &str, params: &str, bounds: &[Vec<usize>]) {
    let text = format!(
        r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "0 ms"
        seed = 11
        [[population]]
        name = "A"
        size = {n}
        model = "lif"
        [[population]]
        name = "B"
        size = {n}
        model = "lif"
        [[projection]]
        name = "ab"
        from = "A[5:{a_end}]"
        to = "B[3:{b_end}]"
        rule = "{rule}"
        receptor = "v"
        weight = {{ dist = "normal", mean = "1 mV", std = "0.2 mV" }}
        delay = {{ dist = "uniform", low = "0.1 ms", high = "2 ms" }}
        {params}
        [[projection]]
        name = "aa"
        from = "A[10:]"
        to = "A[:{a_end2}]"
        rule = "{rule}"
        receptor = "v"
        weight = {{ dist = "uniform", low = "0.5 mV", high = "1 mV" }}
        delay = "1 ms"
        {params}
        "#,
        a_end = n - 5,
        b_end = n - 7,
        a_end2 = n - 10,
    );
    let sc = load(&text);
    let whole = drawn_onto(&sc, None);
    assert!(whole.iter().all(|p| !p.is_empty()), "{rule}: every projection has synapses");
    // Rows list their targets in ascending order (multapses side by side), whatever
    // order the rule draws in: a shard's rows are then stretches of the whole rows.
    for p in &whole {
        assert!(p.windows(2).all(|w| w[0].0 < w[1].0 || w[0].0 == w[1].0 && w[0].1 <= w[1].1), "{rule} ({params}): a row is not sorted by target");
    }
    for bounds in bounds {
        let mut union = vec![Vec::new(); whole.len()];
        for w in bounds.windows(2) {
            // Population A split differently from B, to show the ranges are per population.
            let ranges = [n - w[1]..n - w[0], w[0]..w[1]];
            let part = drawn_onto(&sc, Some(&ranges));
            for (j, (p, all)) in part.iter().zip(&whole).enumerate() {
                let r = &ranges[if j == 0 { 1 } else { 0 }];
                let expect: Vec<_> = all.iter().filter(|x| r.contains(&(x.1 as usize))).copied().collect();
                assert_eq!(p, &expect, "{rule} ({params}): projection {j}, targets {r:?}");
                union[j].extend(p.iter().copied());
            }
        }
        for (u, all) in union.iter_mut().zip(&whole) {
            let mut all = all.clone();
            u.sort();
            all.sort();
            assert_eq!(*u, all, "{rule}: the ranges together hold every synapse once");
        }
    }
}

/// A plugin's rule that ignores the range (conv2d) is cut to it by the core.
#[test]
fn a_rule_that_ignores_the_range_is_cut_to_it() {
    let sc = load(
        r#"
        [simulation]
        dt = "0.1 ms"
        t_stop = "0 ms"
        [[population]]
        name = "img"
        size = 64
        shape = [1, 8, 8]
        model = "lif"
        [[population]]
        name = "fm"
        size = 72
        shape = [2, 6, 6]
        model = "lif"
        [[projection]]
        name = "conv"
        from = "img"
        to = "fm"
        rule = "conv2d"
        kernel_size = 3
        receptor = "v"
        weight = { dist = "normal", mean = "1 mV", std = "0.1 mV" }
        delay = { dist = "uniform", low = "0 ms", high = "1 ms" }
        "#,
    );
    let whole = drawn_onto(&sc, None);
    let ranges = [0..64, 20..50];
    let part = drawn_onto(&sc, Some(&ranges));
    let expect: Vec<_> = whole[0].iter().filter(|x| (20..50).contains(&(x.1 as usize))).copied().collect();
    assert!(!expect.is_empty());
    assert_eq!(part[0], expect);
    let bad = builder().draw_synapses(&sc, Some(&[0..64, 20..73]));
    assert!(matches!(bad, Err(e) if e.to_string().contains("one range of neurons per population")));
}
