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
/// each block as a little-endian u64 length and its bytes. The learners' per-epoch
/// checkpoints use it ([`read_blocks`] reads it back).
pub fn write_blocks(path: &Path, magic: &[u8; 8], blocks: &[&[u8]]) -> Result<()> {
    let mut bytes = Vec::with_capacity(8 + blocks.iter().map(|b| 8 + b.len()).sum::<usize>() + 8);
    bytes.extend_from_slice(magic);
    for b in blocks {
        bytes.extend_from_slice(&(b.len() as u64).to_le_bytes());
        bytes.extend_from_slice(b);
    }
    // The checksum of everything before it: a damaged file is refused, not read as other numbers.
    let sum = xxhash_rust::xxh3::xxh3_64(&bytes);
    write_atomic(path, |w| {
        w.write_all(&bytes)?;
        w.write_all(&sum.to_le_bytes())
    })
}

/// Reads `count` blocks written by [`write_blocks`] with the same `magic`; a file of another
/// kind, a truncated or damaged one (its XXH3-64 checksum) or trailing bytes are errors that
/// name the file.
pub fn read_blocks(path: &Path, magic: &[u8; 8], count: usize) -> std::result::Result<Vec<Vec<u8>>, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    let Some(rest) = bytes.strip_prefix(magic.as_slice()) else {
        return Err(format!("`{shown}` is not a {} file (wrong header)", String::from_utf8_lossy(magic)));
    };
    let mut rest = rest;
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
    let Some((sum, extra)) = rest.split_first_chunk::<8>() else {
        return Err(format!("`{shown}` is truncated (no checksum after its last block)"));
    };
    if !extra.is_empty() {
        return Err(format!("`{shown}` has {} bytes after its checksum", extra.len()));
    }
    let body = &bytes[..bytes.len() - 8];
    if xxhash_rust::xxh3::xxh3_64(body) != u64::from_le_bytes(*sum) {
        return Err(format!("`{shown}` is damaged (its checksum does not match its contents)"));
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
        assert!(read_blocks(&p, b"TESTBLK1", 2).unwrap_err().contains("after its checksum"));
        let full = std::fs::read(&p).unwrap();
        std::fs::write(&p, &full[..full.len() - 1]).unwrap();
        assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("truncated"));
        std::fs::write(&p, &full[..full.len() - 8]).unwrap();
        assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("no checksum"));
        // Any flipped byte of a block is found.
        for at in [8 + 8 + 2, full.len() - 9] {
            let mut bad = full.clone();
            bad[at] ^= 0x10;
            std::fs::write(&p, &bad).unwrap();
            assert!(read_blocks(&p, b"TESTBLK1", 3).unwrap_err().contains("damaged"), "byte {at}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
