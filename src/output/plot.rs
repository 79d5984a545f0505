//! Plots (SVG, via plotters):
//! - `raster.svg`: the raster of every spike monitor (stacked, one band each) with the
//!   population rates underneath. The file stays small whatever the run: at most
//!   [`RASTER_MAX_NEURONS`] rows and [`RASTER_MAX_POINTS`] drawn spikes (every k-th spike
//!   beyond that, said in the title).
//! - `traces.svg`: one panel per variable of every state monitor, one line per recorded
//!   neuron. At most [`TRACES_MAX_PANELS`] panels, [`TRACES_MAX_LINES`] lines per panel and
//!   [`TRACES_MAX_POINTS`] points per line (every k-th sample beyond that); each cut is said
//!   in the title.
//!
//! Both depend only on the recorded data (no clock, no randomness, no hash order): the
//! same run gives the same bytes, and a resumed run the bytes of one that never stopped.

use std::path::Path;

use plotters::prelude::*;

use crate::monitor::{SpikeRecorder, StateRecorder};
use crate::util::units::Dim;
use crate::{Error, Result};

/// Most neuron rows drawn in the raster, over all monitors (the rate panel uses every spike).
pub const RASTER_MAX_NEURONS: usize = 1000;

/// Most spikes drawn in the raster; beyond, every k-th spike is drawn.
pub const RASTER_MAX_POINTS: usize = 50_000;

const COLORS: [RGBColor; 6] = [BLACK, RGBColor(200, 30, 30), RGBColor(30, 90, 200), RGBColor(20, 140, 60), RGBColor(150, 60, 170), RGBColor(200, 120, 0)];

/// Spikes the raster draws: a spike monitor's, or a plugin's exact spike times
/// (`NAME.t_ms` and `NAME.index` arrays of a population `size` neurons large).
pub enum RasterSpikes<'a> {
    /// A spike monitor.
    Monitor(&'a SpikeRecorder),
    /// A plugin's population: name, size, times (ms) and indices.
    Arrays(&'a str, u32, &'a [f64], &'a [i64]),
}

impl RasterSpikes<'_> {
    fn name(&self) -> &str {
        match self {
            RasterSpikes::Monitor(m) => &m.name,
            RasterSpikes::Arrays(n, ..) => n,
        }
    }
    /// The recorded neurons' range.
    fn range(&self) -> (u32, u32) {
        match self {
            RasterSpikes::Monitor(m) => (m.start, m.end),
            RasterSpikes::Arrays(_, size, ..) => (0, *size),
        }
    }
    fn iter(&self) -> Box<dyn Iterator<Item = (f64, u32)> + '_> {
        match self {
            RasterSpikes::Monitor(m) => Box::new(m.iter()),
            RasterSpikes::Arrays(_, _, t, i) => Box::new(t.iter().copied().zip(i.iter().map(|&i| i as u32))),
        }
    }
}

/// One band of the raster.
struct Band<'a> {
    m: &'a RasterSpikes<'a>,
    start: u32,
    n_rec: usize,
    shown: usize,
    offset: usize,
}

/// Writes `raster.svg`: the spikes of every source in `monitors` (spike monitors, then
/// plugins' populations), stacked in that order (the first neurons of each,
/// [`RASTER_MAX_NEURONS`] rows in all), and below, the rate of each (all its recorded
/// neurons, 1 ms bins or coarser).
pub fn raster_svg(path: &Path, monitors: &[RasterSpikes<'_>], t_end_ms: f64) -> Result<()> {
    let t_end = t_end_ms.max(1e-9);
    let per_band = (RASTER_MAX_NEURONS / monitors.len().max(1)).max(1);
    let mut bands = Vec::with_capacity(monitors.len());
    let mut rows = 0;
    for m in monitors {
        let (start, end) = m.range();
        let n_rec = (end - start) as usize;
        let shown = n_rec.min(per_band);
        bands.push(Band { m, start, n_rec, shown, offset: rows });
        rows += shown;
    }
    let in_band = |b: &Band, i: u32| i >= b.start && ((i - b.start) as usize) < b.shown;
    let total: usize = bands.iter().map(|b| b.m.iter().filter(|&(_, i)| in_band(b, i)).count()).sum();
    let stride = total.div_ceil(RASTER_MAX_POINTS).max(1);

    let bin_ms = (t_end / 200.0).max(1.0);
    let bins = (t_end / bin_ms).ceil().max(1.0) as usize;
    let rates: Vec<Vec<(f64, f64)>> = bands
        .iter()
        .map(|b| {
            let mut counts = vec![0u64; bins];
            for (t, _) in b.m.iter() {
                counts[((t / bin_ms) as usize).min(bins - 1)] += 1;
            }
            counts.iter().enumerate().map(|(k, &c)| (k as f64 * bin_ms + bin_ms / 2.0, c as f64 / b.n_rec.max(1) as f64 / (bin_ms / 1000.0))).collect()
        })
        .collect();
    let max_rate = rates.iter().flatten().map(|r| r.1).fold(1.0f64, f64::max) * 1.1;

    let names: Vec<String> = bands.iter().map(|b| format!("`{}` ({} of {})", b.m.name(), b.shown, b.n_rec)).collect();
    let mut title = format!("spikes of {}", names.join(", "));
    if stride > 1 {
        title.push_str(&format!("; every {stride}th spike drawn ({} of {total})", total.div_ceil(stride)));
    }

    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1000, 700)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| Error::Runtime(format!("plot: {e}"));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (top, bottom) = root.split_vertically(480);
        let mut c = ChartBuilder::on(&top)
            .caption(title, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_end, 0.0..rows.max(1) as f64)
            .map_err(|e| err(&e))?;
        c.configure_mesh().disable_mesh().y_desc("neuron (monitors stacked)").draw().map_err(|e| err(&e))?;
        let mut seen = 0usize;
        for (k, b) in bands.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let mut points = Vec::new();
            for (t, i) in b.m.iter() {
                if !in_band(b, i) {
                    continue;
                }
                if seen.is_multiple_of(stride) {
                    let y = (b.offset + (i - b.start) as usize) as f64;
                    points.push(Rectangle::new([(t, y), (t + t_end / 1000.0, y + 1.0)], color.filled()));
                }
                seen += 1;
            }
            c.draw_series(points).map_err(|e| err(&e))?.label(b.m.name().to_string()).legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 8, y + 4)], color.filled()));
            if k > 0 {
                c.draw_series(LineSeries::new([(0.0, b.offset as f64), (t_end, b.offset as f64)], RGBColor(160, 160, 160))).map_err(|e| err(&e))?;
            }
        }
        if bands.len() > 1 {
            c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
        }
        let mut r = ChartBuilder::on(&bottom)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_end, 0.0..max_rate)
            .map_err(|e| err(&e))?;
        r.configure_mesh().disable_mesh().x_desc("time (ms)").y_desc(format!("rate (Hz), {bin_ms:.1} ms bins")).draw().map_err(|e| err(&e))?;
        for (k, rate) in rates.into_iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            r.draw_series(LineSeries::new(rate, color.stroke_width(1))).map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    crate::util::fsio::write_atomic(path, |w| std::io::Write::write_all(w, buf.as_bytes()))
}

/// Most panels (recorded variables, over all state monitors) drawn in `traces.svg`.
pub const TRACES_MAX_PANELS: usize = 16;

/// Most lines (recorded neurons) drawn per panel: the first ones recorded.
pub const TRACES_MAX_LINES: usize = 10;

/// Most points drawn per line; beyond, every k-th sample is drawn.
pub const TRACES_MAX_POINTS: usize = 2000;

/// Line colours of `traces.svg` (Tableau 10: one per line, [`TRACES_MAX_LINES`] of them).
pub(crate) const TRACE_COLORS: [RGBColor; TRACES_MAX_LINES] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One panel of `traces.svg`: one variable of one state monitor.
#[derive(Clone, Copy, Debug)]
pub struct TracePanel<'a> {
    /// The state monitor.
    pub monitor: &'a StateRecorder,
    /// The variable's slot in `monitor.vars` / `monitor.data`.
    pub slot: usize,
    /// The variable's name.
    pub var: &'a str,
    /// The variable's dimension (its canonical unit labels the y axis).
    pub dim: Dim,
}

/// `"k-th"` in English: 2nd, 3rd, 11th, 21st...
fn ordinal(k: usize) -> String {
    let suffix = match (k % 10, k % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{k}{suffix}")
}

/// The y range of the drawn lines: their values within ±1e300 (an axis any wider has a
/// span that is not a finite f64, on which the plotting library's ticks never end), padded
/// by 5 % (a flat line gets ±1 unit, or ±5 % of its value when that is larger).
pub(crate) fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.abs() <= 1e300).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (-1.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { (lo.abs() * 0.05).max(1.0) };
    (lo - pad, hi + pad)
}

/// Writes `traces.svg`: the panels in order (the first [`TRACES_MAX_PANELS`]), stacked,
/// each titled `monitor.variable`, with time in ms on x and the variable's canonical unit
/// on y, one line per recorded neuron (the first [`TRACES_MAX_LINES`], each in the legend
/// by its index in the population). Lines break where a value is not finite.
pub fn traces_svg(path: &Path, panels: &[TracePanel], t_end_ms: f64) -> Result<()> {
    let t_end = t_end_ms.max(1e-9);
    let shown_panels = &panels[..panels.len().min(TRACES_MAX_PANELS)];
    let n = shown_panels.len().max(1);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1000, (40 + 260 * n) as u32)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| Error::Runtime(format!("plot: {e}"));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut head = String::from("state traces");
        if panels.len() > shown_panels.len() {
            head.push_str(&format!(" (first {} of {} variables)", shown_panels.len(), panels.len()));
        }
        let root = root.titled(&head, ("sans-serif", 16)).map_err(|e| err(&e))?;
        for (p, area) in shown_panels.iter().zip(root.split_evenly((n, 1))) {
            let m = p.monitor;
            let k = m.indices.len();
            let lines = k.min(TRACES_MAX_LINES);
            let samples = m.t_ms.len();
            let data = &m.data[p.slot];
            // Readability and size: at most TRACES_MAX_POINTS points per line, by drawing
            // every `stride`-th sample (samples 0, stride, 2·stride, ...).
            let stride = samples.div_ceil(TRACES_MAX_POINTS).max(1);
            let value = |s: usize, j: usize| data[s * k + j];
            let (y_lo, y_hi) = y_range((0..samples).step_by(stride).flat_map(|s| (0..lines).map(move |j| value(s, j))));

            let mut title = format!("{}.{}", m.name, p.var);
            let mut notes = Vec::new();
            if lines < k {
                notes.push(format!("first {lines} of {k} neurons"));
            }
            if stride > 1 {
                notes.push(format!("every {} sample drawn ({} of {samples})", ordinal(stride), samples.div_ceil(stride)));
            }
            if !notes.is_empty() {
                title.push_str(&format!(" ({})", notes.join("; ")));
            }
            let unit = match p.dim {
                Dim::Dimensionless => "dimensionless",
                d => d.unit(),
            };
            let mut c = ChartBuilder::on(&area)
                .caption(title, ("sans-serif", 14))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..t_end, y_lo..y_hi)
                .map_err(|e| err(&e))?;
            c.configure_mesh().disable_mesh().x_desc("time (ms)").y_desc(format!("{} ({unit})", p.var)).draw().map_err(|e| err(&e))?;
            for (j, &index) in m.indices.iter().take(lines).enumerate() {
                let color = TRACE_COLORS[j % TRACE_COLORS.len()];
                // One path per finite stretch (one per line unless a value is not finite).
                let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
                for s in (0..samples).step_by(stride) {
                    let v = value(s, j);
                    if v.is_finite() {
                        segments.last_mut().expect("never empty").push((m.t_ms[s], v));
                    } else if !segments.last().expect("never empty").is_empty() {
                        segments.push(Vec::new());
                    }
                }
                segments.retain(|seg| !seg.is_empty());
                let mut labelled = false;
                for seg in segments {
                    let drawn = c.draw_series(LineSeries::new(seg, color.stroke_width(1))).map_err(|e| err(&e))?;
                    if !labelled {
                        drawn.label(format!("neuron {index}")).legend(move |(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], color.filled()));
                        labelled = true;
                    }
                }
            }
            if lines > 0 {
                c.configure_series_labels()
                    .position(SeriesLabelPosition::UpperRight)
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 11))
                    .draw()
                    .map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    crate::util::fsio::write_atomic(path, |w| std::io::Write::write_all(w, buf.as_bytes()))
}

#[cfg(test)]
mod tests {
    /// Finite values more than f64::MAX apart (a diverging weight) gave an axis of infinite
    /// span, on which the plotting library looped forever.
    #[test]
    fn y_range_has_a_finite_span_for_any_values() {
        for values in [vec![-1.02e308, 1.40e308, 0.0], vec![f64::MAX, -f64::MAX], vec![f64::NAN, f64::INFINITY], vec![3.0, 3.0], vec![-2.0, 5.0]] {
            let (lo, hi) = super::y_range(values.iter().copied());
            assert!(lo < hi && (hi - lo).is_finite(), "{values:?}: ({lo}, {hi})");
        }
        assert_eq!(super::y_range([-2.0, 5.0].into_iter()), (-2.35, 5.35));
    }
}
