//! Synthetic traces, from a seed: the shipped ones (`traces/*.csv`) are
//! these with seed 1, and any other seed gives another trace of the shape.

use crate::rng::Rng;
use crate::trace::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// 18:00–24:00: a slow rise to a 21:00 peak (×10 the early audience) and
    /// a slow fall.
    EveningPeak,
    /// A steady audience, ×10 within two minutes, held 20 minutes, back down
    /// within ten.
    FlashCrowd,
    /// Two hours of matches: the audience builds for 15 minutes and leaves
    /// within two when each ends.
    Sawtooth,
    /// A random walk with random spikes and drops.
    Random,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::EveningPeak, Shape::FlashCrowd, Shape::Sawtooth, Shape::Random];

    pub fn name(self) -> &'static str {
        match self {
            Shape::EveningPeak => "evening_peak",
            Shape::FlashCrowd => "flash_crowd",
            Shape::Sawtooth => "sawtooth",
            Shape::Random => "random",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name.replace('-', "_"))
    }
}

/// Points every 30 s, split over `streams` by Zipf shares, with ±3 % noise.
pub fn generate(shape: Shape, seed: u64) -> Vec<Row> {
    let mut rng = Rng::new(seed);
    #[allow(clippy::type_complexity)]
    let (duration, mut total): (u64, Box<dyn FnMut(u64, &mut Rng) -> f64>) = match shape {
        Shape::EveningPeak => (
            6 * 3600,
            Box::new(|t, _| {
                let x = t as f64 / (6.0 * 3600.0);
                // 0 → 1 → ~0.2: a bell centred at 21:00.
                2_000.0 + 18_000.0 * (-((x - 0.5) / 0.2).powi(2)).exp()
            }),
        ),
        Shape::FlashCrowd => (
            3600,
            Box::new(|t, _| {
                let (base, peak) = (1_500.0, 15_000.0);
                match t {
                    0..900 => base,
                    900..1020 => base + (peak - base) * (t - 900) as f64 / 120.0,
                    1020..2220 => peak,
                    2220..2820 => peak - (peak - base) * (t - 2220) as f64 / 600.0,
                    _ => base,
                }
            }),
        ),
        Shape::Sawtooth => (
            2 * 3600,
            Box::new(|t, _| {
                let within = t % 1200;
                if within < 900 {
                    1_000.0 + 7_000.0 * within as f64 / 900.0
                } else if within < 1020 {
                    8_000.0 - 7_000.0 * (within - 900) as f64 / 120.0
                } else {
                    1_000.0
                }
            }),
        ),
        Shape::Random => (2 * 3600, {
            let mut walk = 3_000.0_f64;
            let mut spike = 1.0_f64;
            Box::new(move |_, rng: &mut Rng| {
                walk = (walk * (1.0 + (rng.unit() - 0.5) * 0.1)).clamp(300.0, 20_000.0);
                if rng.unit() < 0.01 {
                    spike = 2.0 + rng.unit() * 6.0;
                } else {
                    spike = 1.0 + (spike - 1.0) * 0.9;
                }
                walk * spike
            })
        }),
    };
    let streams = 4;
    let shares: Vec<f64> = {
        let raw: Vec<f64> = (1..=streams).map(|k| 1.0 / k as f64).collect();
        let sum: f64 = raw.iter().sum();
        raw.into_iter().map(|s| s / sum).collect()
    };
    let mut rows = Vec::new();
    for t in (0..=duration).step_by(30) {
        let viewers = total(t, &mut rng);
        for (k, share) in shares.iter().enumerate() {
            let noise = 1.0 + (rng.unit() - 0.5) * 0.06;
            rows.push(Row {
                t_secs: t,
                stream: format!("stream-{}", k + 1),
                viewers: (viewers * share * noise).round(),
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Trace;

    #[test]
    fn a_seed_names_one_trace_and_another_seed_another() {
        assert_eq!(generate(Shape::Random, 3), generate(Shape::Random, 3));
        assert_ne!(generate(Shape::Random, 3), generate(Shape::Random, 4));
    }

    #[test]
    fn the_flash_crowd_is_ten_times_within_two_minutes() {
        let trace = Trace::from_rows("f", &generate(Shape::FlashCrowd, 1)).unwrap();
        let (before, after) = (trace.total(899) as f64, trace.total(1020) as f64);
        assert!((after / before - 10.0).abs() < 0.5, "{before} → {after}");
    }
}
