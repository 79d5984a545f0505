//! The checkpoint file format (`*.swck`): framing, checksum and verification. What goes
//! into the body is decided by `persist::sections`.
//!
//! # File format (the framing, unchanged since version 2)
//!
//! ```text
//! magic      8 bytes   "SWCK\0\r\n\x1a"
//! version    u32 LE    format version (this build writes and reads [`FORMAT_VERSION`])
//! header     MessagePack map (rmp-serde): Header
//! body       MessagePack values, section by section (below)
//! end        8 bytes   "SWCKEND\n"
//! checksum   u64 LE    XXH3-64 of every byte before `end`
//! ```
//!
//! The body is a sequence of sections. A resource's section is its name (a MessagePack
//! string), its state's length in bytes (an unsigned integer) and its state; a component's
//! section is its name, the entity's label (`population \`exc\``), the length and the state. Resources come first (`clock`, then plugins'),
//! then the entities in scenario order (populations, projections, encoders, monitors), and
//! for each entity every section it holds, in registration order (the core's first). The
//! body ends with the string `end`. Inside a state, arrays of numbers are `bin` blobs of
//! little-endian values (an array of `bin` parts above 4 GiB), streamed from the
//! simulation's own buffers. What the seed
//! determines and nothing changes (connectivity, delays) is rebuilt from the scenario,
//! not stored.
//!
//! Loading checks, in this order: the magic, the end marker (truncation), the checksum
//! (any changed byte), the format version, the header, and the scenario's SHA-256 (the
//! layout of the first 12 and the last 16 bytes never changes between versions);
//! then the body must match the rebuilt network section by section, and every section
//! must round-trip (saving what was loaded gives the same bytes). Every failure is one
//! line naming the file and the problem ([`crate::Error::Checkpoint`], exit code 2).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::api::state::{StateError, StateReader, StateWriter};
use crate::{Error, Result};

/// First bytes of every checkpoint.
pub const MAGIC: [u8; 8] = *b"SWCK\x00\r\n\x1a";
/// Marks the end of the checksummed part.
pub const END: [u8; 8] = *b"SWCKEND\n";
/// The format version this build writes (and the newest it reads). 4: synapses drawn per
/// target and rows sorted by target (2026-11-23), so a version-3 file's weights and
/// delays belong to another network. 5: the per-synapse state of `rstdp`, `rstdp_et` and
/// the SPAIC online rules moved from their sections into the synapse table's arrays
/// (2026-11-24), so that sharded runs gather it by row. 6: a constant weight on a
/// projection without add-ons is stored once (`SynapseTable::uniform`, 2026-11-25).
pub const FORMAT_VERSION: u32 = 6;
/// Extension of checkpoint files.
pub const EXTENSION: &str = "swck";

/// What a checkpoint says about itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Header {
    /// The spikeworld version that wrote it.
    pub spikeworld_version: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// The scenario file as the user named it.
    pub scenario_path: String,
    /// The scenario file's absolute path when the checkpoint was written.
    pub scenario_abs_path: String,
    /// The scenario text (so that a checkpoint resumes on its own).
    pub scenario_text: String,
    /// `--set` overrides of the run.
    pub overrides: Vec<String>,
    /// The run's seed.
    pub seed: u64,
    /// Step, ms.
    pub dt_ms: f64,
    /// Steps completed.
    pub step: u64,
    /// The input files the scenario read, with their digests (`util::inputs`): a resume
    /// that reads other bytes is refused. (Absent from checkpoints written before it.)
    #[serde(default)]
    pub inputs: Vec<crate::util::inputs::InputFile>,
}

/// Counts and hashes what passes through.
pub(crate) struct HashWriter<W: Write> {
    pub(crate) inner: W,
    pub(crate) hash: Xxh3,
    pub(crate) bytes: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a complete checkpoint (magic, version, header, `body`, end, checksum) to `w`.
pub(crate) fn write_file(
    w: &mut dyn Write,
    header: &Header,
    body: impl FnOnce(&mut StateWriter<'_>) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let mut hw = HashWriter { inner: w, hash: Xxh3::new(), bytes: 0 };
    hw.write_all(&MAGIC)?;
    hw.write_all(&FORMAT_VERSION.to_le_bytes())?;
    rmp_serde::encode::write_named(&mut hw, header).map_err(std::io::Error::other)?;
    {
        let mut sw = StateWriter::new(&mut hw);
        body(&mut sw)?;
    }
    let sum = hw.hash.digest();
    let n = hw.bytes;
    let w = hw.inner;
    w.write_all(&END)?;
    w.write_all(&sum.to_le_bytes())?;
    Ok(n + 16)
}

/// An open, verified checkpoint: header read, positioned at the body.
pub struct CheckpointFile {
    /// The file.
    pub path: PathBuf,
    /// Its header.
    pub header: Header,
    reader: std::io::BufReader<std::fs::File>,
    body_len: u64,
}

/// The first 12 hex digits of a SHA-256, for messages.
pub(crate) fn short(sha256: &str) -> &str {
    &sha256[..12.min(sha256.len())]
}

pub(crate) fn cerr(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint { path: path.display().to_string(), message: msg.into() }
}

impl CheckpointFile {
    /// Opens `path` and checks magic, version, end marker, checksum and header. Nothing
    /// large is allocated before the checksum has passed.
    pub fn open(path: &Path) -> Result<CheckpointFile> {
        let unreadable = |e: std::io::Error| cerr(path, format!("cannot read: {e}"));
        let mut f = std::fs::File::open(path).map_err(|e| cerr(path, format!("cannot open: {e}")))?;
        let len = f.metadata().map_err(|e| cerr(path, format!("cannot stat: {e}")))?.len();
        let mut head = [0u8; 12];
        let got = read_up_to(&mut f, &mut head).map_err(unreadable)?;
        if got < 8 && got > 0 && head[..got] == MAGIC[..got] {
            return Err(cerr(path, format!("truncated: the file is only {len} bytes long")));
        }
        if got < 8 || head[..8] != MAGIC {
            if got >= 4 && head[..4] == MAGIC[..4] {
                return Err(cerr(path, "damaged magic bytes (file corrupted, or transferred in text mode)"));
            }
            return Err(cerr(path, "not a spikeworld checkpoint (wrong magic bytes)"));
        }
        if got < 12 {
            return Err(cerr(path, format!("truncated: the file is only {len} bytes long")));
        }
        if len < 12 + 16 {
            return Err(cerr(path, format!("truncated: the file is only {len} bytes long")));
        }
        let mut tail = [0u8; 16];
        f.seek(SeekFrom::Start(len - 16)).and_then(|_| f.read_exact(&mut tail)).map_err(unreadable)?;
        if tail[..8] != END {
            return Err(cerr(path, format!("truncated or damaged: no end marker in the last bytes ({len} bytes in the file; was the write interrupted?)")));
        }
        let want = u64::from_le_bytes(tail[8..].try_into().expect("8 bytes"));
        f.seek(SeekFrom::Start(0)).map_err(unreadable)?;
        let mut hash = Xxh3::new();
        let mut left = len - 16;
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            f.read_exact(&mut buf[..k]).map_err(unreadable)?;
            hash.update(&buf[..k]);
            left -= k as u64;
        }
        if hash.digest() != want {
            return Err(cerr(path, "checksum mismatch: the file is corrupted"));
        }
        let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        if version > FORMAT_VERSION {
            return Err(cerr(
                path,
                format!("format version {version} is newer than this spikeworld ({}) reads (up to {FORMAT_VERSION}): use a newer spikeworld", env!("CARGO_PKG_VERSION")),
            ));
        }
        if version == 0 {
            return Err(cerr(path, "format version 0 is not a valid version (file corrupted)"));
        }
        if version < FORMAT_VERSION {
            return Err(cerr(path, format!("format version {version} was written by an older spikeworld; this one ({}) reads version {FORMAT_VERSION} only", env!("CARGO_PKG_VERSION"))));
        }
        f.seek(SeekFrom::Start(12)).map_err(unreadable)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 20, f);
        let mut counted = CountingReader { inner: &mut reader, n: 0 };
        let header: Header = rmp_serde::decode::from_read(&mut counted).map_err(|e| cerr(path, format!("bad header: {e}")))?;
        let used = counted.n;
        let body_len = len - 16 - 12 - used;
        Ok(CheckpointFile { path: path.to_path_buf(), header, reader, body_len })
    }

    /// Reads the body with `f`, then checks that exactly the whole body was read.
    pub(crate) fn read_body<T>(mut self, f: impl FnOnce(&mut StateReader<'_>) -> Result<T, StateError>) -> Result<T> {
        let mut sr = StateReader::new(&mut self.reader, self.body_len);
        let v = f(&mut sr).map_err(|e| cerr(&self.path, format!("does not match the network built from its scenario: {e}")))?;
        if sr.remaining() != 0 {
            return Err(cerr(&self.path, format!("{} unread bytes after the last section", sr.remaining())));
        }
        Ok(v)
    }
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

struct CountingReader<'a, R: Read> {
    inner: &'a mut R,
    n: u64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// The file name of the checkpoint at `step`: `step-000001000.swck` (sorts by step).
pub fn file_name(step: u64) -> String {
    format!("step-{step:012}.{EXTENSION}")
}

/// Temporary files in `dir` left by checkpoint writes of processes that no longer run
/// (killed mid-write). Only on Linux, where `/proc` tells whether a process runs.
pub fn stale_temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if !cfg!(target_os = "linux") || !Path::new("/proc/self").exists() {
        return v;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return v };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix(".step-") else { continue };
        let Some((_, pid)) = rest.rsplit_once(&format!(".{EXTENSION}.tmp-")) else { continue };
        if let Ok(pid) = pid.parse::<u32>()
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            v.push(e.path());
        }
    }
    v
}

/// Checkpoints in `dir` written by [`file_name`], oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().to_string();
        let Some(num) = name.strip_prefix("step-").and_then(|r| r.strip_suffix(&format!(".{EXTENSION}"))) else { continue };
        // (Checkpoint files only: a directory of that name is not one.)
        if let Ok(step) = num.parse::<u64>()
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            v.push((step, e.path()));
        }
    }
    v.sort();
    Ok(v)
}

