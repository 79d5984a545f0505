//! How the shards of a network split over processes exchange spikes: the contract a
//! transport crate (MPI: `spikeworld-mpi`) implements (`docs/sharding.md`).

use std::sync::Arc;

/// How the shards of a network held by different processes talk: one shard per process,
/// rank `r` of `size`, collectives over every process (MPI: the `spikeworld-mpi` crate).
/// Every process calls each collective in the same order; the core makes sure of that.
pub trait Transport: Send + Sync {
    /// This process's rank (its shard).
    fn rank(&self) -> usize;
    /// Processes (shards).
    fn size(&self) -> usize;
    /// Every process's words, in rank order, this one's included.
    fn all_gather(&self, mine: &[u32]) -> Vec<Vec<u32>>;
    /// Every process's words, in rank order, in process 0 only (elsewhere empty): what a
    /// checkpoint needs, where only process 0 writes. By default an [`Self::all_gather`]
    /// whose copies the other processes drop; a transport with a gather to one process
    /// (MPI: `MPI_Gatherv`) spares them holding every part.
    fn gather(&self, mine: &[u32]) -> Vec<Vec<u32>> {
        let all = self.all_gather(mine);
        if self.rank() == 0 { all } else { Vec::new() }
    }
    /// Element-wise maximum over every process, in place.
    fn all_max(&self, values: &mut [u64]);
    /// Element-wise sum over every process, in place.
    fn all_sum(&self, values: &mut [u64]);
    /// Whether the collectives may be called from a thread other than the one that
    /// started the transport, one at a time (MPI: `MPI_THREAD_SERIALIZED` granted). If
    /// not, a process steps on its main thread, outside its thread pool.
    fn any_thread(&self) -> bool {
        false
    }
}

/// A network's processes (see [`Transport`]), as [`super::run::RunOptions`] takes them.
#[derive(Clone)]
pub struct Processes(pub Arc<dyn Transport>);

impl std::fmt::Debug for Processes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Processes(rank {} of {})", self.0.rank(), self.0.size())
    }
}
