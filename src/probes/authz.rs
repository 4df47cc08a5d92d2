//! The authorization endpoint's handling of its parameters: response_type, scope, unknown and
//! repeated parameters, and the implicit grant.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::{Consent, UserAgent};
use crate::http::redact::REDACTED;
use crate::target::LoginMode;

/// RFC 6749 §3.1: "The authorization server MUST ignore unrecognized request parameters."
pub async fn unknown_param_ignored(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let request = cx
        .request_for(client)
        .set("oauthprobe_extension", "oauthprobe");
    let outcome = cx
        .authorize(
            "authorization request with an unknown parameter",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    if outcome.code().is_some() {
        return Ok(Outcome::pass(
            "a request with the unknown parameter oauthprobe_extension got a code",
        ));
    }
    let control = cx
        .authorize(
            "control: the same request without it",
            client,
            &cx.request_for(client),
            Consent::Approve,
        )
        .await?;
    if control.code().is_none() {
        return Err(ProbeError::Unexpected(format!(
            "neither request got a code: with the unknown parameter the server {}; without it, it {}",
            outcome.describe(),
            control.describe()
        )));
    }
    Ok(Outcome::fail(format!(
        "the unknown parameter oauthprobe_extension made the request fail (the server {}), while the same request without it got a code",
        outcome.describe()
    )))
}

/// RFC 6749 §3.1.1: a missing or unknown response_type is an error, never a code.
pub async fn response_type_checked(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    for (what, request) in [
        (
            "response_type=oauthprobe_unknown",
            cx.request_for(client)
                .set("response_type", "oauthprobe_unknown"),
        ),
        (
            "no response_type",
            cx.request_for(client).remove("response_type"),
        ),
    ] {
        let outcome = cx
            .authorize(
                &format!("authorization request with {what}"),
                client,
                &request,
                Consent::Approve,
            )
            .await?;
        if outcome.code().is_some() {
            findings.push(format!("a request with {what} got a code"));
        } else {
            notes.push(format!("{what}: the server {}", outcome.describe()));
        }
    }
    Ok(if findings.is_empty() {
        Outcome::pass(notes.join("; "))
    } else {
        Outcome::fail(findings.join("; "))
    })
}

/// RFC 9700 §2.1.2: access tokens should not come back in the authorization response.
pub async fn implicit_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let request = cx.request_for(client).set("response_type", "token");
    let outcome = cx
        .authorize(
            "authorization request with response_type=token",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    Ok(
        match outcome.param("access_token").filter(|t| !t.is_empty()) {
            Some(token) => {
                cx.http.redactor().add(token);
                Outcome::warn(format!(
                    "response_type=token returned an access token in the authorization response ({}): the implicit grant is offered",
                    outcome.describe()
                ))
            }
            None => Outcome::pass(format!(
                "response_type=token returned no access token: the server {}",
                outcome.describe()
            )),
        },
    )
}

/// RFC 6749 §3.1: no parameter twice; a server that accepts a repeated state has to guess.
pub async fn duplicate_param_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let mut request = cx.request_for(client);
    let first = request.get("state").unwrap_or_default().to_string();
    request
        .params
        .push(("state".into(), format!("{first}-oauthprobe-second")));
    let outcome = cx
        .authorize(
            "authorization request with state twice",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    Ok(if outcome.code().is_some() {
        let which = match outcome.param("state") {
            Some(s) if s == first => "the first state came back".to_string(),
            Some(s) if s.ends_with("-oauthprobe-second") => {
                "the second state came back".to_string()
            }
            Some(_) => "another state came back".to_string(),
            None => "no state came back".to_string(),
        };
        Outcome::warn(format!(
            "a request with state twice got a code ({which}) instead of invalid_request"
        ))
    } else {
        Outcome::pass(format!(
            "a request with state twice was refused: the server {}",
            outcome.describe()
        ))
    })
}

const UNKNOWN_SCOPE: &str = "oauthprobe-unknown-scope";

/// RFC 6749 §3.3: an unknown scope is refused, or dropped and the granted scope returned.
pub async fn unknown_scope_not_granted(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let scope = format!("{} {UNKNOWN_SCOPE}", client.scope);
    let request = cx.request_for(client).set("scope", &scope);
    let outcome = cx
        .authorize(
            "authorization request with an unknown scope",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    let Some(code) = outcome.code().map(str::to_string) else {
        return Ok(Outcome::pass(format!(
            "the unknown scope was refused: the server {}",
            outcome.describe()
        )));
    };
    let resp = cx
        .redeem(
            "redeem the code",
            client,
            &code,
            request.redirect_uri(),
            request.verifier.as_deref(),
        )
        .await?;
    if !resp.issued() {
        return Ok(Outcome::pass(format!(
            "a code was issued but not redeemed ({})",
            resp.describe()
        )));
    }
    Ok(match resp.field("scope") {
        Some(granted) if granted.split(' ').any(|s| s == UNKNOWN_SCOPE) => Outcome::warn(format!(
            "the token response grants the unknown scope `{UNKNOWN_SCOPE}` (scope `{granted}`)"
        )),
        Some(granted) => Outcome::pass(format!(
            "the unknown scope was dropped, and the token response says so (scope `{granted}`)"
        )),
        None => Outcome::warn(format!(
            "tokens were issued with no scope in the response, which per RFC 6749 §5.1 means the requested scope, unknown `{UNKNOWN_SCOPE}` included, was granted"
        )),
    })
}

/// RFC 6749 §3.1: "The endpoint URI MUST NOT include a fragment component."
pub async fn endpoint_no_fragment(cx: &Cx) -> ProbeResult {
    let Some(url) = cx.server.metadata_url.clone() else {
        return Ok(Outcome::pass(
            "the authorization endpoint comes from the target file, not from metadata",
        ));
    };
    // Read the metadata again so that the report holds the document the verdict rests on.
    let resp = cx
        .http
        .send("read the metadata", crate::http::Request::get(url))
        .await?;
    let published = resp
        .json()
        .and_then(|m| m["authorization_endpoint"].as_str().map(str::to_string));
    let Some(endpoint) = published else {
        return Err(ProbeError::Unexpected(
            "the metadata, read again, has no authorization_endpoint".to_string(),
        ));
    };
    Ok(match url::Url::parse(&endpoint) {
        Ok(u) if u.fragment().is_some() => Outcome::fail(format!(
            "the metadata's authorization_endpoint `{endpoint}` has a fragment"
        )),
        Ok(_) => Outcome::pass(format!(
            "the metadata's authorization_endpoint `{endpoint}` has no fragment"
        )),
        Err(e) => Err(ProbeError::Unexpected(format!(
            "the metadata's authorization_endpoint `{endpoint}` is not a URL: {e}"
        )))?,
    })
}

/// RFC 9700 §4.12: the answer to a POST that carried the password is never a 307 (303 SHOULD).
pub async fn login_not_307(cx: &Cx) -> ProbeResult {
    if *cx.navigator.mode() != LoginMode::Form {
        return Ok(Outcome::skip(format!(
            "the scanner sees the sign-in POST only when it signs in itself; the target file's login mode is `{}` (set [login] mode = \"form\" to run this check)",
            cx.navigator.mode().name()
        )));
    }
    let client = cx.client();
    // A browser that has not signed in yet, so that the server shows its sign-in form.
    let fresh = cx.http.with_fresh_jar();
    let agent = UserAgent {
        http: &fresh,
        login: &cx.target.login,
        trace: None,
    };
    let before = cx.http.transcript().len();
    let request = cx.request_for(client);
    let outcome = agent
        .authorize(
            "sign in from a browser without a session",
            &cx.server.endpoints.authorization,
            &request,
            &client.redirect_url,
            Consent::Approve,
        )
        .await?;
    if let Some(code) = outcome.code() {
        cx.http.redactor().add(code);
    }
    // The password is recorded as «redacted»: the POSTs that carry it are the sign-in posts.
    let posts: Vec<(String, Option<u16>)> = cx.http.transcript()[before..]
        .iter()
        .filter(|e| e.request.method == "POST")
        .filter(|e| {
            e.request
                .body
                .as_deref()
                .is_some_and(|b| b.contains(REDACTED))
        })
        .map(|e| (e.request.url.clone(), e.response.as_ref().map(|r| r.status)))
        .collect();
    if posts.is_empty() {
        return Err(ProbeError::Unexpected(format!(
            "no form carrying the password was posted: the server {}",
            outcome.describe()
        )));
    }
    let seen: Vec<String> = posts
        .iter()
        .map(|(url, status)| match status {
            Some(s) => format!("HTTP {s} to the POST to {url}"),
            None => format!("no answer to the POST to {url}"),
        })
        .collect();
    Ok(if posts.iter().any(|(_, s)| *s == Some(307)) {
        Outcome::fail(format!(
            "the sign-in POST that carried the password was answered with a 307 redirect, which makes the browser post the password to the next URL ({})",
            seen.join("; ")
        ))
    } else if let Some((_, Some(s))) = posts
        .iter()
        .find(|(_, s)| matches!(s, Some(301 | 302 | 308)))
    {
        Outcome::warn(format!(
            "the sign-in POST was answered with HTTP {s}, not 303 (RFC 9700 §4.12 SHOULD) ({})",
            seen.join("; ")
        ))
    } else {
        Outcome::pass(format!(
            "no sign-in POST was answered with a 307 ({})",
            seen.join("; ")
        ))
    })
}
