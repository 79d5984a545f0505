//! The cpu engine: each population's fused update over its host buffers, split into
//! neuron ranges over the worker threads. Nothing is allocated per step: the per-range
//! slices live in fixed arrays on the stack and the per-range spike lists are reused.

use bevy_ecs::prelude::*;
use rayon::prelude::*;

use crate::api::model::MAX_VARS;
use crate::net::{Clock, CpuPool, CpuScratch, InputRing, NeuronState, NoiseInputs, Population, Spikes, StateStore};

/// Most ranges one population is split into.
const MAX_CHUNKS: usize = 64;
/// Fewest neurons in a range.
pub(crate) const MIN_CHUNK: usize = 4096;

/// One range of neurons: its slices of every state variable and input.
struct Part<'a> {
    vars: [&'a mut [f64]; MAX_VARS],
    inputs: [&'a mut [f64]; MAX_VARS],
    offset: u32,
}

fn empty<'a>() -> &'a mut [f64] {
    &mut []
}

pub(crate) fn integrate_cpu(clock: Res<Clock>, pool: Res<CpuPool>, mut pops: Query<(&Population, &mut NeuronState, &mut InputRing, &mut Spikes, &mut CpuScratch, Option<&NoiseInputs>)>) {
    for (pop, mut st, mut ring, mut spikes, mut scratch, noise) in &mut pops {
        // Spikes carry population indices: a shard's neurons start at `first`.
        let first = pop.first as u32;
        let NeuronState { model, store, .. } = &mut *st;
        let StateStore::Host(vars) = store else { continue };
        let InputRing { depth, receptors, n, data, active, .. } = &mut *ring;
        let (n, nr, nv) = (*n, *receptors, vars.len());
        let len = nr * n;
        let s = (clock.step % *depth as u64) as usize;
        let slot = &mut data[s * len..(s + 1) * len];
        spikes.indices.clear();
        let chunks = pool.threads.min(n / MIN_CHUNK).clamp(1, MAX_CHUNKS);
        let threaded = pool.pool.as_ref().filter(|_| chunks > 1);
        if let Some(workers) = threaded {
            let noise = noise.map(|x| (x, clock.step));
            step_threaded(workers, &**model, vars, slot, active, n, chunks, first, noise, &mut spikes.indices, &mut scratch.chunk_spikes);
        } else {
            let mut vit = vars.iter_mut();
            let mut v: [&mut [f64]; MAX_VARS] = std::array::from_fn(|_| vit.next().map_or_else(empty, |x| &mut x[..]));
            let mut iit = slot.chunks_mut(n.max(1)).zip(active.iter());
            let mut i: [&mut [f64]; MAX_VARS] = std::array::from_fn(|_| match iit.next() {
                Some((c, &true)) => c,
                _ => empty(),
            });
            if let Some(x) = noise {
                for (j, &(r, _)) in x.rows.iter().enumerate() {
                    x.fill(j, clock.step, first as u64, i[r]);
                }
            }
            model.step_cpu(&mut v[..nv], &mut i[..nr], first, &mut spikes.indices);
        }
        spikes.total += spikes.indices.len() as u64;
    }
}

/// One population's step split into `chunks` ranges over the worker threads. Apart from
/// `integrate_cpu` (never inlined into it): its arrays of per-range slices take a stack
/// frame of ~70 KB, which the one-thread path would otherwise probe page by page on every
/// step (measured 0.04 us, 6 % of a step of a 16-neuron network).
#[inline(never)]
#[expect(clippy::too_many_arguments, reason = "one population's buffers, unpacked")]
fn step_threaded(
    workers: &rayon::ThreadPool,
    model: &dyn crate::api::model::PreparedModel,
    vars: &mut [crate::util::lines::Lines],
    slot: &mut [f64],
    active: &[bool],
    n: usize,
    chunks: usize,
    first: u32,
    noise: Option<(&NoiseInputs, u64)>,
    indices: &mut Vec<u32>,
    chunk_spikes: &mut Vec<Vec<u32>>,
) {
    let (nv, nr) = (vars.len(), active.len());
    // NOTE: neurons are independent within a step, so any split gives the same
    // bits; spikes are concatenated in range order, i.e. ascending index.
    let bound = |c: usize| c * n / chunks;
    let mut parts: [Part<'_>; MAX_CHUNKS] =
        std::array::from_fn(|c| Part { vars: std::array::from_fn(|_| empty()), inputs: std::array::from_fn(|_| empty()), offset: first + bound(c.min(chunks)) as u32 });
    for (k, v) in vars.iter_mut().enumerate() {
        let mut rest = &mut v[..];
        for (c, part) in parts[..chunks].iter_mut().enumerate() {
            let (a, b) = std::mem::take(&mut rest).split_at_mut(bound(c + 1) - bound(c));
            part.vars[k] = a;
            rest = b;
        }
    }
    for (r, (inp, &on)) in slot.chunks_mut(n).zip(active.iter()).enumerate() {
        if !on {
            continue;
        }
        let mut rest = inp;
        for (c, part) in parts[..chunks].iter_mut().enumerate() {
            let (a, b) = std::mem::take(&mut rest).split_at_mut(bound(c + 1) - bound(c));
            part.inputs[r] = a;
            rest = b;
        }
    }
    if chunk_spikes.len() < chunks {
        chunk_spikes.resize_with(chunks, Vec::new);
    }
    let out = &mut chunk_spikes[..chunks];
    workers.install(|| {
        parts[..chunks].par_iter_mut().zip(out.par_iter_mut()).for_each(|(p, sp)| {
            sp.clear();
            // Each range draws its own neurons' noise (by population index: any split
            // draws the same numbers).
            if let Some((x, step)) = noise {
                for (j, &(r, _)) in x.rows.iter().enumerate() {
                    x.fill(j, step, p.offset as u64, p.inputs[r]);
                }
            }
            model.step_cpu(&mut p.vars[..nv], &mut p.inputs[..nr], p.offset, sp);
        });
    });
    for sp in chunk_spikes[..chunks].iter() {
        indices.extend_from_slice(sp);
    }
}
