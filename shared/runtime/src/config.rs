//! Configuration from the environment, read once at start-up.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;

use crate::function::Function;
use crate::secrets::{self, SecretError};

/// DynamoDB table holding all state.
pub const TABLE_VAR: &str = "STREAMFLEET_TABLE";
/// The admin bearer token (on AWS, read from Secrets Manager: see `secrets`).
pub const ADMIN_TOKEN_VAR: &str = "STREAMFLEET_ADMIN_TOKEN";
/// The secret node credentials derive from (≥ 32 characters).
pub const NODE_SECRET_VAR: &str = "STREAMFLEET_NODE_SECRET";
/// An AWS endpoint override (the local emulator); unset on AWS.
pub const AWS_ENDPOINT_VAR: &str = "STREAMFLEET_AWS_ENDPOINT";
pub const HEARTBEAT_INTERVAL_VAR: &str = "STREAMFLEET_HEARTBEAT_INTERVAL_SECS";
pub const STALE_AFTER_VAR: &str = "STREAMFLEET_NODE_STALE_AFTER_SECS";
pub const FLEET_CACHE_VAR: &str = "STREAMFLEET_FLEET_CACHE_MS";
pub const SEAT_LEASE_VAR: &str = "STREAMFLEET_SEAT_LEASE_MS";
pub const PACK_CEILING_VAR: &str = "STREAMFLEET_PACK_CEILING_PCT";
pub const GROUP_CACHE_VAR: &str = "STREAMFLEET_GROUP_CACHE_MS";
pub const DEAD_AFTER_VAR: &str = "STREAMFLEET_NODE_DEAD_AFTER_SECS";
pub const MASS_SILENCE_VAR: &str = "STREAMFLEET_MASS_SILENCE_PCT";
pub const HOOK_TIMEOUT_VAR: &str = "STREAMFLEET_HOOK_HEARTBEAT_TIMEOUT_SECS";
/// The EventBridge bus (name or ARN) decisions are published on; unset:
/// none are published.
pub const EVENT_BUS_VAR: &str = "STREAMFLEET_EVENT_BUS";
/// The SQS queue (URL) scheduled scaler invocations order each group's
/// ticks on; unset: each invocation ticks every group itself.
pub const TICK_QUEUE_VAR: &str = "STREAMFLEET_TICK_QUEUE_URL";
/// How often a scheduled scaler invocation ticks (the templates' `tickSecs`).
pub const TICK_VAR: &str = "STREAMFLEET_TICK_SECS";
/// How often the schedule invokes the scaler (the templates set it from
/// their one timing setting).
pub const SCHEDULE_VAR: &str = "STREAMFLEET_SCHEDULE_SECS";

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    /// Never printed: `SecretString`'s Debug redacts it.
    pub admin_token: SecretString,
    pub node_secret: SecretString,
    pub aws_endpoint: Option<String>,
    /// Where decisions are published (`STREAMFLEET_EVENT_BUS`), if anywhere.
    pub event_bus: Option<String>,
    /// Where ticks are ordered (`STREAMFLEET_TICK_QUEUE_URL`), if anywhere.
    pub tick_queue: Option<String>,
    pub tuning: Tuning,
}

/// Knobs with defaults that suit most fleets.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// How often nodes report (default 5 s).
    pub heartbeat_interval: Duration,
    /// Silence after which a node gets no new sessions (default 3 intervals).
    pub stale_after: Duration,
    /// How long a warm lookup instance reuses a group's node list (default 1 s).
    pub fleet_cache_ttl: Duration,
    /// Edges are packed up to this % of capacity (default 95).
    pub pack_ceiling_pct: u8,
    /// How long a warm lookup instance hands out a block of seats it took
    /// in one write (default and most 1 s, at most half the heartbeat
    /// interval; 0: one seat per write).
    pub seat_lease: Duration,
    /// How long a warm lookup instance reuses group specs and app claims
    /// (default 10 s): how long a group change takes to reach lookups.
    pub group_cache_ttl: Duration,
    /// Silence after which the scaler may declare an in-service node dead
    /// (default 60 s): if its last report held no session, or the cloud
    /// finds it unhealthy, or its role's fault deadline passed.
    pub dead_after: Duration,
    /// This share of a role's nodes in a region (and two or more) silent at
    /// once is a mass silence: none is declared dead (default 50 %).
    pub mass_silence_pct: u8,
    /// Heartbeat timeout of the lifecycle hooks streamfleet installs (AWS
    /// bounds: 30–7200 s; default 300 s). Held actions are renewed at half of it,
    /// so the scaler's schedule must tick more often than that.
    pub hook_heartbeat_timeout_secs: u32,
    /// How long a publish lookup's stream route is followed (default 60 s,
    /// not a setting of its own: the origin's reports say where a stream is
    /// once it flows, and a short route keeps anonymous lookups for streams
    /// nobody sends from leaving anything that lasts).
    pub route_ttl: Duration,
    /// How long the scaler holds a group it ticks (default 30 s, not a
    /// setting of its own: it needs only outlive one group's tick, and it is
    /// all a crashed tick costs the group; on Lambda it lapses at the
    /// invocation's deadline at the latest).
    pub scaler_lease: Duration,
    /// How often a scheduled scaler invocation ticks until the next one
    /// takes over (default 10 s; the schedule's interval: once).
    pub tick_every: Duration,
    /// How often the schedule invokes the scaler (default 60 s).
    pub schedule_every: Duration,
    /// Lookups' calls for a tick go to this process's own scaler (the local
    /// stack; not a setting: on AWS the table's stream delivers them, and
    /// tests that tick by hand keep the lease to themselves).
    pub tick_calls_in_process: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        let heartbeat_interval = Duration::from_secs(5);
        Self {
            heartbeat_interval,
            stale_after: heartbeat_interval * 3,
            fleet_cache_ttl: Duration::from_secs(1),
            pack_ceiling_pct: 95,
            seat_lease: streamfleet_core::service::LookupSettings::default().seat_lease,
            group_cache_ttl: Duration::from_secs(10),
            dead_after: Duration::from_secs(60),
            mass_silence_pct: 50,
            hook_heartbeat_timeout_secs: streamfleet_core::hooks::DEFAULT_HEARTBEAT_TIMEOUT_SECS,
            route_ttl: streamfleet_core::service::LookupSettings::default().route_ttl,
            scaler_lease: streamfleet_core::service::ScalerSettings::default().lease_for,
            tick_every: streamfleet_core::service::ScalerSettings::default().tick_every,
            schedule_every: streamfleet_core::service::ScalerSettings::default().schedule_every,
            tick_calls_in_process: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} must be set")]
    Missing(&'static str),
    #[error("environment variable {0} is not valid UTF-8")]
    NotUnicode(&'static str),
    #[error("environment variable {0} must be {1}")]
    Invalid(&'static str, &'static str),
}

impl Config {
    /// A function's configuration: its secrets from their variables or from
    /// Secrets Manager (only those it uses are required), the rest from
    /// variables.
    /// `sdk` reads the secrets; see [`Config::aws_endpoint_in`].
    pub async fn load(
        function: Function,
        vars: &Vars,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, SecretError> {
        // Both secrets at once: a cold start waits for one round trip, not two.
        let (admin_token, node_secret) = tokio::try_join!(
            secrets::ADMIN_TOKEN.resolve(vars, sdk, function.uses_admin_token()),
            secrets::NODE_SECRET.resolve(vars, sdk, function.uses_node_secret()),
        )?;
        Ok(Self {
            table: vars.required(TABLE_VAR)?,
            admin_token,
            node_secret,
            aws_endpoint: Self::aws_endpoint_in(vars)?,
            event_bus: vars.optional(EVENT_BUS_VAR)?,
            tick_queue: vars.optional(TICK_QUEUE_VAR)?,
            tuning: Tuning::from_vars(vars)?,
        })
    }
}

impl Config {
    /// The endpoint override, needed before the rest to build the SDK.
    pub fn aws_endpoint_in(vars: &Vars) -> Result<Option<String>, ConfigError> {
        vars.optional(AWS_ENDPOINT_VAR)
    }
}

/// Where settings come from: the process environment, or given pairs (tests).
#[derive(Debug, Clone, Default)]
pub enum Vars {
    #[default]
    Process,
    Given(HashMap<String, String>),
}

impl Vars {
    pub fn given<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Given(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    /// A set, non-blank variable.
    pub fn optional(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        let value = match self {
            Vars::Process => match std::env::var(name) {
                Ok(value) => Some(value),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(_)) => return Err(ConfigError::NotUnicode(name)),
            },
            Vars::Given(pairs) => pairs.get(name).cloned(),
        };
        Ok(value.filter(|v| !v.trim().is_empty()))
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name)?.ok_or(ConfigError::Missing(name))
    }

    fn number(
        &self,
        name: &'static str,
        rule: &'static str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ConfigError> {
        self.optional(name)?
            .map(|text| {
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|v| range.contains(v))
                    .ok_or(ConfigError::Invalid(name, rule))
            })
            .transpose()
    }
}

impl Tuning {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::Process)
    }

    pub fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let number = |name, rule, range| vars.number(name, rule, range);
        let defaults = Tuning::default();
        let interval = number(HEARTBEAT_INTERVAL_VAR, "whole seconds from 1 to 300", 1..=300)?
            .map_or(defaults.heartbeat_interval, Duration::from_secs);
        let stale_after = number(STALE_AFTER_VAR, "whole seconds from 1 to 3600", 1..=3600)?
            .map_or(interval * 3, Duration::from_secs);
        let fleet_cache_ttl = number(FLEET_CACHE_VAR, "milliseconds from 0 to 60000", 0..=60_000)?
            .map_or(defaults.fleet_cache_ttl, Duration::from_millis);
        let pack_ceiling_pct = number(PACK_CEILING_VAR, "a percentage from 1 to 100", 1..=100)?
            .map_or(defaults.pack_ceiling_pct, |pct| pct as u8);
        // A lease's seats are carried by the report after the one they were
        // taken at, not by the one after that: it must lapse before then.
        const LEASE_RULE: &str = "milliseconds from 0 to 1000, and at most half the heartbeat interval";
        let seat_lease = number(SEAT_LEASE_VAR, LEASE_RULE, 0..=1000)?
            .map_or(defaults.seat_lease.min(interval / 2), Duration::from_millis);
        if seat_lease > interval / 2 {
            return Err(ConfigError::Invalid(SEAT_LEASE_VAR, LEASE_RULE));
        }
        let group_cache_ttl = number(GROUP_CACHE_VAR, "milliseconds from 0 to 300000", 0..=300_000)?
            .map_or(defaults.group_cache_ttl, Duration::from_millis);
        let dead_after = number(DEAD_AFTER_VAR, "whole seconds from 1 to 86400", 1..=86_400)?
            .map_or(defaults.dead_after, Duration::from_secs);
        let mass_silence_pct = number(MASS_SILENCE_VAR, "a percentage from 1 to 100", 1..=100)?
            .map_or(defaults.mass_silence_pct, |pct| pct as u8);
        let hook_heartbeat_timeout_secs =
            number(HOOK_TIMEOUT_VAR, "whole seconds from 30 to 7200", 30..=7200)?
                .map_or(defaults.hook_heartbeat_timeout_secs, |secs| secs as u32);
        let tick_every = number(TICK_VAR, "whole seconds from 1 to 3600", 1..=3600)?
            .map_or(defaults.tick_every, Duration::from_secs);
        let schedule_every = number(SCHEDULE_VAR, "whole seconds from 60 to 3600", 60..=3600)?
            .map_or(defaults.schedule_every, Duration::from_secs);
        Ok(Self {
            hook_heartbeat_timeout_secs,
            heartbeat_interval: interval,
            stale_after,
            fleet_cache_ttl,
            pack_ceiling_pct,
            seat_lease,
            group_cache_ttl,
            dead_after,
            mass_silence_pct,
            route_ttl: defaults.route_ttl,
            scaler_lease: defaults.scaler_lease,
            tick_every,
            schedule_every,
            tick_calls_in_process: defaults.tick_calls_in_process,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_lease_lives_at_most_half_a_heartbeat_interval() {
        let tuning = |pairs: &[(&str, &str)]| Tuning::from_vars(&Vars::given(pairs.iter().copied()));
        assert_eq!(tuning(&[]).unwrap().seat_lease, Duration::from_secs(1));
        let short = tuning(&[(HEARTBEAT_INTERVAL_VAR, "1")]).unwrap();
        assert_eq!(short.seat_lease, Duration::from_millis(500), "the default shortens with the interval");
        assert_eq!(tuning(&[(SEAT_LEASE_VAR, "0")]).unwrap().seat_lease, Duration::ZERO);
        assert!(matches!(
            tuning(&[(HEARTBEAT_INTERVAL_VAR, "2"), (SEAT_LEASE_VAR, "1500")]),
            Err(ConfigError::Invalid(SEAT_LEASE_VAR, _))
        ));
    }
}
