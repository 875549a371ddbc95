//! Names of the AWS resources streamfleet owns. Group names are
//! `[a-z0-9-]`, so these are valid ASG and launch template names.

use streamfleet_core::group::Role;
use streamfleet_core::names::{GroupName, Region};

pub fn asg_name(group: &GroupName, role: Role, region: &Region) -> String {
    format!("sf-{group}-{role}-{region}")
}

pub fn template_name(group: &GroupName, role: Role) -> String {
    format!("sf-{group}-{role}")
}
