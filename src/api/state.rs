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

/// A resource split over the shards of a partitioned network (`docs/sharding.md`): each
/// shard holds its part, and [`Checkpoint::save_state`] writes that part in the format of
/// one world's section (in one world, the part is the whole). A checkpoint holds one
/// world's section, built by [`MergeParts::merge_parts`] from every shard's bytes; on
/// load, every shard reads the whole section and keeps what is its own, so that saving
/// its part again and merging gives the same bytes (checked).
pub trait MergeParts: Checkpoint {
    /// One world's section from every shard's `save_state` bytes, in shard order; `self`
    /// is the resource of this process's first shard (for the network's shape).
    fn merge_parts(&self, parts: &[&[u8]], out: &mut StateWriter<'_>) -> std::io::Result<()>;
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
    /// Bytes of the largest `bin`: a longer blob is written as an array of `bin` parts.
    max_bin: usize,
}

impl<'a> StateWriter<'a> {
    /// Writes into `w`.
    pub fn new(w: &'a mut dyn Write) -> Self {
        StateWriter { w, max_bin: u32::MAX as usize }
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
    /// A writer whose `bin`s hold at most `max_bin` bytes (tests of the multi-part form).
    #[cfg(test)]
    fn with_max_bin(w: &'a mut dyn Write, max_bin: usize) -> Self {
        StateWriter { w, max_bin }
    }

    /// A slice of numbers as a blob of little-endian values, streamed: one `bin`, or, when
    /// it is larger than a `bin` can be (4 GiB), an array of `bin` parts of whole values.
    pub fn blob<T: Le>(&mut self, v: &[T]) -> std::io::Result<()> {
        let bytes = v.len().checked_mul(T::N).ok_or_else(|| std::io::Error::other(format!("array of {} values is too large", v.len())))?;
        if bytes <= self.max_bin {
            return self.bin_of(v);
        }
        let per = (self.max_bin / T::N).max(1);
        let parts = u32::try_from(v.len().div_ceil(per)).map_err(|_| std::io::Error::other(format!("array of {} values is too large", v.len())))?;
        rmp::encode::write_array_len(&mut self.w, parts).map_err(std::io::Error::other)?;
        for part in v.chunks(per) {
            self.bin_of(part)?;
        }
        Ok(())
    }

    /// The blob of `n` values given as consecutive `pieces` (their concatenation), written
    /// as [`StateWriter::blob`] writes that concatenation, byte for byte, without building
    /// it (a sharded run's gathered section: each row's stretches from every shard).
    pub(crate) fn blob_pieces<'v, T: Le + 'v>(&mut self, n: usize, pieces: impl IntoIterator<Item = &'v [T]>) -> std::io::Result<()> {
        self.blob_values(n, pieces.into_iter().flat_map(|p| p.iter().copied()))
    }

    /// The blob of the `n` values `values` yields, written as [`StateWriter::blob`] writes
    /// them, byte for byte, without building the array (a spike recorder's times).
    pub(crate) fn blob_values<T: Le>(&mut self, n: usize, values: impl IntoIterator<Item = T>) -> std::io::Result<()> {
        let bytes = n.checked_mul(T::N).ok_or_else(|| std::io::Error::other(format!("array of {n} values is too large")))?;
        let per = if bytes <= self.max_bin { n } else { (self.max_bin / T::N).max(1) };
        if bytes > self.max_bin {
            let parts = u32::try_from(n.div_ceil(per)).map_err(|_| std::io::Error::other(format!("array of {n} values is too large")))?;
            rmp::encode::write_array_len(&mut self.w, parts).map_err(std::io::Error::other)?;
        }
        if n == 0 {
            rmp::encode::write_bin_len(&mut self.w, 0).map_err(std::io::Error::other)?;
        }
        let (mut left, mut written) = (0usize, 0usize);
        let mut buf = Vec::with_capacity(CHUNK.min(n) * T::N);
        let mut value = [0u8; 8];
        for x in values {
            if left == 0 {
                // A new `bin`: what is buffered belongs to the one before.
                self.w.write_all(&buf)?;
                buf.clear();
                left = per.min(n.saturating_sub(written));
                if left == 0 {
                    return Err(std::io::Error::other(format!("blob of {n} values: given more")));
                }
                rmp::encode::write_bin_len(&mut self.w, (left * T::N) as u32).map_err(std::io::Error::other)?;
            }
            x.put(&mut value);
            buf.extend_from_slice(&value[..T::N]);
            if buf.len() >= CHUNK * T::N {
                self.w.write_all(&buf)?;
                buf.clear();
            }
            (left, written) = (left - 1, written + 1);
        }
        self.w.write_all(&buf)?;
        if written != n {
            return Err(std::io::Error::other(format!("blob of {n} values: given {written}")));
        }
        Ok(())
    }

    /// One `bin` of values (at most `max_bin` bytes).
    fn bin_of<T: Le>(&mut self, v: &[T]) -> std::io::Result<()> {
        let len = v.len() * T::N;
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

    /// Reserves the next `n` bytes for a nested reader over the same stream (a section),
    /// and returns that stream.
    pub(crate) fn reserve(&mut self, n: u64, what: &str) -> Result<&mut dyn Read, StateError> {
        self.take(n, what)?;
        Ok(&mut *self.r)
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

    /// The head of a blob: one `bin` of `n` bytes (`Ok((1, Some(n)))`), or an array of
    /// `k` `bin` parts (`Ok((k, None))`).
    fn blob_head(&mut self, what: &str) -> Result<(u64, Option<u64>), StateError> {
        use rmp::Marker as M;
        let m = self.marker(what)?;
        let n = match m {
            M::FixArray(k) => return Ok((k as u64, None)),
            M::Array16 | M::Array32 => {
                let n = if m == M::Array16 { 2 } else { 4 };
                let mut b = [0u8; 4];
                self.exact(&mut b[4 - n..], what)?;
                return Ok((u32::from_be_bytes(b) as u64, None));
            }
            M::Bin8 => 1,
            M::Bin16 => 2,
            M::Bin32 => 4,
            other => return Err(StateError(format!("{what}: expected a binary blob, found {other:?}"))),
        };
        let mut b = [0u8; 4];
        self.exact(&mut b[4 - n..], what)?;
        Ok((1, Some(u32::from_be_bytes(b) as u64)))
    }

    /// Values in a `bin` of `n` bytes, checked before anything is allocated.
    fn values_in<T: Le>(&mut self, n: u64, what: &str) -> Result<usize, StateError> {
        if n % T::N as u64 != 0 {
            return Err(StateError(format!("{what}: a blob of {n} bytes is not a whole number of {}-byte values", T::N)));
        }
        if n > self.remaining {
            return Err(StateError(format!("{what}: a blob of {n} bytes but only {} remain", self.remaining)));
        }
        Ok((n / T::N as u64) as usize)
    }

    /// Values in the next part of a blob: the single `bin` whose length the head gave, or
    /// the next `bin` of an array of parts.
    fn part_values<T: Le>(&mut self, single: Option<u64>, what: &str) -> Result<usize, StateError> {
        let n = match single {
            Some(n) => n,
            None => self.len_of(what, false)?,
        };
        self.values_in::<T>(n, what)
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

    /// A blob of numbers of any length (one `bin` or an array of `bin` parts).
    pub fn blob<T: Le>(&mut self, what: &str) -> Result<Vec<T>, StateError> {
        let (parts, single) = self.blob_head(what)?;
        let mut v = Vec::new();
        for _ in 0..parts {
            let k = self.part_values::<T>(single, what)?;
            let start = v.len();
            v.resize(start + k, T::default());
            self.fill(&mut v[start..], what)?;
        }
        Ok(v)
    }

    /// A blob of exactly `dst.len()` numbers, read straight into `dst`.
    pub fn blob_into<T: Le>(&mut self, dst: &mut [T], what: &str) -> Result<(), StateError> {
        let (parts, single) = self.blob_head(what)?;
        let mut pos = 0usize;
        for _ in 0..parts {
            let k = self.part_values::<T>(single, what)?;
            if k > dst.len() - pos {
                return Err(StateError(format!("{what}: more than {} values stored, the network has {}", pos + k, dst.len())));
            }
            self.fill(&mut dst[pos..pos + k], what)?;
            pos += k;
        }
        if pos != dst.len() {
            return Err(StateError(format!("{what}: {pos} values stored, the network has {}", dst.len())));
        }
        Ok(())
    }

    /// A blob of exactly `total` numbers, read straight into `pieces` in order (as
    /// [`Self::blob_into`] reads into their concatenation, without building it or a list
    /// of the pieces: a sharded run's section, each row's stretches going to every shard;
    /// [`Piece::Skip`] passes over values another process keeps). The pieces must hold
    /// `total` numbers together.
    pub(crate) fn blob_into_pieces<'p, T: Le + 'p>(&mut self, total: usize, pieces: impl IntoIterator<Item = Piece<'p, T>>, what: &str) -> Result<(), StateError> {
        let mut pieces = pieces.into_iter();
        let mut place = Piece::Skip(0);
        let (parts, single) = self.blob_head(what)?;
        let mut pos = 0usize;
        let mut buf = Vec::new();
        for _ in 0..parts {
            let mut k = self.part_values::<T>(single, what)?;
            if k > total - pos {
                return Err(StateError(format!("{what}: more than {} values stored, the network has {total}", pos + k)));
            }
            pos += k;
            while k > 0 {
                let m = k.min(CHUNK);
                buf.resize(m, T::default());
                self.fill(&mut buf, what)?;
                k -= m;
                let mut from = &buf[..];
                while !from.is_empty() {
                    while place.len() == 0 {
                        place = pieces.next().ok_or_else(|| StateError(format!("{what}: places for fewer than {total} values (a bug)")))?;
                    }
                    let n = from.len().min(place.len());
                    place = match place {
                        Piece::Fill(dst) => {
                            let (head, tail) = dst.split_at_mut(n);
                            head.copy_from_slice(&from[..n]);
                            Piece::Fill(tail)
                        }
                        Piece::Skip(left) => Piece::Skip(left - n),
                    };
                    from = &from[n..];
                }
            }
        }
        if pos != total {
            return Err(StateError(format!("{what}: {pos} values stored, the network has {total}")));
        }
        Ok(())
    }
}


/// Where [`StateReader::blob_into_pieces`] puts the next values: into a slice, or nowhere
/// (this many values that another process keeps).
pub(crate) enum Piece<'p, T> {
    Fill(&'p mut [T]),
    Skip(usize),
}

impl<T> Piece<'_, T> {
    fn len(&self) -> usize {
        match self {
            Piece::Fill(s) => s.len(),
            Piece::Skip(n) => *n,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob larger than a `bin` is written as an array of `bin` parts and read back by
    /// both readers; a single `bin` is written as before (older checkpoints stay readable).
    #[test]
    fn blobs_larger_than_a_bin_are_written_in_parts() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5 - 7.0).collect();
        for max_bin in [8, 64, 800, 8000] {
            let mut bytes = Vec::new();
            StateWriter::with_max_bin(&mut bytes, max_bin).blob(&v).unwrap();
            let parts = (8000usize).div_ceil(max_bin.min(8000));
            let is_bin = (0xc4..=0xc6).contains(&bytes[0]);
            assert_eq!(is_bin, parts == 1, "one bin when it fits, else an array of parts (max_bin {max_bin})");
            let n = bytes.len() as u64;
            let back: Vec<f64> = StateReader::new(&mut &bytes[..], n).blob("v").unwrap();
            assert_eq!(back, v);
            let mut dst = vec![0.0; 1000];
            StateReader::new(&mut &bytes[..], n).blob_into(&mut dst, "v").unwrap();
            assert_eq!(dst, v);
            let mut short = vec![0.0; 999];
            let e = StateReader::new(&mut &bytes[..], n).blob_into(&mut short, "v").unwrap_err();
            assert!(e.0.contains("999"), "{e}");
            let mut long = vec![0.0; 1001];
            let e = StateReader::new(&mut &bytes[..], n).blob_into(&mut long, "v").unwrap_err();
            assert!(e.0.contains("1000 values stored"), "{e}");
        }
        // The single-bin form is byte-identical to what earlier versions wrote.
        let mut one = Vec::new();
        StateWriter::new(&mut one).blob(&v).unwrap();
        let mut legacy = Vec::new();
        rmp::encode::write_bin_len(&mut legacy, 8000).unwrap();
        for x in &v {
            legacy.extend_from_slice(&x.to_le_bytes());
        }
        assert_eq!(one, legacy);
    }

    /// A blob given in pieces is the blob of their concatenation, byte for byte, in one
    /// `bin` and in parts (pieces that straddle parts, empty pieces, no values); pieces
    /// holding more or fewer values than announced are an error.
    #[test]
    fn a_blob_in_pieces_is_the_blob_of_their_concatenation() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.25 - 3.0).collect();
        let cuts = [0, 0, 1, 7, 7, 300, 301, 640, 999, 1000];
        let pieces: Vec<&[f64]> = cuts.windows(2).map(|w| &v[w[0]..w[1]]).collect();
        for max_bin in [8, 24, 800, 8000, u32::MAX as usize] {
            let (mut whole, mut pieced) = (Vec::new(), Vec::new());
            StateWriter::with_max_bin(&mut whole, max_bin).blob(&v).unwrap();
            StateWriter::with_max_bin(&mut pieced, max_bin).blob_pieces(v.len(), pieces.iter().copied()).unwrap();
            assert!(whole == pieced, "max_bin {max_bin}: the pieces' blob differs");
        }
        let (mut whole, mut pieced) = (Vec::new(), Vec::new());
        StateWriter::new(&mut whole).blob::<u64>(&[]).unwrap();
        StateWriter::new(&mut pieced).blob_pieces::<u64>(0, []).unwrap();
        assert_eq!(whole, pieced);
        assert!(StateWriter::new(&mut Vec::new()).blob_pieces(999, pieces.iter().copied()).is_err(), "more than announced");
        assert!(StateWriter::new(&mut Vec::new()).blob_pieces(1001, pieces.iter().copied()).is_err(), "fewer than announced");
    }

    /// A blob read into pieces fills them as their concatenation, from one `bin` and from
    /// parts (pieces that straddle parts, empty pieces); a blob of more or fewer values
    /// than the pieces' total is an error.
    #[test]
    fn a_blob_read_into_pieces_fills_their_concatenation() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5 + 1.0).collect();
        let cuts = [0, 0, 1, 7, 7, 300, 301, 640, 999, 1000];
        for max_bin in [8, 24, 800, u32::MAX as usize] {
            let mut bytes = Vec::new();
            StateWriter::with_max_bin(&mut bytes, max_bin).blob(&v).unwrap();
            let mut got = vec![0.0; v.len()];
            {
                let mut rest = got.as_mut_slice();
                let mut pieces = Vec::new();
                for w in cuts.windows(2) {
                    let (head, tail) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
                    pieces.push(head);
                    rest = tail;
                }
                let mut src = bytes.as_slice();
                let mut r = StateReader::new(&mut src, bytes.len() as u64);
                r.blob_into_pieces(v.len(), pieces.into_iter().map(Piece::Fill), "v").unwrap();
                assert_eq!(r.remaining(), 0);
            }
            assert_eq!(got, v, "max_bin {max_bin}");
            for total in [999, 1001] {
                let mut dst = vec![0.0; total];
                let mut src = bytes.as_slice();
                let mut r = StateReader::new(&mut src, bytes.len() as u64);
                assert!(r.blob_into_pieces(total, [Piece::Fill(dst.as_mut_slice())], "v").is_err(), "{total} places for 1000 values (max_bin {max_bin})");
            }
            // Skipped stretches are read past, the others filled.
            let mut got = vec![0.0; 500];
            {
                let (a, b) = got.split_at_mut(200);
                let pieces = [Piece::Skip(0), Piece::Fill(a), Piece::Skip(300), Piece::Fill(b), Piece::Skip(200)];
                let mut src = bytes.as_slice();
                let mut r = StateReader::new(&mut src, bytes.len() as u64);
                r.blob_into_pieces(v.len(), pieces, "v").unwrap();
                assert_eq!(r.remaining(), 0);
            }
            assert_eq!(&got[..200], &v[..200]);
            assert_eq!(&got[200..], &v[500..800], "max_bin {max_bin}");
        }
    }
}
