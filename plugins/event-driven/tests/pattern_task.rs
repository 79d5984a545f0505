//! Gütig & Sompolinsky's random-pattern task with the exact event-driven tempotron.

use std::time::Instant;

use spikeworld_event_driven::pattern_task::PatternTaskConfig;

#[test]
#[ignore = "exploration: prints accuracy per epoch"]
fn explore() {
    let lr: f64 = std::env::var("LR").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
    let mu: f64 = std::env::var("MU").ok().and_then(|s| s.parse().ok()).unwrap_or(0.99);
    let alpha: f64 = std::env::var("ALPHA").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let n: usize = std::env::var("N").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    let cfg = PatternTaskConfig { n_afferents: n, n_patterns: (alpha * n as f64) as usize, lr, momentum: mu, max_epochs: 300, ..Default::default() };
    let t0 = Instant::now();
    let r = cfg.train().unwrap();
    let el = t0.elapsed().as_secs_f64();
    println!("lr {lr} mu {mu} alpha {alpha}: epochs {} solved {} final {} time {el:.2}s ({:.2} ms/epoch)", r.accuracy.len(), r.solved, r.final_accuracy, 1e3 * el / r.accuracy.len() as f64);
    println!("{:?}", r.accuracy.iter().step_by(5).map(|a| (a * 1000.0).round() / 1000.0).collect::<Vec<_>>());
}
