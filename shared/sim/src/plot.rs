//! Load against capacity over time, one panel per policy, sessions cut
//! marked in red: an SVG.

use plotters::prelude::*;

use crate::engine::Outcome;

pub fn svg(trace: &str, outcomes: &[Outcome]) -> Result<String, String> {
    let mut text = String::new();
    {
        let height = 260 * outcomes.len() as u32;
        let root = SVGBackend::with_string(&mut text, (1000, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let panels = root.split_evenly((outcomes.len(), 1));
        let end = outcomes.iter().flat_map(|o| o.series.last()).map(|s| s.t).max().unwrap_or(1) as f64 / 60.0;
        let top = outcomes
            .iter()
            .flat_map(|o| o.series.iter().map(|s| (s.capacity as f64).max(f64::from(s.demand))))
            .fold(1.0_f64, f64::max)
            * 1.05;
        for (panel, outcome) in panels.iter().zip(outcomes) {
            let caption = format!(
                "{trace} · {}: cut {}, rejected {:.2} %, {:.2}× oracle hours, {:.2}× no-migration oracle",
                outcome.policy,
                outcome.cut,
                outcome.rejected_pct,
                outcome.hours_vs_oracle,
                outcome.hours_vs_no_migration_oracle
            );
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(60)
                .build_cartesian_2d(0.0..end, 0.0..top)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("minutes")
                .y_desc("viewers")
                .light_line_style(WHITE)
                .draw()
                .map_err(|e| e.to_string())?;
            let minutes = |t: u64| t as f64 / 60.0;
            chart
                .draw_series(LineSeries::new(
                    outcome.series.iter().map(|s| (minutes(s.t), s.capacity as f64)),
                    BLUE.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label("capacity in service")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
            chart
                .draw_series(LineSeries::new(
                    outcome.series.iter().map(|s| (minutes(s.t), f64::from(s.demand))),
                    BLACK.stroke_width(1),
                ))
                .map_err(|e| e.to_string())?
                .label("viewers (watching + waiting)")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
            let demand_at =
                |t: u64| outcome.series.iter().rev().find(|s| s.t <= t).map_or(0.0, |s| f64::from(s.demand));
            chart
                .draw_series(
                    outcome
                        .cut_events
                        .iter()
                        .map(|&(t, _)| Circle::new((minutes(t), demand_at(t)), 5, RED.filled())),
                )
                .map_err(|e| e.to_string())?
                .label("sessions cut")
                .legend(|(x, y)| Circle::new((x + 8, y), 4, RED.filled()));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}
