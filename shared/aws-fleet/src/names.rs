//! Names of the AWS resources streamfleet owns. Group names are
//! `[a-z0-9-]`, so these are valid ASG and launch template names.

use streamfleet_core::group::Role;
use streamfleet_core::hooks::OWNED_PREFIX;
use streamfleet_core::names::{GroupName, Region};

pub fn asg_name(group: &GroupName, role: Role, region: &Region) -> String {
    format!("{OWNED_PREFIX}{group}-{role}-{region}")
}

pub fn template_name(group: &GroupName, role: Role) -> String {
    format!("{OWNED_PREFIX}{group}-{role}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::{LAUNCH_HOOK, TERMINATE_HOOK};

    /// The deployment templates grant and route by the prefix alone.
    #[test]
    fn everything_streamfleet_names_carries_the_prefix() {
        let group = GroupName::parse("live").unwrap();
        let region = Region::parse("eu-west-1").unwrap();
        for name in [asg_name(&group, Role::Edge, &region), template_name(&group, Role::Origin)] {
            assert!(name.starts_with(OWNED_PREFIX), "{name}");
        }
        assert!(LAUNCH_HOOK.starts_with(OWNED_PREFIX) && TERMINATE_HOOK.starts_with(OWNED_PREFIX));
    }
}
