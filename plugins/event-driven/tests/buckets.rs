//! The step-bucketed queue pops exactly what the heap queue pops, event by event,
//! including events pushed while a window is open (some due in it), events far beyond the
//! ring, times on and next to step boundaries, and after a checkpoint round trip.

use spikeworld::util::rng::Stream;
use spikeworld_event_driven::buckets::BucketQueue;
use spikeworld_event_driven::queue::{Event, EventQueue, Origin, Target};

fn event(s: &mut Stream, t: f64, n: u64) -> Event {
    Event { time: t, origin: Origin { pop: s.below(3) as u32, idx: s.below(50) as u32, syn: s.below(20), spike: n }, target: Target { pop: 1, idx: s.below(100) as u32 }, weight: s.uniform() }
}

/// A time near `base`: on a step boundary, a few ulps either side, within a step, or far.
fn time(s: &mut Stream, base: f64, dt: f64) -> f64 {
    let k = (base / dt).floor() + s.below(30) as f64;
    match s.below(6) {
        0 => k * dt,
        1 => f64::from_bits((k * dt).to_bits() + s.below(3)),
        2 => f64::from_bits((k * dt).to_bits().saturating_sub(s.below(3))).max(base),
        3 => base + 500.0 * s.uniform(),
        _ => base + 30.0 * dt * s.uniform(),
    }
}

fn run(dt: f64, horizon: usize, seed: u64, checkpoint_at: Option<u64>) {
    let mut s = Stream::new(seed, 0, 0, 0);
    let (mut b, mut h) = (BucketQueue::new(dt, horizon).unwrap(), EventQueue::new());
    let mut n = 0u64;
    for _ in 0..2000 {
        let t = time(&mut s, 0.0, dt);
        let e = event(&mut s, t, n);
        n += 1;
        b.push(e).unwrap();
        h.push(e).unwrap();
    }
    let mut popped = 0usize;
    for k in 0..400u64 {
        if Some(k) == checkpoint_at {
            let v = b.to_sorted_vec();
            assert_eq!(v, h.to_sorted_vec(), "same pending events");
            b = BucketQueue::from_vec(dt, horizon, k as f64 * dt, v).unwrap();
        }
        let t_end = (k + 1) as f64 * dt;
        let mut from_b = Vec::new();
        {
            // Both queues in lockstep: pop one, then push what its spike causes into both.
            let mut w = b.pop_before(t_end);
            while let Some(e) = w.next() {
                let r = h.pop().expect("the heap has the same events");
                assert_eq!(e, r, "window {k} (dt {dt}, horizon {horizon})");
                from_b.push(e);
                if s.below(4) == 0 {
                    // An output spike's effects: some within this window, some later.
                    let t = if s.below(2) == 0 { e.time + (t_end - e.time) * s.uniform() } else { time(&mut s, t_end, dt) };
                    let f = event(&mut s, t, n);
                    n += 1;
                    w.push(f).unwrap();
                    h.push(f).unwrap();
                }
            }
        }
        assert!(h.peek_time().is_none_or(|t| t >= t_end), "window {k}: the heap still holds an event before the window's end");
        assert!(from_b.iter().all(|e| e.time < t_end) && from_b.windows(2).all(|p| p[0].time <= p[1].time), "window {k}: times in order, all before the end");
        popped += from_b.len();
        assert_eq!(b.len(), h.len());
    }
    assert!(popped > 1500, "the test pops events ({popped})");
}

#[test]
fn buckets_pop_what_the_heap_pops() {
    for (dt, horizon, seed) in [(0.1, 64, 1), (0.1, 1, 2), (1.0, 7, 3), (0.3, 1000, 4)] {
        run(dt, horizon, seed, None);
    }
}

#[test]
fn buckets_resume_from_their_sorted_list() {
    run(0.1, 16, 5, Some(123));
}
