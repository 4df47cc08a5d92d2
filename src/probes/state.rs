//! The state parameter: returned exactly, and what a server does when a client sends none.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeResult};
use crate::flow::authorize::{AuthOutcome, AuthRequest, Consent};
use crate::target::Client;

/// A state that URL encoding, form decoding and truncation would all damage.
pub fn hard_state() -> String {
    let mut s = String::from("oauthprobe a b+c%20d%e&f=g/h#i?j ü✓漢字 ");
    while s.chars().count() < 220 {
        s.push_str(&crate::crypto::random_token(12));
    }
    s
}

fn compare(what: &str, sent: &str, outcome: &AuthOutcome) -> Result<String, String> {
    match outcome.param("state") {
        Some(got) if got == sent => Ok(format!("{what}: state returned exactly")),
        Some(got) => Err(format!(
            "{what}: state came back altered ({} characters sent, {} received)",
            sent.chars().count(),
            got.chars().count()
        )),
        None => Err(format!(
            "{what}: no state in the response ({})",
            outcome.describe()
        )),
    }
}

/// RFC 6749 §4.1.2 and §4.1.2.1: "The exact value received from the client."
pub async fn echoed(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let state = hard_state();
    let mut passed = Vec::new();
    let mut failed = Vec::new();

    let request = cx.request_for(client).set("state", &state);
    let success = cx
        .authorize(
            "successful authorization with a hard state",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    if success.code().is_none() {
        return Ok(Outcome::error(format!(
            "no code came back for a valid request: the server {}",
            success.describe()
        )));
    }
    match compare("success response", &state, &success) {
        Ok(m) => passed.push(m),
        Err(m) => failed.push(m),
    }

    match provoke_error(cx, client, Some(&state)).await? {
        Some((what, outcome)) => {
            match compare(&format!("error response ({what})"), &state, &outcome) {
                Ok(m) => passed.push(m),
                Err(m) => failed.push(m),
            }
        }
        None => passed.push("no error response could be provoked to check".to_string()),
    }
    Ok(if failed.is_empty() {
        Outcome::pass(passed.join("; "))
    } else {
        Outcome::fail(failed.join("; "))
    })
}

/// An error response from the authorization endpoint: an unknown scope, else an unknown
/// response_type, else the user's refusal. None when none of them yields one.
pub async fn provoke_error(
    cx: &Cx,
    client: &Client,
    state: Option<&str>,
) -> Result<Option<(&'static str, AuthOutcome)>, crate::engine::context::ProbeError> {
    let with_state = |r: AuthRequest| match state {
        Some(s) => r.set("state", s),
        None => r,
    };
    let attempts: [(&str, AuthRequest, Consent); 3] = [
        (
            "unknown scope",
            with_state(cx.request_for(client)).set("scope", "openid oauthprobe-unknown-scope"),
            Consent::Approve,
        ),
        (
            "unsupported response_type",
            with_state(cx.request_for(client)).set("response_type", "oauthprobe_unknown"),
            Consent::Approve,
        ),
        (
            "consent denied",
            with_state(cx.request_for(client)),
            Consent::Deny,
        ),
    ];
    for (what, request, consent) in attempts {
        let outcome = cx
            .authorize(
                &format!("error response: {what}"),
                client,
                &request,
                consent,
            )
            .await?;
        if outcome.param("error").is_some() {
            return Ok(Some((what, outcome)));
        }
    }
    Ok(None)
}

/// What the server does with a request that has neither state nor a PKCE challenge.
async fn without_state_or_pkce(
    cx: &Cx,
    client: &Client,
) -> Result<Result<String, String>, crate::engine::context::ProbeError> {
    let request = cx.request_for(client).without_pkce().remove("state");
    let outcome = cx
        .authorize(
            &format!("{}: request without state or PKCE", client.id),
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    let Some(code) = outcome.code().map(str::to_string) else {
        return Ok(Ok(format!(
            "client `{}`: refused; the server {}",
            client.id,
            outcome.describe()
        )));
    };
    let redeemed = cx
        .redeem(
            &format!("{}: redeem that code", client.id),
            client,
            &code,
            request.redirect_uri(),
            None,
        )
        .await?;
    Ok(if redeemed.issued() {
        Err(format!(
            "client `{}`: a code was issued for a request with neither state nor PKCE, and redeemed (HTTP 200 with an access_token)",
            client.id
        ))
    } else {
        Ok(format!(
            "client `{}`: a code was issued but could not be redeemed ({})",
            client.id,
            redeemed.describe()
        ))
    })
}

pub async fn missing(cx: &Cx) -> ProbeResult {
    let mut notes = Vec::new();
    let mut public_fail = None;
    let mut confidential_warn = None;
    match without_state_or_pkce(cx, cx.client()).await? {
        Ok(m) => notes.push(m),
        Err(m) => confidential_warn = Some(m),
    }
    match &cx.target.public_client {
        Some(public) => match without_state_or_pkce(cx, public).await? {
            Ok(m) => notes.push(m),
            Err(m) => public_fail = Some(m),
        },
        None => notes.push(
            "no [public_client] in the target file: the public-client case was not tested"
                .to_string(),
        ),
    }
    Ok(match (public_fail, confidential_warn) {
        (Some(f), w) => Outcome::fail(format!(
            "{f}; OAuth 2.1 requires PKCE for public clients, so nothing protects them against login CSRF{}",
            w.map(|w| format!("; {w}")).unwrap_or_default()
        )),
        (None, Some(w)) => Outcome::warn(format!(
            "{w}; RFC 9700 §2.1.1 recommends PKCE for confidential clients too (OAuth 2.1 requires it){}",
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            }
        )),
        (None, None) => Outcome::pass(notes.join("; ")),
    })
}

/// A state of about 2,000 characters: long, but within what servers and browsers carry.
fn long_state() -> String {
    let mut s = String::from("oauthprobe-long-");
    while s.len() < 2000 {
        s.push_str(&crate::crypto::random_token(48));
    }
    s
}

/// RFC 6749 §4.1.2: a long state comes back whole, or the request is refused; never cut.
pub async fn long_echoed(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let state = long_state();
    let request = cx.request_for(client).set("state", &state);
    let outcome = cx
        .authorize(
            "authorization request with a 2,000-character state",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    if let AuthOutcome::Page { .. } = outcome {
        return Ok(Outcome::pass(format!(
            "the long state was refused with an error page: the server {}",
            outcome.describe()
        )));
    }
    let what = if outcome.code().is_some() {
        "success response"
    } else {
        "error response"
    };
    Ok(match compare(what, &state, &outcome) {
        Ok(m) => Outcome::pass(format!("{m} ({} characters)", state.chars().count())),
        Err(m) => Outcome::fail(m),
    })
}

/// RFC 6749 §4.1.2.1: the state comes back in the error response when the user says no.
pub async fn echoed_on_denial(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let request = cx.request_for(client);
    let state = request.get("state").unwrap_or_default().to_string();
    let outcome = cx
        .authorize(
            "authorization request, consent denied",
            client,
            &request,
            Consent::Deny,
        )
        .await?;
    if outcome.param("error").is_none() {
        return Ok(Outcome::skip(format!(
            "consent could not be denied (no consent page with a deny button): the server {}",
            outcome.describe()
        )));
    }
    Ok(match compare("denial response", &state, &outcome) {
        Ok(m) => Outcome::pass(m),
        Err(m) => Outcome::fail(m),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hard_state_has_every_troublesome_character() {
        let s = super::hard_state();
        assert!(s.chars().count() >= 200);
        for c in [' ', '+', '%', '&', '=', '/', '#', '✓'] {
            assert!(s.contains(c), "{c}");
        }
    }
}
