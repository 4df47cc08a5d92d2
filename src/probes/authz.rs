//! The authorization endpoint's handling of its parameters: response_type, scope, unknown and
//! repeated parameters, and the implicit grant.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::{AuthOutcome, AuthRequest, Consent, UserAgent};
use crate::flow::forms::{self, PageKind};
use crate::http::RecordedResponse;
use crate::http::redact::REDACTED;
use crate::target::{Client, LoginMode};

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
    Ok(Outcome::not_met(format!(
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
        Outcome::not_met(findings.join("; "))
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
                Outcome::not_met(format!(
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
        Outcome::not_met(format!(
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
        Some(granted) if granted.split(' ').any(|s| s == UNKNOWN_SCOPE) => {
            Outcome::best_practice_not_met(format!(
                "the token response grants the unknown scope `{UNKNOWN_SCOPE}` (scope `{granted}`)"
            ))
        }
        Some(granted) => Outcome::pass(format!(
            "the unknown scope was dropped, and the token response says so (scope `{granted}`)"
        )),
        None => Outcome::best_practice_not_met(format!(
            "tokens were issued with no scope in the response, which per RFC 6749 §5.1 means the requested scope, unknown `{UNKNOWN_SCOPE}` included, was granted"
        )),
    })
}

/// RFC 6749 §3.1: "The endpoint URI MUST NOT include a fragment component."
pub async fn endpoint_no_fragment(cx: &Cx) -> ProbeResult {
    let Some(url) = cx.server.metadata_url.clone() else {
        return Ok(Outcome::skip(
            "the server publishes no metadata at the issuer's well-known URLs (the authorization endpoint comes from the target file), so there is no published endpoint to read",
        ));
    };
    // Read the metadata again so that the report holds the document the verdict rests on.
    let resp = cx
        .http
        .send(
            "read the metadata",
            crate::http::Request::get(url).back_channel(),
        )
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
        Ok(u) if u.fragment().is_some() => Outcome::not_met(format!(
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
        Outcome::not_met(format!(
            "the sign-in POST that carried the password was answered with a 307 redirect, which makes the browser post the password to the next URL ({})",
            seen.join("; ")
        ))
    } else if let Some((_, Some(s))) = posts
        .iter()
        .find(|(_, s)| matches!(s, Some(301 | 302 | 308)))
    {
        Outcome::not_met_of(
            &[
                "RFC 9700 §4.12 SHOULD",
                "FAPI 2.0 Security Profile §5.3.2.2 SHOULD",
            ],
            format!(
                "the sign-in POST was answered with HTTP {s}, not 303 (RFC 9700 §4.12 SHOULD) ({})",
                seen.join("; ")
            ),
        )
    } else {
        Outcome::pass(format!(
            "no sign-in POST was answered with a 307 ({})",
            seen.join("; ")
        ))
    })
}

/// How the server answered an authorization request that should end in an error response.
pub enum Delivery {
    /// Sent the browser to the client with `error` (a redirect the browser follows).
    Redirected(AuthOutcome),
    /// Sent the browser to the client with a code.
    Code(AuthOutcome),
    /// Sent the browser away with neither a code nor an error.
    Neither(AuthOutcome),
    /// Showed a consent page with no deny button the scanner recognises (asked to deny).
    NoDenyButton(AuthOutcome),
    /// Kept the browser: the error, if any, never reaches the client.
    Stranded { how: String },
}

impl Delivery {
    /// What the server did, in a clause that follows "the server".
    pub fn describe(&self) -> String {
        match self {
            Delivery::Redirected(o) | Delivery::Code(o) | Delivery::Neither(o) => o.describe(),
            Delivery::NoDenyButton(o) => format!(
                "showed a consent page with no deny button the scanner recognises ({})",
                o.describe()
            ),
            Delivery::Stranded { how, .. } => how.clone(),
        }
    }
}

/// Plays `request` through and tells how it ended; a page is read from the last response the
/// scanner received, so that a 400 with a Location header or a JSON error body is named as such.
pub async fn deliver(
    cx: &Cx,
    step: &str,
    client: &Client,
    request: &AuthRequest,
    consent: Consent,
) -> Result<Delivery, ProbeError> {
    let before = cx.http.transcript().len();
    let outcome = cx.authorize(step, client, request, consent).await?;
    if outcome.code().is_some() {
        return Ok(Delivery::Code(outcome));
    }
    if let AuthOutcome::Redirect { .. } = &outcome {
        return Ok(if outcome.param("error").is_some() {
            Delivery::Redirected(outcome)
        } else {
            Delivery::Neither(outcome)
        });
    }
    let transcript = cx.http.transcript();
    let last = transcript
        .get(before..)
        .unwrap_or_default()
        .iter()
        .rev()
        .find_map(|e| {
            e.response
                .as_ref()
                .map(|r| (e.request.url.clone(), r.clone()))
        });
    let Some((url, resp)) = last else {
        return Ok(Delivery::Stranded {
            how: outcome.describe(),
        });
    };
    Ok(strand(&url, &resp, consent, &cx.target.login.hints)
        .unwrap_or(Delivery::NoDenyButton(outcome)))
}

/// A careful request whose consent the user denies, with how it ended. A server that remembered
/// consent and issued a code is asked again with prompt=consent (OpenID Connect Core §3.1.2.1)
/// when the scope makes the request an OpenID Connect one.
pub async fn deny(cx: &Cx, client: &Client) -> Result<(AuthRequest, Delivery), ProbeError> {
    let request = cx.request_for(client);
    let delivery = deliver(
        cx,
        "authorization request, consent denied",
        client,
        &request,
        Consent::Deny,
    )
    .await?;
    if !matches!(delivery, Delivery::Code(_)) || !client.scope.split(' ').any(|s| s == "openid") {
        return Ok((request, delivery));
    }
    let again = cx.request_for(client).set("prompt", "consent");
    let delivery = deliver(
        cx,
        "no consent page was shown: again with prompt=consent, consent denied",
        client,
        &again,
        Consent::Deny,
    )
    .await?;
    Ok((again, delivery))
}

/// Names what a final non-redirect response did with the error; None for a consent page that
/// offers no way to deny.
pub(crate) fn strand(
    url: &str,
    resp: &RecordedResponse,
    consent: Consent,
    hints: &crate::target::LoginHints,
) -> Option<Delivery> {
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let at = url::Url::parse(url)
        .map(|u| format!("{}{}", u.origin().ascii_serialization(), u.path()))
        .unwrap_or_else(|_| url.to_string());
    let redirect = (300..400).contains(&resp.status) && resp.status != 304;
    if let Some(location) = header("location").filter(|_| !redirect) {
        return Some(Delivery::Stranded {
            how: format!(
                "answered HTTP {} at {at} with a Location header ({location}), which browsers follow only on a 3xx redirect",
                resp.status
            ),
        });
    }
    let json = serde_json::from_str::<serde_json::Value>(&resp.body)
        .ok()
        .filter(|v| v.is_object());
    let json_type = header("content-type").is_some_and(|t| t.contains("json"));
    if json.is_some() || json_type {
        let error = json
            .as_ref()
            .and_then(|v| v["error"].as_str().map(|e| format!(", error={e}")))
            .unwrap_or_default();
        return Some(Delivery::Stranded {
            how: format!(
                "answered HTTP {} at {at} with a JSON body{error} for the browser, not a redirect to the client",
                resp.status
            ),
        });
    }
    let page = forms::read_page(&resp.body, hints);
    if consent == Consent::Deny {
        if let PageKind::Consent(_) = page.kind {
            return None;
        }
    }
    let title = page.title.map(|t| format!(", \"{t}\"")).unwrap_or_default();
    Some(Delivery::Stranded {
        how: format!(
            "showed its own page (HTTP {} at {at}{title}) and did not redirect to the client",
            resp.status
        ),
    })
}

/// RFC 6749 §3.1.1 and §4.1.2.1: an error for a valid client and redirect_uri, and the user's
/// denial, go to the client by redirect; a page, a JSON body or a Location on a 400 never does.
pub async fn error_redirected(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let unknown = cx
        .request_for(client)
        .set("response_type", "oauthprobe_unknown");
    let response_type = deliver(
        cx,
        "authorization request with response_type=oauthprobe_unknown",
        client,
        &unknown,
        Consent::Approve,
    )
    .await?;
    let (_, denial) = deny(cx, client).await?;
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut shown = Vec::new();
    let mut not_shown = Vec::new();
    match &response_type {
        Delivery::Redirected(o) => shown.push(format!(
            "an unknown response_type was redirected to the client with error={}",
            o.param("error").unwrap_or_default()
        )),
        Delivery::Stranded { how, .. } => fails.push(format!(
            "for an unknown response_type (a valid client and redirect_uri) the server {how}: the error response never reaches the client"
        )),
        Delivery::Code(_) => not_shown.push(
            "an unknown response_type got a code, not an error (see authz-response-type-checked)"
                .to_string(),
        ),
        other => not_shown.push(format!(
            "for an unknown response_type the server {}",
            other.describe()
        )),
    }
    match &denial {
        Delivery::Redirected(o) => shown.push(format!(
            "the denial was redirected to the client with error={}",
            o.param("error").unwrap_or_default()
        )),
        Delivery::Stranded { how, .. } => warns.push(format!(
            "when the user denied consent the server {how}: the client never learns of the denial"
        )),
        Delivery::Code(_) => not_shown.push(
            "no consent page was shown (a code came back without asking, with prompt=consent too when the scope has openid), so no denial could be made"
                .to_string(),
        ),
        other => not_shown.push(format!(
            "the denial could not be made: the server {}",
            other.describe()
        )),
    }
    let also = |list: &[String]| {
        if list.is_empty() {
            String::new()
        } else {
            format!("; {}", list.join("; "))
        }
    };
    Ok(if !fails.is_empty() {
        fails.extend(warns);
        Outcome::not_met(format!("{}{}", fails.join("; "), also(&not_shown)))
    } else if !warns.is_empty() {
        // The denial's redirect is described without a keyword.
        Outcome::best_practice_not_met(format!(
            "{}{}{}",
            warns.join("; "),
            also(&shown),
            also(&not_shown)
        ))
    } else if shown.is_empty() {
        Outcome::skip(format!(
            "no error response could be provoked: {}",
            not_shown.join("; ")
        ))
    } else {
        Outcome::pass(format!("{}{}", shown.join("; "), also(&not_shown)))
    })
}
