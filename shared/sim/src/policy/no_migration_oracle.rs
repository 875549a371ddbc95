//! The best any system with sticky sessions can do, as a floor to compare
//! with (the oracle re-packs every viewer every second, which none can):
//! it decides every second with no warm-up, packs each node to its full
//! capacity, launches exactly what the waiting viewers need, terminates a
//! node the second its last viewer leaves, and never moves a session.

use crate::engine::{Cadence, Command, InstState, Policy, SimConfig, View};

pub struct NoMigrationOracle;

impl Policy for NoMigrationOracle {
    fn name(&self) -> &'static str {
        "no_migration_oracle"
    }

    fn cadence(&self, _config: &SimConfig) -> Cadence {
        Cadence { tick_secs: 1, warmup_secs: 0 }
    }

    fn tick(&mut self, view: &View<'_>) -> Vec<Command> {
        let capacity = view.config.capacity;
        let room: u32 = view
            .live()
            .filter(|i| matches!(i.state, InstState::Serving | InstState::Warming))
            .map(|i| capacity - i.sessions.min(capacity))
            .sum();
        if view.waiting > room {
            return vec![Command::Launch((view.waiting - room).div_ceil(capacity))];
        }
        let spare = room - view.waiting;
        // Empty nodes beyond what the waiting viewers fill go at once.
        view.serving()
            .filter(|i| i.sessions == 0)
            .take((spare / capacity) as usize)
            .map(|i| Command::Terminate(i.id))
            .collect()
    }

    /// The fullest node with room.
    fn place(&mut self, view: &View<'_>) -> Option<u32> {
        view.serving()
            .filter(|i| i.sessions < view.config.capacity)
            .max_by_key(|i| (i.sessions, std::cmp::Reverse(i.id)))
            .map(|i| i.id)
    }
}
