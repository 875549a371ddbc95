//! Node credentials, derived from one deployment secret with HMAC-SHA256:
//!
//! - a group's **enrollment key** (`sfe.<group>.<incarnation>.<generation>.<mac>`)
//!   lets a node the group does not know yet register itself; operators put
//!   it in the launch user data. Rotating bumps the generation; the
//!   incarnation is drawn when the group is created, so a group deleted and
//!   created again under the same name refuses the keys of the old one.
//! - a **node token** (`sfn.<nonce>.<mac>`), handed to a node when it
//!   enrolls, binds one node id in one group to one enrollment: a node can
//!   report only as itself, and only until it is forgotten (the nonce is
//!   stored on the node's row and every heartbeat's write must match it, so
//!   a forgotten node's token never works again, even if the same id
//!   enrolls anew).
//!
//! Both are checked without a database read, in constant time; what they
//! name is then held to what is stored: a token's nonce by the heartbeat's
//! conditional write, a key's incarnation and generation by the group read
//! at enrollment (and the generation again by the enrollment's write).
//!
//! Credentials from before nonces and incarnations (`sfn.<mac>`,
//! `sfe.<group>.<generation>.<mac>`) keep working for what they were issued
//! for: a row enrolled before nonces, a group stored before incarnations.

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCredential {
    /// The node's own token, of the enrollment that drew `nonce`: it may
    /// report as itself while its row carries that nonce.
    Node { nonce: String },
    /// The group's enrollment key of this incarnation and generation: it
    /// may register, if the group is still that incarnation at that
    /// generation.
    Enrollment { incarnation: String, generation: u32 },
}

/// A fresh random value for a token nonce or a group incarnation: unique,
/// not secret (the MAC over it is what cannot be forged).
pub fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Nonces and incarnations are what `fresh_nonce` draws (or empty, for a
/// group stored before incarnations): nothing that could hold a separator.
fn is_nonce(text: &str) -> bool {
    text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric())
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
        URL_SAFE_NO_PAD.encode(self.raw_tag(purpose, parts))
    }

    /// The MAC of `parts` for `purpose`: a key derived from the secret.
    pub(crate) fn raw_tag(&self, purpose: &str, parts: &[&str]) -> Vec<u8> {
        self.mac(purpose, parts).finalize().into_bytes().to_vec()
    }

    fn verify(&self, purpose: &str, parts: &[&str], tag: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(tag) {
            Ok(bytes) => self.mac(purpose, parts).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    pub fn enrollment_key(&self, group: &GroupName, incarnation: &str, generation: u32) -> String {
        let generation = generation.to_string();
        let tag = self.tag("enroll", &[group.as_str(), incarnation, &generation]);
        format!("sfe.{group}.{incarnation}.{generation}.{tag}")
    }

    /// The token of one enrollment of `node`; `nonce` is stored on its row.
    pub fn node_token(&self, group: &GroupName, node: &NodeId, nonce: &str) -> String {
        format!("sfn.{nonce}.{}", self.tag("node", &[group.as_str(), node.as_str(), nonce]))
    }

    /// What `presented` proves for `node` of `group`, if anything.
    pub fn check(&self, group: &GroupName, node: &NodeId, presented: &str) -> Option<NodeCredential> {
        if let Some(rest) = presented.strip_prefix("sfn.") {
            let Some((nonce, tag)) = rest.split_once('.') else {
                // A token from before nonces (`sfn.<mac>`): it reports only
                // for a row enrolled before them (an empty nonce).
                let valid = self.verify("node", &[group.as_str(), node.as_str()], rest);
                return valid.then(|| NodeCredential::Node { nonce: String::new() });
            };
            let valid = is_nonce(nonce) && self.verify("node", &[group.as_str(), node.as_str(), nonce], tag);
            return valid.then(|| NodeCredential::Node { nonce: nonce.to_owned() });
        }
        let rest = presented.strip_prefix("sfe.")?;
        let (key_group, rest) = rest.split_once('.')?;
        if key_group != group.as_str() {
            return None;
        }
        let parts: Vec<&str> = rest.split('.').collect();
        let (incarnation, generation, valid) = match parts[..] {
            [incarnation, generation, tag] if is_nonce(incarnation) => (
                incarnation,
                generation,
                self.verify("enroll", &[group.as_str(), incarnation, generation], tag),
            ),
            // A key from before incarnations (`sfe.<group>.<generation>.<mac>`):
            // it enrolls only into a group stored before them (an empty
            // incarnation), so keys in launch templates keep working.
            [generation, tag] => ("", generation, self.verify("enroll", &[group.as_str(), generation], tag)),
            _ => return None,
        };
        let generation = generation.parse().ok()?;
        valid.then(|| NodeCredential::Enrollment { incarnation: incarnation.to_owned(), generation })
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
        let token = creds.node_token(&group, &a, "n1");
        assert_eq!(creds.check(&group, &a, &token), Some(NodeCredential::Node { nonce: "n1".into() }));
        assert_eq!(creds.check(&group, &b, &token), None, "another node");
        assert_eq!(creds.check(&GroupName::parse("other").unwrap(), &a, &token), None, "another group");
        let forged = credentials("another-secret-0123456789abcdef01").node_token(&group, &a, "n1");
        assert_eq!(creds.check(&group, &a, &forged), None, "another deployment");
        let renonced = token.replacen("sfn.n1.", "sfn.n2.", 1);
        assert_eq!(creds.check(&group, &a, &renonced), None, "the nonce is under the MAC");
    }

    #[test]
    fn each_enrollment_draws_its_own_nonce_so_its_token_differs() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, _) = names();
        let (first, second) = (fresh_nonce(), fresh_nonce());
        assert_ne!(first, second);
        assert_ne!(creds.node_token(&group, &a, &first), creds.node_token(&group, &a, &second));
    }

    #[test]
    fn an_enrollment_key_names_its_generation_and_cannot_be_altered() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, _) = names();
        let key = creds.enrollment_key(&group, "inc1", 3);
        assert_eq!(
            creds.check(&group, &a, &key),
            Some(NodeCredential::Enrollment { incarnation: "inc1".into(), generation: 3 })
        );
        let bumped = key.replacen(".3.", ".4.", 1);
        assert_eq!(creds.check(&group, &a, &bumped), None);
        let reborn = key.replacen(".inc1.", ".inc2.", 1);
        assert_eq!(creds.check(&group, &a, &reborn), None, "the incarnation is under the MAC");
        assert_eq!(creds.check(&GroupName::parse("other").unwrap(), &a, &key), None);
    }

    #[test]
    fn a_token_from_before_nonces_still_proves_its_node_with_an_empty_nonce() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, b) = names();
        let legacy = format!("sfn.{}", creds.tag("node", &[group.as_str(), a.as_str()]));
        assert_eq!(creds.check(&group, &a, &legacy), Some(NodeCredential::Node { nonce: String::new() }));
        assert_eq!(creds.check(&group, &b, &legacy), None);
    }

    #[test]
    fn a_key_from_before_incarnations_still_proves_its_generation_with_an_empty_incarnation() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, _) = names();
        let legacy = format!("sfe.{group}.2.{}", creds.tag("enroll", &[group.as_str(), "2"]));
        assert_eq!(
            creds.check(&group, &a, &legacy),
            Some(NodeCredential::Enrollment { incarnation: String::new(), generation: 2 })
        );
        assert_eq!(creds.check(&group, &a, &legacy.replacen(".2.", ".3.", 1)), None);
    }

    #[test]
    fn garbage_proves_nothing() {
        let creds = credentials("0123456789abcdef0123456789abcdef");
        let (group, a, _) = names();
        for junk in [
            "",
            "sfn.",
            "sfn.!!!",
            "sfn.a.b",
            "sfn.a.b.c",
            "sfe.live",
            "sfe.live.x.y",
            "sfe.live.x.1.",
            "Bearer",
            "sfe.live.1.",
        ] {
            assert_eq!(creds.check(&group, &a, junk), None, "{junk:?}");
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(NodeCredentials::new(SecretString::from("short")).is_err());
    }
}
