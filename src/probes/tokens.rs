//! Tokens in use: the userinfo endpoint as a protected resource, and revocation (RFC 7009).

use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::engine::{Feature, Outcome};
use crate::http::{Request, Response};

/// The userinfo endpoint, or the skip that says how to name one.
pub(super) fn userinfo(cx: &Cx) -> Result<url::Url, Outcome> {
    cx.server.endpoints.userinfo.clone().ok_or_else(|| {
        Outcome::unsupported(
            Feature::Userinfo,
            super::no_endpoint(cx, "userinfo_endpoint", "userinfo"),
        )
    })
}

/// A userinfo answer that hands out claims: HTTP 200 and a JSON object with a `sub`.
fn serves_claims(resp: &Response) -> bool {
    resp.status == 200
        && resp
            .json()
            .is_some_and(|j| j["sub"].as_str().is_some_and(|s| !s.is_empty()))
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The same token with its last character moved half-way round the base64url alphabet: that
/// flips the character's top bit, which carries data even where the low bits are padding (so a
/// lenient base64 decoder cannot map the change back to the same bytes).
fn tampered(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = match B64URL.iter().position(|&b| b as char == *last) {
            Some(i) => B64URL[(i + 32) % 64] as char,
            None => 'A',
        };
    }
    chars.into_iter().collect()
}

/// RFC 6749 §7: "The resource server MUST validate the access token".
pub async fn tampered_access_token_refused(cx: &Cx) -> ProbeResult {
    let url = match userinfo(cx) {
        Ok(u) => u,
        Err(skip) => return Ok(skip),
    };
    let tokens = cx.fresh_tokens(cx.client()).await?;
    let Some(at) = tokens.access_token() else {
        return Err(ProbeError::Unexpected("no access_token was issued".into()));
    };
    let genuine = cx
        .http
        .send(
            "control: call userinfo with the genuine access token",
            Request::get(url.clone()).bearer(at),
        )
        .await?;
    if genuine.status != 200 {
        return Err(ProbeError::Unexpected(format!(
            "userinfo refused the genuine, fresh access token (HTTP {}), so a refusal of a tampered one would prove nothing",
            genuine.status
        )));
    }
    let forged = tampered(at);
    cx.http.redactor().add(&forged);
    let resp = cx
        .http
        .send(
            "call userinfo with the access token's last character changed",
            Request::get(url).bearer(&forged),
        )
        .await?;
    if serves_claims(&resp) {
        return Ok(Outcome::not_met(
            "userinfo answered HTTP 200 with the user's claims for an access token whose last character was changed",
        ));
    }
    Ok(Outcome::pass(format!(
        "the genuine access token works at userinfo and the tampered one is refused (HTTP {})",
        resp.status
    )))
}

/// RFC 6749 §7: a protected resource answers only with a valid access token.
pub async fn userinfo_requires_token(cx: &Cx) -> ProbeResult {
    let url = match userinfo(cx) {
        Ok(u) => u,
        Err(skip) => return Ok(skip),
    };
    let resp = cx
        .http
        .send(
            "call userinfo without any access token",
            Request::get(url).back_channel(),
        )
        .await?;
    if serves_claims(&resp) {
        return Ok(Outcome::not_met(
            "userinfo answered HTTP 200 with a subject's claims to a request that carried no access token",
        ));
    }
    Ok(Outcome::pass(format!(
        "userinfo refused a request without an access token (HTTP {}{})",
        resp.status,
        resp.header("www-authenticate")
            .map(|c| format!(", WWW-Authenticate: {c}"))
            .unwrap_or_default()
    )))
}

/// RFC 7009 §2: "Implementations MUST support the revocation of refresh tokens".
pub async fn refresh_token_revocable(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    if cx.server.endpoints.revocation.is_none() {
        return Ok(Outcome::unsupported(
            Feature::Revocation,
            super::no_endpoint(cx, "revocation_endpoint", "revocation"),
        ));
    }
    let tokens = cx.fresh_tokens(client).await?;
    let Some(rt) = tokens.refresh_token().map(str::to_string) else {
        return Ok(super::no_refresh_token(cx, client));
    };
    // The revocation, and what it did, alone: the server may revoke the whole grant.
    cx.alone(async {
        let revoked = cx
            .revoke("revoke the refresh token", client, &rt, "refresh_token")
            .await?
            .ok_or_else(|| ProbeError::Unexpected("no revocation endpoint".into()))?;
        if !(200..300).contains(&revoked.status) {
            return Err(ProbeError::Unexpected(format!(
                "the revocation endpoint refused the client's own refresh token: {}",
                revoked.describe()
            )));
        }
        let after = cx
            .refresh("refresh with the revoked refresh token", client, &rt, None)
            .await?;
        if after.issued() {
            return Ok(Outcome::not_met(
                "the revocation endpoint accepted the request, and the revoked refresh token then returned HTTP 200 and an access_token",
            ));
        }
        let mut message = format!(
            "the revoked refresh token was refused ({})",
            after.describe()
        );
        if let Some(at) = tokens.access_token() {
            match cx
                .token_works("use the access token of the revoked grant", at)
                .await?
            {
                Some(true) => {
                    return Ok(Outcome::not_met_of(&["RFC 7009 §2.1"], format!(
                        "{message}, but the access token issued with it still works at userinfo (RFC 7009 §2.1: SHOULD be invalidated too)"
                    )));
                }
                Some(false) => {
                    message.push_str("; the access token issued with it was invalidated too")
                }
                None => message.push_str(
                    "; no userinfo endpoint to tell whether its access token was invalidated",
                ),
            }
        }
        Ok(Outcome::pass(message))
    })
    .await
}

/// RFC 6750 §3: a refused protected-resource request carries a WWW-Authenticate challenge.
pub async fn userinfo_bearer_challenge(cx: &Cx) -> ProbeResult {
    let url = match userinfo(cx) {
        Ok(u) => u,
        Err(skip) => return Ok(skip),
    };
    let stranger = cx.http.with_fresh_jar();
    let bogus = crate::crypto::random_token(32);
    let attempts = [
        (
            "call userinfo without a token, from a browser without a session",
            Request::get(url.clone()).back_channel(),
        ),
        (
            "call userinfo with a token the server never issued",
            Request::get(url).bearer(&bogus),
        ),
    ];
    let mut missing = Vec::new();
    let mut seen = Vec::new();
    for (step, req) in attempts {
        let resp = stranger.send(step, req).await?;
        if (200..300).contains(&resp.status) {
            // Answering at all is judged by tokens-userinfo-requires-token, not here.
            continue;
        }
        let bearer = resp
            .header_all("www-authenticate")
            .into_iter()
            .any(|c| c.trim().to_ascii_lowercase().starts_with("bearer"));
        if bearer {
            seen.push(format!("HTTP {}", resp.status));
        } else {
            missing.push(format!(
                "refused with HTTP {} and {}",
                resp.status,
                match resp.header("www-authenticate") {
                    Some(c) => format!("WWW-Authenticate: {c} (no Bearer challenge)"),
                    None => "no WWW-Authenticate header".to_string(),
                }
            ));
        }
    }
    if !missing.is_empty() {
        return Ok(Outcome::not_met(format!("userinfo {}", missing.join("; "))));
    }
    if seen.is_empty() {
        return Err(ProbeError::Unexpected(
            "userinfo refused neither request, so no challenge could be observed".into(),
        ));
    }
    Ok(Outcome::pass(format!(
        "every refusal carried a Bearer challenge ({})",
        seen.join(", ")
    )))
}

/// A fresh access token that works at userinfo in the Authorization header (the control), or the
/// skip when there is no userinfo endpoint.
async fn working_access_token(cx: &Cx) -> Result<Result<(url::Url, String), Outcome>, ProbeError> {
    let url = match userinfo(cx) {
        Ok(u) => u,
        Err(skip) => return Ok(Err(skip)),
    };
    let tokens = cx.fresh_tokens(cx.client()).await?;
    let Some(at) = tokens.access_token().map(str::to_string) else {
        return Err(ProbeError::Unexpected("no access_token was issued".into()));
    };
    let genuine = cx
        .http
        .send(
            "control: call userinfo with the access token in the Authorization header",
            Request::get(url.clone()).bearer(&at),
        )
        .await?;
    if !serves_claims(&genuine) {
        return Err(ProbeError::Unexpected(format!(
            "userinfo refused the fresh access token in the Authorization header (HTTP {}), so a refusal in another form would prove nothing",
            genuine.status
        )));
    }
    Ok(Ok((url, at)))
}

/// RFC 6750 §5.3: "Bearer tokens SHOULD NOT be passed in page URLs".
pub async fn userinfo_query_token_refused(cx: &Cx) -> ProbeResult {
    let (url, at) = match working_access_token(cx).await? {
        Ok(found) => found,
        Err(skip) => return Ok(skip),
    };
    let mut in_query = url;
    in_query.query_pairs_mut().append_pair("access_token", &at);
    let resp = cx
        .http
        .send(
            "call userinfo with the access token in the URL query only",
            Request::get(in_query),
        )
        .await?;
    if serves_claims(&resp) {
        return Ok(Outcome::not_met(
            "userinfo answered HTTP 200 with the user's claims to an access token sent in the URL query (RFC 6750 §5.3: bearer tokens SHOULD NOT be passed in page URLs)",
        ));
    }
    Ok(Outcome::pass(format!(
        "userinfo accepts the access token in the Authorization header and refuses it in the URL query (HTTP {})",
        resp.status
    )))
}

/// RFC 7009 §2: implementations "SHOULD support the revocation of access tokens".
pub async fn access_token_revocable(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    if cx.server.endpoints.revocation.is_none() {
        return Ok(Outcome::unsupported(
            Feature::Revocation,
            super::no_endpoint(cx, "revocation_endpoint", "revocation"),
        ));
    }
    let (url, at) = match working_access_token(cx).await? {
        Ok(found) => found,
        Err(skip) => return Ok(skip),
    };
    // The revocation, and what it did, alone: the server may revoke the whole grant.
    cx.alone(async {
        let revoked = cx
            .revoke("revoke the access token", client, &at, "access_token")
            .await?
            .ok_or_else(|| ProbeError::Unexpected("no revocation endpoint".into()))?;
        if revoked.error() == Some("unsupported_token_type") {
            return Ok(Outcome::not_met(format!(
                "the revocation endpoint does not revoke access tokens ({}; RFC 7009 §2: SHOULD support it)",
                revoked.describe()
            )));
        }
        if !(200..300).contains(&revoked.status) {
            return Err(ProbeError::Unexpected(format!(
                "the revocation endpoint refused the client's own access token: {}",
                revoked.describe()
            )));
        }
        let after = cx
            .http
            .send(
                "call userinfo with the revoked access token",
                Request::get(url).bearer(&at),
            )
            .await?;
        if serves_claims(&after) {
            return Ok(Outcome::not_met(format!(
                "the revocation endpoint accepted the request ({}), and the revoked access token still got HTTP 200 with the user's claims at userinfo (RFC 7009 §2: SHOULD support the revocation of access tokens)",
                revoked.describe()
            )));
        }
        Ok(Outcome::pass(format!(
            "after the revocation ({}), userinfo refused the access token (HTTP {})",
            revoked.describe(),
            after.status
        )))
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn tampering_changes_the_decoded_bytes() {
        use crate::crypto::{b64url_decode, random_token};
        for _ in 0..64 {
            let t = random_token(32);
            let forged = super::tampered(&t);
            assert_ne!(b64url_decode(&t), b64url_decode(&forged), "{t}");
        }
    }
}
