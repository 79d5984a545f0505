//! Errors. User input (scenario files, CLI values, output directories) never panics: it
//! becomes an [`Error`] that names where the problem is and what was expected.

use std::fmt;
use std::sync::Arc;

/// Where a value came from: a position in a scenario file, or a `--set` override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    /// `file:line:col` (1-based).
    File {
        /// The scenario file as the user named it.
        file: Arc<str>,
        /// Line, 1-based.
        line: u32,
        /// Column in characters, 1-based.
        col: u32,
    },
    /// A `--set key=value` on the command line.
    Override(Arc<str>),
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::File { file, line, col } => write!(f, "{file}:{line}:{col}"),
            Loc::Override(s) => write!(f, "--set {s}"),
        }
    }
}

/// A problem in a scenario: where, which key, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{loc}: `{key}`: {message}")]
pub struct ScenarioError {
    /// Position of the offending key or value.
    pub loc: Loc,
    /// Dotted path of the key (`population[P].params.tau_m`).
    pub key: String,
    /// What is wrong and what would be right.
    pub message: String,
}

/// Every error spikeworld reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario is malformed or inconsistent.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Two plugins registered the same name, or a plugin is misconfigured.
    #[error("registry: {0}")]
    Registry(String),
    /// Bad input outside a scenario file (a CLI value).
    #[error("{0}")]
    Input(String),
    /// A checkpoint cannot be used: damaged, truncated, of a newer format, or written for
    /// another scenario.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A state variable became NaN or infinite, or another run-time failure.
    #[error("{0}")]
    Runtime(String),
}

impl Error {
    /// True when the user can fix it by changing their input (exit code 2).
    pub fn is_user_error(&self) -> bool {
        matches!(self, Error::Scenario(_) | Error::Input(_) | Error::Checkpoint { .. })
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }
}

/// Result with spikeworld's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
