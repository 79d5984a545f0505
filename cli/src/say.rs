//! `say!` and `warn_user!`: `println!` and `eprintln!` that ignore a closed stream. With
//! `spikeworld run ... | head` the pipe closes before the summary is printed; `println!`
//! would panic there (Rust ignores SIGPIPE, so the write fails with EPIPE), after the
//! outputs are written but with a backtrace and exit code 101. Training prints its epochs
//! as it goes: a closed pipe must not stop it either.

/// `println!` that ignores a failed write.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `eprintln!` that ignores a failed write.
macro_rules! warn_user {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}
