//! N-MNIST reader and SpikingJelly frame integration against hand-made `.bin` files and the
//! segment formula of `cal_fixed_frames_number_segment_index` computed independently here.

use std::fs;
use std::path::{Path, PathBuf};

use spikeworld_train_surrogate::nmnist::{Events, FRAME_WIDTH, frames_by_number, read_bin, read_dir};

/// One event as the N-MNIST file writes it (built with arithmetic, not the reader's masks).
fn enc(x: u8, y: u8, on: bool, t: u32) -> [u8; 5] {
    assert!(t < 1 << 23);
    let b2 = u8::try_from(t / 65536).unwrap() + if on { 128 } else { 0 };
    [x, y, b2, u8::try_from(t / 256 % 256).unwrap(), u8::try_from(t % 256).unwrap()]
}

fn write(path: &Path, events: &[[u8; 5]]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, events.concat()).unwrap();
}

fn ev(list: &[(u16, u16, u8)]) -> Events {
    Events { x: list.iter().map(|e| e.0).collect(), y: list.iter().map(|e| e.1).collect(), t: (0..list.len() as u64).map(|i| 10 * i).collect(), p: list.iter().map(|e| e.2).collect() }
}

#[test]
fn decodes_hand_made_bytes_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hand.bin");
    #[rustfmt::skip]
    let bytes: [u8; 30] = [
        0x21, 0x21, 0xFF, 0xFF, 0xFF, // x 33, y 33, ON, t = 2^23 - 1 (largest)
        0x00, 0x00, 0x00, 0x00, 0x00, // x 0, y 0, OFF, t 0
        0x05, 0x07, 0x92, 0x34, 0x56, // ON, t = 0x123456
        0x01, 0x02, 0x12, 0x34, 0x56, // same timestamp, OFF: bit 7 alone is the polarity
        0x00, 0x20, 0x80, 0x00, 0x00, // ON, t 0: bit 7 is not a timestamp bit
        0x20, 0x00, 0x7F, 0x00, 0x01, // OFF, t = 0x7F0001: bits 6..0 of byte 2 are t's top bits
    ];
    fs::write(&path, bytes).unwrap();
    let e = read_bin(&path).unwrap();
    assert_eq!(e.len(), 6);
    assert_eq!(e.x, [33, 0, 5, 1, 0, 32]);
    assert_eq!(e.y, [33, 0, 7, 2, 32, 0]);
    assert_eq!(e.p, [1, 0, 1, 0, 1, 0]);
    assert_eq!(e.t, [8_388_607, 0, 0x12_3456, 0x12_3456, 0, 0x7F_0001]);

    // The test's encoder agrees with the hand-written bytes, and round-trips through the reader.
    assert_eq!(enc(33, 33, true, 8_388_607), [0x21, 0x21, 0xFF, 0xFF, 0xFF]);
    assert_eq!(enc(32, 0, false, 0x7F_0001), [0x20, 0x00, 0x7F, 0x00, 0x01]);
    let list = [(3u8, 30u8, true, 1u32), (30, 3, false, 65_535), (0, 33, true, 65_536), (33, 0, false, 4_000_000)];
    let p2 = dir.path().join("enc.bin");
    write(&p2, &list.map(|(x, y, on, t)| enc(x, y, on, t)));
    let e = read_bin(&p2).unwrap();
    assert_eq!(e.x, [3, 30, 0, 33]);
    assert_eq!(e.y, [30, 3, 33, 0]);
    assert_eq!(e.p, [1, 0, 1, 0]);
    assert_eq!(e.t, [1, 65_535, 65_536, 4_000_000]);
}

#[test]
fn empty_file_is_zero_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.bin");
    fs::write(&path, []).unwrap();
    let e = read_bin(&path).unwrap();
    assert!(e.is_empty());
    assert_eq!(e, Events::default());
}

#[test]
fn read_bin_errors_name_the_path_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("nope.bin");
    let err = read_bin(&missing).unwrap_err();
    assert!(err.contains(&missing.display().to_string()) && err.contains("cannot read"), "{err}");

    let short = dir.path().join("short.bin");
    fs::write(&short, [1u8, 2, 3, 4, 5, 6, 7]).unwrap();
    let err = read_bin(&short).unwrap_err();
    assert!(err.contains(&short.display().to_string()) && err.contains("7 bytes") && err.contains("multiple of 5"), "{err}");

    let wide = dir.path().join("wide.bin");
    write(&wide, &[enc(1, 1, true, 0), enc(34, 0, false, 5)]);
    let err = read_bin(&wide).unwrap_err();
    assert!(err.contains(&wide.display().to_string()) && err.contains("event 1") && err.contains("x = 34, y = 0") && err.contains("34x34"), "{err}");

    let tall = dir.path().join("tall.bin");
    write(&tall, &[enc(0, 255, true, 0)]);
    let err = read_bin(&tall).unwrap_err();
    assert!(err.contains(&tall.display().to_string()) && err.contains("event 0") && err.contains("y = 255"), "{err}");
}

/// Frame of event `k` of `n` in `m` frames, by SpikingJelly's 'number' split
/// (`di = n // m`, segments `[i*di, (i+1)*di)`, the last one extended to `n`), restated.
fn frame_of(k: usize, n: usize, m: usize) -> usize {
    let di = n / m;
    k.checked_div(di).map_or(m - 1, |f| f.min(m - 1))
}

/// Frames built event by event from `frame_of`, independent of the library's loop.
fn expected(e: &Events, m: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; m * 2 * h * w];
    for k in 0..e.len() {
        let c = usize::from(e.p[k] != 0);
        let (x, y) = (usize::from(e.x[k]), usize::from(e.y[k]));
        out[((frame_of(k, e.len(), m) * 2 + c) * h + y) * w + x] += 1.0;
    }
    out
}

fn per_frame_sums(f: &[f32], m: usize) -> Vec<f32> {
    f.chunks(f.len() / m).map(|c| c.iter().sum()).collect()
}

#[test]
fn frames_by_number_follows_the_segment_formula_when_n_is_not_a_multiple() {
    // 23 events in 5 frames on a 3x5 (h x w) grid: di = 4, segments [0,4) [4,8) [8,12) [12,16) [16,23).
    let (h, w, m) = (3usize, 5usize, 5usize);
    let list: Vec<(u16, u16, u8)> = (0..23u16).map(|k| (k * 7 % 5, k % 3, u8::from(k % 4 == 1) * (1 + u8::try_from(k % 3).unwrap()))).collect();
    let e = ev(&list);
    let got = frames_by_number(&e, m, h, w);
    assert_eq!(got.len(), m * 2 * h * w);
    assert_eq!(got, expected(&e, m, h, w));
    assert_eq!(per_frame_sums(&got, m), [4.0, 4.0, 4.0, 4.0, 7.0]);
    // Spot checks of the layout [T, 2, H, W]: event 0 = (x 0, y 0, OFF) in frame 0; event 22
    // = (x 4, y 1, OFF) in the last frame; event 17 = (x 4, y 2, p 3 -> ON) in the last frame.
    assert_eq!(got[0], 1.0);
    assert!(got[((4 * 2) * h + 1) * w + 4] >= 1.0);
    assert!(got[((4 * 2 + 1) * h + 2) * w + 4] >= 1.0);
}

#[test]
fn frames_by_number_counts_repeated_pixels_and_keeps_x_y_apart() {
    // Same pixel three times (SpikingJelly's bincount counts each), on a non-square frame.
    let (h, w) = (2usize, 4usize);
    let e = ev(&[(3, 1, 1), (3, 1, 1), (3, 1, 1), (1, 0, 0)]);
    let got = frames_by_number(&e, 1, h, w);
    let mut want = vec![0.0f32; 2 * h * w];
    want[h * w + w + 3] = 3.0; // channel ON, row y = 1, column x = 3
    want[1] = 1.0; // channel OFF, row 0, column 1
    assert_eq!(got, want);
}

#[test]
fn frames_by_number_with_fewer_events_than_frames_puts_all_in_the_last() {
    let (h, w, m) = (34usize, 34usize, 5usize);
    let e = ev(&[(0, 0, 1), (33, 33, 0), (10, 20, 1)]);
    let got = frames_by_number(&e, m, h, w);
    assert_eq!(got, expected(&e, m, h, w));
    assert_eq!(per_frame_sums(&got, m), [0.0, 0.0, 0.0, 0.0, 3.0]);
    let last = &got[4 * FRAME_WIDTH..];
    assert_eq!(last[0], 0.0); // (0, 0) is ON: channel 1
    assert_eq!(last[h * w], 1.0);
    assert_eq!(last[33 * w + 33], 1.0);
    assert_eq!(last[h * w + 20 * w + 10], 1.0);
}

#[test]
fn frames_by_number_exact_multiple_and_no_events() {
    let e = ev(&(0..10u16).map(|k| (k % 4, k % 3, u8::from(k % 2 == 0))).collect::<Vec<_>>());
    let got = frames_by_number(&e, 5, 3, 4);
    assert_eq!(got, expected(&e, 5, 3, 4));
    assert_eq!(per_frame_sums(&got, 5), [2.0; 5]);

    let none = frames_by_number(&Events::default(), 3, 34, 34);
    assert_eq!(none.len(), 3 * FRAME_WIDTH);
    assert!(none.iter().all(|&v| v == 0.0));
}

#[test]
#[should_panic(expected = "frames must be at least 1")]
fn frames_by_number_refuses_zero_frames() {
    frames_by_number(&ev(&[(0, 0, 1)]), 0, 34, 34);
}

#[test]
#[should_panic(expected = "outside the 4x3 frame")]
fn frames_by_number_refuses_events_outside_the_frame() {
    frames_by_number(&ev(&[(0, 0, 1), (4, 0, 1)]), 1, 3, 4);
}

/// Writes a sample whose first event's x is `id` (so a sample is recognisable) and has
/// `n` events.
fn sample(path: &Path, id: u8, n: u32) {
    let events: Vec<[u8; 5]> = (0..n).map(|k| enc(if k == 0 { id } else { u8::try_from(k % 34).unwrap() }, u8::try_from(k * 5 % 34).unwrap(), k % 3 == 0, k * 100)).collect();
    write(path, &events);
}

#[test]
fn read_dir_orders_by_label_then_name_and_integrates_each_sample() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Train");
    // Created out of order; names sort as strings: "00002" < "00003" < "00010", "a" < "b".
    let files: [(&str, &str, u8, u32); 6] = [("7", "b.bin", 1, 9), ("0", "00010.bin", 2, 4), ("7", "a.bin", 3, 12), ("2", "x.bin", 4, 0), ("0", "00002.bin", 5, 11), ("0", "00003.bin", 6, 2)];
    for (label, name, id, n) in files {
        sample(&root.join(label).join(name), id, n);
    }
    fs::write(root.join("README.txt"), "ignored").unwrap();
    fs::write(root.join("0").join("notes.txt"), "ignored").unwrap();
    fs::create_dir_all(root.join("0").join("sub")).unwrap();
    sample(&root.join("0").join("sub").join("deep.bin"), 7, 3); // not walked into

    let frames = 4;
    let (data, labels, width) = read_dir(&root, frames).unwrap();
    assert_eq!(width, 2 * 34 * 34);
    assert_eq!(labels, [0, 0, 0, 2, 7, 7]);
    let order: [(&str, &str); 6] = [("0", "00002.bin"), ("0", "00003.bin"), ("0", "00010.bin"), ("2", "x.bin"), ("7", "a.bin"), ("7", "b.bin")];
    assert_eq!(data.len(), order.len() * frames * width);
    for (s, (label, name)) in order.iter().enumerate() {
        let path: PathBuf = root.join(label).join(name);
        let e = read_bin(&path).unwrap();
        let got = &data[s * frames * width..(s + 1) * frames * width];
        assert_eq!(got, frames_by_number(&e, frames, 34, 34).as_slice(), "sample {s} = {}", path.display());
        assert_eq!(got, expected(&e, frames, 34, 34).as_slice(), "sample {s}");
        assert_eq!(got.iter().sum::<f32>(), e.len() as f32);
    }
    // The empty sample (2/x.bin) is all zeros; 0/00002.bin (11 events, 4 frames) splits 2,2,2,5.
    assert!(data[3 * frames * width..4 * frames * width].iter().all(|&v| v == 0.0));
    assert_eq!(per_frame_sums(&data[..frames * width], frames), [2.0, 2.0, 2.0, 5.0]);
}

#[test]
fn read_dir_errors() {
    let dir = tempfile::tempdir().unwrap();
    let has = |err: &str, parts: &[&str]| parts.iter().all(|p| err.contains(p));

    let missing = dir.path().join("Missing");
    let err = read_dir(&missing, 4).unwrap_err();
    assert!(has(&err, &[&missing.display().to_string(), "does not exist"]), "{err}");

    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let err = read_dir(&file, 4).unwrap_err();
    assert!(has(&err, &[&file.display().to_string(), "not a directory"]), "{err}");

    let empty = dir.path().join("Empty");
    fs::create_dir_all(&empty).unwrap();
    fs::write(empty.join("README"), "only a file").unwrap();
    let err = read_dir(&empty, 4).unwrap_err();
    assert!(has(&err, &[&empty.display().to_string(), "no label folders"]), "{err}");

    let parent = dir.path().join("Parent");
    sample(&parent.join("Train").join("0").join("a.bin"), 0, 3);
    let err = read_dir(&parent, 4).unwrap_err();
    assert!(has(&err, &[&parent.display().to_string(), "\"Train\"", "not a label folder"]), "{err}");

    let two = dir.path().join("Two");
    sample(&two.join("10").join("a.bin"), 0, 3);
    let err = read_dir(&two, 4).unwrap_err();
    assert!(has(&err, &["\"10\"", "not a label folder"]), "{err}");

    let nobin = dir.path().join("NoBin");
    sample(&nobin.join("1").join("a.bin"), 0, 3);
    fs::create_dir_all(nobin.join("5")).unwrap();
    fs::write(nobin.join("5").join("a.npz"), "not bin").unwrap();
    let err = read_dir(&nobin, 4).unwrap_err();
    assert!(has(&err, &[&nobin.join("5").display().to_string(), "no .bin files"]), "{err}");

    let bad = dir.path().join("Bad");
    sample(&bad.join("1").join("a.bin"), 0, 3);
    fs::create_dir_all(bad.join("3")).unwrap();
    let bad_file = bad.join("3").join("b.bin");
    fs::write(&bad_file, [0u8; 6]).unwrap();
    let err = read_dir(&bad, 4).unwrap_err();
    assert!(has(&err, &[&bad_file.display().to_string(), "6 bytes"]), "{err}");

    let ok = dir.path().join("Ok");
    sample(&ok.join("4").join("a.bin"), 0, 3);
    let err = read_dir(&ok, 0).unwrap_err();
    assert!(has(&err, &[&ok.display().to_string(), "frames must be at least 1"]), "{err}");
    // 1 sample x 2,000,000 frames x 2312 floats x 4 bytes = 18.5e9 bytes > 16 GiB: refused
    // before allocating.
    let err = read_dir(&ok, 2_000_000).unwrap_err();
    assert!(has(&err, &[&ok.display().to_string(), "1 samples x 2000000 frames", "18496000000 bytes", "16 GiB"]), "{err}");
    let err = read_dir(&ok, usize::MAX).unwrap_err();
    assert!(has(&err, &["more than u64", "16 GiB"]), "{err}");
    // The same folder with a sane frame count reads.
    assert!(read_dir(&ok, 1).is_ok());
}
