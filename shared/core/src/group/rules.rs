//! The rules a node group spec must keep beyond what its types enforce:
//! relations between fields, ranges, and exclusive choices.

use std::collections::BTreeSet;

use super::schedule::minute_of_day;
use super::spec::{
    Cloud, LaunchSettings, LaunchTemplateRef, NodeGroupSpec, Role, RoleSpec, ScalePolicy, SeatBuffer,
};
use crate::validation::{InvalidInput, Violations};

pub const MAX_REGIONS: usize = 32;
/// Each app is claimed in the same transaction as the group write, and a
/// transaction holds at most 100 items.
pub const MAX_APPS: usize = 20;
pub const MAX_NODES_PER_REGION: u32 = 1000;
pub const MAX_STEP: u32 = 100;
pub const MAX_CONNECTION_CAPACITY: u32 = 1_000_000;
pub const MAX_COOLDOWN_SECS: u32 = 86_400;
pub const MAX_WARMUP_SECS: u32 = 3_600;
/// A buffer above this share of capacity is a fleet kept idle, not headroom.
pub const MAX_BUFFER_PCT: u8 = 90;
pub const MAX_BUFFER_SEATS: u32 = 1_000_000;
/// EC2 Auto Scaling holds a terminating instance at most 48 hours.
pub const DRAIN_DEADLINE_SECS: std::ops::RangeInclusive<u32> = 60..=172_800;
/// A silent node is kept at least a minute, at most a day.
pub const FAULT_DEADLINE_SECS: std::ops::RangeInclusive<u32> = 60..=86_400;

impl NodeGroupSpec {
    /// Checks every rule and reports all violations at once.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        let mut v = Violations::default();
        self.check_regions(&mut v);
        self.check_apps(&mut v);
        v.check(
            self.roles.contains_key(&Role::Origin),
            || "roles.origin".into(),
            "required",
            || "every node group needs an origin role".into(),
        );
        for (role, spec) in &self.roles {
            check_launch(&mut v, &format!("roles.{role}.launch"), &spec.launch, self.cloud);
            check_policy(&mut v, &format!("roles.{role}.scale"), &spec.scale);
            check_warm_pool(&mut v, &format!("roles.{role}.warmPool"), spec, self.cloud);
        }
        v.into_result()
    }

    fn check_apps(&self, v: &mut Violations) {
        v.check(
            self.apps.len() <= MAX_APPS,
            || "apps".into(),
            "count",
            || format!("a group serves at most {MAX_APPS} apps, got {}", self.apps.len()),
        );
        let mut seen = BTreeSet::new();
        for (i, app) in self.apps.iter().enumerate() {
            v.check(
                seen.insert(app),
                || format!("apps[{i}]"),
                "unique",
                || format!("app {app} is listed twice"),
            );
        }
    }

    fn check_regions(&self, v: &mut Violations) {
        v.check(
            (1..=MAX_REGIONS).contains(&self.regions.len()),
            || "regions".into(),
            "count",
            || format!("a group runs in 1 to {MAX_REGIONS} regions, got {}", self.regions.len()),
        );
        let mut seen = BTreeSet::new();
        for (i, spec) in self.regions.iter().enumerate() {
            v.check(
                seen.insert(&spec.region),
                || format!("regions[{i}].region"),
                "unique",
                || format!("region {} is listed twice", spec.region),
            );
            let mut zones = BTreeSet::new();
            for (j, zone) in spec.zones.iter().enumerate() {
                v.check(
                    zone.is_in(&spec.region),
                    || format!("regions[{i}].zones[{j}]"),
                    "zone_in_region",
                    || format!("zone {zone} is not in region {}", spec.region),
                );
                v.check(
                    zones.insert(zone),
                    || format!("regions[{i}].zones[{j}]"),
                    "unique",
                    || format!("zone {zone} is listed twice"),
                );
            }
        }
    }
}

fn check_launch(v: &mut Violations, at: &str, launch: &LaunchSettings, cloud: Cloud) {
    v.check(
        (1..=MAX_CONNECTION_CAPACITY).contains(&launch.connection_capacity),
        || format!("{at}.connectionCapacity"),
        "range",
        || format!("must be 1 to {MAX_CONNECTION_CAPACITY}, got {}", launch.connection_capacity),
    );
    match (&launch.image_id, &launch.launch_template) {
        (Some(_), Some(_)) => v.push(
            format!("{at}.launchTemplate"),
            "exclusive",
            "give either imageId or launchTemplate, not both".into(),
        ),
        (None, None) if cloud == Cloud::Aws => v.push(
            format!("{at}.imageId"),
            "required",
            "an aws group needs imageId or launchTemplate for each role".into(),
        ),
        _ => {}
    }
    if let Some(template) = &launch.launch_template {
        check_template(v, &format!("{at}.launchTemplate"), template);
    }
}

fn check_template(v: &mut Violations, at: &str, template: &LaunchTemplateRef) {
    match (&template.id, &template.name) {
        (Some(id), None) => v.check(
            id.strip_prefix("lt-").is_some_and(|hex| {
                (8..=17).contains(&hex.len())
                    && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }),
            || format!("{at}.id"),
            "format",
            || "a launch template id looks like lt-0123456789abcdef0".into(),
        ),
        (None, Some(name)) => v.check(
            (3..=128).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"().-/_".contains(&b)),
            || format!("{at}.name"),
            "format",
            || "a launch template name has 3 to 128 of [a-zA-Z0-9().-/_]".into(),
        ),
        _ => v.push(
            format!("{at}.id"),
            "exactly_one",
            "name the launch template by exactly one of id or name".into(),
        ),
    }
    if let Some(version) = &template.version {
        v.check(
            version == "$Latest"
                || version == "$Default"
                || (!version.is_empty()
                    && version.len() <= 10
                    && version.bytes().all(|b| b.is_ascii_digit())),
            || format!("{at}.version"),
            "format",
            || "version is $Latest, $Default or a number".into(),
        );
    }
}

/// A warm pool is EC2 Auto Scaling's, and never larger than the role:
/// instances prepared beyond its `max` could never serve.
fn check_warm_pool(v: &mut Violations, at: &str, role: &RoleSpec, cloud: Cloud) {
    let Some(pool) = &role.warm_pool else { return };
    v.check(
        cloud == Cloud::Aws,
        || at.to_owned(),
        "aws_only",
        || "warm pools are an EC2 Auto Scaling feature: only aws groups have them".into(),
    );
    let max = role.scale.max;
    v.check(
        pool.min_size <= max,
        || format!("{at}.minSize"),
        "range",
        || format!("must not exceed the role's max ({max}), got {}", pool.min_size),
    );
    v.check(
        pool.init_secs <= MAX_WARMUP_SECS,
        || format!("{at}.initSecs"),
        "range",
        || format!("must be at most {MAX_WARMUP_SECS} seconds, got {}", pool.init_secs),
    );
    if let Some(prepared) = pool.max_prepared_capacity {
        v.check(
            prepared <= max && prepared >= pool.min_size,
            || format!("{at}.maxPreparedCapacity"),
            "range",
            || format!("must be from minSize ({}) to the role's max ({max}), got {prepared}", pool.min_size),
        );
    }
}

fn check_buffer(v: &mut Violations, at: &str, buffer: &SeatBuffer) {
    v.check(
        buffer.pct <= MAX_BUFFER_PCT,
        || format!("{at}.pct"),
        "range",
        || format!("must be at most {MAX_BUFFER_PCT} (% of capacity kept free), got {}", buffer.pct),
    );
    v.check(
        buffer.seats <= MAX_BUFFER_SEATS,
        || format!("{at}.seats"),
        "range",
        || format!("must be at most {MAX_BUFFER_SEATS}, got {}", buffer.seats),
    );
}

fn check_policy(v: &mut Violations, at: &str, p: &ScalePolicy) {
    let field = |name: &str| format!("{at}.{name}");
    v.check(
        p.max >= 1 && p.max <= MAX_NODES_PER_REGION,
        || field("max"),
        "range",
        || format!("must be 1 to {MAX_NODES_PER_REGION}, got {}", p.max),
    );
    v.check(
        p.min <= p.max,
        || field("min"),
        "min_le_max",
        || format!("min ({}) must not exceed max ({})", p.min, p.max),
    );
    v.check(
        (1..=MAX_STEP).contains(&p.step),
        || field("step"),
        "range",
        || format!("must be 1 to {MAX_STEP}, got {}", p.step),
    );
    for (name, pct) in [
        ("scaleOutThresholdPct", p.scale_out_threshold_pct),
        ("scaleInThresholdPct", p.scale_in_threshold_pct),
    ] {
        v.check(
            (1..=100).contains(&pct),
            || field(name),
            "percent",
            || format!("must be a percentage from 1 to 100, got {pct}"),
        );
    }
    v.check(
        p.scale_in_threshold_pct < p.scale_out_threshold_pct,
        || field("scaleInThresholdPct"),
        "below_scale_out",
        || {
            format!(
                "scale-in threshold ({}) must be below the scale-out threshold ({}) or the role would flap",
                p.scale_in_threshold_pct, p.scale_out_threshold_pct
            )
        },
    );
    for (name, secs) in [
        ("scaleOutCooldownSecs", p.scale_out_cooldown_secs),
        ("scaleInCooldownSecs", p.scale_in_cooldown_secs),
    ] {
        v.check(
            secs <= MAX_COOLDOWN_SECS,
            || field(name),
            "range",
            || format!("must be at most {MAX_COOLDOWN_SECS} seconds, got {secs}"),
        );
    }
    v.check(
        p.warmup_secs <= MAX_WARMUP_SECS,
        || field("warmupSecs"),
        "range",
        || format!("must be at most {MAX_WARMUP_SECS} seconds, got {}", p.warmup_secs),
    );
    v.check(
        DRAIN_DEADLINE_SECS.contains(&p.drain_deadline_secs),
        || field("drainDeadlineSecs"),
        "range",
        || {
            format!(
                "must be {} to {} seconds (AWS holds a terminating instance 48 h at most), got {}",
                DRAIN_DEADLINE_SECS.start(),
                DRAIN_DEADLINE_SECS.end(),
                p.drain_deadline_secs
            )
        },
    );
    for (i, window) in p.schedules.iter().enumerate() {
        let at = format!("{at}.schedules[{i}]");
        let (from, to) = (minute_of_day(&window.from), minute_of_day(&window.to));
        for (name, text, minute) in [("from", &window.from, from), ("to", &window.to, to)] {
            v.check(
                minute.is_some(),
                || format!("{at}.{name}"),
                "format",
                || format!("must be HH:MM from 00:00 to 23:59 (UTC), got {text:?}"),
            );
        }
        v.check(
            from.is_none() || from != to,
            || format!("{at}.to"),
            "window_empty",
            || "a window from a time to the same time never opens".into(),
        );
        v.check(
            window.min <= p.max,
            || format!("{at}.min"),
            "min_le_max",
            || format!("min ({}) must not exceed the role's max ({})", window.min, p.max),
        );
        if let Some(buffer) = &window.buffer {
            check_buffer(v, &format!("{at}.buffer"), buffer);
        }
    }
    if let Some(buffer) = &p.buffer {
        check_buffer(v, &field("buffer"), buffer);
    }
    v.check(
        FAULT_DEADLINE_SECS.contains(&p.fault_deadline_secs),
        || field("faultDeadlineSecs"),
        "range",
        || {
            format!(
                "must be {} to {} seconds, got {}",
                FAULT_DEADLINE_SECS.start(),
                FAULT_DEADLINE_SECS.end(),
                p.fault_deadline_secs
            )
        },
    );
}

#[cfg(test)]
mod tests {
    use super::super::example_spec;
    use super::*;
    use crate::names::{Region, Zone};

    fn rules_broken(spec: &NodeGroupSpec) -> Vec<(String, String)> {
        match spec.validate() {
            Ok(()) => vec![],
            Err(e) => e.0.into_iter().map(|f| (f.field, f.rule)).collect(),
        }
    }

    fn broken(field: &str, rule: &str) -> Vec<(String, String)> {
        vec![(field.to_owned(), rule.to_owned())]
    }

    #[test]
    fn the_example_is_valid() {
        assert_eq!(rules_broken(&example_spec("live")), vec![]);
    }

    #[test]
    fn min_above_max_is_named() {
        let mut spec = example_spec("live");
        let scale = &mut spec.roles.get_mut(&Role::Edge).unwrap().scale;
        scale.min = 30;
        assert_eq!(rules_broken(&spec), broken("roles.edge.scale.min", "min_le_max"));
    }

    #[test]
    fn thresholds_are_percentages_and_scale_in_stays_below_scale_out() {
        let mut spec = example_spec("live");
        spec.roles.get_mut(&Role::Origin).unwrap().scale.scale_out_threshold_pct = 101;
        assert_eq!(rules_broken(&spec), broken("roles.origin.scale.scaleOutThresholdPct", "percent"));

        let mut spec = example_spec("live");
        spec.roles.get_mut(&Role::Origin).unwrap().scale.scale_in_threshold_pct = 0;
        assert_eq!(rules_broken(&spec), broken("roles.origin.scale.scaleInThresholdPct", "percent"));

        let mut spec = example_spec("live");
        let origin = &mut spec.roles.get_mut(&Role::Origin).unwrap().scale;
        origin.scale_in_threshold_pct = origin.scale_out_threshold_pct;
        assert_eq!(rules_broken(&spec), broken("roles.origin.scale.scaleInThresholdPct", "below_scale_out"));
    }

    #[test]
    fn every_group_needs_an_origin() {
        let mut spec = example_spec("live");
        spec.roles.remove(&Role::Origin);
        assert_eq!(rules_broken(&spec), broken("roles.origin", "required"));
    }

    #[test]
    fn regions_are_unique_and_zones_belong_to_them() {
        let mut spec = example_spec("live");
        spec.regions.push(spec.regions[0].clone());
        assert_eq!(rules_broken(&spec), broken("regions[1].region", "unique"));

        let mut spec = example_spec("live");
        spec.regions[0].zones.push(Zone::parse("us-east-1a").unwrap());
        assert_eq!(rules_broken(&spec), broken("regions[0].zones[1]", "zone_in_region"));

        let mut spec = example_spec("live");
        spec.regions.clear();
        assert_eq!(rules_broken(&spec), broken("regions", "count"));
        let _ = Region::parse("eu-west-1").unwrap();
    }

    #[test]
    fn aws_groups_need_an_image_or_a_template_but_not_both() {
        let mut spec = example_spec("live");
        spec.roles.get_mut(&Role::Edge).unwrap().launch.image_id = None;
        assert_eq!(rules_broken(&spec), broken("roles.edge.launch.imageId", "required"));

        spec.cloud = Cloud::Simulated;
        assert_eq!(rules_broken(&spec), vec![]);

        let mut spec = example_spec("live");
        spec.roles.get_mut(&Role::Edge).unwrap().launch.launch_template =
            Some(LaunchTemplateRef { id: Some("lt-0123456789abcdef0".into()), name: None, version: None });
        assert_eq!(rules_broken(&spec), broken("roles.edge.launch.launchTemplate", "exclusive"));
    }

    #[test]
    fn launch_templates_are_named_once_and_well_formed() {
        let mut spec = example_spec("live");
        let launch = &mut spec.roles.get_mut(&Role::Edge).unwrap().launch;
        launch.image_id = None;
        launch.launch_template = Some(LaunchTemplateRef {
            id: None,
            name: Some("edge-template".into()),
            version: Some("$Latest".into()),
        });
        assert_eq!(rules_broken(&spec), vec![]);

        let template = spec.roles.get_mut(&Role::Edge).unwrap().launch.launch_template.as_mut().unwrap();
        template.version = Some("latest".into());
        template.id = Some("lt-0123456789abcdef0".into());
        assert_eq!(
            rules_broken(&spec),
            vec![
                ("roles.edge.launch.launchTemplate.id".into(), "exactly_one".into()),
                ("roles.edge.launch.launchTemplate.version".into(), "format".into()),
            ]
        );
    }

    #[test]
    fn schedule_windows_that_could_never_open_are_refused() {
        let mut spec = example_spec("live");
        let scale = &mut spec.roles.get_mut(&Role::Origin).unwrap().scale;
        let window = |from: &str, to: &str, min| crate::group::ScheduledMinimum {
            days: vec![],
            from: from.into(),
            to: to.into(),
            min,
            buffer: None,
        };
        scale.schedules = vec![
            window("8:00", "24:00", 1),
            window("+1:00", "23:5x", 1),
            window("10:00", "10:00", 1),
            window("22:00", "02:00", 1000),
            window("18:00", "23:00", 1),
        ];
        let broken = rules_broken(&spec);
        let at = |i: usize, name: &str| format!("roles.origin.scale.schedules[{i}].{name}");
        assert_eq!(
            broken,
            vec![
                (at(0, "from"), "format".into()),
                (at(0, "to"), "format".into()),
                (at(1, "from"), "format".into()),
                (at(1, "to"), "format".into()),
                (at(2, "to"), "window_empty".into()),
                (at(3, "min"), "min_le_max".into()),
            ]
        );
    }

    #[test]
    fn warm_pools_are_for_aws_groups_and_never_larger_than_the_role() {
        use crate::group::{WarmPool, WarmPoolState};
        let mut spec = example_spec("live");
        let pool = WarmPool {
            min_size: 2,
            max_prepared_capacity: Some(20),
            state: WarmPoolState::Stopped,
            reuse_on_scale_in: true,
            init_secs: 120,
        };
        spec.roles.get_mut(&Role::Edge).unwrap().warm_pool = Some(pool);
        assert_eq!(rules_broken(&spec), vec![], "within the edge's max of 20");
        spec.roles.get_mut(&Role::Origin).unwrap().warm_pool =
            Some(WarmPool { min_size: 5, max_prepared_capacity: Some(3), init_secs: 4000, ..pool });
        assert_eq!(
            rules_broken(&spec),
            vec![
                ("roles.origin.warmPool.minSize".into(), "range".into()),
                ("roles.origin.warmPool.initSecs".into(), "range".into()),
                ("roles.origin.warmPool.maxPreparedCapacity".into(), "range".into()),
            ],
            "the origin's max is 4"
        );
        spec.roles.get_mut(&Role::Origin).unwrap().warm_pool = None;
        spec.cloud = Cloud::Simulated;
        assert_eq!(rules_broken(&spec), broken("roles.edge.warmPool", "aws_only"));
    }

    #[test]
    fn ranges_are_enforced_and_every_violation_is_reported() {
        let mut spec = example_spec("live");
        let role = spec.roles.get_mut(&Role::Origin).unwrap();
        role.launch.connection_capacity = 0;
        role.scale.step = 0;
        role.scale.max = 0;
        role.scale.min = 0;
        role.scale.drain_deadline_secs = 200_000;
        role.scale.fault_deadline_secs = 30;
        role.scale.warmup_secs = 4000;
        role.scale.scale_in_cooldown_secs = 100_000;
        let fields: Vec<String> = rules_broken(&spec).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "roles.origin.launch.connectionCapacity",
                "roles.origin.scale.max",
                "roles.origin.scale.step",
                "roles.origin.scale.scaleInCooldownSecs",
                "roles.origin.scale.warmupSecs",
                "roles.origin.scale.drainDeadlineSecs",
                "roles.origin.scale.faultDeadlineSecs",
            ]
        );
    }
}
