//! `weights.svg`: per weights monitor, the weights over time (mean with ± one standard
//! deviation, min and max, and the synapses recorded one by one) beside the histograms of
//! the first and last samples.

use std::path::Path;

use plotters::prelude::*;

use crate::monitor::weights::WeightRecorder;
use crate::output::plot::{TRACE_COLORS, TRACES_MAX_LINES, y_range};
use crate::{Error, Result};

/// Writes `weights.svg` for `monitors` (each with the weight's unit).
pub fn weights_svg(path: &Path, monitors: &[(&WeightRecorder, &str)], t_end_ms: f64) -> Result<()> {
    let n = monitors.len().max(1);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1200, (40 + 300 * n) as u32)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| Error::Runtime(format!("plot: {e}"));
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root.titled("weights", ("sans-serif", 16)).map_err(|e| err(&e))?;
        for (&(m, unit), row) in monitors.iter().zip(root.split_evenly((n, 1))) {
            let (left, right) = row.split_horizontally(760);
            let k = m.synapses.len();
            let lines = k.min(TRACES_MAX_LINES);
            let all = m.stats.iter().flat_map(|s| [s[2], s[3], s[0] - s[1], s[0] + s[1]]).chain(m.values.iter().copied());
            let (lo, hi) = y_range(all);
            let mut c = ChartBuilder::on(&left)
                .caption(format!("{} (weights over time)", m.name), ("sans-serif", 14))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(70)
                .build_cartesian_2d(0.0..t_end_ms.max(1e-9), lo..hi)
                .map_err(|e| err(&e))?;
            c.configure_mesh().disable_mesh().x_desc("time (ms)").y_desc(format!("w ({unit})")).draw().map_err(|e| err(&e))?;
            let band: Vec<(f64, f64)> =
                m.t_ms.iter().zip(&m.stats).map(|(&t, s)| (t, s[0] + s[1])).chain(m.t_ms.iter().zip(&m.stats).rev().map(|(&t, s)| (t, s[0] - s[1]))).collect();
            c.draw_series(std::iter::once(Polygon::new(band, RGBColor(180, 180, 180).mix(0.4).filled()))).map_err(|e| err(&e))?;
            let series = |i: usize| m.t_ms.iter().zip(&m.stats).map(move |(&t, s)| (t, s[i])).collect::<Vec<_>>();
            c.draw_series(LineSeries::new(series(0), BLACK.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label("mean ± std")
                .legend(|(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], BLACK.filled()));
            for (i, name) in [(2, "min"), (3, "max")] {
                c.draw_series(LineSeries::new(series(i), RGBColor(120, 120, 120).stroke_width(1)))
                    .map_err(|e| err(&e))?
                    .label(name)
                    .legend(|(x, y)| Rectangle::new([(x, y - 1), (x + 14, y + 1)], RGBColor(120, 120, 120).filled()));
            }
            for j in 0..lines {
                let color = TRACE_COLORS[j % TRACE_COLORS.len()];
                let pts: Vec<(f64, f64)> = m.t_ms.iter().enumerate().map(|(s, &t)| (t, m.values[s * k + j])).filter(|p| p.1.is_finite()).collect();
                c.draw_series(LineSeries::new(pts, color.stroke_width(1)))
                    .map_err(|e| err(&e))?
                    .label(format!("w[{}]", m.synapses[j]))
                    .legend(move |(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], color.filled()));
            }
            c.configure_series_labels().position(SeriesLabelPosition::UpperRight).background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 11)).draw().map_err(|e| err(&e))?;

            let edges = &m.edges();
            let samples = m.t_ms.len();
            if edges.len() >= 2 && samples > 0 {
                let bins = m.bins;
                let first = &m.hist[..bins];
                let last = &m.hist[(samples - 1) * bins..samples * bins];
                let top = first.iter().chain(last).copied().max().unwrap_or(1).max(1) as f64;
                let mut h = ChartBuilder::on(&right)
                    .caption(format!("histogram at {} and {} ms", m.t_ms[0], m.t_ms[samples - 1]), ("sans-serif", 14))
                    .margin(10)
                    .x_label_area_size(35)
                    .y_label_area_size(50)
                    .build_cartesian_2d(edges[0]..edges[bins], 0.0..top * 1.05)
                    .map_err(|e| err(&e))?;
                h.configure_mesh().disable_mesh().x_desc(format!("w ({unit})")).y_desc("synapses").draw().map_err(|e| err(&e))?;
                for (counts, color, label) in [(first, RGBColor(150, 150, 150), "first"), (last, RGBColor(31, 119, 180), "last")] {
                    let bars = counts.iter().enumerate().map(move |(b, &c)| Rectangle::new([(edges[b], 0.0), (edges[b + 1], c as f64)], color.mix(0.6).filled()));
                    h.draw_series(bars).map_err(|e| err(&e))?.label(label).legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], color.filled()));
                }
                h.configure_series_labels().position(SeriesLabelPosition::UpperRight).background_style(WHITE.mix(0.8)).border_style(BLACK).label_font(("sans-serif", 11)).draw().map_err(|e| err(&e))?;
            }
        }
        root.present().map_err(|e| err(&e))?;
    }
    crate::util::fsio::write_atomic(path, |w| std::io::Write::write_all(w, buf.as_bytes()))
}
