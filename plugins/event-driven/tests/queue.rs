//! The event queue: exact total order under equal times and any insertion order, the
//! half-open window of `pop_before`, and checkpoints independent of the heap's layout.

use spikeworld::util::rng::Stream;
use spikeworld_event_driven::queue::{Event, EventQueue, Origin, Target};

/// Events with few distinct times (many ties) and unique origins, in generation order.
fn events(n: usize, seed: u64) -> Vec<Event> {
    let mut s = Stream::new(seed, 1, 1, 0);
    (0..n)
        .map(|i| Event {
            time: 0.25 * s.below(8) as f64,
            origin: Origin { pop: s.below(3) as u32, idx: s.below(5) as u32, syn: s.below(4), spike: i as u64 },
            target: Target { pop: 9, idx: s.below(100) as u32 },
            weight: s.uniform(),
        })
        .collect()
}

fn shuffle(v: &mut [Event], s: &mut Stream) {
    for i in (1..v.len()).rev() {
        v.swap(i, s.below(i as u64 + 1) as usize);
    }
}

/// The order written out independently: (time, pop, idx, syn, spike) lexicographic.
fn reference_order(mut v: Vec<Event>) -> Vec<Event> {
    v.sort_by(|a, b| {
        a.time.partial_cmp(&b.time).unwrap().then((a.origin.pop, a.origin.idx, a.origin.syn, a.origin.spike).cmp(&(b.origin.pop, b.origin.idx, b.origin.syn, b.origin.spike)))
    });
    v
}

fn key(e: &Event) -> (u64, u32, u32, u64, u64, u32, u64) {
    (e.time.to_bits(), e.origin.pop, e.origin.idx, e.origin.syn, e.origin.spike, e.target.idx, e.weight.to_bits())
}

#[test]
fn equal_times_pop_in_origin_order_whatever_the_insertion_order() {
    let base = events(3000, 5);
    let want: Vec<_> = reference_order(base.clone()).iter().map(key).collect();
    let mut rng = Stream::new(99, 2, 2, 0);
    for round in 0..6 {
        let mut v = base.clone();
        shuffle(&mut v, &mut rng);
        let mut q = EventQueue::new();
        for e in v {
            q.push(e).unwrap();
        }
        assert_eq!(q.len(), 3000);
        let got: Vec<_> = q.pop_before(f64::INFINITY).map(|e| key(&e)).collect();
        assert_eq!(got, want, "shuffle {round}: pop sequence differs from the sorted key order");
        assert!(q.is_empty());
    }
}

#[test]
fn pop_before_is_half_open() {
    let mut q = EventQueue::new();
    let t2 = 2.0f64;
    for (i, t) in [3.0, t2, f64::next_down(t2), 1.0, t2].into_iter().enumerate() {
        q.push(Event { time: t, origin: Origin { pop: 0, idx: i as u32, syn: 0, spike: 0 }, target: Target { pop: 0, idx: 0 }, weight: 0.0 }).unwrap();
    }
    let got: Vec<f64> = q.pop_before(t2).map(|e| e.time).collect();
    assert_eq!(got, vec![1.0, f64::next_down(t2)], "only events strictly before t_end");
    assert_eq!(q.peek_time(), Some(t2), "an event exactly at t_end stays queued");
    assert_eq!(q.pop_before(t2).count(), 0);
    // a partially consumed window leaves the rest queued
    let mut it = q.pop_before(10.0);
    assert_eq!(it.next().map(|e| e.origin.idx), Some(1));
    assert_eq!(q.len(), 2);
    assert_eq!(q.pop().map(|e| e.origin.idx), Some(4));
    assert_eq!(q.pop().map(|e| e.time), Some(3.0));
    assert_eq!(q.peek_time(), None);
}

#[test]
fn checkpoint_round_trip_is_layout_independent() {
    let mut q = EventQueue::new();
    for e in events(1000, 7) {
        q.push(e).unwrap();
    }
    let _ = q.pop_before(0.5).count(); // some history in the heap's layout
    let saved = q.to_sorted_vec();
    let mut shuffled = saved.clone();
    shuffle(&mut shuffled, &mut Stream::new(3, 3, 3, 3));
    let mut r = EventQueue::from_vec(shuffled).unwrap();
    assert_eq!(r.to_sorted_vec().iter().map(key).collect::<Vec<_>>(), saved.iter().map(key).collect::<Vec<_>>());
    let a: Vec<_> = q.pop_before(f64::INFINITY).map(|e| key(&e)).collect();
    let b: Vec<_> = r.pop_before(f64::INFINITY).map(|e| key(&e)).collect();
    assert_eq!(a, b, "a resumed queue pops the same sequence");
    assert_eq!(a, saved.iter().map(key).collect::<Vec<_>>(), "to_sorted_vec is the pop order");
}
