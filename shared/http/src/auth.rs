//! Admin authentication: a bearer token compared in constant time with the
//! configured secret. Only the secret's digest is kept, so neither a log
//! line nor a debug print can leak it.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Shortest admin token accepted: anything shorter is guessable.
pub const MIN_TOKEN_LEN: usize = 16;

#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the admin token must be at least {MIN_TOKEN_LEN} characters long")]
pub struct WeakToken;

impl AdminToken {
    pub fn new(secret: &SecretString) -> Result<Self, WeakToken> {
        let secret = secret.expose_secret();
        if secret.chars().count() < MIN_TOKEN_LEN {
            return Err(WeakToken);
        }
        Ok(Self { digest: Sha256::digest(secret.as_bytes()).into() })
    }

    /// Digests make both sides the same length, so the comparison time says
    /// nothing about the secret, not even its length.
    fn accepts(&self, presented: &str) -> bool {
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        self.digest.ct_eq(&presented).into()
    }
}

/// Proof that the request carried the admin token. Put it first among a
/// handler's extractors, so an anonymous caller learns nothing about input.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

impl<S> FromRequestParts<S> for Admin
where
    AdminToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if AdminToken::from_ref(state).accepts(bearer(parts)?) {
            Ok(Admin)
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header; 401 without one.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(ApiError::unauthorized)?;
    let value = header.to_str().map_err(|_| ApiError::unauthorized())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(ApiError::unauthorized)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::unauthorized());
    }
    Ok(token)
}

/// A node's credential (its node token, or its group's enrollment key), to
/// be checked by the service against the node and group it claims to be.
#[derive(Debug)]
pub struct NodeCredentialHeader(pub String);

impl<S: Send + Sync> FromRequestParts<S> for NodeCredentialHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        bearer(parts).map(|token| Self(token.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_refused_at_start() {
        assert!(AdminToken::new(&SecretString::from("short")).is_err());
    }

    #[test]
    fn only_the_exact_token_is_accepted() {
        let token = AdminToken::new(&SecretString::from("a-long-enough-secret")).unwrap();
        assert!(token.accepts("a-long-enough-secret"));
        assert!(!token.accepts("a-long-enough-secreT"));
        assert!(!token.accepts("a-long-enough-secret "));
        assert!(!token.accepts(""));
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let token = AdminToken::new(&SecretString::from("a-long-enough-secret")).unwrap();
        assert!(!format!("{token:?}").contains("secret"));
    }
}
