//! Admission tokens: placement made binding. A group that requires them has
//! every lookup and redirect answer carry a short-lived token bound to the
//! chosen node, the stream and the action; the node's media server asks its
//! agent before it admits a publisher or player, and the agent checks the
//! token offline.
//!
//! - The node's **admission key** is derived from the deployment secret like
//!   node credentials (HMAC-SHA256 over the group and node id), so lookups
//!   mint tokens without a read; the node learns it from its heartbeat
//!   answers (an authenticated channel) and never from a client.
//! - A **token** is `sfa.<expiry>.<mac>`: the MAC, under the node's key,
//!   covers the node id, app, stream, action and expiry (epoch seconds).
//!   Everything but the expiry is known to the checking node from the
//!   connection itself, so the token stays short enough for a URL query.
//! - Tokens are not single-use: one replayed within its lifetime admits the
//!   same action on the same stream at the same node, which placement
//!   already allowed. They live `TOKEN_TTL` by default.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::names::{AppName, NodeId, StreamName};

/// How long a token admits its client: time to connect, with slack for
/// clocks and retries.
pub const TOKEN_TTL: Duration = Duration::from_secs(120);

/// How far a token's expiry may lie ahead of the checking node's clock
/// (clock skew); a token further out was not minted by us.
pub const MAX_SKEW: Duration = Duration::from_secs(30);

const PREFIX: &str = "sfa.";

/// What a token admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Publish,
    Play,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Play => "play",
        }
    }
}

/// One node's admission key: what mints and checks its tokens.
#[derive(Clone)]
pub struct AdmissionKey(Vec<u8>);

impl std::fmt::Debug for AdmissionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdmissionKey(<redacted>)")
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no admission token")]
    Missing,
    #[error("the admission token is malformed")]
    Malformed,
    #[error("the admission token is not for this node, stream and action")]
    Forged,
    #[error("the admission token has expired")]
    Expired,
}

impl AdmissionKey {
    /// The key as raw bytes (`from_bytes` of the node's side).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The key as the heartbeat answer carries it (base64url).
    pub fn encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// The key from its encoded form.
    pub fn decode(text: &str) -> Option<Self> {
        URL_SAFE_NO_PAD.decode(text).ok().filter(|bytes| bytes.len() >= 16).map(Self)
    }

    fn mac(
        &self,
        node: &NodeId,
        app: &AppName,
        stream: &StreamName,
        action: Action,
        expires: i64,
    ) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        let expires = expires.to_string();
        mac.update(b"admit");
        for part in [node.as_str(), app.as_str(), stream.as_str(), action.as_str(), &expires] {
            // A separator no name may contain keeps (a, bc) and (ab, c) apart.
            mac.update(b"\x00");
            mac.update(part.as_bytes());
        }
        mac
    }

    /// A token admitting `action` on `app/stream` at `node` until `expires`.
    pub fn mint(
        &self,
        node: &NodeId,
        app: &AppName,
        stream: &StreamName,
        action: Action,
        expires: OffsetDateTime,
    ) -> String {
        let expires = expires.unix_timestamp();
        let tag =
            URL_SAFE_NO_PAD.encode(self.mac(node, app, stream, action, expires).finalize().into_bytes());
        format!("{PREFIX}{expires}.{tag}")
    }

    /// Whether `token` admits `action` on `app/stream` at `node` at `now`.
    pub fn check(
        &self,
        token: Option<&str>,
        node: &NodeId,
        app: &AppName,
        stream: &StreamName,
        action: Action,
        now: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let token = token.filter(|t| !t.is_empty()).ok_or(Refusal::Missing)?;
        let (expires, tag) =
            token.strip_prefix(PREFIX).and_then(|rest| rest.split_once('.')).ok_or(Refusal::Malformed)?;
        let expires: i64 = expires.parse().map_err(|_| Refusal::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Refusal::Malformed)?;
        // The MAC first, in constant time: an altered expiry is a forgery.
        self.mac(node, app, stream, action, expires).verify_slice(&tag).map_err(|_| Refusal::Forged)?;
        let now = now.unix_timestamp();
        if expires < now {
            return Err(Refusal::Expired);
        }
        let furthest = now.saturating_add((TOKEN_TTL + MAX_SKEW).as_secs() as i64);
        if expires > furthest {
            return Err(Refusal::Forged);
        }
        Ok(())
    }
}

impl crate::credentials::NodeCredentials {
    /// The admission key of `node` in `group`.
    pub fn admission_key(&self, group: &crate::names::GroupName, node: &NodeId) -> AdmissionKey {
        AdmissionKey(self.raw_tag("admission", &[group.as_str(), node.as_str()]))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use secrecy::SecretString;
    use time::macros::datetime;

    use super::*;
    use crate::credentials::NodeCredentials;
    use crate::names::GroupName;

    const NOW: OffsetDateTime = datetime!(2026-12-07 06:00 UTC);

    fn key(group: &str, node: &str) -> AdmissionKey {
        let creds =
            NodeCredentials::new(SecretString::from("0123456789abcdef0123456789abcdef".to_owned())).unwrap();
        creds.admission_key(&GroupName::parse(group).unwrap(), &NodeId::parse(node).unwrap())
    }

    fn names(node: &str, app: &str, stream: &str) -> (NodeId, AppName, StreamName) {
        (NodeId::parse(node).unwrap(), AppName::parse(app).unwrap(), StreamName::parse(stream).unwrap())
    }

    #[test]
    fn a_token_admits_its_node_stream_and_action_until_it_expires() {
        let key = key("live", "i-0a");
        let (node, app, stream) = names("i-0a", "live", "cam1");
        let token = key.mint(&node, &app, &stream, Action::Publish, NOW + TOKEN_TTL);
        assert_eq!(key.check(Some(&token), &node, &app, &stream, Action::Publish, NOW), Ok(()));
        let later = NOW + TOKEN_TTL + Duration::from_secs(1);
        assert_eq!(
            key.check(Some(&token), &node, &app, &stream, Action::Publish, later),
            Err(Refusal::Expired)
        );
        let other = StreamName::parse("cam2").unwrap();
        assert_eq!(key.check(Some(&token), &node, &app, &other, Action::Publish, NOW), Err(Refusal::Forged));
        assert_eq!(key.check(Some(&token), &node, &app, &stream, Action::Play, NOW), Err(Refusal::Forged));
        let (other_node, _, _) = names("i-0b", "live", "cam1");
        assert_eq!(
            key.check(Some(&token), &other_node, &app, &stream, Action::Publish, NOW),
            Err(Refusal::Forged)
        );
        assert_eq!(key.check(None, &node, &app, &stream, Action::Publish, NOW), Err(Refusal::Missing));
        assert_eq!(
            key.check(Some("sfa.x"), &node, &app, &stream, Action::Publish, NOW),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn each_node_and_group_has_its_own_key_which_survives_its_encoding() {
        let (node, app, stream) = names("i-0a", "live", "cam1");
        let token = key("live", "i-0a").mint(&node, &app, &stream, Action::Play, NOW + TOKEN_TTL);
        for other in [key("live", "i-0b"), key("vod", "i-0a")] {
            assert_eq!(
                other.check(Some(&token), &node, &app, &stream, Action::Play, NOW),
                Err(Refusal::Forged)
            );
        }
        let decoded = AdmissionKey::decode(&key("live", "i-0a").encoded()).unwrap();
        assert_eq!(decoded.check(Some(&token), &node, &app, &stream, Action::Play, NOW), Ok(()));
        assert!(AdmissionKey::decode("short").is_none());
    }

    #[test]
    fn a_token_whose_expiry_lies_too_far_ahead_was_not_minted_by_a_lookup() {
        let key = key("live", "i-0a");
        let (node, app, stream) = names("i-0a", "live", "cam1");
        let forever = key.mint(&node, &app, &stream, Action::Play, NOW + Duration::from_secs(86_400));
        assert_eq!(key.check(Some(&forever), &node, &app, &stream, Action::Play, NOW), Err(Refusal::Forged));
    }

    proptest! {
        #[test]
        fn an_altered_token_never_admits(flip in 4usize..60, with in any::<u8>()) {
            let key = key("live", "i-0a");
            let (node, app, stream) = names("i-0a", "live", "cam1");
            let token = key.mint(&node, &app, &stream, Action::Publish, NOW + TOKEN_TTL);
            let mut bytes = token.clone().into_bytes();
            let at = flip % bytes.len();
            prop_assume!(bytes[at] != with);
            bytes[at] = with;
            let altered = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(key.check(Some(&altered), &node, &app, &stream, Action::Publish, NOW).is_err());
        }
    }
}
