//! N-MNIST (Orchard et al. 2015, "Converting Static Image Datasets to Spiking Neuromorphic
//! Datasets Using Saccades") event files, and their integration into frames the way
//! SpikingJelly does it, for surrogate-gradient training on event data.
//!
//! The semantics follow SpikingJelly's `spikingjelly/datasets/utils.py` (re-exported by
//! `spikingjelly/datasets/__init__.py`; used by `spikingjelly/datasets/n_mnist.py`, class
//! `NMNIST`, whose `get_H_W()` is `(34, 34)`):
//!
//! * [`read_bin`] is `load_ATIS_bin`: 5 bytes an event, `x = b0`, `y = b1`,
//!   `p = (b2 & 128) >> 7`, `t = ((b2 & 127) << 16) | (b3 << 8) | b4` (microseconds), in
//!   file order (no sorting).
//! * [`frames_by_number`] is `integrate_events_by_fixed_frames_number(events, 'number',
//!   frames_num, H, W)`: the segments of `cal_fixed_frames_number_segment_index` with
//!   `split_by == 'number'`, each integrated by `integrate_events_segment_to_frame`.
//! * [`read_dir`] reads the unzipped `Train/` or `Test/` folder (`<label>/<name>.bin`), in
//!   the order torchvision's `DatasetFolder` (which SpikingJelly's datasets derive from)
//!   lists samples: class folders sorted by name, files sorted by name.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

/// Sensor height of N-MNIST (rows, the `y` address): `NMNIST.get_H_W()[0]`.
pub const SENSOR_H: usize = 34;
/// Sensor width of N-MNIST (columns, the `x` address): `NMNIST.get_H_W()[1]`.
pub const SENSOR_W: usize = 34;
/// Numbers in one frame `[2, 34, 34]` of N-MNIST: two polarity channels of the sensor.
pub const FRAME_WIDTH: usize = 2 * SENSOR_H * SENSOR_W;
/// Bytes of one event in an N-MNIST `.bin` file (40 bits).
pub const EVENT_BYTES: usize = 5;
/// The most [`read_dir`] allocates for the frames of a folder (16 GiB of `f32`).
pub const MAX_FRAMES_BYTES: u64 = 16 << 30;

/// Events of one sample, one entry an event in file order (structure of arrays, as
/// SpikingJelly's dict `{'t', 'x', 'y', 'p'}`). The four vectors have the same length.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// Column address, `0..w` (N-MNIST: `0..34`).
    pub x: Vec<u16>,
    /// Row address, `0..h` (N-MNIST: `0..34`).
    pub y: Vec<u16>,
    /// Timestamp in microseconds (N-MNIST: 23 bits, `0..=8_388_607`).
    pub t: Vec<u64>,
    /// Polarity: 1 = ON (brightness up), 0 = OFF. Any non-zero value counts as ON in
    /// [`frames_by_number`], as `p != 0` in SpikingJelly.
    pub p: Vec<u8>,
}

impl Events {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
}

/// Decodes the bytes of an N-MNIST `.bin` file (see [`read_bin`]); `path` only names the
/// file in messages.
fn decode(bytes: &[u8], path: &Path) -> Result<Events, String> {
    if !bytes.len().is_multiple_of(EVENT_BYTES) {
        return Err(format!(
            "{}: {} bytes, not a multiple of {EVENT_BYTES} (an N-MNIST event is 5 bytes; {} whole events and {} bytes left over): truncated or not an N-MNIST .bin file",
            path.display(),
            bytes.len(),
            bytes.len() / EVENT_BYTES,
            bytes.len() % EVENT_BYTES
        ));
    }
    let n = bytes.len() / EVENT_BYTES;
    let mut ev = Events { x: Vec::with_capacity(n), y: Vec::with_capacity(n), t: Vec::with_capacity(n), p: Vec::with_capacity(n) };
    for (i, e) in bytes.chunks_exact(EVENT_BYTES).enumerate() {
        let (x, y, b2, b3, b4) = (e[0], e[1], e[2], e[3], e[4]);
        if usize::from(x) >= SENSOR_W || usize::from(y) >= SENSOR_H {
            return Err(format!(
                "{}: event {i} (byte offset {}) has address x = {x}, y = {y}, outside the {SENSOR_W}x{SENSOR_H} N-MNIST sensor (x, y must be 0..=33): not an N-MNIST .bin file",
                path.display(),
                i * EVENT_BYTES
            ));
        }
        ev.x.push(u16::from(x));
        ev.y.push(u16::from(y));
        // load_ATIS_bin: p = (b2 & 128) >> 7; t = ((b2 & 127) << 16) | (b3 << 8) | b4.
        ev.p.push((b2 & 0x80) >> 7);
        ev.t.push((u64::from(b2 & 0x7F) << 16) | (u64::from(b3) << 8) | u64::from(b4));
    }
    Ok(ev)
}

/// Reads one N-MNIST `.bin` file: a sequence of 5-byte events, byte 0 the `x` address,
/// byte 1 the `y` address, bit 7 of byte 2 the polarity (1 = ON), and the low 7 bits of
/// byte 2 with bytes 3 and 4 the 23-bit timestamp in microseconds (big-endian):
/// `t = ((b2 & 0x7F) << 16) | (b3 << 8) | b4`. This is SpikingJelly's `load_ATIS_bin`
/// (`spikingjelly/datasets/utils.py`) bit for bit; events stay in file order.
///
/// An empty file is zero events (SpikingJelly gives empty arrays too). Never panics; the
/// error names the path and:
/// * the I/O error, when the file cannot be read;
/// * the length, when it is not a multiple of 5 (SpikingJelly's strided slices then have
///   different lengths and its `|` fails to broadcast, or worse, broadcasts);
/// * the event, when an address is outside 34x34. SpikingJelly does not check: its
///   `integrate_events_segment_to_frame` bins `p*H*W + y*W + x`, so `x >= 34` lands in the
///   next row, `y >= 34` of an OFF event lands in the ON channel, and only a position past
///   `2*H*W` raises (at the `reshape`). Such a file is not N-MNIST, so it is refused here.
pub fn read_bin(path: &Path) -> Result<Events, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: cannot read N-MNIST event file: {e}", path.display()))?;
    decode(&bytes, path)
}

/// The `frames` segments `[j_l, j_r)` of `n` events, split by number: SpikingJelly's
/// `cal_fixed_frames_number_segment_index(events_t, 'number', frames_num)`:
/// `di = N // M; j_l[i] = i * di; j_r[i] = j_l[i] + di; j_r[-1] = N`. The last frame takes
/// the remainder `N mod M`; with `N < M` every frame but the last is empty and the last
/// holds all events.
fn segments(n: usize, frames: usize) -> impl Iterator<Item = (usize, usize)> {
    let di = n / frames;
    (0..frames).map(move |i| {
        let l = i * di;
        (l, if i + 1 == frames { n } else { l + di })
    })
}

/// Adds the event counts of `ev` into `out`, `[frames, 2, h, w]` (see [`frames_by_number`]).
fn integrate_into(ev: &Events, frames: usize, h: usize, w: usize, out: &mut [f32]) {
    assert!(frames > 0, "frames_by_number: frames must be at least 1 (SpikingJelly's `j_r[-1] = N` fails on 0 frames)");
    let n = ev.len();
    assert!(
        ev.x.len() == n && ev.y.len() == n && ev.p.len() == n,
        "frames_by_number: Events has {} x, {} y, {} t, {} p: the four must have the same length",
        ev.x.len(),
        ev.y.len(),
        n,
        ev.p.len()
    );
    let hw = h * w;
    debug_assert_eq!(out.len(), frames * 2 * hw);
    for (f, (l, r)) in segments(n, frames).enumerate() {
        let frame = &mut out[f * 2 * hw..(f + 1) * 2 * hw];
        for i in l..r {
            let (x, y) = (usize::from(ev.x[i]), usize::from(ev.y[i]));
            assert!(x < w && y < h, "frames_by_number: event {i} at x = {x}, y = {y} is outside the {w}x{h} frame (w x h)");
            // integrate_events_segment_to_frame: position = (p != 0) * H * W + y * W + x,
            // counted by bincount and reshaped to [2, H, W].
            frame[usize::from(ev.p[i] != 0) * hw + y * w + x] += 1.0;
        }
    }
}

/// Integrates events into `frames` frames of equal event count: SpikingJelly's
/// `integrate_events_by_fixed_frames_number(events, split_by='number', frames_num, H, W)`
/// (`spikingjelly/datasets/utils.py`). Returns `[frames, 2, h, w]` row-major event counts.
///
/// * Segments (`cal_fixed_frames_number_segment_index`, `split_by == 'number'`): with `N`
///   events and `M = frames`, `di = N / M` (floor), frame `i` takes the events of indices
///   `[i * di, (i + 1) * di)` in file order, except the last, `[(M - 1) * di, N)`, which
///   also takes the remainder. With `N < M`, `di = 0`: frames `0..M-1` are empty and the
///   last holds every event (SpikingJelly allows this). With `N = 0` all frames are zero.
/// * Pixels (`integrate_events_segment_to_frame`): an event adds 1 at channel
///   `p != 0` (0 = OFF, 1 = ON), row `y`, column `x`: flat index within a frame
///   `(p != 0) * h * w + y * w + x`.
///
/// # Panics
/// If `frames == 0` (SpikingJelly raises an `IndexError` too), if the four vectors of `ev`
/// differ in length, if an event lies outside `w x h` (SpikingJelly would silently move it
/// to another pixel or channel, see [`read_bin`]), or if `frames * 2 * h * w` overflows.
pub fn frames_by_number(ev: &Events, frames: usize, h: usize, w: usize) -> Vec<f32> {
    let len = frames.checked_mul(2).and_then(|v| v.checked_mul(h)).and_then(|v| v.checked_mul(w)).expect("frames_by_number: frames * 2 * h * w overflows usize");
    let mut out = vec![0.0f32; len];
    integrate_into(ev, frames, h, w, &mut out);
    out
}

/// Entries of `dir` as (file name, path), sorted by file name (bytes; the order of
/// Python's `sorted` on names), or the I/O error with the path.
fn sorted_entries(dir: &Path) -> Result<Vec<(OsString, PathBuf, fs::FileType)>, String> {
    let rd = fs::read_dir(dir).map_err(|e| format!("{}: cannot list directory: {e}", dir.display()))?;
    let mut v = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| format!("{}: cannot list directory: {e}", dir.display()))?;
        let path = entry.path();
        // Follows symlinks (torchvision's os.walk(followlinks=True) does too).
        let ft = fs::metadata(&path).map_err(|e| format!("{}: cannot stat: {e}", path.display()))?.file_type();
        v.push((entry.file_name(), path, ft));
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(v)
}

/// Reads an unzipped N-MNIST split, the folder `Train/` or `Test/` of the dataset's zips:
/// `root/<label>/<name>.bin`, `<label>` a single digit `0`..`9`, and integrates each sample
/// with [`frames_by_number`]`(events, frames, 34, 34)`.
///
/// Returns `(data, labels, width)`: `data` the frames of all samples concatenated,
/// sample-major, each `[frames, 2, 34, 34]` row-major (`frames * width` numbers a sample);
/// `labels` the digit of each sample's folder; `width = 2 * 34 * 34` ([`FRAME_WIDTH`]), the
/// numbers in one frame.
///
/// Order (deterministic, never the file system's): label folders by name, then files by
/// name, as torchvision's `DatasetFolder` (`find_classes`, `make_dataset`: `sorted` class
/// names, `sorted` file names). The label is the folder's digit, which is torchvision's
/// class index when all ten folders are present (they are in N-MNIST).
///
/// Choices:
/// * Entries of `root` that are not directories (a README, `.DS_Store`) are ignored, as in
///   `find_classes`. A directory whose name is not a single digit is an error (pointing
///   at the folder above `Train/` is the likely mistake), not a new class.
/// * In a label folder only files ending in `.bin` are read; other files and
///   subdirectories are ignored (not walked into).
/// * A label folder without a `.bin` file is an error (torchvision raises for an empty
///   class too): a partly extracted zip should not train silently on fewer classes.
/// * An empty `.bin` file is a sample of all-zero frames, as in SpikingJelly.
///
/// Errors, each naming the path: `frames == 0`; `root` missing or not a directory; no label
/// folder; a non-digit folder; a label folder without `.bin` files; the frames of all
/// samples above [`MAX_FRAMES_BYTES`] (checked on the file count, before reading or
/// allocating); any [`read_bin`] error.
pub fn read_dir(root: &Path, frames: usize) -> Result<(Vec<f32>, Vec<usize>, usize), String> {
    if frames == 0 {
        return Err(format!("{}: frames must be at least 1", root.display()));
    }
    if !root.exists() {
        return Err(format!("{}: N-MNIST folder does not exist (expected the unzipped Train/ or Test/ folder, with label folders 0..9)", root.display()));
    }
    if !root.is_dir() {
        return Err(format!("{}: not a directory (expected the unzipped N-MNIST Train/ or Test/ folder, with label folders 0..9)", root.display()));
    }
    let mut files: Vec<(PathBuf, usize)> = Vec::new();
    let mut n_labels = 0usize;
    for (name, path, ft) in sorted_entries(root)? {
        if !ft.is_dir() {
            continue;
        }
        let label = match name.to_str().map(str::as_bytes) {
            Some(&[d]) if d.is_ascii_digit() => usize::from(d - b'0'),
            _ => {
                return Err(format!(
                    "{}: folder {:?} is not a label folder (expected single-digit names 0..9 directly under the N-MNIST Train/ or Test/ folder)",
                    root.display(),
                    name
                ));
            }
        };
        n_labels += 1;
        let before = files.len();
        for (fname, fpath, fft) in sorted_entries(&path)? {
            if fft.is_file() && Path::new(&fname).extension().is_some_and(|e| e == "bin") {
                files.push((fpath, label));
            }
        }
        if files.len() == before {
            return Err(format!("{}: label folder has no .bin files", path.display()));
        }
    }
    if n_labels == 0 {
        return Err(format!("{}: no label folders 0..9 (expected the unzipped N-MNIST Train/ or Test/ folder)", root.display()));
    }
    let per_sample = frames.checked_mul(FRAME_WIDTH);
    let total = per_sample.and_then(|s| s.checked_mul(files.len()));
    let bytes = total.and_then(|t| u64::try_from(t).ok()).and_then(|t| t.checked_mul(4));
    match bytes {
        Some(b) if b <= MAX_FRAMES_BYTES => {}
        _ => {
            return Err(format!(
                "{}: {} samples x {frames} frames x {FRAME_WIDTH} floats x 4 bytes = {} bytes exceeds the {} GiB limit: use fewer frames or a smaller folder",
                root.display(),
                files.len(),
                bytes.map_or_else(|| "more than u64".to_string(), |b| b.to_string()),
                MAX_FRAMES_BYTES >> 30
            ));
        }
    }
    let per_sample = frames * FRAME_WIDTH;
    let mut data = vec![0.0f32; per_sample * files.len()];
    let mut labels = Vec::with_capacity(files.len());
    for ((path, label), out) in files.iter().zip(data.chunks_exact_mut(per_sample)) {
        let ev = read_bin(path)?;
        integrate_into(&ev, frames, SENSOR_H, SENSOR_W, out);
        labels.push(*label);
    }
    Ok((data, labels, FRAME_WIDTH))
}
