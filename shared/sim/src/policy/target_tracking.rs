//! EC2 Auto Scaling target tracking on average utilisation, as seeds 001
//! and 003 run it: one-minute datapoints; scale out after 3 above the
//! target to ceil(n × metric / target); scale in after 15 below 90 % of it;
//! instances still warming are left out of the metric; scale-in terminates
//! instances by the ASG's default policy, which knows nothing of sessions
//! (here: seeded random), and a load balancer spreads viewers.

use crate::engine::{Command, InstState, Policy, View};
use crate::rng::Rng;

use super::{least_loaded, serving_load_pct};

pub struct TargetTracking {
    target_pct: f64,
    samples: Vec<f64>,
    above: u32,
    below: u32,
    rng: Rng,
}

impl TargetTracking {
    pub fn new(target_pct: f64, seed: u64) -> Self {
        Self { target_pct, samples: Vec::new(), above: 0, below: 0, rng: Rng::new(seed ^ 0x7A67) }
    }
}

impl Policy for TargetTracking {
    fn name(&self) -> &'static str {
        "target_tracking"
    }

    fn observe(&mut self, view: &View<'_>) {
        self.samples.push(serving_load_pct(view));
    }

    fn tick(&mut self, view: &View<'_>) -> Vec<Command> {
        let metric = self.samples.iter().sum::<f64>() / self.samples.len().max(1) as f64;
        self.samples.clear();
        let serving = view.serving().count() as u32;
        let warming = view.live().filter(|i| i.state == InstState::Warming).count() as u32;
        let live = serving + warming;
        let wanted = ((f64::from(serving.max(1)) * metric / self.target_pct).ceil() as u32)
            .clamp(view.config.min_nodes, view.config.max_nodes);
        if metric > self.target_pct {
            self.above += 1;
            self.below = 0;
            if self.above >= 3 && wanted > live {
                return vec![Command::Launch(wanted - live)];
            }
        } else if metric < self.target_pct * 0.9 {
            self.below += 1;
            self.above = 0;
            if self.below >= 15 && wanted < live && warming == 0 {
                let mut candidates: Vec<u32> = view.serving().map(|i| i.id).collect();
                let mut out = Vec::new();
                for _ in 0..(live - wanted) {
                    if candidates.is_empty() {
                        break;
                    }
                    out.push(Command::Terminate(candidates.swap_remove(self.rng.below(candidates.len()))));
                }
                return out;
            }
        } else {
            self.above = 0;
            self.below = 0;
        }
        Vec::new()
    }

    fn place(&mut self, view: &View<'_>) -> Option<u32> {
        least_loaded(view)
    }
}
