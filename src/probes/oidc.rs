//! OpenID Connect: the ID token of the code flow (signature, issuer, audience, lifetime, nonce)
//! and the userinfo endpoint's subject.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::AuthRequest;
use crate::flow::jwt::{Jws, SignatureError};
use crate::flow::token::TokenResponse;
use crate::http::Request;

/// Clock skew tolerated between the scanner and the server, in seconds.
const LEEWAY_SECS: f64 = 300.0;

/// An ID token from a fresh code flow, with what produced it.
struct IdTokenFlow {
    request: AuthRequest,
    tokens: TokenResponse,
    jws: Jws,
}

/// Runs the code flow with `openid` and decodes the ID token, or says why the check is skipped.
async fn id_token_flow(cx: &Cx) -> Result<Result<IdTokenFlow, Outcome>, ProbeError> {
    id_token_flow_with(cx, |request| request).await
}

/// Like [`id_token_flow`], with the careful client's request adjusted by `adjust`.
async fn id_token_flow_with(
    cx: &Cx,
    adjust: impl FnOnce(AuthRequest) -> AuthRequest,
) -> Result<Result<IdTokenFlow, Outcome>, ProbeError> {
    let client = cx.client();
    if !client.scope.split(' ').any(|s| s == "openid") {
        return Ok(Err(Outcome::skip(
            "the [client]'s scope has no openid, so no ID token is asked for; add openid to its scope to run this check",
        )));
    }
    let request = adjust(cx.request_for(client));
    let (issued, tokens) = cx.tokens_for(client, request).await?;
    let Some(raw) = tokens.field("id_token") else {
        return Ok(Err(Outcome::skip(
            "the token response carries no id_token although the scope includes openid: the server does not act as an OpenID Provider for this client",
        )));
    };
    let jws = Jws::parse(raw)
        .map_err(|why| ProbeError::Unexpected(format!("the id_token cannot be read: {why}")))?;
    Ok(Ok(IdTokenFlow {
        request: issued.request,
        tokens,
        jws,
    }))
}

macro_rules! id_token_or_skip {
    ($cx:expr) => {
        match id_token_flow($cx).await? {
            Ok(flow) => flow,
            Err(skip) => return Ok(skip),
        }
    };
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// OIDC Core §2: "ID Tokens MUST be signed using JWS", and never with `none` here.
pub async fn id_token_signature_valid(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let alg = flow.jws.alg().to_string();
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
        return Ok(Outcome::not_met(format!(
            "the code exchange returned HTTP 200 with an unsigned ID token (alg {})",
            if alg.is_empty() { "missing" } else { &alg }
        )));
    }
    let jwks = match server_jwks(cx).await? {
        Ok(j) => j,
        Err(skip) => return Ok(skip),
    };
    match flow.jws.verify(&jwks) {
        Ok(kid) => Ok(Outcome::pass(format!(
            "the ID token's {alg} signature verifies with key {kid} of the JWKS"
        ))),
        Err(SignatureError::Unsigned) => Ok(Outcome::not_met("the ID token is unsigned")),
        Err(SignatureError::Invalid) => Ok(Outcome::not_met(format!(
            "the ID token's {alg} signature does not verify with the JWKS key its header names"
        ))),
        Err(SignatureError::NoKey(why)) => Err(ProbeError::Unexpected(format!(
            "the ID token's signature could not be checked: {why}"
        ))),
    }
}

/// The server's JWKS, or the skip that says how to name one.
async fn server_jwks(cx: &Cx) -> Result<Result<serde_json::Value, Outcome>, ProbeError> {
    let Some(jwks_url) = cx.server.endpoints.jwks.clone() else {
        return Ok(Err(Outcome::skip(super::no_endpoint(
            cx, "jwks_uri", "jwks",
        ))));
    };
    let resp = cx
        .http
        .send(
            "read the server's JWKS",
            Request::get(jwks_url).back_channel(),
        )
        .await?;
    resp.json()
        .filter(|j| j["keys"].is_array())
        .map(Ok)
        .ok_or_else(|| {
            ProbeError::Unexpected(format!(
                "the jwks_uri answered HTTP {} without a JSON key set",
                resp.status
            ))
        })
}

/// OIDC Core §10.1: with several keys in the JWKS, the ID token's header names its key.
pub async fn id_token_kid_when_several_keys(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let jwks = match server_jwks(cx).await? {
        Ok(j) => j,
        Err(skip) => return Ok(skip),
    };
    // Keys marked for encryption cannot have signed the token.
    let signing = jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter(|k| k["use"].as_str() != Some("enc"))
                .count()
        })
        .unwrap_or(0);
    let kid = flow.jws.header["kid"].as_str();
    match (signing, kid) {
        (n, None) if n > 1 => Ok(Outcome::not_met(format!(
            "the JWKS publishes {n} signing keys, and the ID token (from an HTTP 200 token response) names none with a kid"
        ))),
        (_, Some(kid)) => Ok(Outcome::pass(format!(
            "the ID token names its key: kid {kid}"
        ))),
        (n, None) => Ok(Outcome::pass(format!(
            "the JWKS publishes {n} signing key(s), so the ID token needs no kid"
        ))),
    }
}

/// OIDC Core §3.1.3.7: the issuer identifier MUST exactly match the `iss` claim.
pub async fn id_token_issuer(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let expected = &cx.server.endpoints.issuer;
    match flow.jws.claim_str("iss") {
        Some(iss) if iss == expected => Ok(Outcome::pass(format!(
            "the ID token's iss is exactly the issuer {expected}"
        ))),
        Some(iss) => Ok(match super::metadata_issuer_is_the_cause(cx, iss) {
            Some(why) => Outcome::skip(format!("the ID token's iss: {why}")),
            None => Outcome::not_met(format!(
                "the ID token's iss is {iss}, not the issuer {expected}"
            )),
        }),
        None => Ok(Outcome::not_met("the ID token has no iss claim")),
    }
}

/// OIDC Core §2: `aud` "MUST contain the OAuth 2.0 client_id of the Relying Party".
pub async fn id_token_audience(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let client = cx.client();
    if flow.jws.has_audience(&client.id) {
        return Ok(Outcome::pass(format!(
            "the ID token's aud contains the client_id `{}`",
            client.id
        )));
    }
    Ok(Outcome::not_met(format!(
        "the ID token issued to `{}` has aud {}, without that client_id",
        client.id, flow.jws.claims["aud"]
    )))
}

/// OIDC Core §2: `exp` and `iat` are REQUIRED, and the token is not expired when issued.
pub async fn id_token_lifetime(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let now = now_secs();
    let (Some(exp), Some(iat)) = (flow.jws.claim_num("exp"), flow.jws.claim_num("iat")) else {
        return Ok(Outcome::not_met(format!(
            "the ID token lacks a numeric exp or iat (exp {}, iat {})",
            flow.jws.claims["exp"], flow.jws.claims["iat"]
        )));
    };
    if exp + LEEWAY_SECS <= now {
        // The rule it breaks binds the client that processes the token, not the server.
        return Ok(Outcome::best_practice_not_met(format!(
            "the ID token was expired when issued: exp is {:.0} s in the past (clients must refuse it)",
            now - exp
        )));
    }
    if iat > now + LEEWAY_SECS || exp <= iat {
        return Ok(Outcome::best_practice_not_met(format!(
            "the ID token's times are inconsistent: iat is {:.0} s from now, exp {:.0} s after iat",
            iat - now,
            exp - iat
        )));
    }
    Ok(Outcome::pass(format!(
        "the ID token is valid for {:.0} s from its iat",
        exp - iat
    )))
}

/// OIDC Core §2: the nonce of the request MUST come back in the ID token.
pub async fn nonce_echoed(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let Some(sent) = flow.request.get("nonce") else {
        return Err(ProbeError::Unexpected(
            "the authentication request carried no nonce".into(),
        ));
    };
    match flow.jws.claim_str("nonce") {
        Some(n) if n == sent => Ok(Outcome::pass(
            "the ID token's nonce is exactly the one sent",
        )),
        Some(n) => Ok(Outcome::not_met(format!(
            "the ID token's nonce `{n}` differs from the one sent"
        ))),
        None => Ok(Outcome::not_met(
            "a nonce was sent, and the ID token has no nonce claim",
        )),
    }
}

/// OIDC Core §5.3.2: userinfo always returns `sub`, and it is the ID token's `sub`.
pub async fn userinfo_sub_matches(cx: &Cx) -> ProbeResult {
    let userinfo = match super::tokens::userinfo(cx) {
        Ok(url) => url,
        Err(skip) => return Ok(skip),
    };
    let flow = id_token_or_skip!(cx);
    let Some(at) = flow.tokens.access_token() else {
        return Err(ProbeError::Unexpected("no access_token was issued".into()));
    };
    let resp = cx
        .http
        .send(
            "call userinfo with the access token",
            Request::get(userinfo).bearer(at),
        )
        .await?;
    let body = resp.json().filter(|_| resp.status == 200).ok_or_else(|| {
        ProbeError::Unexpected(format!(
            "userinfo answered HTTP {} without a JSON object (a signed or encrypted userinfo response is not read)",
            resp.status
        ))
    })?;
    let id_sub = flow.jws.claim_str("sub").unwrap_or("");
    if id_sub.is_empty() {
        // One flaw, one check: the ID token without sub is oidc-id-token-subject's finding.
        return Ok(Outcome::skip(format!(
            "the ID token has no sub to compare with userinfo's ({}): oidc-id-token-subject reports that flaw",
            body["sub"]
        )));
    }
    match body["sub"].as_str() {
        Some(sub) if sub == id_sub && !sub.is_empty() => {
            Ok(Outcome::pass("userinfo returned the ID token's sub"))
        }
        Some(sub) => Ok(Outcome::not_met(format!(
            "userinfo answered HTTP 200 for the subject `{sub}`, and the ID token's sub is `{id_sub}`"
        ))),
        None => Ok(Outcome::not_met(
            "userinfo answered HTTP 200 without a sub claim",
        )),
    }
}

/// OIDC Core §2: `sub` is REQUIRED and "MUST NOT exceed 255 ASCII characters in length".
pub async fn id_token_subject(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    match flow.jws.claim_str("sub") {
        Some(sub) if !sub.is_empty() && sub.len() <= 255 && sub.is_ascii() => Ok(Outcome::pass(
            format!("the ID token's sub is {} ASCII characters long", sub.len()),
        )),
        Some(sub) if !sub.is_empty() => Ok(Outcome::not_met(format!(
            "the ID token's sub is {} characters long{}; at most 255 ASCII characters are allowed",
            sub.chars().count(),
            if sub.is_ascii() {
                ""
            } else {
                ", not all ASCII"
            }
        ))),
        _ => Ok(Outcome::not_met(format!(
            "the ID token (from an HTTP 200 token response) has no sub claim: {}",
            flow.jws.claims["sub"]
        ))),
    }
}

/// OIDC Core §12.2: an ID token issued on refresh keeps iss, sub, aud and auth_time.
pub async fn refresh_id_token_consistent(cx: &Cx) -> ProbeResult {
    let flow = id_token_or_skip!(cx);
    let client = cx.client();
    let Some(rt) = flow.tokens.refresh_token() else {
        return Ok(super::no_refresh_token(cx, client));
    };
    let refreshed = cx
        .refresh("refresh with the refresh token", client, rt, None)
        .await?;
    if !refreshed.issued() {
        return Err(ProbeError::Unexpected(format!(
            "the first use of a fresh refresh token failed: {}",
            refreshed.describe()
        )));
    }
    let Some(raw) = refreshed.field("id_token") else {
        return Ok(Outcome::pass(
            "the refresh response carries no ID token, which OpenID Connect Core §12.2 allows",
        ));
    };
    let new = Jws::parse(raw).map_err(|why| {
        ProbeError::Unexpected(format!("the refreshed id_token cannot be read: {why}"))
    })?;
    let mut changed = Vec::new();
    for claim in ["iss", "sub", "aud", "azp"] {
        if new.claims[claim] != flow.jws.claims[claim] {
            changed.push(format!(
                "{claim} {} became {}",
                flow.jws.claims[claim], new.claims[claim]
            ));
        }
    }
    let (before, after) = (&flow.jws.claims["auth_time"], &new.claims["auth_time"]);
    if !before.is_null() && !after.is_null() && before != after {
        changed.push(format!("auth_time {before} became {after}"));
    }
    // The new token's iat is its own issue time, so it cannot precede the original's.
    if let (Some(old_iat), Some(new_iat)) = (flow.jws.claim_num("iat"), new.claim_num("iat")) {
        if new_iat < old_iat {
            changed.push(format!("iat {old_iat} became the earlier {new_iat}"));
        }
    }
    if !changed.is_empty() {
        return Ok(Outcome::not_met(format!(
            "the refresh returned HTTP 200 with an access_token and an ID token whose {}",
            changed.join(", ")
        )));
    }
    Ok(Outcome::pass(
        "the refreshed ID token keeps the original iss, sub, aud, azp and auth_time, with a new iat",
    ))
}

/// OIDC Core §5.3.1: "The UserInfo Endpoint MUST support the use of the HTTP GET and HTTP POST
/// methods".
pub async fn userinfo_post_supported(cx: &Cx) -> ProbeResult {
    let userinfo = match super::tokens::userinfo(cx) {
        Ok(url) => url,
        Err(skip) => return Ok(skip),
    };
    let flow = id_token_or_skip!(cx);
    let Some(at) = flow.tokens.access_token() else {
        return Err(ProbeError::Unexpected("no access_token was issued".into()));
    };
    let get = cx
        .http
        .send(
            "control: call userinfo by GET",
            Request::get(userinfo.clone()).bearer(at),
        )
        .await?;
    if get.status != 200 {
        return Err(ProbeError::Unexpected(format!(
            "userinfo refused the fresh access token by GET (HTTP {}), so the POST cannot be judged",
            get.status
        )));
    }
    let answers_with_claims = |resp: &crate::http::Response| {
        resp.status == 200
            && resp
                .json()
                .is_some_and(|j| j["sub"].as_str().is_some_and(|s| !s.is_empty()))
    };
    let empty: [(&str, &str); 0] = [];
    let header = cx
        .http
        .send(
            "call userinfo by POST, token in the Authorization header, empty form body",
            Request::post_form(userinfo.clone(), empty).bearer(at),
        )
        .await?;
    if answers_with_claims(&header) {
        return Ok(Outcome::pass(
            "userinfo answers GET and POST with the user's claims",
        ));
    }
    // Some servers refuse an empty body; RFC 6750 §2.2's form parameter is the other POST shape.
    let body = cx
        .http
        .send(
            "call userinfo by POST, token as the access_token form parameter",
            Request::post_form(userinfo, [("access_token", at)]),
        )
        .await?;
    if answers_with_claims(&body) {
        return Ok(Outcome::pass(format!(
            "userinfo answers POST with the token in the body (with the token in the header and an empty body it answered HTTP {})",
            header.status
        )));
    }
    Ok(Outcome::not_met(format!(
        "userinfo answered GET with HTTP 200, and POST with the same access token with HTTP {} (token in the header) and HTTP {} (token in the body)",
        header.status, body.status
    )))
}

/// OIDC Core §2: with a `max_age` request, `auth_time` is REQUIRED in the ID token.
pub async fn max_age_auth_time(cx: &Cx) -> ProbeResult {
    // A day: long enough that the pre-flight's sign-in still counts, so no new login is needed.
    const MAX_AGE: &str = "86400";
    let flow = match id_token_flow_with(cx, |r| r.set("max_age", MAX_AGE)).await? {
        Ok(flow) => flow,
        Err(skip) => return Ok(skip),
    };
    let Some(auth_time) = flow.jws.claim_num("auth_time") else {
        return Ok(Outcome::not_met(format!(
            "the authentication request carried max_age={MAX_AGE}, and the ID token (from an HTTP 200 token response) has no numeric auth_time: {}",
            flow.jws.claims["auth_time"]
        )));
    };
    let age = now_secs() - auth_time;
    if age < -LEEWAY_SECS {
        return Ok(Outcome::best_practice_not_met(format!(
            "auth_time is {:.0} s in the future",
            -age
        )));
    }
    Ok(Outcome::pass(format!(
        "with max_age={MAX_AGE} the ID token carries auth_time, {:.0} s ago",
        age.max(0.0)
    )))
}

/// OIDC Core §3.1.2.1: with prompt=none, "The Authorization Server MUST NOT display any
/// authentication or consent user interface pages."
pub async fn prompt_none_shows_no_page(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    if !client.scope.split(' ').any(|s| s == "openid") {
        return Ok(Outcome::skip(
            "the [client]'s scope has no openid, so prompt (an OpenID Connect parameter) does not apply; add openid to its scope to run this check",
        ));
    }
    let stranger = cx.http.with_fresh_jar();
    let request = cx.request_for(client).set("prompt", "none");
    let landing = super::headers::land(
        &stranger,
        "authentication request with prompt=none from a browser without a session",
        request.url(cx.authorization_endpoint()),
        &client.redirect_uri,
    )
    .await?;
    let hints = &cx.target.login.hints;
    match landing {
        super::headers::Landing::Away(location) => {
            let params: std::collections::HashMap<String, String> =
                location.query_pairs().into_owned().collect();
            match (params.get("error"), params.get("code")) {
                (Some(error), _) => Ok(Outcome::pass(format!(
                    "no page was shown: the server redirected back with error={error}"
                ))),
                (None, Some(_)) => Err(ProbeError::Unexpected(
                    "a browser without a session got a code for prompt=none".into(),
                )),
                // Off to another origin with neither: maybe a sign-in page elsewhere.
                (None, None) => Ok(Outcome::error(format!(
                    "the server redirected to {}{} with neither error nor code, so the scanner could not tell whether a page is shown there",
                    location.origin().ascii_serialization(),
                    location.path()
                ))),
            }
        }
        super::headers::Landing::Page(url, resp) => {
            match crate::flow::forms::classify(&resp.text(), hints) {
                crate::flow::forms::PageKind::Login(_) => Ok(Outcome::not_met(format!(
                    "the request carried prompt=none, and the server showed a login form (HTTP {} at {})",
                    resp.status,
                    url.path()
                ))),
                crate::flow::forms::PageKind::Consent(_) => Ok(Outcome::not_met(format!(
                    "the request carried prompt=none, and the server showed a consent form (HTTP {} at {})",
                    resp.status,
                    url.path()
                ))),
                // No sign-in UI, as the MUST NOT asks; but login_required never reaches the client.
                crate::flow::forms::PageKind::Other
                | crate::flow::forms::PageKind::Interstitial(_)
                    if resp.status >= 400 =>
                {
                    // The error redirect is asked for without a keyword.
                    Ok(Outcome::best_practice_not_met(format!(
                        "no login or consent form was shown, but the server answered with an error page (HTTP {} at {}) instead of redirecting login_required to the client, which never learns that the user must sign in",
                        resp.status,
                        url.path()
                    )))
                }
                // A 200 page the scanner does not recognise may be a sign-in page built by script.
                crate::flow::forms::PageKind::Other
                | crate::flow::forms::PageKind::Interstitial(_) => Ok(Outcome::error(format!(
                    "the server showed a page (HTTP {} at {}) that is neither an error nor a form the scanner recognises as login or consent, so it could not tell whether a sign-in page was shown",
                    resp.status,
                    url.path()
                ))),
            }
        }
    }
}
