//! Tempotrons as an event population of the world: the same exact maths as
//! [`crate::tempotron::Tempotron::v_max`], event by event.
//!
//! Window `k` is `[k·T, (k+1)·T)`. A neuron starts it from rest; an input at `t` first
//! brings the neuron to `t`'s window (finishing the windows before), then:
//! - if the neuron fired in this window, the input is shunted (ignored);
//! - else if `V` reaches θ before `t` (from the last counted input), it fires there and
//!   the input is shunted;
//! - else `V_max` takes the maximum of `V` on `[last input, t]` and the input is added.
//!
//! A window is finished with the last piece, `[last counted input, window end]` (`V`
//! still evolves after a spike; only later inputs are shunted): its crossing (if it has
//! not fired) and its maximum. `V_max` of every neuron and complete window is kept.
//! Between inputs the next crossing is predicted and filed, as for SRM0, so that a spike
//! is emitted in the step that holds it.

use crate::segment::{TwoExp, time_tolerance};
use crate::srm0::{QUIET_MARGIN_MS, Srm0Model, Srm0State};

/// The per-window part of one tempotron.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cell {
    /// The window the state belongs to.
    pub window: u64,
    /// Maximum of `V` so far in this window.
    pub vmax: f64,
    /// Whether it fired in this window.
    pub fired: bool,
}

/// A population's windows.
#[derive(Clone, Debug)]
pub struct Windows {
    /// T (ms).
    pub t: f64,
    /// Per neuron.
    pub cells: Vec<Cell>,
    /// Windows every neuron has finished.
    pub done: u64,
    /// `V_max` of the finished windows, `[done, size]` row-major.
    pub rows: Vec<f64>,
    /// Rows of windows some neurons have finished (from `done` on).
    pub pending: Vec<f64>,
}

impl Windows {
    /// Windows of `t` ms for `size` neurons, the first being `window`.
    pub fn new(t: f64, size: usize, window: u64) -> Self {
        // NOTE: windows before the first are at rest (V_max 0), so `rows` always holds
        // windows 0 .. done.
        Windows { t, cells: vec![Cell { window, ..Default::default() }; size], done: window, rows: vec![0.0; window as usize * size], pending: Vec::new() }
    }

    /// Start of window `k`.
    pub fn start(&self, k: u64) -> f64 {
        k as f64 * self.t
    }

    /// The window holding time `x` (≥ 0): `start(k) ≤ x < start(k + 1)`.
    pub fn of(&self, x: f64) -> u64 {
        super::crossings::window_of(x, self.t)
    }
}

fn shape(m: &Srm0Model, st: &Srm0State, c: f64) -> TwoExp {
    TwoExp { a: st.a, b: st.b, c, tau1: m.params().tau_m, tau2: m.params().tau_s }
}

fn decay(m: &Srm0Model, st: &mut Srm0State, t: f64) {
    let d = t - st.t;
    if d > 0.0 {
        st.a *= (-d / m.params().tau_m).exp();
        st.b *= (-d / m.params().tau_s).exp();
        st.t = t;
    }
}

/// `vmax = max(vmax, max of V on [st.t, st.t + delta])`, skipping the search when the
/// bound of every computed value cannot exceed `vmax` (the same result).
fn take_max(m: &Srm0Model, st: &Srm0State, delta: f64, cell: &mut Cell) {
    let f = shape(m, st, 0.0);
    if f.sup_bound() <= cell.vmax {
        return;
    }
    let (_, v) = f.max_on(delta);
    if v > cell.vmax {
        cell.vmax = v;
    }
}

/// Fires at `at`. The state stays at its last counted input (a tempotron has no reset:
/// `V` evolves on from the inputs before the spike), so `last_spike` is not set (it would
/// be after the clock); the spike count numbers the spikes' events.
fn fire(st: &mut Srm0State, cell: &mut Cell, at: f64, out: &mut Vec<f64>) {
    cell.fired = true;
    st.n_spikes += 1;
    out.push(at);
}

/// The first crossing on `[st.t, end]`, if the neuron has not fired.
fn crossing(m: &Srm0Model, st: &Srm0State, cell: &Cell, end: f64) -> Option<f64> {
    if cell.fired {
        return None;
    }
    shape(m, st, -m.params().theta).first_crossing(end - st.t, time_tolerance(end)).map(|s| (st.t + s).min(end))
}

/// Finishes windows up to (not including) `k`: the last piece of the current one, then
/// rest. Each finished window's `V_max` goes to `finished(window, vmax)`.
/// `window_ms` is T ([`Windows::t`]).
pub fn to_window(m: &Srm0Model, window_ms: f64, st: &mut Srm0State, cell: &mut Cell, k: u64, out: &mut Vec<f64>, mut finished: impl FnMut(u64, f64)) {
    while cell.window < k {
        // NOTE: the same expression as `Windows::start`.
        let end = (cell.window + 1) as f64 * window_ms;
        if let Some(at) = crossing(m, st, cell, end) {
            if at < end {
                fire(st, cell, at, out);
            }
        }
        take_max(m, st, end - st.t, cell);
        finished(cell.window, cell.vmax);
        let (last_spike, n_spikes) = (st.last_spike, st.n_spikes);
        *st = Srm0State { t: end, last_spike, n_spikes, ..Default::default() };
        *cell = Cell { window: cell.window + 1, vmax: 0.0, fired: false };
    }
}

/// An input of weight `w` at `t` in the neuron's window (see the module docs);
/// `quiet_until` is the filed prediction (an earlier input needs no crossing search).
pub fn receive(m: &Srm0Model, st: &mut Srm0State, cell: &mut Cell, quiet_until: f64, t: f64, weight: f64, out: &mut Vec<f64>) {
    if cell.fired {
        return;
    }
    if !(t + QUIET_MARGIN_MS < quiet_until)
        && let Some(at) = crossing(m, st, cell, t)
    {
        fire(st, cell, at, out);
        return;
    }
    take_max(m, st, t - st.t, cell);
    decay(m, st, t);
    let c = m.psp_scale();
    st.a += weight * c;
    st.b -= weight * c;
}

/// A filed crossing at `at` came due (and is still the neuron's prediction): it fires.
pub fn due(st: &mut Srm0State, cell: &mut Cell, at: f64, out: &mut Vec<f64>) {
    if !cell.fired {
        fire(st, cell, at, out);
    }
}

/// The next crossing in the neuron's window, if any (what is filed).
pub fn predict(m: &Srm0Model, w: &Windows, st: &Srm0State, cell: &Cell) -> Option<f64> {
    let end = w.start(cell.window + 1);
    crossing(m, st, cell, end).filter(|&at| at < end)
}
