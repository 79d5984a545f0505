//! The [`spikeworld::prelude::Transport`] over `MPI_COMM_WORLD`.

use std::sync::Arc;

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use spikeworld::prelude::{Processes, Transport};

/// MPI, initialised for this process: finalised when dropped (after the run).
pub struct Mpi {
    _universe: mpi::environment::Universe,
    rank: usize,
    size: usize,
    /// `MPI_THREAD_SERIALIZED` (or more) granted: a thread pool's worker may make the
    /// calls (one at a time: the core makes them from one thread at a time).
    serialized: bool,
}

impl Mpi {
    /// Initialises MPI (once per process), asking for `MPI_THREAD_SERIALIZED` (steps run
    /// on a worker of the process's thread pool, checkpoints on the main thread); `None`
    /// if it was initialised already.
    pub fn init() -> Option<Mpi> {
        let (universe, granted) = mpi::initialize_with_threading(mpi::Threading::Serialized)?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        Some(Mpi { _universe: universe, rank, size, serialized: granted >= mpi::Threading::Serialized })
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Processes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Ends every process of the run at once (`MPI_Abort`) with exit code `code`: for an
    /// error that only this process met (the others would wait for it in the next
    /// collective).
    pub fn abort(&self, code: i32) -> ! {
        world().abort(code)
    }

    /// From now on a panic in this process, after its message, ends every process of the
    /// run (`MPI_Abort`), instead of leaving them waiting for this one.
    pub fn abort_on_panic(&self) {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            world().abort(101)
        }));
    }

    /// The transport for [`spikeworld::prelude::RunOptions::processes`]: every process of
    /// `MPI_COMM_WORLD`, one shard each.
    pub fn processes(&self) -> Processes {
        Processes(Arc::new(WorldTransport { rank: self.rank, size: self.size, serialized: self.serialized }))
    }
}

/// The collectives over `MPI_COMM_WORLD`. It holds no MPI handle (an MPI communicator is
/// not `Send`): each call takes the world communicator, which MPI keeps for the whole run.
struct WorldTransport {
    rank: usize,
    size: usize,
    serialized: bool,
}

fn world() -> SimpleCommunicator {
    SimpleCommunicator::world()
}

impl Transport for WorldTransport {
    fn rank(&self) -> usize {
        self.rank
    }

    fn any_thread(&self) -> bool {
        self.serialized
    }

    fn size(&self) -> usize {
        self.size
    }

    fn all_gather(&self, mine: &[u32]) -> Vec<Vec<u32>> {
        let w = world();
        let mut counts = vec![0i32; self.size];
        // NOTE: MPI counts are C ints: a window of more than 2^31 words (8 GiB) per process
        // cannot be sent in one call; the run stops with this message rather than send
        // a wrong count.
        let n = i32::try_from(mine.len()).expect("an exchange window over 2^31 words per process: use shorter windows (--exchange-every)");
        w.all_gather_into(&n, &mut counts[..]);
        receive_parts(&counts, "an exchange window over 2^31 words in all: use shorter windows (--exchange-every)", |part| w.all_gather_varcount_into(mine, part))
    }

    fn gather(&self, mine: &[u32]) -> Vec<Vec<u32>> {
        let w = world();
        let root = w.process_at_rank(0);
        // (Checkpoints send in rounds of less; a weight monitor's sample is one message.)
        let n = i32::try_from(mine.len()).expect("a gather of over 2^31 words from one process");
        if self.rank != 0 {
            root.gather_into(&n);
            root.gather_varcount_into(mine);
            return Vec::new();
        }
        let mut counts = vec![0i32; self.size];
        root.gather_into_root(&n, &mut counts[..]);
        receive_parts(&counts, "a gather of over 2^31 words in all", |part| root.gather_varcount_into_root(mine, part))
    }

    fn all_max(&self, values: &mut [u64]) {
        let mine = values.to_vec();
        world().all_reduce_into(&mine[..], values, SystemOperation::max());
    }

    fn all_sum(&self, values: &mut [u64]) {
        let mine = values.to_vec();
        world().all_reduce_into(&mine[..], values, SystemOperation::sum());
    }
}

/// Every process's words, given each one's count: a buffer laid out by the counts, filled
/// by `receive` (one variable-count collective), cut into the processes' parts. `too_many`
/// is the message when the total exceeds a C int of words.
fn receive_parts(counts: &[i32], too_many: &str, receive: impl FnOnce(&mut PartitionMut<'_, [u32], &[i32], Vec<i32>>)) -> Vec<Vec<u32>> {
    let mut displs = Vec::with_capacity(counts.len());
    let mut total = 0i64;
    for &c in counts {
        displs.push(i32::try_from(total).expect(too_many));
        total += c as i64;
    }
    let mut all = vec![0u32; total as usize];
    {
        let mut part = PartitionMut::new(&mut all[..], counts, displs.clone());
        receive(&mut part);
    }
    counts.iter().zip(&displs).map(|(&c, &d)| all[d as usize..d as usize + c as usize].to_vec()).collect()
}
