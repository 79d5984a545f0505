//! `--mpi`: one shard per MPI process (`spikeworld-mpi`, with the `mpi` feature), and
//! what a run under MPI does with an error that may be one process's alone.

use spikeworld::prelude::*;

use super::ExecArgs;

/// MPI, when `--mpi` asks for it: initialised for this process (finalised when the
/// returned value drops, after the run), and `opts` told of the processes.
#[cfg(feature = "mpi")]
pub(crate) fn start_mpi(a: &ExecArgs, opts: &mut RunOptions) -> Result<Option<spikeworld_mpi::Mpi>> {
    if !a.mpi {
        return Ok(None);
    }
    if a.shards.is_some() {
        return Err(Error::Input("--mpi with --shards: under MPI the processes are the shards (mpirun -n K)".into()));
    }
    let m = spikeworld_mpi::Mpi::init().ok_or_else(|| Error::Runtime("MPI was initialised twice in one process".into()))?;
    m.abort_on_panic();
    opts.processes = Some(m.processes());
    // mpirun binds each process to one core when it runs few of them (OpenMPI binds to a
    // core for up to 2 processes): threads beyond the cores a process may use share them
    // and slow it down (COBA-64k, --threads 2 on one bound core: 2.4 s where 1.3 s unbound).
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if a.threads > cores && m.rank() == 0 && matches!(a.engine, super::EngineArg::Cpu) {
        warn_user!(
            "warning: --threads {} but this process may run on {cores} core(s) (mpirun binds processes to cores); run `mpirun --bind-to none ...` or `mpirun --map-by slot:PE={} ...` to give each process its threads' cores",
            a.threads, a.threads
        );
    }
    Ok(Some(m))
}

/// A run's result under MPI: an error ends every process at once (`MPI_Abort`, after its
/// message), since it may be this process's alone; otherwise MPI is finalised.
#[cfg(feature = "mpi")]
pub(crate) fn finish_mpi(mpi: Option<spikeworld_mpi::Mpi>, r: Result<i32>) -> Result<i32> {
    if let (Some(m), Err(e)) = (&mpi, &r) {
        warn_user!("error: {e}");
        m.abort(if e.is_user_error() { 2 } else { 1 });
    }
    r
}

/// Without the `mpi` feature, `--mpi` says how to get it.
#[cfg(not(feature = "mpi"))]
pub(crate) fn start_mpi(a: &ExecArgs, _opts: &mut RunOptions) -> Result<Option<()>> {
    if a.mpi {
        return Err(Error::Input(
            "--mpi: this spikeworld was built without MPI; install OpenMPI (bash scripts/install-mpi.sh) and build with `cargo build --release -p spikeworld-cli --features mpi`"
                .into(),
        ));
    }
    Ok(None)
}

#[cfg(not(feature = "mpi"))]
pub(crate) fn finish_mpi(_mpi: Option<()>, r: Result<i32>) -> Result<i32> {
    r
}
