//! The lab's in-memory state: pending authorization requests, sessions, codes and tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// RFC 6749 §4.1.2 recommends at most ten minutes; the lab keeps codes for one.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// A sign-in started but not finished is forgotten after this.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
    Plain,
}

#[derive(Debug, Clone)]
pub struct Pkce {
    pub challenge: String,
    pub method: ChallengeMethod,
}

/// A validated authorization request waiting for login and consent.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    /// Whether the request named the redirect_uri (RFC 6749 §4.1.3 then requires it at the token endpoint).
    pub redirect_uri_sent: bool,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub pkce: Option<Pkce>,
    /// response_type=token (only with the `implicit-grant` weakness).
    pub implicit: bool,
    pub created: Instant,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub csrf: String,
    pub auth_time: u64,
    pub created: Instant,
}

#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub request: PendingAuthorization,
    pub username: String,
    pub auth_time: u64,
    pub issued: Instant,
    /// The grant created by the first redemption, revoked if the code is replayed.
    pub redeemed_as: Option<u64>,
}

/// Everything issued from one code redemption: revoked as a whole on code or refresh-token replay.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    /// When the user signed in for this grant: refreshed ID tokens keep it (OIDC Core §12.2).
    pub auth_time: u64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub grant: u64,
    pub scopes: Vec<String>,
    pub expires: Instant,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub grant: u64,
    /// Rotated: a newer refresh token replaced this one.
    pub used: bool,
}

#[derive(Default)]
pub struct Store {
    pub pending: HashMap<String, PendingAuthorization>,
    pub sessions: HashMap<String, Session>,
    pub codes: HashMap<String, CodeGrant>,
    pub grants: HashMap<u64, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub next_grant: u64,
}

impl Store {
    pub fn new_grant(&mut self, grant: Grant) -> u64 {
        self.next_grant += 1;
        self.grants.insert(self.next_grant, grant);
        self.next_grant
    }

    pub fn revoke_grant(&mut self, id: u64) {
        if let Some(g) = self.grants.get_mut(&id) {
            g.revoked = true;
        }
    }

    pub fn grant_live(&self, id: u64) -> bool {
        self.grants.get(&id).is_some_and(|g| !g.revoked)
    }

    /// Drops what has expired, so a long-running lab under load keeps a bounded state.
    pub fn sweep(&mut self) {
        let now = Instant::now();
        self.pending
            .retain(|_, p| now.duration_since(p.created) < PENDING_LIFETIME);
        self.sessions
            .retain(|_, s| now.duration_since(s.created) < SESSION_LIFETIME);
        // Redeemed codes are kept a little longer than their lifetime so that a replay is
        // still recognised (and revokes its tokens) rather than looking like an unknown code.
        self.codes
            .retain(|_, c| now.duration_since(c.issued) < CODE_LIFETIME * 10);
        self.access_tokens.retain(|_, t| t.expires > now);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_live_at_most_a_minute() {
        // The bound, and well inside RFC 6749 §4.1.2's ten-minute maximum.
        assert!(super::CODE_LIFETIME <= std::time::Duration::from_secs(60));
    }
}
