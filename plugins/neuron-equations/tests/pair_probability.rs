//! Brian2's connection probability as an expression of the pair (`S.connect(p='...')`):
//! `pairwise_bernoulli`'s `p = "..."` against the rule's definition replayed in the test
//! from the streams (each pair's `p` from the formula, its uniform number from the
//! target's connect stream), the distance profile of a Gaussian kernel against the
//! formula within binomial error, the same synapses by target ranges and the same spikes
//! in shards, the validation's estimate, and the refusals.

use spikeworld::api::program::Column;
use spikeworld::prelude::*;
use spikeworld::util::rng::{Stream, entity_key, purpose};

mod common;
use common::*;

/// Populations `A` (9) and `B` (`nb`), one projection `ab` from `A[2:8]` to `B` by
/// `pairwise_bernoulli` with `p` (a TOML value), seed 5.
fn net(nb: usize, p: &str) -> String {
    format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\nseed = 5\n[[population]]\nname = \"A\"\nsize = 9\nmodel = \"lif\"\n[[population]]\nname = \"B\"\nsize = {nb}\nmodel = \"lif\"\n[[projection]]\nname = \"ab\"\nfrom = \"A[2:8]\"\nto = \"B\"\nrule = \"pairwise_bernoulli\"\np = {p}\nreceptor = \"v\"\nweight = \"1 mV\"\n"
    )
}

/// The (source, target) pairs made, relative to the selections, sorted; onto the target
/// ranges `ranges` (`None`: all).
fn pairs(text: &str, ranges: Option<&[std::ops::Range<usize>]>) -> Vec<(usize, usize)> {
    let sc = load(text).unwrap_or_else(|e| panic!("{e}"));
    let to = sc.projections[0].to.start;
    let drawn = spikeworld_cli::builder().draw_synapses(&sc, ranges).unwrap();
    let mut out = Vec::new();
    for d in &drawn[..1] {
        for s in 0..d.csr.row_ptr.len() - 1 {
            for k in d.csr.row(s) {
                out.push((s, d.csr.col[k] as usize - to));
            }
        }
    }
    out.sort();
    out
}

/// The rule's definition, written out: pair (s, t) exists when the `t`th uniform number
/// of the target's connect stream, taken source by source, is below `p(s, t, value
/// stream)`.
fn replay(seed: u64, projection: &str, n_src: usize, n_tgt: usize, p: impl Fn(usize, usize, &mut Stream) -> f64) -> Vec<(usize, usize)> {
    let key = entity_key("projection", projection);
    let mut out = Vec::new();
    for t in 0..n_tgt {
        let mut u = Stream::new(seed, key, purpose::CONNECT, t as u64);
        let mut v = Stream::new(seed, key, purpose::CONNECT_VALUE, t as u64);
        for s in 0..n_src {
            let x = p(s, t, &mut v);
            if u.uniform() < x {
                out.push((s, t));
            }
        }
    }
    out.sort();
    out
}

/// `i`, `j`, `N_pre`, `N_post` and `rand()` in `p`: the pairs are those of the formula with
/// the streams, exactly (also for a row longer than the part computed at once).
#[test]
fn pairs_are_the_formula_with_the_streams() {
    let got = pairs(&net(40, "\"0.1 + 0.8*(i + 2*j)/(N_pre + 2*N_post)\""), None);
    let want = replay(5, "ab", 6, 40, |s, t, _| 0.1 + 0.8 * (s as f64 + 2.0 * t as f64) / (6.0 + 2.0 * 40.0));
    assert!(want.len() > 40 && want.len() < 200, "{}", want.len());
    assert_eq!(got, want);
    // Random numbers in p come from the target's value stream, in the order written.
    let got = pairs(&net(40, "\"rand()*rand()*(j > 3)\""), None);
    let want = replay(5, "ab", 6, 40, |_, t, v| {
        let (a, b) = (v.uniform(), v.uniform());
        a * b * f64::from(u8::from(t > 3))
    });
    assert!(want.len() > 20 && !want.iter().any(|&(_, t)| t <= 3), "{want:?}");
    assert_eq!(got, want);
    // 5000 sources: a row is computed a part of 4096 at a time, its stream going on.
    let wide = net(3, "\"rand()*(i + 1)/N_pre\"").replace("size = 9", "size = 5009").replace("A[2:8]", "A[2:5002]");
    let got = pairs(&wide, None);
    let want = replay(5, "ab", 5000, 3, |s, _, v| v.uniform() * (s as f64 + 1.0) / 5000.0);
    assert!(want.iter().filter(|&&(s, _)| s >= 4096).count() > 100, "{}", want.len());
    assert_eq!(got, want);
}

/// A Gaussian kernel of the distance on a ring, Brian2's classic
/// `p = 'p_max*exp(-d**2/(2*sigma**2))'`: the connections at each distance, counted over
/// 400 × 400 pairs, within 4.5 binomial standard errors of the formula; and the
/// validation's estimate of the synapse count (here from every pair: the expected count)
/// within 4 % of what is drawn (about 9,600: 4 binomial standard errors).
#[test]
fn a_distance_kernel_connects_as_its_formula() {
    let n = 400usize;
    let text = format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"1 ms\"\nseed = 11\n[[population]]\nname = \"R\"\nsize = {n}\nmodel = \"lif\"\n[[projection]]\nname = \"rr\"\nfrom = \"R\"\nto = \"R\"\nrule = \"pairwise_bernoulli\"\np = \"0.8*exp(-(abs(i - j) - N_pre*(abs(i - j) > N_pre/2))**2/(2*12**2))\"\nallow_autapses = false\nreceptor = \"v\"\nweight = \"1 mV\"\n"
    );
    let got = pairs(&text, None);
    let ring = |s: usize, t: usize| {
        let d = s.abs_diff(t);
        d.min(n - d)
    };
    let prob = |d: usize| 0.8 * (-((d * d) as f64) / (2.0 * 144.0)).exp();
    let mut count = vec![0usize; n / 2 + 1];
    for &(s, t) in &got {
        assert_ne!(s, t, "an autapse");
        count[ring(s, t)] += 1;
    }
    for (d, &c) in count.iter().enumerate().take(40) {
        // Pairs at distance d: 2n (n at d = 0, excluded, and at d = n/2).
        let pairs = match d {
            0 => 0.0,
            d if d == n / 2 => n as f64,
            _ => 2.0 * n as f64,
        };
        let (mean, var) = (pairs * prob(d), pairs * prob(d) * (1.0 - prob(d)));
        assert!((c as f64 - mean).abs() <= 4.5 * var.sqrt() + 1e-9, "distance {d}: {c} connections, expected {mean:.1} ± {:.1}", var.sqrt());
    }
    assert!(count[60..].iter().all(|&c| c == 0), "far pairs connected: {:?}", &count[60..70]);
    let sc = load(&text).unwrap();
    let estimated = sc.estimate_for(sc.steps).synapses;
    assert!((estimated / got.len() as f64 - 1.0).abs() < 0.04, "estimated {estimated}, drawn {}", got.len());
}

/// Drawn by two target ranges (as shards draw), the synapses of one build; excluding
/// autapses drops those and moves no other pair; a network so connected gives the same
/// spikes in one world, on 2 threads and in 3 shards.
#[test]
fn ranges_autapses_and_shards_keep_the_pairs() {
    let text = net(30, "\"0.5*exp(-(i - j)**2/50)\"");
    let whole = pairs(&text, None);
    let mut split = pairs(&text, Some(&[0..9, 0..11]));
    split.extend(pairs(&text, Some(&[0..9, 11..30])));
    split.sort();
    assert_eq!(split, whole);
    // Within one population, A[2:8] -> A: autapses are the pairs (s, s + 2).
    let own = |autapses: bool| format!("{}allow_autapses = {autapses}\n", net(30, "\"0.7\"").replace("p = \"0.7\"", "p = \"0.2 + 0.6*(j >= i + 1)*(j <= i + 3)\"").replace("to = \"B\"", "to = \"A\""));
    let with = pairs(&own(true), None);
    let without = pairs(&own(false), None);
    assert!(with.iter().any(|&(s, t)| t == s + 2), "{with:?}");
    assert_eq!(without, with.iter().copied().filter(|&(s, t)| t != s + 2).collect::<Vec<_>>());
    let coba = std::fs::read_to_string(repo().join("scenarios/coba.toml")).unwrap();
    let small = coba.replace("t_stop = \"1 s\"", "t_stop = \"200 ms\"").replace("size = 4000", "size = 800").replace("P[:3200]", "P[:640]").replace("P[3200:]", "P[640:]").replace("p = 0.02", "p = \"0.2*j/N_post\"");
    let (one, _) = run(&small);
    assert!(one.len() > 1000, "{} spikes", one.len());
    assert_eq!(run_with(&small, &RunOptions { threads: 2, ..Default::default() }).0, one);
    assert_eq!(run_with(&small, &RunOptions { shards: 3, ..Default::default() }).0, one);
}

/// Refused where the scenario is read, at `p` with its key: a wrong unit, a condition
/// alone, a name a pair does not have, a value outside [0, 1] among the pairs validation
/// evaluates; and, at the build, one outside them, naming the pair. A rule that reads no
/// parameter per pair takes no expression.
#[test]
fn bad_probability_expressions_are_refused() {
    let e = load_err(&net(40, "\"0.1*mV\""));
    assert!(e.contains("`projection[0].p`") && e.contains("expected a number") && e.contains("eq.toml:"), "{e}");
    let e = load_err(&net(40, "\"i < j\""));
    assert!(e.contains("`projection[0].p`") && e.contains("a condition, not a number"), "{e}");
    let e = load_err(&net(40, "\"0.1*N\""));
    assert!(e.contains("unknown name `N`"), "{e}");
    let e = load_err(&net(40, "\"0.1*j\""));
    assert!(e.contains("`projection[0].p`") && e.contains("`p` = `0.1*j` is 1.1 for the pair from source 0 to target 11: expected a probability in [0, 1]"), "{e}");
    // From 6 sources to 60000 targets, validation evaluates 2^18 / 6 = 43690 targets
    // spread evenly (0, 2, 3, 4, 6, ...): not target 1.
    let late = net(60000, "\"1.5*(j == 1)\"");
    let sc = load(&late).unwrap_or_else(|e| panic!("{e}"));
    let e = match spikeworld_cli::builder().build(sc, &RunOptions::default()) {
        Ok(_) => panic!("built"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("projection `ab`: `p` = `1.5*(j == 1)` is 1.5 for the pair from source 0 to target 1: expected a probability in [0, 1]"), "{e}");
    let e = load_err(&net(40, "\"0.1\"").replace("rule = \"pairwise_bernoulli\"\np = \"0.1\"", "rule = \"fixed_indegree\"\nindegree = \"2*j\""));
    assert!(e.contains("`projection[0].indegree`"), "{e}");
}

/// `text` as a dimensionless value of a synapse, by the equations language.
fn synapse_value(text: &str) -> std::sync::Arc<dyn spikeworld::api::language::ValueExpression> {
    let builder = spikeworld_cli::builder();
    let lang = builder.registry().model_languages.values().next().expect("the equations language");
    lang.value_expression(text, spikeworld::util::units::Dim::Dimensionless, spikeworld::api::language::SYNAPSE_NAMES).expect("read").unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

/// A batch of values (`ValueExpression::values`, what a row of pairs takes) has the bits
/// of one call after another on the same stream: over 1000 places (four batches of the
/// language's 256), with a condition, a selection by it, `exp`, a function and draws of
/// both kinds in the order written.
#[test]
fn a_batch_of_values_is_one_value_after_another() {
    let f = synapse_value("rand()*exp(-(i - j)**2/50) + 0.1*(i != j)*randn() + clip(i/N_pre, 0.2, 0.7) + sin(j)");
    let (n, j) = (1000usize, 37.0);
    let sources: Vec<f64> = (0..n).map(|s| s as f64).collect();
    let mut batch = vec![0.0; n];
    f.values(&[Column::Each(&sources), Column::All(j), Column::All(n as f64), Column::All(60.0)], &mut Stream::new(3, 9, purpose::CONNECT_VALUE, 37), &mut batch);
    let mut rng = Stream::new(3, 9, purpose::CONNECT_VALUE, 37);
    let one_by_one: Vec<f64> = (0..n).map(|s| f.value(&[s as f64, j, n as f64, 60.0], &mut rng)).collect();
    assert!(one_by_one.windows(2).any(|w| w[0] != w[1]) && one_by_one.iter().all(|x| x.is_finite()));
    for (s, (a, b)) in batch.iter().zip(&one_by_one).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "place {s}: {a} batched, {b} alone");
    }
    // And against the formula, at a place of each batch (the draws: two per value).
    let mut rng = Stream::new(3, 9, purpose::CONNECT_VALUE, 37);
    for s in 0..n {
        let (u, z) = (rng.uniform(), rng.normal());
        let d = s as f64 - j;
        let want = u * (-(d * d) / 50.0).exp() + 0.1 * f64::from(u8::from(s as f64 != j)) * z + (s as f64 / n as f64).clamp(0.2, 0.7) + j.sin();
        assert!((batch[s] - want).abs() <= 1e-12, "place {s}: {} against {want}", batch[s]);
    }
}

/// Every operation of a program, batched, has the bits of one value after another, each
/// in an order its operands do not commute in (`i - j`, `(i < 40) or ...`), and the
/// formula's value.
#[test]
fn every_operation_batched_is_as_alone() {
    let f = synapse_value("(i - j)/(j + 1) - log(i + 1)*sqrt(abs(j - i)) + 1.0*((i > j) and (j >= 3)) - 2.0*((i < 40) or not (i <= 500)) + floor(i/7) % 3 - i // 9 + -i*N_post");
    let (n, j) = (700usize, 37.0);
    let sources: Vec<f64> = (0..n).map(|s| s as f64).collect();
    let mut batch = vec![0.0; n];
    f.values(&[Column::Each(&sources), Column::All(j), Column::All(n as f64), Column::All(0.5)], &mut Stream::new(1, 1, 1, 1), &mut batch);
    for (s, b) in batch.iter().enumerate() {
        let i = s as f64;
        let alone = f.value(&[i, j, n as f64, 0.5], &mut Stream::new(1, 1, 1, 1));
        assert_eq!(b.to_bits(), alone.to_bits(), "place {s}: {b} batched, {alone} alone");
        let flag = |c: bool| f64::from(u8::from(c));
        let q = (i / 7.0).floor();
        let want = (i - j) / (j + 1.0) - (i + 1.0).ln() * (j - i).abs().sqrt() + flag(i > j && j >= 3.0) - 2.0 * flag(i < 40.0 || i > 500.0) + (q - 3.0 * (q / 3.0).floor()) - (i / 9.0).floor() - i * 0.5;
        assert!((b - want).abs() <= 1e-12 * want.abs().max(1.0), "place {s}: {b} against {want}");
    }
}
