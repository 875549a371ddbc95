//! A complete, valid spec: the documentation's example and the tests' base.

use std::collections::BTreeMap;

use super::spec::*;
use crate::names::{AppName, GroupName, ImageId, InstanceType, Region, Zone};

pub fn example_spec(name: &str) -> NodeGroupSpec {
    let launch = |capacity| LaunchSettings {
        instance_type: InstanceType::parse("c6i.large").expect("valid"),
        image_id: Some(ImageId::parse("ami-0123456789abcdef0").expect("valid")),
        launch_template: None,
        connection_capacity: capacity,
    };
    NodeGroupSpec {
        name: GroupName::parse(name).expect("example names are valid"),
        cloud: Cloud::Aws,
        regions: vec![RegionSpec {
            region: Region::parse("eu-west-1").expect("valid"),
            zones: vec![Zone::parse("eu-west-1a").expect("valid")],
        }],
        roles: BTreeMap::from([
            (
                Role::Origin,
                RoleSpec {
                    launch: launch(200),
                    scale: ScalePolicy { min: 1, max: 4, ..ScalePolicy::default() },
                    warm_pool: None,
                },
            ),
            (
                Role::Edge,
                RoleSpec {
                    launch: launch(1000),
                    scale: ScalePolicy { min: 2, max: 20, step: 2, ..ScalePolicy::default() },
                    warm_pool: None,
                },
            ),
        ]),
        apps: vec![AppName::parse("live").expect("valid")],
        is_default: false,
        recycle_dead_nodes: true,
        self_managed_nodes: false,
        scaling_paused: false,
        require_admission_tokens: false,
    }
}
