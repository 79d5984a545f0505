//! Errors of this crate: every bad input is reported, nothing panics.

/// What went wrong, with the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A time that is NaN or infinite where a finite time is needed.
    #[error("{what}: time {value} is not finite")]
    NonFiniteTime {
        /// Which time.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter outside its valid range.
    #[error("parameter `{name}` = {value}: {reason}")]
    Parameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range.
        reason: &'static str,
    },
    /// Input events not in non-decreasing time order, or a time before the neuron's clock.
    #[error("{what}: time {value} ms is before {previous} ms (events must come in time order)")]
    OutOfOrder {
        /// Which input.
        what: &'static str,
        /// The time given.
        value: f64,
        /// The time already reached.
        previous: f64,
    },
    /// Lengths that do not fit together.
    #[error("{what}: length {got}, expected {expected}")]
    Length {
        /// Which slice.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The length it should have.
        expected: usize,
    },
    /// An index past the end of what it indexes.
    #[error("{what}: index {index} out of range (size {size})")]
    Index {
        /// Which index.
        what: &'static str,
        /// The index given.
        index: usize,
        /// The size of the indexed thing.
        size: usize,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Checks that `value` is finite.
pub(crate) fn finite_time(what: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() { Ok(value + 0.0) } else { Err(Error::NonFiniteTime { what, value }) }
}

/// Checks that `value` is finite and > 0.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 { Ok(value) } else { Err(Error::Parameter { name, value, reason: "must be finite and > 0" }) }
}

/// Checks that `value` is finite.
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() { Ok(value) } else { Err(Error::Parameter { name, value, reason: "must be finite" }) }
}
