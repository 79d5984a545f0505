//! The input files a scenario reads (weight matrices, encoder values, spike lists), with a
//! digest of their bytes: a checkpoint keeps them, and a resume that would read changed
//! files is refused (it would not give the bits of a run that never stopped).
//!
//! The readers ([`crate::util::npy::read_npy_f64`], [`crate::util::fsio::read_text_limited`])
//! note each file they read while [`collecting`] runs on their thread (the scenario's parse,
//! which plugins' `parse` functions run inside). A plugin that reads an input file at parse
//! time should read it through them (or call [`note`]), on the calling thread: a file read
//! otherwise is not part of what a checkpoint checks. A text file's digest is of the bytes
//! read; a `.npy` file (streamed by its reader) is read once more for it.

use std::cell::RefCell;
use std::path::Path;

thread_local! {
    static SEEN: RefCell<Option<Vec<InputFile>>> = const { RefCell::new(None) };
}

/// A file a scenario read: its path as read, and the XXH3-128 digest of its bytes (hex).
pub type InputFile = (String, String);

/// The XXH3-128 digest (hex) of a file's bytes, streamed.
pub fn digest_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// Notes that `path` was read (when collecting on this thread), digesting the file.
pub fn note(path: &Path) {
    push(path, || digest_file(path).unwrap_or_else(|e| format!("unreadable: {e}")));
}

/// Notes that `path` was read as `bytes` (when collecting on this thread): the digest of
/// what was read, with no second read.
pub fn note_bytes(path: &Path, bytes: &[u8]) {
    push(path, || format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes)));
}

fn push(path: &Path, digest: impl FnOnce() -> String) {
    SEEN.with(|s| {
        if let Some(seen) = s.borrow_mut().as_mut() {
            seen.push((path.display().to_string(), digest()));
        }
    });
}

/// Runs `f`, returning what it returned and the files read on this thread meanwhile, in
/// the order they were read (a nested call collects its own).
pub fn collecting<R>(f: impl FnOnce() -> R) -> (R, Vec<InputFile>) {
    let outer = SEEN.with(|s| s.borrow_mut().replace(Vec::new()));
    let r = f();
    let seen = SEEN.with(|s| std::mem::replace(&mut *s.borrow_mut(), outer)).unwrap_or_default();
    (r, seen)
}

/// The first difference between the files a checkpoint recorded and those read now (same
/// scenario, so the same files in the same order): `(path, then, now)`; a file read on
/// one side only has the digest `"none"` on the other. A checkpoint that recorded none
/// (written before the digests were kept) is not checked.
pub fn first_change<'a>(then: &'a [InputFile], now: &'a [InputFile]) -> Option<(&'a str, &'a str, &'a str)> {
    if then.is_empty() {
        return None;
    }
    if let Some((a, b)) = then.iter().zip(now).find(|(a, b)| a.1 != b.1) {
        return Some((a.0.as_str(), a.1.as_str(), b.1.as_str()));
    }
    match then.len().cmp(&now.len()) {
        std::cmp::Ordering::Less => Some((now[then.len()].0.as_str(), "none", now[then.len()].1.as_str())),
        std::cmp::Ordering::Greater => Some((then[now.len()].0.as_str(), then[now.len()].1.as_str(), "none")),
        std::cmp::Ordering::Equal => None,
    }
}

#[cfg(test)]
mod tests {
    /// A file noted by its bytes and by reading it again has one digest (a CSV noted one way
    /// in a checkpoint and the other on resume must agree), and only while collecting.
    #[test]
    fn a_files_digest_is_the_same_from_its_bytes_and_from_disk() {
        let dir = std::env::temp_dir().join(format!("sw-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("s.csv");
        let bytes = b"0.5,1\n1.5,0\n".repeat(10_000);
        std::fs::write(&p, &bytes).unwrap();
        super::note(&p);
        let ((), seen) = super::collecting(|| {
            super::note(&p);
            super::note_bytes(&p, &bytes);
        });
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].1, seen[1].1);
        assert_eq!(seen[0].1.len(), 32);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
