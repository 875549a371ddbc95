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

    pub fn record_scale_in(&mut self, role: Role, region: &Region, now: OffsetDateTime) {
        self.last_scale_in.insert(key(role, region), now.unix_timestamp());
    }
}
