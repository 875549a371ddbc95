//! EC2 Auto Scaling warm pools as the simulator models them: instances
//! booted and initialised ahead of need, kept stopped, hibernated or
//! running outside the group, taken first on scale-out (they serve sooner
//! than a cold launch), refilled as they are taken, and, with
//! `reuse_on_scale_in`, given back instead of terminated.
//!
//! The figures are assumptions, stated once here: AWS says a stopped pool
//! instance serves "in as low as 30 seconds"; a media server also has to
//! start and report, hence 40 s. Hibernated ones keep their memory (the
//! server is up when they resume); running ones only join. Stopped and
//! hibernated instances are billed for their volumes only: a 30 GB gp3
//! volume ($2.40 a month) beside a c5.large ($62 a month) is 4 %, 4.5 %
//! with the volume hibernation needs for memory.

use serde::Serialize;

/// An EC2 Auto Scaling warm pool (`PutWarmPool`'s settings). Roles do not
/// take one yet: the simulator measures what one would give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WarmPoolSpec {
    /// Instances kept in the pool at least.
    pub min_size: u32,
    /// Instances in the group and the pool together at most; the pool holds
    /// this less the group's desired capacity (at least `min_size`).
    /// `None`: the group's maximum (AWS's default).
    pub max_prepared_capacity: Option<u32>,
    pub state: WarmPoolState,
    /// Instances scaled in go back to the pool instead of terminating.
    pub reuse_on_scale_in: bool,
}

/// How pooled instances wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WarmPoolState {
    /// Volumes billed only.
    Stopped,
    /// Memory kept on the volume.
    Hibernated,
    /// Billed in full, the fastest.
    Running,
}

/// From leaving the pool to serving viewers.
pub fn start_secs(state: WarmPoolState) -> u64 {
    match state {
        WarmPoolState::Stopped => 40,
        WarmPoolState::Hibernated => 25,
        WarmPoolState::Running => 10,
    }
}

/// The share of an instance's price billed while it waits in the pool.
pub fn cost_share(state: WarmPoolState) -> f64 {
    match state {
        WarmPoolState::Stopped => 0.04,
        WarmPoolState::Hibernated => 0.045,
        WarmPoolState::Running => 1.0,
    }
}

/// Instances the pool keeps beside `in_group` in the group: AWS's rule, the
/// prepared capacity less the group's, and at least `minSize`.
pub fn pool_size(pool: &WarmPoolSpec, in_group: u32, group_max: u32) -> u32 {
    let prepared = pool.max_prepared_capacity.unwrap_or(group_max);
    pool.min_size.max(prepared.saturating_sub(in_group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_the_prepared_capacity_less_the_group_and_at_least_its_minimum() {
        let pool = WarmPoolSpec {
            min_size: 2,
            max_prepared_capacity: Some(10),
            state: WarmPoolState::Stopped,
            reuse_on_scale_in: true,
        };
        assert_eq!(pool_size(&pool, 3, 50), 7);
        assert_eq!(pool_size(&pool, 9, 50), 2, "never below the minimum");
        let unbounded = WarmPoolSpec { max_prepared_capacity: None, ..pool };
        assert_eq!(pool_size(&unbounded, 3, 50), 47, "the group's maximum by default");
    }
}
