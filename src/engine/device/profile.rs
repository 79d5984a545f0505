//! Where a CUDA run's time goes, when `SPIKEWORLD_CUDA_PROFILE=1`: an event is recorded
//! after every launch and copy, and the GPU time between consecutive events is added to
//! the label of the later one; host work the engine reports (the flush's decoding) is
//! added likewise. The table goes to standard error when the backend is dropped. Each
//! step waits for the previous one's events, so a profiled run is slower than a plain one:
//! the table says where the GPU spends its time, not how long a plain run takes.

use std::sync::Arc;
use std::time::Instant;

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{CudaEvent, CudaStream};

pub(crate) struct Profile {
    start: Option<CudaEvent>,
    marks: Vec<(&'static str, CudaEvent)>,
    /// label, milliseconds, count: GPU time per label, host time per `host:` label.
    totals: Vec<(&'static str, f64, u64)>,
    began: Option<Instant>,
    steps: u64,
}

impl Profile {
    pub(crate) fn from_env() -> Option<Profile> {
        std::env::var("SPIKEWORLD_CUDA_PROFILE")
            .is_ok_and(|v| v == "1")
            .then(|| Profile { start: None, marks: Vec::new(), totals: Vec::new(), began: None, steps: 0 })
    }

    fn add(&mut self, label: &'static str, ms: f64) {
        match self.totals.iter_mut().find(|t| t.0 == label) {
            Some(t) => {
                t.1 += ms;
                t.2 += 1;
            }
            None => self.totals.push((label, ms, 1)),
        }
    }

    /// Settles the marks recorded so far (waits for them) and records a new start.
    pub(crate) fn step(&mut self, stream: &Arc<CudaStream>) {
        self.settle();
        self.began.get_or_insert_with(Instant::now);
        self.steps += 1;
        self.start = stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)).ok();
    }

    fn settle(&mut self) {
        let marks = std::mem::take(&mut self.marks);
        let mut prev = self.start.take();
        for (label, ev) in marks {
            if let Some(p) = &prev {
                if let Ok(ms) = p.elapsed_ms(&ev) {
                    self.add(label, ms as f64);
                }
            }
            prev = Some(ev);
        }
        self.start = prev;
    }

    /// Records an event after the work just queued, labelled `label`.
    pub(crate) fn mark(&mut self, stream: &Arc<CudaStream>, label: &'static str) {
        if let Ok(ev) = stream.record_event(Some(CUevent_flags::CU_EVENT_DEFAULT)) {
            self.marks.push((label, ev));
        }
    }

    pub(crate) fn host(&mut self, label: &'static str, secs: f64) {
        self.add(label, secs * 1e3);
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        self.settle();
        let wall = self.began.map_or(0.0, |b| b.elapsed().as_secs_f64() * 1e3);
        let gpu: f64 = self.totals.iter().filter(|t| !t.0.starts_with("host")).map(|t| t.1).sum();
        eprintln!("PROFILE {} steps, {wall:.1} ms wall from the first step, {gpu:.1} ms GPU (events)", self.steps);
        for (label, ms, n) in &self.totals {
            eprintln!("PROFILE {label:<14} {ms:>10.2} ms {n:>8} calls {:>9.2} us/call", ms * 1e3 / *n as f64);
        }
    }
}
