//! What the scaler remembers between ticks: when it last scaled each role
//! in each region, for the cooldowns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::group::Role;
use crate::names::Region;
use crate::node::{Node, NodeState};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalerMemory {
    /// Unix seconds, keyed `<role>:<region>`.
    #[serde(default)]
    pub last_scale_out: BTreeMap<String, i64>,
    #[serde(default)]
    pub last_scale_in: BTreeMap<String, i64>,
    /// At the last tick: when, the sessions seated, and the demand (seated
    /// plus waiting). The growth since is projected over a launch's warm-up.
    #[serde(default)]
    pub last_load: BTreeMap<String, (i64, u64, u64)>,
    /// The demand growth is measured from: (unix seconds, demand), moved
    /// on once it is a growth window old, so frequent ticks still see the
    /// growth of a whole window.
    #[serde(default)]
    pub growth_base: BTreeMap<String, (i64, u64)>,
    /// Nodes asked of the cloud and not yet seen: (unix seconds of the
    /// first launch of the batch, nodes asked since). A cloud that starts
    /// instances late, or cannot start them, must not be asked again every
    /// tick: they count as capacity to come until they are seen or their
    /// warm-up and grace have passed.
    #[serde(default)]
    pub launches: BTreeMap<String, (i64, u32)>,
    /// Slots the cloud fails on: (unix seconds since, failed ticks, the
    /// error). A failure that repeats is said when it starts and when it
    /// clears, not every tick.
    #[serde(default)]
    pub faults: BTreeMap<String, (i64, u32, String)>,
    /// Unix seconds of the last tick that ran: a group's health says when
    /// the scaler last looked at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tick: Option<i64>,
    /// Unix seconds since scaling has been paused (said once when it starts
    /// and once when it ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<i64>,
    /// The series bucket (unix seconds / `SERIES_EVERY`) last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_bucket: Option<i64>,
}

/// A slot's failure, as remembered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotFault {
    pub since: OffsetDateTime,
    pub ticks: u32,
    pub error: String,
}

/// One role's load in one region as a tick saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadSeen {
    /// Sessions on serving nodes.
    pub seated: u64,
    /// Seated plus viewers waiting for room.
    pub demand: u64,
}

fn key(role: Role, region: &Region) -> String {
    format!("{role}:{region}")
}

fn at(seconds: Option<&i64>) -> Option<OffsetDateTime> {
    seconds.and_then(|s| OffsetDateTime::from_unix_timestamp(*s).ok())
}

impl ScalerMemory {
    pub fn scaled_out(&self, role: Role, region: &Region) -> Option<OffsetDateTime> {
        at(self.last_scale_out.get(&key(role, region)))
    }

    pub fn scaled_in(&self, role: Role, region: &Region) -> Option<OffsetDateTime> {
        at(self.last_scale_in.get(&key(role, region)))
    }

    pub fn record_scale_out(&mut self, role: Role, region: &Region, now: OffsetDateTime) {
        self.last_scale_out.insert(key(role, region), now.unix_timestamp());
    }

    /// What the last tick saw: when, sessions seated, demand.
    pub fn load_seen(&self, role: Role, region: &Region) -> Option<(OffsetDateTime, LoadSeen)> {
        let (at_secs, seated, demand) = self.last_load.get(&key(role, region))?;
        Some((
            OffsetDateTime::from_unix_timestamp(*at_secs).ok()?,
            LoadSeen { seated: *seated, demand: *demand },
        ))
    }

    /// Records a tick's load; the growth base moves only once `window` old.
    pub fn record_load(
        &mut self,
        role: Role,
        region: &Region,
        seen: LoadSeen,
        now: OffsetDateTime,
        window: std::time::Duration,
    ) {
        let key = key(role, region);
        self.last_load.insert(key.clone(), (now.unix_timestamp(), seen.seated, seen.demand));
        let base_is_old = self
            .growth_base
            .get(&key)
            .is_none_or(|(at, _)| now.unix_timestamp() - at >= window.as_secs() as i64);
        if base_is_old {
            self.growth_base.insert(key, (now.unix_timestamp(), seen.demand));
        }
    }

    /// The demand growth is measured from, and when it was seen.
    pub fn growth_base(&self, role: Role, region: &Region) -> Option<(OffsetDateTime, u64)> {
        let (at, demand) = self.growth_base.get(&key(role, region))?;
        Some((OffsetDateTime::from_unix_timestamp(*at).ok()?, *demand))
    }

    /// `count` more nodes asked of the cloud; a batch older than `window`
    /// is over (its nodes came, or never will) and a new one starts.
    pub fn record_launch(
        &mut self,
        role: Role,
        region: &Region,
        count: u32,
        now: OffsetDateTime,
        window: std::time::Duration,
    ) {
        let entry = self.launches.entry(key(role, region)).or_insert((now.unix_timestamp(), 0));
        if now.unix_timestamp() - entry.0 >= window.as_secs() as i64 {
            *entry = (now.unix_timestamp(), 0);
        }
        entry.1 = entry.1.saturating_add(count);
    }

    /// The batch of launches still within `window`: since when, how many.
    pub fn launches_since(
        &self,
        role: Role,
        region: &Region,
        now: OffsetDateTime,
        window: std::time::Duration,
    ) -> Option<(OffsetDateTime, u32)> {
        self.batch(role, region).filter(|(at, _)| now - *at < window)
    }

    /// The batch asked `window` or more ago and not ended (some of its
    /// nodes never came): since when, how many. `forget_launch` ends it.
    pub fn lapsed_launch(
        &self,
        role: Role,
        region: &Region,
        now: OffsetDateTime,
        window: std::time::Duration,
    ) -> Option<(OffsetDateTime, u32)> {
        self.batch(role, region).filter(|(at, _)| now - *at >= window)
    }

    fn batch(&self, role: Role, region: &Region) -> Option<(OffsetDateTime, u32)> {
        let (at, count) = self.launches.get(&key(role, region))?;
        Some((OffsetDateTime::from_unix_timestamp(*at).ok()?, *count))
    }

    /// Ends the batch of a role in a region (its failure was said).
    pub fn forget_launch(&mut self, role: Role, region: &Region) {
        self.launches.remove(&key(role, region));
    }

    /// Ends every batch whose nodes are all listed now: once seen, they
    /// count as what they are (a node drained or gone later is not "to
    /// come" again).
    pub fn forget_seen_launches(&mut self, nodes: &[Node]) {
        self.launches.retain(|key_of, (at, asked)| {
            let Ok(since) = OffsetDateTime::from_unix_timestamp(*at) else { return false };
            let seen = nodes
                .iter()
                // An instance entering the warm pool (refilling it) is not
                // one the group asked for.
                .filter(|n| &key(n.role, &n.region) == key_of && n.state != NodeState::Pooling)
                .filter(|n| n.launched_at.is_some_and(|l| l >= since))
                .count();
            seen < *asked as usize
        });
    }

    /// Notes that the slot failed this tick with `error`; true when that
    /// starts a failure (the slot was fine, or is refused otherwise). A
    /// cloud that stays unreachable or throttles is one failure, whatever
    /// call or code it answers each tick: the latest is kept, not said.
    pub fn note_fault(&mut self, role: Role, region: &Region, error: &str, now: OffsetDateTime) -> bool {
        let unavailable = |e: &str| e.contains("unavailable");
        match self.faults.get_mut(&key(role, region)) {
            Some((_, ticks, known)) if known == error || (unavailable(known) && unavailable(error)) => {
                *ticks += 1;
                error.clone_into(known);
                false
            }
            _ => {
                self.faults.insert(key(role, region), (now.unix_timestamp(), 1, error.to_owned()));
                true
            }
        }
    }

    /// Ends the slot's failure, if it had one: what it was.
    pub fn clear_fault(&mut self, role: Role, region: &Region) -> Option<SlotFault> {
        let (since, ticks, error) = self.faults.remove(&key(role, region))?;
        Some(SlotFault { since: OffsetDateTime::from_unix_timestamp(since).ok()?, ticks, error })
    }

    /// Every slot failing now: role, region, and what is remembered of it.
    /// A key that no longer parses (a role renamed) is skipped.
    pub fn slot_faults(&self) -> Vec<(Role, Region, SlotFault)> {
        self.faults
            .iter()
            .filter_map(|(key_of, (since, ticks, error))| {
                let (role, region) = key_of.split_once(':')?;
                let role = Role::try_from(role.to_owned()).ok()?;
                let since = OffsetDateTime::from_unix_timestamp(*since).ok()?;
                Some((
                    role,
                    Region::parse(region).ok()?,
                    SlotFault { since, ticks: *ticks, error: error.clone() },
                ))
            })
            .collect()
    }

    /// When the last tick ran.
    pub fn last_tick(&self) -> Option<OffsetDateTime> {
        at(self.last_tick.as_ref())
    }

    pub fn record_scale_in(&mut self, role: Role, region: &Region, now: OffsetDateTime) {
        self.last_scale_in.insert(key(role, region), now.unix_timestamp());
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::macros::datetime;

    use super::*;
    use crate::node::fixtures::node;

    #[test]
    fn a_batch_of_launches_ends_once_all_its_nodes_are_listed() {
        let t0 = datetime!(2026-11-21 06:00 UTC);
        let window = Duration::from_secs(240);
        let region = Region::parse("eu-west-1").unwrap();
        let mut memory = ScalerMemory::default();
        memory.record_launch(Role::Edge, &region, 2, t0, window);
        let mut first = node("a", t0);
        first.launched_at = Some(t0 + Duration::from_secs(20));
        let mut second = node("b", t0);
        second.launched_at = Some(t0 + Duration::from_secs(40));
        let mut older = node("old", t0);
        older.launched_at = Some(t0 - Duration::from_secs(600));

        // An instance launched meanwhile to refill the warm pool is not one
        // of the batch.
        let mut refill = node("pool", t0);
        refill.launched_at = Some(t0 + Duration::from_secs(30));
        refill.state = NodeState::Pooling;

        memory.forget_seen_launches(&[first.clone(), older, refill]);
        assert_eq!(memory.launches_since(Role::Edge, &region, t0, window), Some((t0, 2)), "one of two came");
        memory.forget_seen_launches(&[first, second]);
        assert_eq!(memory.launches_since(Role::Edge, &region, t0, window), None, "both came: over");
    }
}
