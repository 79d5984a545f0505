#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]
//! Helpers shared by this crate's tests: encoders parsed from scenario text and stepped
//! directly, and simulations of the crate's scenarios.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use spikeworld::prelude::*;

/// The plugins these tests need: LIF neurons and this crate's encoders.
pub fn builder() -> SimBuilder {
    let mut b = SimBuilder::new();
    b.add_plugin(spikeworld_neuron_lif::LifPlugin).add_plugin(spikeworld_encoder_basic::EncoderPlugin);
    b
}

pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

/// A scenario (dt = 0.1 ms) holding one population and the encoder table `body` (the lines
/// after `[[encoder]]`, without `name`), parsed as if it were the file `dir/test.toml`.
pub fn parse_encoder_in(dir: &Path, body: &str) -> Result<Arc<dyn EncoderConfig>, String> {
    let text = format!(
        "[simulation]\ndt = \"0.1 ms\"\nt_stop = \"10 ms\"\nseed = 11\n\n[[population]]\nname = \"P\"\nsize = 3\nmodel = \"lif\"\n\n[[encoder]]\nname = \"e\"\n{body}\n"
    );
    let b = builder();
    let sc = Scenario::from_str(&text, &dir.join("test.toml"), b.registry(), &LoadOptions::default()).map_err(|e| e.to_string())?;
    Ok(sc.encoders[0].config.clone())
}

pub fn parse_encoder(body: &str) -> Result<Arc<dyn EncoderConfig>, String> {
    parse_encoder_in(Path::new("."), body)
}

/// The encoder must parse; its spikes in steps `0..steps`, one list per step.
pub fn run_encoder(body: &str, steps: u64) -> Vec<Vec<u32>> {
    let cfg = parse_encoder(body).unwrap_or_else(|e| panic!("encoder should parse: {e}\n{body}"));
    step_encoder(&mut *cfg.build(), 0, steps)
}

pub fn step_encoder(enc: &mut dyn Encoder, from: u64, to: u64) -> Vec<Vec<u32>> {
    (from..to)
        .map(|s| {
            let mut out = Vec::new();
            enc.step(s, EncoderOut::Spikes(&mut out));
            out
        })
        .collect()
}

/// The error the encoder gives (it must fail).
pub fn parse_error(body: &str) -> String {
    match parse_encoder(body) {
        Ok(_) => panic!("encoder should be refused:\n{body}"),
        Err(e) => e,
    }
}

/// Asserts `err` mentions every one of `parts`.
pub fn assert_mentions(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "the error should mention `{p}`:\n{err}");
    }
}

/// Writes a .npy file (little-endian, C order) of f64 values.
pub fn write_npy_f64(path: &Path, shape: &[u64], values: &[f64]) {
    use npyz::WriterBuilder;
    let f = std::fs::File::create(path).expect("create npy");
    let mut w = npyz::WriteOptions::new().default_dtype().shape(shape).writer(f).begin_nd().expect("npy header");
    w.extend(values.iter().copied()).expect("npy data");
    w.finish().expect("npy finish");
}

/// Saves an encoder's state and loads it into a fresh one.
pub fn resume(cfg: &Arc<dyn EncoderConfig>, from: &dyn Encoder) -> Box<dyn Encoder> {
    let mut bytes = Vec::new();
    from.save_state(&mut StateWriter::new(&mut bytes)).expect("save");
    let mut fresh = cfg.build();
    let mut r = &bytes[..];
    fresh.load_state(&mut StateReader::new(&mut r, bytes.len() as u64)).expect("load");
    fresh
}
