//! Reading numeric `.npy` arrays that users give as inputs (weight matrices, encoder
//! values): float64 or float32, C order, any shape. The header is checked before the data
//! is read, so a wrong shape is refused without loading the file.

use std::path::Path;

/// An array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Its shape (C order).
    pub shape: Vec<usize>,
    /// Its values, row-major, as f64.
    pub values: Vec<f64>,
}

/// The shape of a `.npy` file, from its header alone.
pub fn npy_shape(path: &Path) -> Result<Vec<usize>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(f)).map_err(|e| format!("`{}` is not a .npy file: {e}", path.display()))?;
    Ok(npy.shape().iter().map(|&d| d as usize).collect())
}

/// Reads a float64 or float32 `.npy` file. `expect`, when given, is the shape it must have
/// (checked before the data is read).
pub fn read_npy_f64(path: &Path, expect: Option<&[usize]>) -> Result<NpyArray, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open `{}`: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(f)).map_err(|e| format!("`{}` is not a .npy file: {e}", path.display()))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if let Some(e) = expect
        && e != shape.as_slice()
    {
        return Err(format!("`{}` has shape {shape:?}; expected {e:?}", path.display()));
    }
    if npy.order() != npyz::Order::C {
        return Err(format!("`{}` is in Fortran order; save it in C order (numpy's default)", path.display()));
    }
    // `descr()` is the header's Python literal (`'<f8'`).
    let descr = npy.dtype().descr();
    let values = match descr.trim_matches('\'') {
        "<f8" => npy.into_vec::<f64>(),
        "<f4" => npy.into_vec::<f32>().map(|v| v.into_iter().map(f64::from).collect()),
        other => return Err(format!("`{}` holds `{other}`; expected float64 or float32 (`<f8`, `<f4`)", path.display())),
    }
    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(NpyArray { shape, values })
}
