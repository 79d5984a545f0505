//! Training data: `.npy` arrays and MNIST's IDX files (samples `[n, width]` and labels),
//! or an N-MNIST folder (event files integrated into T frames per sample), split by the
//! seed, and the input each time step of a minibatch receives.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use spikeworld::util::npy::{NpyArray, read_npy_f64};
use spikeworld::util::rng::{Stream, purpose};

use crate::config::{Encoding, TrainConfig};

/// The dataset: samples (already scaled) and labels, in the order of the split.
pub struct Dataset {
    /// Samples as read (file order), row-major: `frames · width` numbers each.
    pub x: Vec<f32>,
    /// Numbers in one frame of a sample (the input encoder's size).
    pub width: usize,
    /// Frames per sample: 1 (the same input every step) or T (an input per step).
    pub frames: usize,
    /// Labels, in split order (training samples first, the test samples last).
    pub y: Vec<usize>,
    /// The sample of `x` at each position of the split order.
    pub rows: Vec<usize>,
}

impl Dataset {
    /// Reads `cfg.x` and `cfg.y` (relative to the scenario's directory; `cfg.x` an N-MNIST
    /// folder: its event files integrated into `cfg.steps` frames, labels from its digit
    /// folders) and checks them against the network: width = the input encoder's size,
    /// labels < the output's size.
    pub fn load(
        cfg: &TrainConfig,
        scenario: &Path,
        width: usize,
        classes: usize,
    ) -> Result<Dataset, String> {
        let dir = scenario.parent().unwrap_or(Path::new("."));
        let xp = dir.join(&cfg.x);
        // Errors at the key that names the file.
        let at_x = |m: String| spikeworld::util::table::err_at(&cfg.x_at, "train.x", m).to_string();
        let at_y = |m: String| spikeworld::util::table::err_at(&cfg.y_at, "train.y", m).to_string();
        let (x, labels, frames) = if xp.is_dir() {
            let steps = cfg.steps as usize;
            let (x, labels, w) = crate::nmnist::read_dir(&xp, steps).map_err(at_x)?;
            if w != width {
                return Err(at_x(format!("N-MNIST frames hold 2 × 34 × 34 = {w} numbers; the input encoder `train.input` has {width} (give it shape = [2, 34, 34])")));
            }
            let scale = cfg.scale as f32;
            (x.into_iter().map(|v| v * scale).collect::<Vec<f32>>(), labels.into_iter().map(|l| l as f64).collect::<Vec<f64>>(), steps)
        } else {
            let x = read_array(&xp).map_err(at_x)?;
            x.check_finite().map_err(|m| at_x(format!("`{}`: {m}", xp.display())))?;
            // Images ([n, rows, cols], as IDX stores them) are flattened row-major.
            let shape = if x.shape.len() > 2 { vec![x.shape[0], x.shape[1..].iter().product()] } else { x.shape };
            if shape.len() != 2 || shape[1] != width {
                return Err(at_x(format!("`{}` has shape {shape:?}; expected [samples, {width}] (the input encoder's size)", xp.display())));
            }
            if shape[0] == 0 {
                return Err(at_x(format!("`{}` holds no samples (shape {shape:?})", xp.display())));
            }
            let yp = dir.join(&cfg.y);
            let y = read_array(&yp).map_err(at_y)?;
            if y.shape != [shape[0]] {
                return Err(at_y(format!("`{}` has shape {:?}; expected [{}] (one label per sample)", yp.display(), y.shape, shape[0])));
            }
            (x.values.iter().map(|&v| (v * cfg.scale) as f32).collect(), y.values, 1)
        };
        // The inputs the network sees: finite, and probabilities where Bernoulli draws them.
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(at_x(format!("input value {i} (flat index) times train.scale = {} is {} in f32; expected finite inputs", cfg.scale, x[i])));
        }
        if cfg.encoding == crate::config::Encoding::Bernoulli {
            if let Some(i) = x.iter().position(|v| !(0.0..=1.0).contains(v)) {
                return Err(at_x(format!(
                    "with encoding = \"bernoulli\" each input times train.scale is a firing probability; value {i} (flat index) is {} (train.scale = {}): expected values in [0, 1]",
                    x[i], cfg.scale
                )));
            }
        }
        let mut y = Vec::with_capacity(labels.len());
        for (i, &v) in labels.iter().enumerate() {
            if v.fract() != 0.0 || v < 0.0 || v >= classes as f64 {
                return Err(at_y(format!("label {i} is {v}; expected an integer in 0..{classes} (the output population's size)")));
            }
            y.push(v as usize);
        }
        if (cfg.test_count as usize) >= y.len() {
            return Err(cfg.error_at("test_count", format!("{} leaves no training sample ({} samples)", cfg.test_count, y.len())));
        }
        // The split: a seeded permutation of the samples (stream (seed, 1, TRAIN, 0));
        // the last `test_count` of it are the test samples.
        let n = y.len();
        let mut rows: Vec<usize> = (0..n).collect();
        let mut s = Stream::new(cfg.seed, 1, purpose::TRAIN, 0);
        for i in (1..n).rev() {
            rows.swap(i, s.below(i as u64 + 1) as usize);
        }
        Ok(Dataset { x, width, frames, y: rows.iter().map(|&i| y[i]).collect(), rows })
    }

    /// About the bytes [`Dataset::load`] will hold, from the files' sizes before they are
    /// read (for the memory check): an N-MNIST folder's event files become `steps` frames
    /// of `width` f32 each; an array's values are read as f64 and kept as f32.
    pub fn estimate_bytes(cfg: &TrainConfig, scenario: &Path, width: usize) -> f64 {
        let xp = scenario.parent().unwrap_or(Path::new(".")).join(&cfg.x);
        if xp.is_dir() {
            let count = |dir: &Path| std::fs::read_dir(dir).map_or(0, |d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "bin")).count());
            let files: usize = std::fs::read_dir(&xp).map_or(0, |d| d.filter_map(Result::ok).filter(|e| e.path().is_dir()).map(|e| count(&e.path())).sum());
            return files as f64 * cfg.steps as f64 * width as f64 * 4.0;
        }
        // Each value read as f64 (8 B), then kept as f32 (4 B): a .npy's count from its
        // header; an IDX file's (MNIST: one byte a value) from its size.
        // (A header that claims more values than the file has bytes is a damaged file,
        // refused when it is read, not a training too large for the memory.)
        let len = std::fs::metadata(&xp).map_or(0, |m| m.len());
        let values = spikeworld::util::npy::npy_len(&xp).unwrap_or(len).min(len);
        values as f64 * 12.0
    }

    /// The input of sample `i` (split order) in step `t`.
    pub fn frame(&self, i: usize, t: usize) -> &[f32] {
        let f = if self.frames == 1 { 0 } else { t.min(self.frames - 1) };
        let start = (self.rows[i] * self.frames + f) * self.width;
        &self.x[start..start + self.width]
    }
}

/// Reads a `.npy` file, or an IDX file (MNIST, Fashion-MNIST: magic 0x00 0x00, type
/// 0x08 = unsigned byte, the number of dimensions, big-endian u32 sizes, then the bytes).
pub fn read_array(path: &Path) -> Result<NpyArray, String> {
    let shown = path.display();
    let mut head = [0u8; 4];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
        if f.read_exact(&mut head).is_err() {
            return Err(format!("`{shown}` is too short for .npy or IDX"));
        }
    }
    if head[0] != 0 || head[1] != 0 {
        return read_npy_f64(path, None);
    }
    if head[2] != 0x08 {
        return Err(format!("`{shown}`: IDX element type 0x{:02x}; only 0x08 (unsigned byte, as MNIST) is read", head[2]));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    spikeworld::util::inputs::note(path);
    let dims = head[3] as usize;
    if dims == 0 || bytes.len() < 4 + 4 * dims {
        return Err(format!("`{shown}`: truncated IDX header"));
    }
    let shape: Vec<usize> = (0..dims).map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().expect("4 bytes")) as usize).collect();
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| format!("`{shown}`: IDX sizes {shape:?} overflow"))?;
    let data = &bytes[4 + 4 * dims..];
    if data.len() != count {
        return Err(format!("`{shown}`: IDX sizes {shape:?} need {count} bytes of data; the file has {}", data.len()));
    }
    Ok(NpyArray { shape, values: data.iter().map(|&b| f64::from(b)).collect() })
}

/// The input of step `t` for samples `idx` (f32; the network casts it to its float type): the same currents every step (direct) or spikes
/// drawn with probability x (bernoulli; stream (seed, sample, TRAIN, step), one draw per input).
pub fn input_at<B: Backend>(
    data: &Dataset,
    idx: &[usize],
    cfg: &TrainConfig,
    t: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    let w = data.width;
    let mut v = Vec::with_capacity(idx.len() * w);
    for &i in idx {
        let row = data.frame(i, t);
        match cfg.encoding {
            Encoding::Direct => v.extend_from_slice(row),
            Encoding::Bernoulli => {
                let mut s = Stream::new(cfg.seed, i as u32, purpose::TRAIN, t as u64 + 1);
                v.extend(row.iter().map(|&p| {
                    if s.uniform() < f64::from(p) {
                        1.0f32
                    } else {
                        0.0
                    }
                }));
            }
        }
    }
    Tensor::from_data(TensorData::new(v, [idx.len(), w]), device)
}

