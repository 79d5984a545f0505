//! Reading numeric `.npy` arrays that users give as inputs (weight matrices, encoder
//! values): float, int, uint or bool, C order (or 1-D), any shape, as f64. The header is
//! checked before the data is read, so a wrong shape is refused without loading the file.

use std::path::Path;

/// An array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Its shape (C order).
    pub shape: Vec<usize>,
    /// Its values, row-major, as f64.
    pub values: Vec<f64>,
}

/// The number of values a `.npy` file holds, from its header alone (`None`: not a readable
/// `.npy` file): what reading it will take, before it is read.
pub fn npy_len(path: &Path) -> Option<u64> {
    let f = std::fs::File::open(path).ok()?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(f)).ok()?;
    npy.shape().iter().try_fold(1u64, |a, &d| a.checked_mul(d))
}

/// Reads a float (f4, f8), int, uint or bool `.npy` file as f64. `expect`, when given, is
/// the shape it must have (checked before the data is read).
pub fn read_npy_f64(path: &Path, expect: Option<&[usize]>) -> Result<NpyArray, String> {
    use npyz::{DType, NpyFile, Order, TypeChar};
    let shown = path.display();
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read `{shown}`: {e}"))?;
    crate::util::inputs::note(path);
    let npy = NpyFile::new(std::io::BufReader::new(f)).map_err(|e| format!("`{shown}` is not a readable .npy file: {e}"))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    if let Some(e) = expect
        && e != shape.as_slice()
    {
        return Err(format!("`{shown}` has shape {shape:?}; expected {e:?}"));
    }
    if npy.order() == Order::Fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(format!("`{shown}` is stored in Fortran order: save it in C order (numpy.ascontiguousarray)"));
    }
    let bad = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => format!("`{shown}` is shorter than its header's shape {shape:?} says: a truncated or damaged file"),
        _ => format!("cannot read the values of `{shown}`: {e}"),
    };
    let DType::Plain(ts) = npy.dtype() else {
        return Err(format!("`{shown}` has a structured dtype: expected plain numbers (float, int, uint or bool)"));
    };
    let values: Vec<f64> = match (ts.type_char(), ts.size_field()) {
        (TypeChar::Float, 8) => npy.into_vec::<f64>().map_err(bad)?,
        (TypeChar::Float, 4) => npy.into_vec::<f32>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 1) => npy.into_vec::<i8>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 2) => npy.into_vec::<i16>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 4) => npy.into_vec::<i32>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 8) => npy.into_vec::<i64>().map_err(bad)?.into_iter().map(|v| v as f64).collect(),
        (TypeChar::Uint, 1) => npy.into_vec::<u8>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Uint, 2) => npy.into_vec::<u16>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Uint, 4) => npy.into_vec::<u32>().map_err(bad)?.into_iter().map(f64::from).collect(),
        (TypeChar::Uint, 8) => npy.into_vec::<u64>().map_err(bad)?.into_iter().map(|v| v as f64).collect(),
        (TypeChar::Bool, 1) => npy.into_vec::<bool>().map_err(bad)?.into_iter().map(|b| if b { 1.0 } else { 0.0 }).collect(),
        _ => return Err(format!("`{shown}` has dtype `{ts}`: expected float (f4, f8), int, uint or bool")),
    };
    Ok(NpyArray { shape, values })
}

impl NpyArray {
    /// An error naming the first value that is NaN or infinite (by its index in the
    /// array's shape), for inputs that must be finite (weights, encoder values).
    pub fn check_finite(&self) -> Result<(), String> {
        let Some(at) = self.values.iter().position(|x| !x.is_finite()) else { return Ok(()) };
        let mut index = Vec::with_capacity(self.shape.len());
        let mut rest = at;
        for &d in self.shape.iter().rev() {
            index.push(rest % d.max(1));
            rest /= d.max(1);
        }
        index.reverse();
        Err(format!("value {index:?} is {}; expected finite numbers", self.values[at]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finite_names_the_first_bad_value_by_its_index() {
        let a = NpyArray { shape: vec![2, 3], values: vec![0.0, 1.0, 2.0, 3.0, f64::NAN, f64::INFINITY] };
        assert_eq!(a.check_finite().unwrap_err(), "value [1, 1] is NaN; expected finite numbers");
        let b = NpyArray { shape: vec![4], values: vec![0.0, 1.0, -f64::INFINITY, 2.0] };
        assert_eq!(b.check_finite().unwrap_err(), "value [2] is -inf; expected finite numbers");
        assert!(NpyArray { shape: vec![2], values: vec![1.0, -1e300] }.check_finite().is_ok());
    }
}
