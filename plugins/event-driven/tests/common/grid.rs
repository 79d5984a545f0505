//! The seed's dense grid (SpikingFlow `Tempotron.forward`): V at t = 0, 1, …, T−1 as the
//! plain sum over every input (no shunting), its max and argmax (first on ties).

use spikeworld_event_driven::tempotron::{Pattern, Tempotron};

/// `(max_t V(t), argmax)` over the integer grid `0..T`, O(N·T) kernel evaluations.
pub fn grid_v_max(t: &Tempotron, p: &Pattern, w: &[f64], v: &mut Vec<f64>) -> (f64, usize) {
    let steps = t.t_end() as usize;
    v.clear();
    v.resize(steps, 0.0);
    let k = t.kernel();
    for s in p.spikes() {
        let wi = w[s.afferent as usize];
        for (step, vt) in v.iter_mut().enumerate() {
            *vt += wi * k.eval(step as f64 - s.time);
        }
    }
    let mut best = (f64::NEG_INFINITY, 0);
    for (i, &x) in v.iter().enumerate() {
        if x > best.0 {
            best = (x, i);
        }
    }
    best
}
