//! The state parameter: returned exactly, and what a server does when a client sends none.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeResult};
use crate::flow::authorize::{AuthOutcome, AuthRequest, Consent};
use crate::target::Client;

/// A state that URL encoding, form decoding and truncation would all damage, made only of
/// the characters RFC 6749 Appendix A.5 allows (VSCHAR, %x20-7E): a server may refuse others.
/// Its `&f=g` becomes a parameter of its own when a server copies it into the Location unencoded.
pub fn hard_state() -> String {
    let mut s = String::from("oauthprobe a b+c%20d%e&f=g/h#i?j;k=l!*()~ ");
    while s.chars().count() < 220 {
        s.push_str(&crate::crypto::random_token(12));
    }
    s
}

/// RFC 6749 Appendix A.5: `state = 1*VSCHAR`, VSCHAR = %x20-7E.
#[cfg(test)]
fn is_vschar(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// The parameters a state copied into the Location without encoding would have added: each
/// `&name=value` piece of the sent state whose name shows up as a parameter of the response.
fn injected(sent: &str, outcome: &AuthOutcome) -> Vec<String> {
    sent.split('&')
        .skip(1)
        .filter_map(|piece| piece.split_once('=').map(|(k, _)| k))
        .filter(|k| !k.is_empty() && outcome.param(k).is_some())
        .map(|k| format!("`{k}`"))
        .collect()
}

fn compare(what: &str, sent: &str, outcome: &AuthOutcome) -> Result<String, String> {
    let injected = injected(sent, outcome);
    if !injected.is_empty() {
        return Err(format!(
            "{what}: the state was copied into the Location without encoding, so its `&` split it and it injected the parameter {} ({})",
            injected.join(", "),
            outcome.describe()
        ));
    }
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

    let provoked = provoke_error(cx, client, Some(&state)).await?;
    let unprovoked = match provoked.error {
        Some((what, outcome)) => {
            match compare(&format!("error response ({what})"), &state, &outcome) {
                Ok(m) => passed.push(m),
                Err(m) => failed.push(m),
            }
            None
        }
        None => Some(provoked.why_none()),
    };
    Ok(match (failed.is_empty(), unprovoked) {
        (false, None) => Outcome::not_met(failed.join("; ")),
        (false, Some(why)) => Outcome::not_met(format!("{}; {why}", failed.join("; "))),
        (true, None) => Outcome::pass(passed.join("; ")),
        // Half of what the check needs was not observed: no pass for it.
        (true, Some(why)) => Outcome::skip(format!(
            "{}, but the error half of this check was not run: {why}",
            passed.join("; ")
        )),
    })
}

/// An error response from the authorization endpoint, or what each attempt to provoke one met.
pub struct Provoked {
    pub error: Option<(&'static str, AuthOutcome)>,
    /// One clause per attempt that gave no error redirect: what the server did instead.
    pub tried: Vec<String>,
}

impl Provoked {
    /// Why no error response could be checked, pointing to the check that reports the cause.
    pub fn why_none(&self) -> String {
        format!(
            "no error response could be provoked ({}); authz-error-redirected reports errors that do not reach the client",
            self.tried.join("; ")
        )
    }
}

/// An error response from the authorization endpoint: an unknown scope, else an unknown
/// response_type, else the user's refusal.
pub async fn provoke_error(
    cx: &Cx,
    client: &Client,
    state: Option<&str>,
) -> Result<Provoked, crate::engine::context::ProbeError> {
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
    let mut tried = Vec::new();
    for (what, request, consent) in attempts {
        let delivery = super::authz::deliver(
            cx,
            &format!("error response: {what}"),
            client,
            &request,
            consent,
        )
        .await?;
        match delivery {
            super::authz::Delivery::Redirected(outcome) => {
                return Ok(Provoked {
                    error: Some((what, outcome)),
                    tried,
                });
            }
            super::authz::Delivery::Code(_) => tried.push(format!("{what}: a code came back")),
            other => tried.push(format!("{what}: the server {}", other.describe())),
        }
    }
    Ok(Provoked { error: None, tried })
}

/// One flaw, one check: when a response of a special kind carries no state, whether an ordinary
/// success response carries none either; then the missing state is state-echoed's finding.
async fn dropped_everywhere(
    cx: &Cx,
    client: &Client,
    outcome: &AuthOutcome,
) -> Result<Option<String>, crate::engine::context::ProbeError> {
    if outcome.param("state").is_some() {
        return Ok(None);
    }
    let control = cx
        .authorize(
            "control: an ordinary request, does its response carry the state?",
            client,
            &cx.request_for(client),
            Consent::Approve,
        )
        .await?;
    Ok((control.code().is_some() && control.param("state").is_none()).then(|| {
        format!(
            "the server returned no state ({}), and an ordinary success response carries none either: state-echoed reports that flaw",
            outcome.describe()
        )
    }))
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
        (Some(f), w) => Outcome::not_met(format!(
            "{f}; OAuth 2.1 requires PKCE for public clients, so nothing protects them against login CSRF{}",
            w.map(|w| format!("; {w}")).unwrap_or_default()
        )),
        (None, Some(w)) => Outcome::not_met_of(
            &["RFC 9700 §2.1.1 RECOMMENDED"],
            format!(
                "{w}; RFC 9700 §2.1.1 recommends PKCE for confidential clients too (OAuth 2.1 requires it){}",
                if notes.is_empty() {
                    String::new()
                } else {
                    format!("; {}", notes.join("; "))
                }
            ),
        ),
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
    if let AuthOutcome::Page { status, .. } = outcome {
        // An error status is a refusal, which the check allows; any other page shows nothing.
        return Ok(if status.is_some_and(|s| s >= 400) {
            Outcome::pass(format!(
                "the request with the long state was refused with an error status, so no state could be cut: the server {}",
                outcome.describe()
            ))
        } else {
            Outcome::error(format!(
                "the request with the long state ended on a page that is neither an authorization response nor an error status, so the scanner could not see what became of the state: the server {}",
                outcome.describe()
            ))
        });
    }
    let what = if outcome.code().is_some() {
        "success response"
    } else {
        "error response"
    };
    if let Some(why) = dropped_everywhere(cx, client, &outcome).await? {
        return Ok(Outcome::skip(why));
    }
    Ok(match compare(what, &state, &outcome) {
        Ok(m) => Outcome::pass(format!("{m} ({} characters)", state.chars().count())),
        Err(m) => Outcome::not_met(m),
    })
}

/// RFC 6749 §4.1.2.1: the state comes back in the error response when the user says no.
pub async fn echoed_on_denial(cx: &Cx) -> ProbeResult {
    use super::authz::Delivery;
    let client = cx.client();
    let (request, delivery) = super::authz::deny(cx, client).await?;
    let state = request.get("state").unwrap_or_default().to_string();
    let outcome = match delivery {
        Delivery::Redirected(outcome) => outcome,
        Delivery::Code(outcome) => {
            return Ok(Outcome::skip(format!(
                "no consent page was shown (with prompt=consent too when the scope has openid), so consent could not be denied: the server {}",
                outcome.describe()
            )));
        }
        Delivery::NoDenyButton(outcome) => {
            return Ok(Outcome::skip(format!(
                "the consent page has no deny button the scanner recognises, so consent could not be denied ({})",
                outcome.describe()
            )));
        }
        d @ Delivery::Stranded { .. } => {
            return Ok(Outcome::skip(format!(
                "the denial was not redirected to the client, so there is no response whose state could be checked: the server {} (authz-error-redirected reports this)",
                d.describe()
            )));
        }
        other => {
            return Ok(Outcome::error(format!(
                "no denial response came back after pressing deny: the server {}",
                other.describe()
            )));
        }
    };
    if let Some(why) = dropped_everywhere(cx, client, &outcome).await? {
        return Ok(Outcome::skip(why));
    }
    Ok(match compare("denial response", &state, &outcome) {
        Ok(m) => Outcome::pass(m),
        Err(m) => Outcome::not_met(m),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hard_state_has_every_troublesome_character() {
        let s = super::hard_state();
        assert!(s.chars().count() >= 200);
        for c in [' ', '+', '%', '&', '=', '/', '#'] {
            assert!(s.contains(c), "{c}");
        }
    }

    #[test]
    fn every_state_the_scanner_sends_is_vschar() {
        assert!(super::is_vschar(&super::hard_state()));
        assert!(super::is_vschar(&super::long_state()));
        assert!(super::is_vschar(&crate::crypto::random_token(16)));
        assert!(!super::is_vschar("caf\u{e9}"));
        assert!(!super::is_vschar("a\tb"));
    }

    #[test]
    fn an_unencoded_state_shows_its_injected_parameter() {
        let sent = super::hard_state();
        let raw = format!("http://c.example/cb?error=x&state={sent}");
        let url = url::Url::parse(&raw).unwrap();
        let outcome = crate::flow::authorize::AuthOutcome::redirect_to(url);
        let err = super::compare("error response", &sent, &outcome).unwrap_err();
        assert!(
            err.contains("without encoding") && err.contains("`f`"),
            "{err}"
        );
        let mut good = url::Url::parse("http://c.example/cb?error=x").unwrap();
        good.query_pairs_mut().append_pair("state", &sent);
        let outcome = crate::flow::authorize::AuthOutcome::redirect_to(good);
        assert!(super::compare("error response", &sent, &outcome).is_ok());
    }
}
