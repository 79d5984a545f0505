//! Atomic file writes: a reader never sees half a file.

use std::io::Write;
use std::path::Path;

use crate::util::error::{Error, Result};

/// Writes what `fill` produces to `path` atomically: a temporary file in the same
/// directory, flushed, fsynced and renamed over `path`; the directory is fsynced too.
/// On failure the temporary file is removed and `path` is left as it was.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 18, &f);
            fill(&mut w)?;
            w.flush()?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(|e| Error::io(path, e))
}


/// Writes `blocks` to `path` atomically as a small container: the 8-byte `magic`, then
/// each block as a little-endian u64 length and its bytes, then the XXH3-64 checksum of all
/// that (little-endian u64). The learners' per-epoch checkpoints use it ([`read_blocks`]
/// reads it back); their magics end in a format digit (`SWTRAIN2`: with the checksum; `SWTRAIN3`: its fingerprint holds the input files' digests).
pub fn write_blocks(path: &Path, magic: &[u8; 8], blocks: &[&[u8]]) -> Result<()> {
    write_atomic(path, |w| {
        // The checksum of everything before it, hashed as it is written: a damaged file is
        // refused, not read as other numbers.
        let mut hash = xxhash_rust::xxh3::Xxh3::new();
        let mut put = |w: &mut dyn Write, b: &[u8]| {
            hash.update(b);
            w.write_all(b)
        };
        put(w, magic)?;
        for b in blocks {
            put(w, &(b.len() as u64).to_le_bytes())?;
            put(w, b)?;
        }
        w.write_all(&hash.digest().to_le_bytes())
    })
}

/// Reads `count` blocks written by [`write_blocks`] with the same `magic`. The checksum is
/// checked first: a file of another kind, of another format version (the magic's last
/// byte), a truncated or damaged one, or trailing bytes are errors that name the file.
pub fn read_blocks(path: &Path, magic: &[u8; 8], count: usize) -> std::result::Result<Vec<Vec<u8>>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let Some(rest) = bytes.strip_prefix(magic.as_slice()) else {
        if bytes.len() >= 8 && bytes[..7] == magic[..7] {
            return Err(format!(
                "`{shown}` was written by another version of spikeworld (format {}, this one reads {}): start the training again",
                char::from(bytes[7]),
                char::from(magic[7])
            ));
        }
        return Err(format!("`{shown}` is not a {} file (wrong header)", String::from_utf8_lossy(magic)));
    };
    let Some((body, sum)) = bytes.split_last_chunk::<8>().filter(|_| rest.len() >= 8) else {
        return Err(format!("`{shown}` is truncated (no checksum)"));
    };
    if xxhash_rust::xxh3::xxh3_64(body) != u64::from_le_bytes(*sum) {
        return Err(format!("`{shown}` is damaged or truncated (its checksum does not match its contents)"));
    }
    let mut rest = &body[8..];
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<8>().ok_or_else(|| format!("`{shown}` is truncated"))?;
        let len = u64::from_le_bytes(*len);
        if len > tail.len() as u64 {
            return Err(format!("`{shown}` is truncated (a block of {len} bytes, {} left)", tail.len()));
        }
        let (block, tail) = tail.split_at(len as usize);
        out.push(block.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!("`{shown}` has {} bytes after its last block", rest.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_damage_is_an_error() {
        let dir = std::env::temp_dir().join(format!("sw-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.bin");
        write_blocks(&p, b"TESTBLK1", &[b"header", b"", &[1, 2, 3]]).unwrap();
        assert_eq!(read_blocks(&p, b"TESTBLK1", 3).unwrap(), vec![b"header".to_vec(), vec![], vec![1, 2, 3]]);
        assert!(read_blocks(&p, b"OTHERBLK", 3).unwrap_err().contains("wrong header"));
        assert!(read_blocks(&p, b"TESTBLK1", 2).unwrap_err().contains("after its last block"));
        assert!(read_blocks(&p, b"TESTBLK2", 3).unwrap_err().contains("another version of spikeworld (format 1, this one reads 2)"));
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 1]).unwrap();
        assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("damaged or truncated"));
        std::fs::write(&p, &full[..10]).unwrap();
        assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("truncated"));
        std::fs::write(&p, &full[..8]).unwrap();
        assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("no checksum"));
        // Any flipped byte is found, a block's length too.
        for at in [8, 8 + 8 + 2, full.len() - 9, full.len() - 1] {
            let mut bad = full.clone();
            bad[at] ^= 0x10;
            std::fs::write(&p, &bad).unwrap();
            assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("damaged"), "byte {at}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Reads a text file of at most `max` bytes, whose size is checked before anything is read:
/// a regular file, or with `streams` also a pipe or device (`/dev/stdin`; read up to the
/// bound, so `/dev/zero` ends there), never a directory. The error says which bound was hit.
pub fn read_text_limited(path: &Path, max: u64, streams: bool) -> std::result::Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.is_dir() || (!meta.is_file() && !streams) {
        return Err("not a regular file".into());
    }
    if meta.len() > max {
        return Err(format!("{} bytes: larger than the {max} bytes a text input may have", meta.len()));
    }
    let mut text = String::new();
    std::fs::File::open(path).and_then(|f| f.take(max + 1).read_to_string(&mut text)).map_err(|e| e.to_string())?;
    crate::util::inputs::note_bytes(path, text.as_bytes());
    if text.len() as u64 > max {
        return Err(format!("grew past the {max} bytes a text input may have while it was read"));
    }
    Ok(text)
}
