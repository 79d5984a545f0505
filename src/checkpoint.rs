//! Checkpoints: everything that evolves in a [`Sim`], in one file (`*.swck`), so that a run
//! stopped at any step and resumed in a new process gives the bits of a run that never
//! stopped.
//!
//! # File format (version 1)
//!
//! ```text
//! magic      8 bytes   "SWCK\0\r\n\x1a"
//! version    u32 LE    format version (this build writes and reads 1)
//! header     MessagePack map (rmp-serde): Header
//! body       MessagePack values, section by section (below)
//! end        8 bytes   "SWCKEND\n"
//! checksum   u64 LE    XXH3-64 of every byte before `end`
//! ```
//!
//! The body is a sequence of sections, each opened by a MessagePack string naming it:
//! `clock`, then one `population` per population (state variables, delay ring with the
//! spikes in transit, this step's spikes), one `projection` per projection (weights), one
//! `encoder` per encoder (its own state, written by the plugin through [`Checkpoint`]), one
//! `monitor` per monitor (what it recorded so far), and `end`. Arrays of numbers are
//! MessagePack `bin` blobs of little-endian values, streamed from the simulation's own
//! buffers: a checkpoint is never held in memory as a whole. What the seed determines and
//! nothing changes (connectivity, delays) is rebuilt from the scenario, not stored.
//!
//! Loading checks, in this order: the magic, the end marker (truncation), the checksum
//! (any changed byte), the format version, the header, and the scenario's SHA-256 (the
//! layout of the first 12 and the last 16 bytes never changes between versions);
//! then the body must match the rebuilt network section by section. Every failure is one
//! line naming the file and the problem ([`crate::Error::Checkpoint`], exit code 2).

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::{Error, Result};

/// First bytes of every checkpoint.
pub const MAGIC: [u8; 8] = *b"SWCK\x00\r\n\x1a";
/// Marks the end of the checksummed part.
pub const END: [u8; 8] = *b"SWCKEND\n";
/// The format version this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;
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
}

/// A problem found while reading state back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StateError(pub String);

impl StateError {
    /// A new error with `msg`.
    pub fn new(msg: impl Into<String>) -> Self {
        StateError(msg.into())
    }
}

/// State that a component keeps between steps, written into checkpoints. Encoders (and,
/// later, plasticity rules) implement it; the core calls it. `save` and `load` must be
/// exact mirrors: the core checks, on every load, that saving the loaded component gives
/// back the bytes it was loaded from, and the resume test runs every scenario through a
/// checkpoint, so a component that forgets part of its state fails a test.
pub trait Checkpoint {
    /// Writes everything that evolves (a stateless component writes nothing).
    fn save_state(&self, out: &mut StateWriter<'_>) -> std::io::Result<()>;
    /// Restores what [`Checkpoint::save_state`] wrote, into a component freshly built from
    /// the same scenario.
    fn load_state(&mut self, inp: &mut StateReader<'_>) -> Result<(), StateError>;
}

/// Little-endian fixed-size numbers stored in blobs.
pub trait Le: Copy + Default {
    /// Bytes per value.
    const N: usize;
    /// Writes `self` into `out[..N]`.
    fn put(self, out: &mut [u8]);
    /// Reads a value from `b[..N]`.
    fn get(b: &[u8]) -> Self;
}

macro_rules! le {
    ($($t:ty),*) => {$(
        impl Le for $t {
            const N: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut [u8]) {
                out[..Self::N].copy_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b[..Self::N].try_into().expect("N bytes"))
            }
        }
    )*};
}
le!(f64, u64, u32, i64);

const CHUNK: usize = 1 << 16;

/// Writes MessagePack values into a checkpoint body.
pub struct StateWriter<'a> {
    w: &'a mut dyn Write,
}

impl<'a> StateWriter<'a> {
    /// Writes into `w`.
    pub fn new(w: &'a mut dyn Write) -> Self {
        StateWriter { w }
    }
    /// An unsigned integer.
    pub fn u64(&mut self, v: u64) -> std::io::Result<()> {
        rmp::encode::write_uint(&mut self.w, v).map(|_| ()).map_err(std::io::Error::other)
    }
    /// A float.
    pub fn f64(&mut self, v: f64) -> std::io::Result<()> {
        rmp::encode::write_f64(&mut self.w, v).map_err(std::io::Error::other)
    }
    /// A string.
    pub fn str(&mut self, s: &str) -> std::io::Result<()> {
        rmp::encode::write_str(&mut self.w, s).map_err(std::io::Error::other)
    }
    /// Raw bytes as one `bin`.
    pub fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        rmp::encode::write_bin(&mut self.w, b).map_err(std::io::Error::other)
    }
    /// A slice of numbers as one `bin` blob of little-endian values, streamed.
    pub fn blob<T: Le>(&mut self, v: &[T]) -> std::io::Result<()> {
        let len = v.len().checked_mul(T::N).filter(|&l| l <= u32::MAX as usize).ok_or_else(|| {
            std::io::Error::other(format!("array of {} values is too large for one blob", v.len()))
        })?;
        rmp::encode::write_bin_len(&mut self.w, len as u32).map_err(std::io::Error::other)?;
        let mut buf = vec![0u8; CHUNK.min(v.len()) * T::N];
        for chunk in v.chunks(CHUNK) {
            for (x, out) in chunk.iter().zip(buf.chunks_exact_mut(T::N)) {
                x.put(out);
            }
            self.w.write_all(&buf[..chunk.len() * T::N])?;
        }
        Ok(())
    }
    /// Any serde value (for small, structured state).
    pub fn value<T: Serialize + ?Sized>(&mut self, v: &T) -> std::io::Result<()> {
        rmp_serde::encode::write(&mut self.w, v).map_err(std::io::Error::other)
    }
}

/// Reads what a [`StateWriter`] wrote, checking every type and length.
pub struct StateReader<'a> {
    r: &'a mut dyn Read,
    remaining: u64,
}

impl<'a> StateReader<'a> {
    /// Reads from `r`, which holds at most `limit` more bytes (lengths above it are
    /// rejected before anything is allocated).
    pub fn new(r: &'a mut dyn Read, limit: u64) -> Self {
        StateReader { r, remaining: limit }
    }

    fn take(&mut self, n: u64, what: &str) -> Result<(), StateError> {
        if n > self.remaining {
            return Err(StateError(format!("{what} needs {n} bytes but only {} remain", self.remaining)));
        }
        self.remaining -= n;
        Ok(())
    }

    fn exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), StateError> {
        self.take(buf.len() as u64, what)?;
        self.r.read_exact(buf).map_err(|e| StateError(format!("{what}: {e}")))
    }

    fn marker(&mut self, what: &str) -> Result<rmp::Marker, StateError> {
        let mut b = [0u8; 1];
        self.exact(&mut b, what)?;
        Ok(rmp::Marker::from_u8(b[0]))
    }

    /// An unsigned integer.
    pub fn u64(&mut self, what: &str) -> Result<u64, StateError> {
        use rmp::Marker as M;
        let m = self.marker(what)?;
        let n = match m {
            M::FixPos(v) => return Ok(v as u64),
            M::U8 => 1,
            M::U16 => 2,
            M::U32 => 4,
            M::U64 => 8,
            other => return Err(StateError(format!("{what}: expected an unsigned integer, found {other:?}"))),
        };
        let mut b = [0u8; 8];
        self.exact(&mut b[8 - n..], what)?;
        Ok(u64::from_be_bytes(b))
    }

    /// A float.
    pub fn f64(&mut self, what: &str) -> Result<f64, StateError> {
        match self.marker(what)? {
            rmp::Marker::F64 => {
                let mut b = [0u8; 8];
                self.exact(&mut b, what)?;
                Ok(f64::from_be_bytes(b))
            }
            other => Err(StateError(format!("{what}: expected a float, found {other:?}"))),
        }
    }

    fn len_of(&mut self, what: &str, str_: bool) -> Result<u64, StateError> {
        use rmp::Marker as M;
        let m = self.marker(what)?;
        let n = match (m, str_) {
            (M::FixStr(n), true) => return Ok(n as u64),
            (M::Str8, true) | (M::Bin8, false) => 1,
            (M::Str16, true) | (M::Bin16, false) => 2,
            (M::Str32, true) | (M::Bin32, false) => 4,
            (other, _) => {
                let want = if str_ { "a string" } else { "a binary blob" };
                return Err(StateError(format!("{what}: expected {want}, found {other:?}")));
            }
        };
        let mut b = [0u8; 4];
        self.exact(&mut b[4 - n..], what)?;
        Ok(u32::from_be_bytes(b) as u64)
    }

    /// `n` bytes, checked against what remains before anything is allocated.
    fn vec_of(&mut self, n: u64, what: &str) -> Result<Vec<u8>, StateError> {
        if n > self.remaining {
            return Err(StateError(format!("{what}: {n} bytes announced but only {} remain", self.remaining)));
        }
        let mut b = vec![0u8; n as usize];
        self.exact(&mut b, what)?;
        Ok(b)
    }

    /// A string.
    pub fn str(&mut self, what: &str) -> Result<String, StateError> {
        let n = self.len_of(what, true)?;
        String::from_utf8(self.vec_of(n, what)?).map_err(|_| StateError(format!("{what}: not UTF-8")))
    }

    /// Expects the string `want` (a section name), else says what was found.
    pub fn expect(&mut self, want: &str, what: &str) -> Result<(), StateError> {
        let s = self.str(what)?;
        if s != want {
            return Err(StateError(format!("{what}: expected `{want}`, found `{s}`")));
        }
        Ok(())
    }

    /// Raw bytes of one `bin`.
    pub fn bytes(&mut self, what: &str) -> Result<Vec<u8>, StateError> {
        let n = self.len_of(what, false)?;
        self.vec_of(n, what)
    }

    fn blob_len<T: Le>(&mut self, what: &str) -> Result<usize, StateError> {
        let n = self.len_of(what, false)?;
        if n % T::N as u64 != 0 {
            return Err(StateError(format!("{what}: a blob of {n} bytes is not a whole number of {}-byte values", T::N)));
        }
        if n > self.remaining {
            return Err(StateError(format!("{what}: a blob of {n} bytes but only {} remain", self.remaining)));
        }
        Ok((n / T::N as u64) as usize)
    }

    fn fill<T: Le>(&mut self, dst: &mut [T], what: &str) -> Result<(), StateError> {
        let mut buf = vec![0u8; CHUNK.min(dst.len()) * T::N];
        for chunk in dst.chunks_mut(CHUNK) {
            let b = &mut buf[..chunk.len() * T::N];
            self.exact(b, what)?;
            for (x, src) in chunk.iter_mut().zip(b.chunks_exact(T::N)) {
                *x = T::get(src);
            }
        }
        Ok(())
    }

    /// A blob of numbers of any length.
    pub fn blob<T: Le>(&mut self, what: &str) -> Result<Vec<T>, StateError> {
        let n = self.blob_len::<T>(what)?;
        let mut v = vec![T::default(); n];
        self.fill(&mut v, what)?;
        Ok(v)
    }

    /// A blob of exactly `dst.len()` numbers, read straight into `dst`.
    pub fn blob_into<T: Le>(&mut self, dst: &mut [T], what: &str) -> Result<(), StateError> {
        let n = self.blob_len::<T>(what)?;
        if n != dst.len() {
            return Err(StateError(format!("{what}: {n} values stored, the network has {}", dst.len())));
        }
        self.fill(dst, what)
    }
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
fn short(sha256: &str) -> &str {
    &sha256[..12.min(sha256.len())]
}

fn cerr(path: &Path, msg: impl Into<String>) -> Error {
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
        if sr.remaining != 0 {
            return Err(cerr(&self.path, format!("{} unread bytes after the last section", sr.remaining)));
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
        if let Ok(step) = num.parse::<u64>() {
            v.push((step, e.path()));
        }
    }
    v.sort();
    Ok(v)
}

// ---------------------------------------------------------------------------------------
// The simulation's state.

use crate::monitor::{RateRecorder, SpikeRecorder, StateRecorder};
use crate::registry::SimBuilder;
use crate::scenario::{LoadOptions, Scenario};
use crate::sim::{Clock, EncoderSlot, InputRing, NeuronState, Projection, RunOptions, Sim, Spikes, StateStore, TensorRuntime};

/// What [`Sim::save`] wrote.
#[derive(Clone, Debug)]
pub struct Saved {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The step it holds.
    pub step: u64,
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()))
}

impl Sim {
    /// The header a checkpoint of the current state gets.
    pub fn checkpoint_header(&self) -> Header {
        let sc = &self.scenario;
        Header {
            spikeworld_version: env!("CARGO_PKG_VERSION").into(),
            scenario_sha256: sc.sha256.clone(),
            scenario_path: sc.path.display().to_string(),
            scenario_abs_path: absolute(&sc.path).display().to_string(),
            scenario_text: sc.text.clone(),
            overrides: sc.overrides.clone(),
            seed: sc.seed,
            dt_ms: sc.dt_ms,
            step: self.step_count(),
        }
    }

    /// Writes a checkpoint of the current state to `path`, atomically (temporary file,
    /// fsync, rename: an interrupted write leaves any previous file at `path` intact).
    pub fn save(&self, path: &Path) -> Result<Saved> {
        let mut bytes = 0;
        crate::output::write_atomic(path, |w| {
            bytes = self.write_checkpoint(w)?;
            Ok(())
        })?;
        Ok(Saved { path: path.to_path_buf(), bytes, step: self.step_count() })
    }

    /// Writes a whole checkpoint to `w` (streamed from the simulation's buffers); returns
    /// the bytes written.
    pub fn write_checkpoint(&self, w: &mut dyn Write) -> std::io::Result<u64> {
        write_file(w, &self.checkpoint_header(), |w| self.write_body(w))
    }

    fn write_body(&self, w: &mut StateWriter<'_>) -> std::io::Result<()> {
        let world = &self.world;
        w.str("clock")?;
        w.u64(self.step_count())?;
        for (pi, &e) in self.populations.iter().enumerate() {
            let def = &self.scenario.populations[pi];
            w.str("population")?;
            w.str(&def.name)?;
            let st = world.get::<NeuronState>(e).expect("population state");
            let vars = def.model.vars();
            w.u64(vars.len() as u64)?;
            for (k, v) in vars.iter().enumerate() {
                w.str(v.name)?;
                match &st.store {
                    StateStore::Host(cols) => w.blob(&cols[k])?,
                    StateStore::Tensor(_) => w.blob(&st.var_to_host(k))?,
                }
            }
            let ring = world.get::<InputRing>(e).expect("population ring");
            w.u64(ring.depth as u64)?;
            w.blob(&ring.data)?;
            let sp = world.get::<Spikes>(e).expect("population spikes");
            w.u64(sp.total)?;
            w.blob(&sp.indices)?;
        }
        for &e in &self.projections {
            let p = world.get::<Projection>(e).expect("projection");
            w.str("projection")?;
            w.str(&p.name)?;
            w.blob(&p.weight)?;
        }
        for &e in &self.encoders {
            let slot = world.get::<EncoderSlot>(e).expect("encoder");
            w.str("encoder")?;
            w.str(&slot.name)?;
            let mut buf = Vec::new();
            slot.encoder.save_state(&mut StateWriter::new(&mut buf))?;
            w.bytes(&buf)?;
            let sp = world.get::<Spikes>(e);
            w.u64(sp.map_or(0, |s| s.total))?;
            w.blob(sp.map_or(&[][..], |s| &s.indices[..]))?;
        }
        for &e in &self.monitors {
            w.str("monitor")?;
            if let Some(m) = world.get::<SpikeRecorder>(e) {
                w.str(&m.name)?;
                w.blob(&m.t_ms)?;
                w.blob(&m.index)?;
            } else if let Some(m) = world.get::<StateRecorder>(e) {
                w.str(&m.name)?;
                w.blob(&m.t_ms)?;
                w.u64(m.data.len() as u64)?;
                for d in &m.data {
                    w.blob(d)?;
                }
            } else if let Some(m) = world.get::<RateRecorder>(e) {
                w.str(&m.name)?;
                w.blob(&m.counts)?;
            } else {
                return Err(std::io::Error::other("a monitor entity without a recorder"));
            }
        }
        w.str("end")
    }

    /// Rebuilds the simulation a checkpoint was taken from, with the scenario stored in it,
    /// and restores its state (cpu engine, one thread). Its end is the scenario's `t_stop`.
    pub fn load(path: &Path, builder: &SimBuilder) -> Result<Sim> {
        Self::load_with(path, builder, &RunOptions::default(), None)
    }

    /// [`Sim::load`] with run options, and optionally the scenario file to rebuild from
    /// (it must be the checkpoint's scenario: its SHA-256 is checked).
    pub fn load_with(path: &Path, builder: &SimBuilder, opts: &RunOptions, scenario: Option<&Path>) -> Result<Sim> {
        let file = CheckpointFile::open(path)?;
        let h = file.header.clone();
        let lo = LoadOptions { overrides: h.overrides.clone(), seed: Some(h.seed) };
        let sc = match scenario {
            Some(s) => {
                let sc = Scenario::load(s, builder.registry(), &lo)?;
                if sc.sha256 != h.scenario_sha256 {
                    return Err(cerr(
                        path,
                        format!(
                            "written for scenario {} (sha256 {}), but {} has sha256 {}: another scenario, or an edited one",
                            h.scenario_path,
                            short(&h.scenario_sha256),
                            s.display(),
                            short(&sc.sha256)
                        ),
                    ));
                }
                sc
            }
            None => {
                let given = PathBuf::from(&h.scenario_path);
                let at = if absolute(&given).display().to_string() == h.scenario_abs_path { given } else { PathBuf::from(&h.scenario_abs_path) };
                let sc = Scenario::from_str(&h.scenario_text, &at, builder.registry(), &lo)?;
                if sc.sha256 != h.scenario_sha256 {
                    return Err(cerr(path, "the stored scenario text does not match its SHA-256"));
                }
                sc
            }
        };
        let mut sim = builder.build(sc, opts)?;
        sim.restore_from(file)?;
        Ok(sim)
    }

    /// Restores the state of a checkpoint of this same simulation (same scenario file,
    /// overrides and seed) into `self`, like Brian2's `restore()`: the network is not
    /// rebuilt.
    pub fn restore(&mut self, path: &Path) -> Result<()> {
        let file = CheckpointFile::open(path)?;
        let h = &file.header;
        let sc = &self.scenario;
        if h.scenario_sha256 != sc.sha256 || h.overrides != sc.overrides || h.seed != sc.seed {
            return Err(cerr(
                path,
                format!(
                    "written for scenario {} (sha256 {}, seed {}, {} overrides), not for this simulation's {} (sha256 {}, seed {}, {} overrides)",
                    h.scenario_path,
                    short(&h.scenario_sha256),
                    h.seed,
                    h.overrides.len(),
                    sc.path.display(),
                    short(&sc.sha256),
                    sc.seed,
                    sc.overrides.len()
                ),
            ));
        }
        self.restore_from(file)
    }

    fn restore_from(&mut self, file: CheckpointFile) -> Result<()> {
        let step = file.header.step;
        file.read_body(|r| self.read_body(r, step))?;
        // A resumed run ends where the scenario does (`t_stop`), or at once if the
        // checkpoint is already past it; `resume --until` moves it.
        let end = self.scenario.steps.max(step);
        self.set_end(end);
        Ok(())
    }

    fn read_body(&mut self, r: &mut StateReader<'_>, step: u64) -> Result<(), StateError> {
        r.expect("clock", "section")?;
        let s = r.u64("clock step")?;
        if s != step {
            return Err(StateError(format!("the clock says step {s}, the header step {step}")));
        }
        self.world.resource_mut::<Clock>().step = s;
        let device = self.world.get_resource::<TensorRuntime>().map(|t| t.device.clone());
        for (pi, &e) in self.populations.iter().enumerate() {
            let def = &self.scenario.populations[pi];
            r.expect("population", "section")?;
            r.expect(&def.name, "population name")?;
            let vars = def.model.vars();
            let nv = r.u64("variable count")?;
            if nv != vars.len() as u64 {
                return Err(StateError(format!("population `{}`: {nv} variables stored, model `{}` has {}", def.name, def.model.name(), vars.len())));
            }
            {
                let mut st = self.world.get_mut::<NeuronState>(e).expect("population state");
                for (k, v) in vars.iter().enumerate() {
                    let what = format!("population `{}` variable `{}`", def.name, v.name);
                    r.expect(v.name, &what)?;
                    match &mut st.store {
                        StateStore::Host(cols) => r.blob_into(&mut cols[k], &what)?,
                        StateStore::Tensor(cols) => {
                            let mut host = vec![0.0; def.size];
                            r.blob_into(&mut host, &what)?;
                            cols[k] = crate::sim::to_col(host, device.as_ref().expect("tensor runtime"));
                        }
                    }
                }
            }
            {
                let mut ring = self.world.get_mut::<InputRing>(e).expect("ring");
                let depth = r.u64("ring depth")?;
                if depth != ring.depth as u64 {
                    return Err(StateError(format!("population `{}`: delay ring of {depth} slots stored, the network has {}", def.name, ring.depth)));
                }
                r.blob_into(&mut ring.data, &format!("population `{}` spikes in transit", def.name))?;
            }
            let mut sp = self.world.get_mut::<Spikes>(e).expect("spikes");
            sp.total = r.u64("spike count")?;
            sp.indices = r.blob(&format!("population `{}` last spikes", def.name))?;
        }
        for &e in &self.projections {
            let mut p_ref = self.world.get_mut::<Projection>(e).expect("projection");
            let p = &mut *p_ref;
            r.expect("projection", "section")?;
            r.expect(&p.name, "projection name")?;
            let what = format!("projection `{}` weights", p.name);
            r.blob_into(&mut p.weight, &what)?;
        }
        for &e in &self.encoders {
            r.expect("encoder", "section")?;
            let name = {
                let mut slot_ref = self.world.get_mut::<EncoderSlot>(e).expect("encoder");
                let slot = &mut *slot_ref;
                r.expect(&slot.name, "encoder name")?;
                let bytes = r.bytes(&format!("encoder `{}` state", slot.name))?;
                let mut cur = std::io::Cursor::new(&bytes[..]);
                let mut sub = StateReader::new(&mut cur, bytes.len() as u64);
                slot.encoder.load_state(&mut sub).map_err(|e| StateError(format!("encoder `{}`: {e}", slot.name)))?;
                if sub.remaining != 0 {
                    return Err(StateError(format!("encoder `{}`: its load_state left {} bytes of its state unread", slot.name, sub.remaining)));
                }
                let mut again = Vec::new();
                slot.encoder.save_state(&mut StateWriter::new(&mut again)).map_err(|e| StateError(e.to_string()))?;
                if again != bytes {
                    return Err(StateError(format!(
                        "encoder `{}`: state does not round-trip (save_state after load_state differs from what was loaded): a bug in the plugin",
                        slot.name
                    )));
                }
                slot.name.clone()
            };
            let total = r.u64("encoder spike count")?;
            let idx: Vec<u32> = r.blob(&format!("encoder `{name}` last spikes"))?;
            if let Some(mut sp) = self.world.get_mut::<Spikes>(e) {
                sp.total = total;
                sp.indices = idx;
            }
        }
        for &e in &self.monitors {
            r.expect("monitor", "section")?;
            let mut ent = self.world.entity_mut(e);
            if let Some(mut m) = ent.get_mut::<SpikeRecorder>() {
                r.expect(&m.name, "monitor name")?;
                m.t_ms = r.blob("spike times")?;
                m.index = r.blob("spike indices")?;
                if m.t_ms.len() != m.index.len() {
                    return Err(StateError(format!("monitor `{}`: {} times but {} indices", m.name, m.t_ms.len(), m.index.len())));
                }
            } else if let Some(mut m) = ent.get_mut::<StateRecorder>() {
                r.expect(&m.name, "monitor name")?;
                m.t_ms = r.blob("sample times")?;
                let k = r.u64("variable count")?;
                if k != m.data.len() as u64 {
                    return Err(StateError(format!("monitor `{}`: {k} variables stored, {} recorded", m.name, m.data.len())));
                }
                for d in 0..m.data.len() {
                    m.data[d] = r.blob("samples")?;
                    if m.data[d].len() != m.t_ms.len() * m.indices.len() {
                        return Err(StateError(format!("monitor `{}`: sample array of the wrong size", m.name)));
                    }
                }
            } else if let Some(mut m) = ent.get_mut::<RateRecorder>() {
                r.expect(&m.name, "monitor name")?;
                m.counts = r.blob("rate counts")?;
            }
        }
        r.expect("end", "section")?;
        Ok(())
    }
}
