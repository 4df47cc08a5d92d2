//! The token endpoint's request handling.

use crate::crypto::{pkce_pair, random_token};
use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::token;
use crate::http::Request;

/// RFC 6749 §3.2: "The client MUST use the HTTP POST method when making access token requests."
pub async fn rejects_get(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let mut form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), issued.code.clone()),
    ];
    if let Some(r) = issued.request.redirect_uri() {
        form.push(("redirect_uri".into(), r.into()));
    }
    if let Some(v) = &issued.request.verifier {
        form.push(("code_verifier".into(), v.clone()));
    }
    let get = token::as_get(cx.token_request(client, form));
    let resp = cx
        .send_token("token request as GET, parameters in the query", get)
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "a GET token request with its parameters in the query returned HTTP 200 and an access_token: the server tolerates the client's breach of RFC 6749 §3.2 (POST only)",
        ));
    }
    let control = cx
        .redeem_properly("control: the same code by POST", client, &issued)
        .await?;
    Ok(Outcome::pass(format!(
        "GET refused ({}); {}",
        resp.describe(),
        if control.issued() {
            "the same code then redeemed by POST"
        } else {
            "the code was not redeemable by POST afterwards either"
        }
    )))
}

/// RFC 6749 §5.1: a response carrying tokens MUST say `Cache-Control: no-store`.
pub async fn no_store(cx: &Cx) -> ProbeResult {
    let resp = cx.fresh_tokens(cx.client()).await?;
    let cache_control = resp.header("cache-control").unwrap_or("absent");
    if !resp.is_no_store() {
        return Ok(Outcome::not_met(format!(
            "the code exchange returned HTTP 200 with an access_token, and its Cache-Control is {cache_control} (no no-store)"
        )));
    }
    let pragma = resp.header("pragma").map(|p| p.to_ascii_lowercase());
    if !pragma.as_deref().is_some_and(|p| p.contains("no-cache")) {
        // HTTP/1.1 deprecated Pragma (RFC 9111 §5.4); OAuth 2.1 drops it.
        return Ok(Outcome::best_practice_not_met(format!(
            "Cache-Control: {cache_control}, but no Pragma: no-cache (RFC 6749 §5.1 asks for both; HTTP/1.0 caches only read Pragma)"
        )));
    }
    Ok(Outcome::pass(format!(
        "the token response carries Cache-Control: {cache_control} and Pragma: no-cache"
    )))
}

/// RFC 6749 §5.2: an error response carries a JSON object whose `error` member is REQUIRED.
pub async fn error_response(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let forged = random_token(32);
    let (verifier, _) = pkce_pair();
    cx.http.redactor().add(&verifier);
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), forged),
        ("redirect_uri".to_string(), client.redirect_uri.clone()),
        ("code_verifier".to_string(), verifier),
    ];
    let resp = cx
        .send_token(
            "redeem a code the server never issued",
            cx.token_request(client, form),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "a code the server never issued was redeemed: HTTP 200 with an access_token",
        ));
    }
    let is_json_object = resp.json.as_ref().is_some_and(|j| j.is_object());
    let Some(error) = resp.error() else {
        return Ok(Outcome::not_met(format!(
            "the answer to a code it never issued (HTTP {}, Content-Type {}) issued no token but has {}; RFC 6749 §5.2 requires a JSON object with an error member",
            resp.status,
            resp.header("content-type").unwrap_or("absent"),
            if is_json_object {
                "no error member"
            } else {
                "no JSON object"
            }
        )));
    };
    if resp.status != 400 || error != "invalid_grant" {
        return Ok(Outcome::best_practice_not_met(format!(
            "refused with HTTP {} {error}; RFC 6749 §5.2 describes HTTP 400 invalid_grant for an invalid code",
            resp.status
        )));
    }
    Ok(Outcome::pass(
        "refused with HTTP 400 and a JSON error object: invalid_grant",
    ))
}

/// RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
pub async fn rejects_duplicate_params(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let mut form = issued.redemption_form();
    form.push(("code".into(), issued.code.clone()));
    let resp = cx
        .send_token(
            "redeem the code with the code parameter sent twice",
            cx.token_request(client, form),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "a token request with the code parameter sent twice returned HTTP 200 and an access_token: the server tolerates the client's breach of RFC 6749 §3.2 (no parameter twice)",
        ));
    }
    Ok(Outcome::pass(format!(
        "a token request with a repeated parameter was refused ({})",
        resp.describe()
    )))
}

/// RFC 6749 §3.2: "The authorization server MUST ignore unrecognized request parameters."
pub async fn ignores_unknown_params(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let mut form = issued.redemption_form();
    form.push(("oauthprobe_unknown".into(), "1".into()));
    let resp = cx
        .send_token(
            "redeem the code with an extra, unknown parameter",
            cx.token_request(client, form),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::pass(
            "the request with an unknown parameter redeemed the code: the parameter was ignored",
        ));
    }
    let control = cx
        .redeem_properly(
            "control: the same code without the unknown parameter",
            client,
            &issued,
        )
        .await?;
    if control.issued() {
        return Ok(Outcome::not_met(format!(
            "the request with an unknown parameter was refused ({}), and the same code then redeemed without it (HTTP 200 with an access_token)",
            resp.describe()
        )));
    }
    Err(ProbeError::Unexpected(format!(
        "the code was refused both with the unknown parameter ({}) and without it ({})",
        resp.describe(),
        control.describe()
    )))
}

/// RFC 9700 §2.4: "The resource owner password credentials grant MUST NOT be used."
pub async fn no_password_grant(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let login = &cx.target.login;
    let form = vec![
        ("grant_type".to_string(), "password".to_string()),
        ("username".to_string(), login.username.clone()),
        ("password".to_string(), login.password.expose().to_string()),
        ("scope".to_string(), client.scope.clone()),
    ];
    let resp = cx
        .send_token(
            "ask for tokens with the test user's password (grant_type=password)",
            cx.token_request(client, form),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "grant_type=password with the test user's credentials returned HTTP 200 and an access_token",
        ));
    }
    Ok(Outcome::pass(format!(
        "the password grant was refused ({})",
        resp.describe()
    )))
}

/// What the plain-http twin of the token endpoint did with a token request.
#[derive(Debug, PartialEq, Eq)]
pub enum PlaintextAnswer {
    /// Tokens, or an error only a server that evaluated the grant or the client gives.
    Processed(String),
    /// An OAuth error that may just as well be a refusal of plain http (invalid_request, ...).
    Ambiguous(String),
    /// A redirect, an unrelated page, or nothing at all.
    NotProcessed(String),
}

/// Error codes that come from evaluating the client or the grant, not from refusing the channel.
const PROCESSING_ERRORS: &[&str] = &[
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

pub fn judge_plaintext(status: u16, json: Option<&serde_json::Value>) -> PlaintextAnswer {
    let field = |k: &str| json.and_then(|j| j[k].as_str()).filter(|v| !v.is_empty());
    if field("access_token").is_some() {
        return PlaintextAnswer::Processed(format!("HTTP {status} with an access_token"));
    }
    match field("error") {
        Some(e) if PROCESSING_ERRORS.contains(&e) => {
            PlaintextAnswer::Processed(format!("HTTP {status} {e}"))
        }
        Some(e) => PlaintextAnswer::Ambiguous(format!("HTTP {status} {e}")),
        None if (300..400).contains(&status) => {
            PlaintextAnswer::NotProcessed(format!("redirected (HTTP {status})"))
        }
        None => PlaintextAnswer::NotProcessed(format!("HTTP {status} without an OAuth answer")),
    }
}

/// RFC 6749 §3.2: the server "MUST require the use of TLS" at the token endpoint.
pub async fn tls_only(cx: &Cx) -> ProbeResult {
    let token_url = cx.server.endpoints.token.clone();
    if token_url.scheme() != "https" {
        return Ok(Outcome::skip(format!(
            "the token endpoint is {}: it is not served over TLS at all, so there is no TLS to require (metadata-endpoints-https judges that); point the target file's issuer at an https deployment to run this check",
            token_url.origin().ascii_serialization()
        )));
    }
    // No client credentials and a code that never existed: nothing of value crosses plain http.
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), random_token(32)),
        ("redirect_uri".to_string(), cx.client().redirect_uri.clone()),
        ("client_id".to_string(), cx.client().id.clone()),
    ];
    let over_tls = cx
        .http
        .send(
            "token request over TLS (no credentials, a code never issued)",
            Request::post_form(token_url.clone(), form.clone()),
        )
        .await?;
    let hsts = over_tls
        .header("strict-transport-security")
        .map(str::to_string);
    let mut plain_url = token_url.clone();
    if plain_url.set_scheme("http").is_err() {
        return Err(ProbeError::Unexpected(
            "the token endpoint's plain-http address could not be derived".into(),
        ));
    }
    let plain = cx
        .http
        .send(
            "the same request over plain http",
            Request::post_form(plain_url.clone(), form).plaintext_probe(),
        )
        .await;
    let verdict = match plain {
        Ok(resp) => judge_plaintext(resp.status, resp.json().as_ref()),
        Err(e) => PlaintextAnswer::NotProcessed(format!("no answer ({e})")),
    };
    match verdict {
        PlaintextAnswer::Processed(what) => Ok(Outcome::not_met(format!(
            "the token endpoint processed a token request over plain http at {}: {what}",
            plain_url.origin().ascii_serialization()
        ))),
        PlaintextAnswer::Ambiguous(what) => Ok(Outcome::best_practice_not_met(format!(
            "the token endpoint answers over plain http at {} ({what}): it may be refusing the channel or the request; a server that requires TLS is best not reachable over http at all",
            plain_url.origin().ascii_serialization()
        ))),
        PlaintextAnswer::NotProcessed(what) => match hsts {
            Some(h) => Ok(Outcome::pass(format!(
                "plain http: {what}; over TLS the server sends Strict-Transport-Security: {h}"
            ))),
            None => Ok(Outcome::best_practice_not_met(format!(
                "plain http: {what}; but the token endpoint sends no Strict-Transport-Security header over TLS"
            ))),
        },
    }
}

/// RFC 6749 §5.1: a successful token response carries `token_type` (REQUIRED).
pub async fn response_format(cx: &Cx) -> ProbeResult {
    let resp = cx.fresh_tokens(cx.client()).await?;
    let Some(token_type) = resp.field("token_type") else {
        return Ok(Outcome::not_met(
            "the code exchange returned HTTP 200 and an access_token, but no token_type",
        ));
    };
    let content_type = resp.header("content-type").unwrap_or("absent").to_string();
    let mut warnings = Vec::new();
    if !content_type
        .split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    {
        warnings.push(format!(
            "the response's Content-Type is {content_type}, not application/json"
        ));
    }
    let expires_in = resp.json.as_ref().map(|j| &j["expires_in"]);
    if !expires_in.is_some_and(|e| e.is_u64()) {
        warnings.push("the response has no numeric expires_in (RECOMMENDED)".to_string());
    }
    if !warnings.is_empty() {
        return Ok(Outcome::best_practice_not_met(format!(
            "token_type {token_type}; {}",
            warnings.join("; ")
        )));
    }
    Ok(Outcome::pass(format!(
        "application/json with token_type {token_type} and expires_in {}",
        expires_in.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// RFC 6749 §4.1.3: the token request is sent "using the application/x-www-form-urlencoded
/// format"; a server that also takes JSON accepts requests no OAuth client sends.
pub async fn rejects_json_body(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let mut form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), issued.code.clone()),
    ];
    if let Some(r) = issued.request.redirect_uri() {
        form.push(("redirect_uri".into(), r.into()));
    }
    if let Some(v) = issued.request.verifier.as_deref() {
        form.push(("code_verifier".into(), v.into()));
    }
    let req = token::as_json(cx.token_request(client, form));
    let resp = cx
        .send_token(
            "redeem a fresh code with the token request as a JSON body",
            req,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "the token endpoint answered HTTP 200 with an access_token to a token request sent as application/json (RFC 6749 §4.1.3 defines the form encoding)",
        ));
    }
    Ok(Outcome::pass(format!(
        "the token endpoint refused a JSON body ({})",
        resp.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_oauth_answer_over_plain_http_is_processing() {
        let err = json!({"error": "invalid_grant"});
        assert_eq!(
            judge_plaintext(400, Some(&err)),
            PlaintextAnswer::Processed("HTTP 400 invalid_grant".into())
        );
        let refusal = json!({"error": "invalid_request", "error_description": "TLS required"});
        assert!(matches!(
            judge_plaintext(400, Some(&refusal)),
            PlaintextAnswer::Ambiguous(_)
        ));
        let tokens = json!({"access_token": "x"});
        assert!(matches!(
            judge_plaintext(200, Some(&tokens)),
            PlaintextAnswer::Processed(_)
        ));
        assert!(matches!(
            judge_plaintext(301, None),
            PlaintextAnswer::NotProcessed(_)
        ));
        let page = json!({"message": "use https"});
        assert!(matches!(
            judge_plaintext(400, Some(&page)),
            PlaintextAnswer::NotProcessed(_)
        ));
    }
}
