//! The five Lambda functions, and what each needs at start-up: least
//! privilege starts here (a function that does not use a secret is not given
//! it; only the functions that drive EC2 Auto Scaling get its clients).

use crate::secrets::{DeploymentSecret, ADMIN_TOKEN, NODE_SECRET};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// The node-group admin API.
    NodeGroups,
    /// Media node heartbeats and enrollment.
    Heartbeat,
    /// Public stream lookup.
    Lookup,
    /// The scheduled scaler.
    Scaler,
    /// Lifecycle hooks and interruption warnings.
    Lifecycle,
}

impl Function {
    pub const ALL: [Function; 5] =
        [Function::NodeGroups, Function::Heartbeat, Function::Lookup, Function::Scaler, Function::Lifecycle];

    /// The binary (and the templates' function) name.
    pub fn binary(self) -> &'static str {
        match self {
            Function::NodeGroups => "nodegroups",
            Function::Heartbeat => "heartbeat",
            Function::Lookup => "lookup",
            Function::Scaler => "scaler",
            Function::Lifecycle => "lifecycle",
        }
    }

    /// Admin routes check the admin token.
    pub fn uses_admin_token(self) -> bool {
        self == Function::NodeGroups
    }

    /// Enrollment keys are issued (node groups) and node tokens checked
    /// (heartbeats) with the node secret.
    pub fn uses_node_secret(self) -> bool {
        matches!(self, Function::NodeGroups | Function::Heartbeat)
    }

    /// The scaler and the lifecycle function call EC2 Auto Scaling and EC2.
    pub fn drives_fleet(self) -> bool {
        matches!(self, Function::Scaler | Function::Lifecycle)
    }

    /// The scaler: its scheduled invocations order the groups' ticks on a
    /// queue it consumes too.
    pub fn orders_ticks(self) -> bool {
        matches!(self, Function::Scaler)
    }

    /// The node-group API (an operator's actions), the scaler and the
    /// lifecycle function write decisions, and publish them.
    pub fn logs_decisions(self) -> bool {
        matches!(self, Function::NodeGroups | Function::Scaler | Function::Lifecycle)
    }

    /// The secrets the deployment must hand this function.
    pub fn secrets(self) -> Vec<DeploymentSecret> {
        let mut secrets = Vec::new();
        if self.uses_admin_token() {
            secrets.push(ADMIN_TOKEN);
        }
        if self.uses_node_secret() {
            secrets.push(NODE_SECRET);
        }
        secrets
    }
}
