//! What the scaler remembers between ticks: when it last scaled each role
//! in each region, for the cooldowns.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::group::Role;
use crate::names::Region;

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

    pub fn record_scale_in(&mut self, role: Role, region: &Region, now: OffsetDateTime) {
        self.last_scale_in.insert(key(role, region), now.unix_timestamp());
    }
}
