//! Node credentials, derived from one deployment secret with HMAC-SHA256:
//!
//! - a group's **enrollment key** (`sfe.<group>.<generation>.<mac>`) lets a
//!   node the group does not know yet register itself; operators put it in
//!   the launch user data. Rotating bumps the generation.
//! - a **node token** (`sfn.<mac>`), handed to a node when it enrolls, binds
//!   one node id in one group: a node can report only as itself.
//!
//! Both are checked without a database read, in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::names::{GroupName, NodeId};

/// Shortest deployment secret accepted.
pub const MIN_SECRET_LEN: usize = 32;

#[derive(Clone)]
pub struct NodeCredentials {
    secret: SecretString,
}

impl std::fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeCredentials(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the node secret must be at least {MIN_SECRET_LEN} characters long")]
pub struct WeakSecret;

/// What a presented credential proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeCredential {
    /// The node's own token: it may report as itself.
    Node,
    /// The group's enrollment key of this generation: it may register.
    Enrollment { generation: u32 },
}

impl NodeCredentials {
    pub fn new(secret: SecretString) -> Result<Self, WeakSecret> {
        if secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(WeakSecret);
        }
        Ok(Self { secret })
    }

    fn mac(&self, purpose: &str, parts: &[&str]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        for part in parts {
            // A separator no name may contain keeps (a, bc) and (ab, c) apart.
            mac.update(b"\x00");
            mac.update(part.as_bytes());
        }
        mac
    }

    fn tag(&self, purpose: &str, parts: &[&str]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, parts).finalize().into_bytes())
    }

    fn verify(&self, purpose: &str, parts: &[&str], tag: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(tag) {
            Ok(bytes) => self.mac(purpose, parts).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    pub fn enrollment_key(&self, group: &GroupName, generation: u32) -> String {
        let generation = generation.to_string();
        format!("sfe.{group}.{generation}.{}", self.tag("enroll", &[group.as_str(), &generation]))
    }

    pub fn node_token(&self, group: &GroupName, node: &NodeId) -> String {
        format!("sfn.{}", self.tag("node", &[group.as_str(), node.as_str()]))
    }

    /// What `presented` proves for `node` of `group`, if anything.
    pub fn check(&self, group: &GroupName, node: &NodeId, presented: &str) -> Option<NodeCredential> {
        if let Some(tag) = presented.strip_prefix("sfn.") {
            return self
                .verify("node", &[group.as_str(), node.as_str()], tag)
                .then_some(NodeCredential::Node);
        }
        let rest = presented.strip_prefix("sfe.")?;
        let (key_group, rest) = rest.split_once('.')?;
        let (generation, tag) = rest.split_once('.')?;
        if key_group != group.as_str() {
            return None;
        }
        let valid = self.verify("enroll", &[group.as_str(), generation], tag);
        let generation = generation.parse().ok()?;
        valid.then_some(NodeCredential::Enrollment { generation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(secret: &str) -> NodeCredentials {
        NodeCredentials::new(SecretString::from(secret.to_owned())).unwrap()
    }

    fn names() -> (GroupName, NodeId, NodeId) {
        (
            GroupName::parse("live").unwrap(),
            NodeId::parse("i-0aaa").unwrap(),
            NodeId::parse("i-0bbb").unwrap(),
        )
    }

    #[test]
    fn a_node_token_proves_only_its_own_node_and_group() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, b) = names();
        let token = creds.node_token(&group, &a);
        assert_eq!(creds.check(&group, &a, &token), Some(NodeCredential::Node));
        assert_eq!(creds.check(&group, &b, &token), None, "another node");
        assert_eq!(creds.check(&GroupName::parse("other").unwrap(), &a, &token), None, "another group");
        let forged = credentials("another-secret-0123456789abcdef01").node_token(&group, &a);
        assert_eq!(creds.check(&group, &a, &forged), None, "another deployment");
    }

    #[test]
    fn an_enrollment_key_names_its_generation_and_cannot_be_altered() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, _) = names();
        let key = creds.enrollment_key(&group, 3);
        assert_eq!(creds.check(&group, &a, &key), Some(NodeCredential::Enrollment { generation: 3 }));
        let bumped = key.replacen(".3.", ".4.", 1);
        assert_eq!(creds.check(&group, &a, &bumped), None);
        assert_eq!(creds.check(&GroupName::parse("other").unwrap(), &a, &key), None);
    }

    #[test]
    fn garbage_proves_nothing() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, _) = names();
        for junk in ["", "sfn.", "sfn.!!!", "sfe.live", "sfe.live.x.y", "Bearer", "sfe.live.1."] {
            assert_eq!(creds.check(&group, &a, junk), None, "{junk:?}");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(NodeCredentials::new(SecretString::from("short")).is_err());
    }
}
