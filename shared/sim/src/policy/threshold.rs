//! A Red5-style threshold autoscaler: every tick, average edge load ≥ the
//! scale-out threshold adds `step` nodes, below the scale-in threshold the
//! least-loaded node is terminated at once (no lifecycle hold: its viewers
//! are cut), each direction with its cooldown; viewers go to the least
//! loaded node.

use crate::engine::{Command, Policy, View};

use super::{least_loaded, serving_load_pct};

pub struct Threshold {
    pub out_pct: f64,
    pub in_pct: f64,
    pub step: u32,
    pub out_cooldown_secs: u64,
    pub in_cooldown_secs: u64,
    last_out: Option<u64>,
    last_in: Option<u64>,
}

impl Threshold {
    pub fn red5_like() -> Self {
        Self {
            out_pct: 60.0,
            in_pct: 20.0,
            step: 1,
            out_cooldown_secs: 120,
            in_cooldown_secs: 300,
            last_out: None,
            last_in: None,
        }
    }
}

fn cooled(last: Option<u64>, now: u64, cooldown: u64) -> bool {
    last.is_none_or(|at| now - at >= cooldown)
}

impl Policy for Threshold {
    fn name(&self) -> &'static str {
        "threshold"
    }

    fn tick(&mut self, view: &View<'_>) -> Vec<Command> {
        let load = serving_load_pct(view);
        let live = view.live().count() as u32;
        if load >= self.out_pct
            && cooled(self.last_out, view.now, self.out_cooldown_secs)
            && live < view.config.max_nodes
        {
            self.last_out = Some(view.now);
            return vec![Command::Launch(self.step)];
        }
        if load < self.in_pct
            && cooled(self.last_in, view.now, self.in_cooldown_secs)
            && live > view.config.min_nodes
        {
            if let Some(emptiest) = view.serving().min_by_key(|i| (i.sessions, i.id)) {
                self.last_in = Some(view.now);
                return vec![Command::Terminate(emptiest.id)];
            }
        }
        Vec::new()
    }

    fn place(&mut self, view: &View<'_>) -> Option<u32> {
        least_loaded(view)
    }
}
