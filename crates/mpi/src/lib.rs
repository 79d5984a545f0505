//! spikeworld's shards over MPI processes: `mpirun -n K spikeworld run SCENARIO --mpi`
//! runs shard `rank` of K in each process, and the shards exchange each window's spikes
//! with one `MPI_Allgatherv` (`docs/sharding.md`). The output files are those of one
//! process (the rank holding shard 0 writes them).
//!
//! Everything is behind this crate's `mpi` feature (the CLI's `mpi` feature turns it on):
//! without it the crate is empty, so that the workspace builds where MPI is not installed.

#[cfg(feature = "mpi")]
mod transport;
#[cfg(feature = "mpi")]
pub use transport::Mpi;
