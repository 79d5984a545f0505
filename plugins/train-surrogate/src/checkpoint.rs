//! Per-epoch training checkpoints: the trained parameters and the optimizer's state (burn
//! records, full precision), the epoch reached and the curve so far, tied to the scenario
//! (its SHA-256 and overrides). The data order, the input draws and the learning rate are
//! functions of (seed, epoch), so a run resumed from epoch `e` continues exactly as the run
//! that wrote it: same weights, bit for bit (`tests/train.rs`).
//!
//! File: `SWTRAIN1`, then three length-prefixed (u64 little-endian) blocks: a JSON header,
//! the parameters' record, the optimizer's record. Written atomically.

use std::io::Read;
use std::path::Path;

use crate::train::EpochStats;

const MAGIC: &[u8; 8] = b"SWTRAIN1";

/// What a checkpoint holds.
#[derive(Clone, Debug)]
pub struct TrainCheckpoint {
    /// The scenario it belongs to: SHA-256 of the file and the overrides, joined.
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
        spikeworld::util::fsio::write_atomic(path, |w| {
            use std::io::Write;
            w.write_all(MAGIC)?;
            for block in [&header, &self.params, &self.optim] {
                w.write_all(&(block.len() as u64).to_le_bytes())?;
                w.write_all(block)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())
    }

    /// Reads a checkpoint; errors say what is wrong with the file.
    pub fn read(path: &Path) -> Result<TrainCheckpoint, String> {
        let shown = path.display();
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
        let mut r = bytes.as_slice();
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic).map_err(|_| format!("`{shown}` is not a training checkpoint (too short)"))?;
        if &magic != MAGIC {
            return Err(format!("`{shown}` is not a training checkpoint of this version (no {:?} header)", String::from_utf8_lossy(MAGIC)));
        }
        let mut block = || -> Result<Vec<u8>, String> {
            let mut len = [0u8; 8];
            r.read_exact(&mut len).map_err(|_| format!("`{shown}` is truncated"))?;
            let len = u64::from_le_bytes(len);
            if len > r.len() as u64 {
                return Err(format!("`{shown}` is truncated (a block of {len} bytes, {} left)", r.len()));
            }
            let (head, rest) = r.split_at(len as usize);
            r = rest;
            Ok(head.to_vec())
        };
        let header: Header = serde_json::from_slice(&block()?).map_err(|e| format!("`{shown}`: bad header: {e}"))?;
        let params = block()?;
        let optim = block()?;
        Ok(TrainCheckpoint { fingerprint: header.fingerprint, epoch: header.epoch, stats: header.stats, params, optim })
    }
}
