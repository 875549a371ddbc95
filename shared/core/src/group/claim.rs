//! Claims make "which group serves this app" unambiguous: each app, and the
//! default, belongs to at most one group. The store writes a group's claims
//! in the same transaction as the group itself.

use std::fmt;

use super::NodeGroupSpec;
use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Claim {
    App(AppName),
    /// Streams of apps no group declares.
    Default,
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::App(app) => write!(f, "app {app}"),
            Claim::Default => f.write_str("the default"),
        }
    }
}

impl NodeGroupSpec {
    pub fn claims(&self) -> Vec<Claim> {
        let mut claims: Vec<Claim> = self.apps.iter().cloned().map(Claim::App).collect();
        if self.is_default {
            claims.push(Claim::Default);
        }
        claims
    }
}
