//! Plots: the raster with the population rate underneath (SVG, via plotters).

use std::path::Path;

use plotters::prelude::*;

use crate::monitor::SpikeRecorder;
use crate::{Error, Result};

/// Most neurons drawn in a raster (the rate panel always uses every spike).
pub const RASTER_MAX_NEURONS: usize = 1000;

/// Writes `raster.svg`: spikes of the first [`RASTER_MAX_NEURONS`] recorded neurons on
/// top, population rate (all recorded neurons, 1 ms bins or coarser) below.
pub fn raster_svg(path: &Path, m: &SpikeRecorder, _pop_size: usize, t_end_ms: f64) -> Result<()> {
    let n_rec = (m.end - m.start) as usize;
    let shown = n_rec.min(RASTER_MAX_NEURONS);
    let t_end = t_end_ms.max(1e-9);
    let bin_ms = (t_end / 200.0).max(1.0);
    let bins = (t_end / bin_ms).ceil().max(1.0) as usize;
    let mut counts = vec![0u64; bins];
    for &t in &m.t_ms {
        let b = ((t / bin_ms) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let rate: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .map(|(b, &c)| (b as f64 * bin_ms + bin_ms / 2.0, c as f64 / n_rec.max(1) as f64 / (bin_ms / 1000.0)))
        .collect();
    let max_rate = rate.iter().map(|r| r.1).fold(1.0f64, f64::max) * 1.1;

    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1000, 700)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| Error::Runtime(format!("plot: {e}"));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (top, bottom) = root.split_vertically(480);
        let mut c = ChartBuilder::on(&top)
            .caption(format!("spikes of `{}` (first {shown} of {n_rec} neurons)", m.name), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_end, m.start as f64..(m.start as usize + shown) as f64)
            .map_err(|e| err(&e))?;
        c.configure_mesh().disable_mesh().y_desc("neuron").draw().map_err(|e| err(&e))?;
        let lim = m.start as i64 + shown as i64;
        c.draw_series(
            m.t_ms
                .iter()
                .zip(&m.index)
                .filter(|(_, i)| **i < lim)
                .map(|(&t, &i)| Rectangle::new([(t, i as f64), (t + t_end / 1000.0, i as f64 + 1.0)], BLACK.filled())),
        )
        .map_err(|e| err(&e))?;
        let mut r = ChartBuilder::on(&bottom)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_end, 0.0..max_rate)
            .map_err(|e| err(&e))?;
        r.configure_mesh().disable_mesh().x_desc("time (ms)").y_desc(format!("rate (Hz), {bin_ms:.1} ms bins")).draw().map_err(|e| err(&e))?;
        r.draw_series(LineSeries::new(rate, BLUE.stroke_width(1))).map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    crate::util::fsio::write_atomic(path, |w| std::io::Write::write_all(w, buf.as_bytes()))
}
