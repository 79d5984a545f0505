#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]
//! Helpers shared by the tests that drive the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `spikeworld` binary, with no memory limit from the environment.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spikeworld"));
    c.env_remove("SPIKEWORLD_MAX_MEMORY");
    c
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A shipped scenario.
pub fn scenario(name: &str) -> PathBuf {
    repo().join("scenarios").join(name)
}

/// Runs `cmd`, which must succeed.
pub fn ok(cmd: &mut Command) -> Output {
    let r = cmd.output().unwrap();
    assert!(r.status.success(), "{cmd:?} failed:\n{}\n{}", String::from_utf8_lossy(&r.stdout), String::from_utf8_lossy(&r.stderr));
    r
}

/// Every file of an output directory but the manifest, by name.
pub fn output_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_file() && name != "manifest.json" {
            m.insert(name, std::fs::read(&p).unwrap());
        }
    }
    m
}

/// The manifest without what legitimately differs between two runs of the same
/// simulation: timings, `resumed_from`, and the thread count.
pub fn manifest(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    for k in ["wall_time_s", "build_time_s", "loop_time_s", "resumed_from", "threads"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

/// The two output directories hold the same files, byte for byte, and the same manifest.
pub fn assert_same_outputs(a: &Path, b: &Path, what: &str) {
    let (fa, fb) = (output_files(a), output_files(b));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>(), "{what}: different output files");
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{what}: `{name}` differs");
    }
    assert!(fa.len() >= 3, "{what}: expected several output files, found {:?}", fa.keys());
    assert_eq!(manifest(a), manifest(b), "{what}: manifests differ");
}
