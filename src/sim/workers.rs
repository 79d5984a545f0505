//! The threads that run the other shards of a sharded run: one per shard, started at the
//! first batch and kept until the [`Sim`](super::Sim) is dropped.
//!
//! NOTE: a thread started per batch (64 steps, a few milliseconds) began on the core of the
//! thread that started it, and the kernel moved it to the idle core only after several
//! milliseconds, by which time the batch was over: on a 2-core VM, 2 shards ran one after
//! the other, no faster than one world (COBA/CUBA 64k, 2026-11-25). Threads that live for
//! the run are placed once and stay apart.

use std::panic::AssertUnwindSafe;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::{Peer, in_pool, steps_until_halted};

/// What a shard's thread gives back: the shard, or the panic that dropped it.
type Done = std::thread::Result<Peer>;

struct Worker {
    jobs: Option<Sender<(Peer, u64)>>,
    done: Receiver<Done>,
    handle: Option<JoinHandle<()>>,
}

/// One thread per peer shard (shard 0 runs on the caller's thread).
#[derive(Default)]
pub(super) struct ShardWorkers {
    workers: Vec<Worker>,
}

impl ShardWorkers {
    /// Runs `n` steps of each of `peers`, each on its own thread, while `mine` runs on this
    /// one; gives back what `mine` returned and each shard (or its panic), in order.
    /// A shard that panics is dropped on its thread, and with it its channels, so that the
    /// others stop waiting for it.
    pub(super) fn run<R>(&mut self, peers: Vec<Peer>, n: u64, mine: impl FnOnce() -> R) -> (R, Vec<Done>) {
        while self.workers.len() < peers.len() {
            let k = self.workers.len() + 1;
            self.workers.push(Worker::start(k));
        }
        let mut sent = Vec::with_capacity(peers.len());
        for (w, p) in self.workers.iter().zip(peers) {
            // A worker whose thread is gone (it cannot be: jobs are caught) loses the shard
            // here, which drops its channels as a panic would.
            sent.push(w.jobs.as_ref().is_some_and(|tx| tx.send((p, n)).is_ok()));
        }
        let r = mine();
        let back = self.workers.iter().zip(sent).map(|(w, ok)| if ok { w.done.recv().unwrap_or_else(|_| Err(gone())) } else { Err(gone()) }).collect();
        (r, back)
    }
}

impl Worker {
    fn start(k: usize) -> Worker {
        let (jobs, jobs_rx) = crossbeam_channel::bounded::<(Peer, u64)>(1);
        let (done_tx, done) = crossbeam_channel::bounded::<Done>(1);
        let body = move || {
            while let Ok((mut p, n)) = jobs_rx.recv() {
                let r = std::panic::catch_unwind(AssertUnwindSafe(move || {
                    in_pool(&mut p.world, &mut p.schedule, |w, s| steps_until_halted(w, s, n));
                    p
                }));
                if done_tx.send(r).is_err() {
                    break;
                }
            }
        };
        // NOTE: a thread that cannot be started is as fatal here as in `std::thread::scope`.
        let handle = std::thread::Builder::new().name(format!("shard {k}")).spawn(body).expect("start a shard's thread");
        Worker { jobs: Some(jobs), done, handle: Some(handle) }
    }
}

impl Drop for ShardWorkers {
    fn drop(&mut self) {
        // Closing the job channels ends the threads, which are idle between batches.
        for w in &mut self.workers {
            w.jobs = None;
        }
        for w in &mut self.workers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

/// The panic payload of a shard whose thread is gone.
fn gone() -> Box<dyn std::any::Any + Send> {
    Box::new("a shard's thread ended")
}
