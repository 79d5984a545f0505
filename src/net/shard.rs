//! What the shards of a partitioned network share: the links over which they exchange
//! spikes and state samples every step (`engine::exchange`, `docs/sharding.md`).

use std::sync::Arc;
use std::time::Duration;

use bevy_ecs::prelude::*;

use crate::api::transport::Transport;

/// A shard's links to the other shards of its network: one channel to and from each.
/// At the end of each exchange window, a shard sends the window's spikes of its
/// populations (population indices) to every other shard and appends theirs in shard
/// order, so that every shard delivers and records the whole network's spikes
/// (`engine::exchange`).
#[derive(Resource)]
pub struct ShardLink {
    /// This shard's index.
    pub(crate) index: usize,
    /// Populations in scenario order (the order of a message's lists).
    pub(crate) populations: Vec<Entity>,
    /// To shard `k` (`None` at this shard's own index).
    pub(crate) to: Vec<Option<crossbeam_channel::Sender<ShardMessage>>>,
    /// From shard `k` (`None` at this shard's own index).
    pub(crate) from: Vec<Option<crossbeam_channel::Receiver<ShardMessage>>>,
    /// The network's state monitors, in scenario order: every shard samples the neurons
    /// it holds and sends them to shard 0, which records them.
    pub(crate) watches: Vec<Watch>,
    /// Links found broken (the other shard panicked, or never answered): skipped after.
    pub(crate) dead: Vec<bool>,
    /// Set by the exchange of a step in which some shard had stopped (a fault): every
    /// shard learns it in that same step and steps no further, so all stop together,
    /// where one world would (for faults raised before the exchange).
    pub(crate) halted: bool,
    /// The spike encoders (scenario order): each shard runs them whole, so they are not
    /// sent, but their delivery waits for the window's end as the populations' does.
    pub(crate) encoders: Vec<Entity>,
    /// Steps per exchange window: at most the shortest delay plus one step, so that no
    /// spike of a window is due before the window ends (1: every step).
    pub(crate) window: u64,
    /// The step at which the current batch of steps ends (`Sim::run_steps`): a window
    /// also ends there, so that between batches every shard holds one world's state.
    pub(crate) flush_at: u64,
    /// The steps of the open window: this shard's spikes and state samples.
    pub(crate) pending: Vec<PendingStep>,
    /// The other shards are other processes: the exchange goes through this, not the
    /// channels (which are then all `None`).
    pub(crate) process: Option<Arc<dyn Transport>>,
    /// The network's weight monitors, in scenario order: at each sample every shard sends
    /// its synapses' weights to shard 0, which records them in one world's order.
    pub(crate) weight_watches: Vec<WeightWatch>,
    /// The rules' collectives between shards of this process (`net::plastic::Shards`):
    /// to and from shard `k` (`None` at this shard's own index, and between processes).
    pub(crate) values_to: Vec<Option<crossbeam_channel::Sender<Vec<f64>>>>,
    pub(crate) values_from: Vec<Option<crossbeam_channel::Receiver<Vec<f64>>>>,
}

/// A weight monitor as every shard sees it.
pub(crate) struct WeightWatch {
    /// The projection (this world's entity).
    pub(crate) projection: Entity,
    /// Period in steps.
    pub(crate) every: u64,
    /// The projection shares a kernel: every shard holds the same, nothing to gather.
    pub(crate) shared: bool,
}

/// Shard 0's weights of the projections whose weight monitors sample in this step: per
/// projection (shard 0's entity), the whole projection's weights in one world's order (gathered by
/// `engine::exchange::gather_weights`; `monitor::record` samples them in place of its own
/// table, which holds only shard 0's synapses).
#[derive(Resource, Default)]
pub struct ShardWeights(pub(crate) Vec<(Entity, Vec<f64>)>);

/// One step of an open window, as this shard saw it.
pub(crate) struct PendingStep {
    pub(crate) step: u64,
    /// Each population's spikes (this shard's neurons).
    pub(crate) spikes: Vec<Vec<u32>>,
    /// Each spike encoder's spikes.
    pub(crate) encoders: Vec<Vec<u32>>,
    /// State samples of this shard's neurons ([`Watch`] order).
    pub(crate) samples: Vec<f64>,
}

impl ShardLink {
    /// Shards of the network.
    pub(crate) fn count(&self) -> usize {
        self.to.len()
    }

    /// This shard's index and the number of shards, for a plugin that splits its own
    /// work over the shards (`docs/sharding.md`, "Plugins in shards").
    pub fn position(&self) -> (usize, usize) {
        (self.index, self.count())
    }

    /// A collective of a plugin's system or of a rule (`net::plastic::Shards`): every
    /// shard's `mine`, in shard order (this one's included). Every shard calls it at the
    /// same point of the same step, whatever it holds, with the same `tag` (the caller's
    /// name hashed, say): a shard that called collectives in another order is a bug of the
    /// caller, and the run stops here with that reason rather than mix two calls' values. A shard that is gone (it panicked:
    /// the run ends with its panic after this step) gives an empty vector.
    pub fn all_gather(&self, tag: u64, mine: &[f64]) -> Vec<Vec<f64>> {
        let mut msg = Vec::with_capacity(mine.len() + 1);
        msg.push(f64::from_bits(tag));
        msg.extend_from_slice(mine);
        let mut parts = self.all_gather_values(&msg);
        for (k, part) in parts.iter_mut().enumerate() {
            if part.is_empty() {
                continue;
            }
            // NOTE: a rule or plugin calling collectives in a shard-dependent order is its
            // bug (the values of two calls would mix): the run stops here.
            assert!(part[0].to_bits() == tag, "shard {}: shard {k} called another collective at this point (a rule or plugin must call them in the same order in every shard)", self.index);
            part.remove(0);
        }
        parts
    }

    /// Every shard's `mine`, in shard order (this one's included), for a rule's collective
    /// (`net::plastic::Shards`): every shard calls it at the same point of the same step,
    /// so each channel carries the calls in one order. A shard that is gone (it panicked:
    /// the run ends with its panic after this step) gives nothing.
    pub(crate) fn all_gather_values(&self, mine: &[f64]) -> Vec<Vec<f64>> {
        if let Some(p) = &self.process {
            let mut words = Vec::with_capacity(2 * mine.len());
            push_f64_words(&mut words, mine);
            return p.all_gather(&words).iter().map(|w| w.chunks_exact(2).map(|c| f64_of_words(c[0], c[1])).collect()).collect();
        }
        for tx in self.values_to.iter().flatten() {
            // A closed channel: that shard is gone (see above).
            let _ = tx.send(mine.to_vec());
        }
        (0..self.count())
            .map(|k| {
                if k == self.index {
                    return mine.to_vec();
                }
                let Some(rx) = self.values_from.get(k).and_then(Option::as_ref) else { return Vec::new() };
                match receive(rx) {
                    Ok(v) => v,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Vec::new(),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        panic!("shard {}: no values from shard {k} for a rule within {} s", self.index, PATIENCE.as_secs())
                    }
                }
            })
            .collect()
    }

    /// A link of shard `index` with its channels; no window yet (every step).
    pub(crate) fn new(index: usize, populations: Vec<Entity>, encoders: Vec<Entity>, to: Vec<Option<crossbeam_channel::Sender<ShardMessage>>>, from: Vec<Option<crossbeam_channel::Receiver<ShardMessage>>>, watches: Vec<Watch>) -> Self {
        let dead = vec![false; to.len()];
        ShardLink { index, populations, to, from, watches, dead, halted: false, encoders, window: 1, flush_at: u64::MAX, pending: Vec::new(), process: None, weight_watches: Vec::new(), values_to: Vec::new(), values_from: Vec::new() }
    }
}

/// What one shard sends another at the end of a window, per step of the window: each
/// population's spikes (population indices, ascending) and, to shard 0, the state samples
/// of its neurons that the state monitors ask for ([`Watch`] order, variable by variable,
/// index by index); and whether it has stopped (a fault): a stopped shard still sends
/// once per window, so that no shard waits for it.
#[derive(Default)]
pub(crate) struct ShardMessage {
    pub(crate) steps: Vec<(Vec<Vec<u32>>, Vec<f64>)>,
    pub(crate) stopped: bool,
}

/// The steps whose delivery the exchange hands to `Propagate`: within a window nothing is
/// delivered (`defer`); at its end, every step of the window, in order, with each source's
/// merged spikes, so that each target's sums keep the one-world order.
#[derive(Resource, Default)]
pub struct WindowReplay {
    pub(crate) defer: bool,
    pub(crate) steps: Vec<(u64, Vec<(Entity, Vec<u32>)>)>,
    /// The tables whose rows of this shard's own spikes it may deliver before it has the
    /// others' ([`EarlyTable`]; none where the shard delivers on a pool or on a device).
    pub(crate) early: Vec<EarlyTable>,
    /// The exchange delivered the `early` tables' own rows of the one step in `steps`.
    pub(crate) early_done: bool,
}

/// A table whose rows of this shard's own spikes come first in the one-world order of
/// every sum they add to: no other shard holds a source of it that comes before them,
/// and no table earlier in the delivery order that adds to the same receptor of the same
/// ring waits for another shard. The exchange delivers them while it waits for the
/// others' spikes (a window of one step); `Propagate` then delivers the table's rows
/// from source `from` on (the other shards' after this one's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EarlyTable {
    pub(crate) table: Entity,
    /// Index of the table's source population in [`ShardLink::populations`].
    pub(crate) source: usize,
    /// One past this shard's last neuron of that population (a population index).
    pub(crate) from: u32,
}

/// A state monitor as every shard sees it.
pub(crate) struct Watch {
    /// The population (this world's entity).
    pub(crate) population: Entity,
    /// Variable indices.
    pub(crate) vars: Vec<usize>,
    /// Neuron indices (population indices), in the monitor's order.
    pub(crate) indices: Vec<usize>,
    /// The shard holding each of `indices`.
    pub(crate) owner: Vec<u32>,
    /// Period in steps.
    pub(crate) every: u64,
    /// The recorder (shard 0's entity).
    pub(crate) monitor: Entity,
}

/// Shard 0's state samples of a window's steps: step, recorder, and per variable the
/// values in the monitor's index order (gathered by the exchange; `monitor::record` takes
/// them in place of its own world's state, which holds only shard 0's neurons).
#[derive(Resource, Default)]
pub struct ShardSamples(pub(crate) Vec<(u64, Entity, Vec<Vec<f64>>)>);

impl ShardMessage {
    /// The message as words, for a [`Transport`]: stopped, steps, then per step the
    /// populations, each list's length and indices, the samples' count and bits (two
    /// words each, low first).
    pub(crate) fn encode(&self) -> Vec<u32> {
        let mut w = vec![self.stopped as u32, self.steps.len() as u32];
        for (lists, samples) in &self.steps {
            w.push(lists.len() as u32);
            for l in lists {
                w.push(l.len() as u32);
                w.extend_from_slice(l);
            }
            w.push(samples.len() as u32);
            push_f64_words(&mut w, samples);
        }
        w
    }

    /// [`ShardMessage::encode`]'s words back; `None` if they are not such a message.
    pub(crate) fn decode(w: &[u32]) -> Option<ShardMessage> {
        let mut it = w.iter().copied();
        let mut next = || it.next();
        let stopped = next()? != 0;
        let n_steps = next()? as usize;
        let mut steps = Vec::with_capacity(n_steps.min(w.len()));
        for _ in 0..n_steps {
            let n_lists = next()? as usize;
            let mut lists = Vec::with_capacity(n_lists.min(w.len()));
            for _ in 0..n_lists {
                let n = next()? as usize;
                let mut l = Vec::with_capacity(n.min(w.len()));
                for _ in 0..n {
                    l.push(next()?);
                }
                lists.push(l);
            }
            let n = next()? as usize;
            let mut samples = Vec::with_capacity(n.min(w.len()));
            for _ in 0..n {
                let (lo, hi) = (next()?, next()?);
                samples.push(f64_of_words(lo, hi));
            }
            steps.push((lists, samples));
        }
        next().is_none().then_some(ShardMessage { steps, stopped })
    }
}

/// `xs` as [`Transport`] words: two per value, its bits' low half first.
fn push_f64_words(w: &mut Vec<u32>, xs: &[f64]) {
    w.extend(xs.iter().flat_map(|x| [x.to_bits() as u32, (x.to_bits() >> 32) as u32]));
}

/// The value [`push_f64_words`] wrote as `lo`, `hi`.
fn f64_of_words(lo: u32, hi: u32) -> f64 {
    f64::from_bits(lo as u64 | (hi as u64) << 32)
}

/// How long a shard waits for another's message before it reports that shard as gone (a
/// step never takes this long; a shard that panicked or stopped never sends).
pub(crate) const PATIENCE: Duration = Duration::from_secs(600);

/// Waiting for another shard's message: the shards of a step usually finish within
/// microseconds of each other, and waking a sleeping thread costs tens of microseconds
/// per step on a VM. So a shard first spins briefly, then yields its core (to the shard it
/// waits for, when there are more shards than cores), and sleeps only after that.
const SPINS: u32 = 1 << 8;
const YIELDS: u32 = 1 << 12;

/// The next message on `rx` (see [`SPINS`]), or why none came.
pub(crate) fn receive<T>(rx: &crossbeam_channel::Receiver<T>) -> Result<T, crossbeam_channel::RecvTimeoutError> {
    for i in 0..SPINS + YIELDS {
        match rx.try_recv() {
            Ok(m) => return Ok(m),
            Err(crossbeam_channel::TryRecvError::Disconnected) => return Err(crossbeam_channel::RecvTimeoutError::Disconnected),
            Err(crossbeam_channel::TryRecvError::Empty) if i < SPINS => std::hint::spin_loop(),
            Err(crossbeam_channel::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv_timeout(PATIENCE)
}
