//! Plots: the raster of every spike monitor (stacked, one band each) with the population
//! rates underneath (SVG, via plotters). The file stays small whatever the run: at most
//! [`RASTER_MAX_NEURONS`] rows and [`RASTER_MAX_POINTS`] drawn spikes (every k-th spike
//! beyond that, said in the title).

use std::path::Path;

use plotters::prelude::*;

use crate::monitor::SpikeRecorder;
use crate::{Error, Result};

/// Most neuron rows drawn in the raster, over all monitors (the rate panel uses every spike).
pub const RASTER_MAX_NEURONS: usize = 1000;

/// Most spikes drawn in the raster; beyond, every k-th spike is drawn.
pub const RASTER_MAX_POINTS: usize = 50_000;

const COLORS: [RGBColor; 6] = [BLACK, RGBColor(200, 30, 30), RGBColor(30, 90, 200), RGBColor(20, 140, 60), RGBColor(150, 60, 170), RGBColor(200, 120, 0)];

/// One band of the raster.
struct Band<'a> {
    m: &'a SpikeRecorder,
    n_rec: usize,
    shown: usize,
    offset: usize,
}

/// Writes `raster.svg`: the spikes of every spike monitor in `monitors`, stacked in file
/// order (the first neurons of each, [`RASTER_MAX_NEURONS`] rows in all), and below, the
/// rate of each monitored population (all its recorded neurons, 1 ms bins or coarser).
pub fn raster_svg(path: &Path, monitors: &[&SpikeRecorder], t_end_ms: f64) -> Result<()> {
    let t_end = t_end_ms.max(1e-9);
    let per_band = (RASTER_MAX_NEURONS / monitors.len().max(1)).max(1);
    let mut bands = Vec::with_capacity(monitors.len());
    let mut rows = 0;
    for m in monitors {
        let n_rec = (m.end - m.start) as usize;
        let shown = n_rec.min(per_band);
        bands.push(Band { m, n_rec, shown, offset: rows });
        rows += shown;
    }
    let in_band = |b: &Band, i: i64| i >= b.m.start as i64 && i < b.m.start as i64 + b.shown as i64;
    let total: usize = bands.iter().map(|b| b.m.index.iter().filter(|&&i| in_band(b, i)).count()).sum();
    let stride = total.div_ceil(RASTER_MAX_POINTS).max(1);

    let bin_ms = (t_end / 200.0).max(1.0);
    let bins = (t_end / bin_ms).ceil().max(1.0) as usize;
    let rates: Vec<Vec<(f64, f64)>> = bands
        .iter()
        .map(|b| {
            let mut counts = vec![0u64; bins];
            for &t in &b.m.t_ms {
                counts[((t / bin_ms) as usize).min(bins - 1)] += 1;
            }
            counts.iter().enumerate().map(|(k, &c)| (k as f64 * bin_ms + bin_ms / 2.0, c as f64 / b.n_rec.max(1) as f64 / (bin_ms / 1000.0))).collect()
        })
        .collect();
    let max_rate = rates.iter().flatten().map(|r| r.1).fold(1.0f64, f64::max) * 1.1;

    let names: Vec<String> = bands.iter().map(|b| format!("`{}` ({} of {})", b.m.name, b.shown, b.n_rec)).collect();
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
            for (&t, &i) in b.m.t_ms.iter().zip(&b.m.index) {
                if !in_band(b, i) {
                    continue;
                }
                if seen.is_multiple_of(stride) {
                    let y = (b.offset as i64 + i - b.m.start as i64) as f64;
                    points.push(Rectangle::new([(t, y), (t + t_end / 1000.0, y + 1.0)], color.filled()));
                }
                seen += 1;
            }
            c.draw_series(points).map_err(|e| err(&e))?.label(b.m.name.clone()).legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 8, y + 4)], color.filled()));
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
