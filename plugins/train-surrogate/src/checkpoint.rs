//! Per-epoch training checkpoints: the trained parameters and the optimizer's state (burn
//! records, full precision), the epoch reached and the curve so far, tied to the scenario
//! (its SHA-256, overrides and seed: `Scenario::fingerprint`). The data order, the input draws and the learning rate are
//! functions of (seed, epoch), so a run resumed from epoch `e` continues exactly as the run
//! that wrote it: same weights, bit for bit (`tests/train.rs`).
//!
//! File (`util::fsio::write_blocks`): magic `SWTRAIN3`, then three blocks: a JSON header,
//! the parameters' record, the optimizer's record, and an XXH3-64 checksum of the rest (a damaged file is
//! refused). Written atomically.

use std::path::Path;

use spikeworld::util::fsio::{read_blocks, write_blocks};

use crate::train::EpochStats;

const MAGIC: &[u8; 8] = b"SWTRAIN3";

/// What a checkpoint holds.
#[derive(Clone, Debug)]
pub struct TrainCheckpoint {
    /// The run it belongs to: the file's SHA-256, the overrides and the seed (`Scenario::fingerprint`).
    pub fingerprint: String,
    /// Epochs completed.
    pub epoch: u64,
    /// Their numbers.
    pub stats: Vec<EpochStats>,
    /// The parameters (a burn `BinBytesRecorder` record).
    pub params: Vec<u8>,
    /// The optimizer's state (likewise).
    pub optim: Vec<u8>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    fingerprint: String,
    epoch: u64,
    stats: Vec<EpochStats>,
}

impl TrainCheckpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let header = serde_json::to_vec(&Header { fingerprint: self.fingerprint.clone(), epoch: self.epoch, stats: self.stats.clone() }).map_err(|e| e.to_string())?;
        write_blocks(path, MAGIC, &[&header, &self.params, &self.optim]).map_err(|e| e.to_string())
    }

    /// Reads a checkpoint; errors say what is wrong with the file.
    pub fn read(path: &Path) -> Result<TrainCheckpoint, String> {
        let mut blocks = read_blocks(path, MAGIC, 3)?.into_iter();
        let mut next = || blocks.next().expect("three blocks");
        let header: Header = serde_json::from_slice(&next()).map_err(|e| format!("`{}`: bad header: {e}", path.display()))?;
        Ok(TrainCheckpoint { fingerprint: header.fingerprint, epoch: header.epoch, stats: header.stats, params: next(), optim: next() })
    }
}
