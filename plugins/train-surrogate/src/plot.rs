//! `curve.svg`: the learning curve (training loss; training and test accuracy) by epoch.

use std::path::Path;

use plotters::prelude::*;

use crate::train::EpochStats;

/// Draws the curve of `stats` into `path` (written atomically).
pub fn curve_svg(path: &Path, stats: &[EpochStats]) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1000, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (left, right) = root.split_horizontally(500);
        let epochs = stats.len().max(1) as f64;
        // (Finite values only: an infinite axis would never end its ticks.)
        let top = stats.iter().map(|s| s.loss).filter(|l| l.is_finite()).fold(0.0f64, f64::max).max(1e-12);
        let mut c = ChartBuilder::on(&left)
            .caption("training loss", ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..epochs, 0.0..top * 1.05)
            .map_err(|e| err(&e))?;
        c.configure_mesh().disable_mesh().x_desc("epoch").y_desc("loss").draw().map_err(|e| err(&e))?;
        c.draw_series(LineSeries::new(stats.iter().filter(|s| s.loss.is_finite()).map(|s| (s.epoch as f64, s.loss)), BLACK.stroke_width(2))).map_err(|e| err(&e))?;
        let mut a = ChartBuilder::on(&right)
            .caption("accuracy", ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..epochs, 0.0..1.0)
            .map_err(|e| err(&e))?;
        a.configure_mesh().disable_mesh().x_desc("epoch").y_desc("fraction correct").draw().map_err(|e| err(&e))?;
        a.draw_series(LineSeries::new(stats.iter().filter(|s| s.train_accuracy.is_finite()).map(|s| (s.epoch as f64, s.train_accuracy)), BLUE.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("train")
            .legend(|(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], BLUE.filled()));
        a.draw_series(LineSeries::new(stats.iter().filter(|s| s.test_accuracy.is_finite()).map(|s| (s.epoch as f64, s.test_accuracy)), RED.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label("test")
            .legend(|(x, y)| Rectangle::new([(x, y - 2), (x + 14, y + 2)], RED.filled()));
        a.configure_series_labels().position(SeriesLabelPosition::LowerRight).background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    spikeworld::util::fsio::write_atomic(path, |w| std::io::Write::write_all(w, buf.as_bytes())).map_err(|e| e.to_string())
}
