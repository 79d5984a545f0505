//! State that survives checkpoints: the [`Checkpoint`] trait every stateful component or
//! resource implements, and the typed, length-checked MessagePack writer and reader it
//! uses. The file format around it is the core's (`persist`); a plugin sees only this.

use std::io::{Read, Write};

use serde::Serialize;

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
    /// The writer underneath (for the core's framing of sections).
    pub(crate) fn inner(&mut self) -> &mut dyn Write {
        &mut *self.w
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

    /// Bytes not read yet.
    pub fn remaining(&self) -> u64 {
        self.remaining
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


/// Counts the bytes written to it (the length pass of a section).
#[derive(Default)]
pub(crate) struct CountingWriter(pub(crate) u64);

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Compares what is written to it with `expected`, without holding a copy (the round-trip
/// check of a loaded section).
pub(crate) struct CompareWriter<'a> {
    pub(crate) expected: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) differs: bool,
}

impl Write for CompareWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let end = self.pos + buf.len();
        if end > self.expected.len() || self.expected[self.pos..end] != *buf {
            self.differs = true;
        }
        self.pos = end;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
