//! The authorization server's metadata (RFC 8414, OpenID Connect Discovery) and its JWKS.

use std::net::IpAddr;

use serde_json::Value;
use url::{Host, Url};

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::http::Request;

/// The metadata document, fetched again so that the check carries its own evidence.
async fn metadata(cx: &Cx) -> Result<Result<(Url, Value), Outcome>, ProbeError> {
    let Some(url) = cx.server.metadata_url.clone() else {
        return Ok(Err(Outcome::skip(
            "the server publishes no metadata at the issuer's well-known URLs (the endpoints come from the target file)",
        )));
    };
    let resp = cx
        .http
        .send(
            "read the server's metadata",
            Request::get(url.clone()).back_channel(),
        )
        .await?;
    match resp.json().filter(|j| resp.status == 200 && j.is_object()) {
        Some(doc) => Ok(Ok((url, doc))),
        None => Err(ProbeError::Unexpected(format!(
            "{url} answered HTTP {} without a JSON object this time",
            resp.status
        ))),
    }
}

macro_rules! metadata_or_skip {
    ($cx:expr) => {
        match metadata($cx).await? {
            Ok(found) => found,
            Err(skip) => return Ok(skip),
        }
    };
}

/// RFC 8414 §3.3: the `issuer` is identical to the issuer the well-known URL was built from.
pub async fn issuer_matches(cx: &Cx) -> ProbeResult {
    let (url, doc) = metadata_or_skip!(cx);
    Ok(issuer_verdict(cx, &url, &doc))
}

/// Compares a metadata document's `issuer` with the target file's issuer.
fn issuer_verdict(cx: &Cx, url: &Url, doc: &Value) -> Outcome {
    let configured = cx.target.issuer.as_str();
    // Url::parse writes a bare origin with a trailing slash; the file may have had none.
    let accepted: Vec<&str> = if cx.target.issuer.path() == "/" {
        vec![configured, configured.trim_end_matches('/')]
    } else {
        vec![configured]
    };
    match doc["issuer"].as_str() {
        Some(issuer) if accepted.contains(&issuer) => Outcome::pass(format!(
            "the metadata at {url} names the issuer {issuer}, the one it was fetched for"
        )),
        Some(issuer) => Outcome::not_met(format!(
            "the metadata at {url} (HTTP 200) names the issuer {issuer}, not {}",
            accepted.last().copied().unwrap_or(configured)
        )),
        None => Outcome::not_met(format!("the metadata at {url} (HTTP 200) has no issuer")),
    }
}

/// OpenID Connect Discovery §4.3: the OpenID Provider metadata names the issuer it was
/// fetched for, whichever document the scanner used for discovery.
pub async fn oidc_issuer_matches(cx: &Cx) -> ProbeResult {
    let (url, doc) = match oidc_metadata(cx).await? {
        Ok(found) => found,
        Err(skip) => return Ok(skip),
    };
    Ok(issuer_verdict(cx, &url, &doc))
}

/// `/.well-known/openid-configuration`, or the skip that says the server publishes none.
async fn oidc_metadata(cx: &Cx) -> Result<Result<(Url, Value), Outcome>, ProbeError> {
    let Some(url) = crate::flow::discovery::well_known_urls(&cx.target.issuer)
        .into_iter()
        .find(|u| u.path().ends_with("/openid-configuration"))
    else {
        return Err(ProbeError::Unexpected(
            "no OpenID Connect Discovery URL could be derived from the issuer".into(),
        ));
    };
    let resp = cx
        .http
        .send(
            "read the OpenID Provider configuration",
            Request::get(url.clone()).back_channel(),
        )
        .await?;
    Ok(
        match resp.json().filter(|j| resp.status == 200 && j.is_object()) {
            Some(doc) => Ok((url, doc)),
            None => Err(Outcome::skip(format!(
                "{url} answers HTTP {} without a JSON object: the server publishes no OpenID Provider metadata",
                resp.status
            ))),
        },
    )
}

/// RFC 8414 §2: issuer and response_types_supported are REQUIRED; so are the authorization
/// and token endpoints for a server that offers the authorization code grant.
pub async fn required_fields(cx: &Cx) -> ProbeResult {
    let (url, doc) = metadata_or_skip!(cx);
    let mut missing = Vec::new();
    for key in ["issuer", "authorization_endpoint", "token_endpoint"] {
        if doc[key].as_str().is_none_or(str::is_empty) {
            missing.push(key);
        }
    }
    if doc["response_types_supported"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        missing.push("response_types_supported");
    }
    if !missing.is_empty() {
        return Ok(Outcome::not_met(format!(
            "the metadata at {url} (HTTP 200) lacks {}",
            missing.join(", ")
        )));
    }
    Ok(Outcome::pass(
        "issuer, authorization_endpoint, token_endpoint and response_types_supported are present",
    ))
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// RFC 6749 §3.1, §3.2 and RFC 8414 §2: the issuer and the endpoints use https. A loopback
/// host is a local test deployment and passes with a note.
pub async fn endpoints_https(cx: &Cx) -> ProbeResult {
    let (url, doc) = metadata_or_skip!(cx);
    let Some(members) = doc.as_object() else {
        return Err(ProbeError::Unexpected(
            "the metadata is not an object".into(),
        ));
    };
    let mut plain = Vec::new();
    let mut local = Vec::new();
    let mut malformed = Vec::new();
    for (key, value) in members {
        let relevant = key == "issuer" || key == "jwks_uri" || key.ends_with("_endpoint");
        let Some(text) = value.as_str().filter(|_| relevant) else {
            continue;
        };
        let Ok(parsed) = Url::parse(text) else {
            malformed.push(format!("{key} ({text})"));
            continue;
        };
        if key == "issuer" && (parsed.query().is_some() || parsed.fragment().is_some()) {
            malformed.push(format!("issuer with a query or fragment ({text})"));
        }
        if parsed.scheme() != "https" {
            if is_loopback(&parsed) {
                local.push(key.clone());
            } else {
                plain.push(format!("{key} ({text})"));
            }
        }
    }
    if !plain.is_empty() || !malformed.is_empty() {
        let mut problems = Vec::new();
        if !plain.is_empty() {
            problems.push(format!("not https: {}", plain.join(", ")));
        }
        if !malformed.is_empty() {
            problems.push(format!("malformed: {}", malformed.join(", ")));
        }
        return Ok(Outcome::not_met(format!(
            "the metadata at {url} (HTTP 200) advertises {}",
            problems.join("; ")
        )));
    }
    if local.is_empty() {
        Ok(Outcome::pass("the issuer and every endpoint use https"))
    } else {
        Ok(Outcome::pass(format!(
            "every URL is https except on a loopback host ({}), a local test deployment",
            local.join(", ")
        )))
    }
}

/// JWK members that hold private or symmetric key material (RFC 7518 §6).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// OpenID Connect Discovery §3: "The JWK Set MUST NOT contain private or symmetric key values."
pub async fn jwks_public_keys_only(cx: &Cx) -> ProbeResult {
    let Some(jwks_url) = cx.server.endpoints.jwks.clone() else {
        return Ok(Outcome::skip(
            "the metadata names no jwks_uri; set [endpoints] jwks in the target file to run this check",
        ));
    };
    let resp = cx
        .http
        .send(
            "read the server's JWKS",
            Request::get(jwks_url.clone()).back_channel(),
        )
        .await?;
    let Some(keys) = resp
        .json()
        .filter(|_| resp.status == 200)
        .and_then(|j| j["keys"].as_array().cloned())
    else {
        return Err(ProbeError::Unexpected(format!(
            "{jwks_url} answered HTTP {} without a JSON key set",
            resp.status
        )));
    };
    let exposed: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let members: Vec<&str> = PRIVATE_MEMBERS
                .iter()
                .copied()
                .filter(|m| k.get(*m).is_some())
                .collect();
            (!members.is_empty()).then(|| {
                format!(
                    "key {} ({}) has {}",
                    k["kid"].as_str().unwrap_or("without kid"),
                    k["kty"].as_str().unwrap_or("no kty"),
                    members.join(", ")
                )
            })
        })
        .collect();
    if !exposed.is_empty() {
        return Ok(Outcome::not_met(format!(
            "the JWKS at {jwks_url} (HTTP 200) publishes private or symmetric key material: {}",
            exposed.join("; ")
        )));
    }
    Ok(Outcome::pass(format!(
        "the JWKS holds {} key(s), all public",
        keys.len()
    )))
}

/// OpenID Connect Discovery §3: members REQUIRED of an OpenID Provider's metadata.
pub async fn oidc_required_fields(cx: &Cx) -> ProbeResult {
    let (url, doc) = match oidc_metadata(cx).await? {
        Ok(found) => found,
        Err(skip) => return Ok(skip),
    };
    let mut missing = Vec::new();
    if doc["jwks_uri"].as_str().is_none_or(str::is_empty) {
        missing.push("jwks_uri");
    }
    for key in [
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        if doc[key].as_array().is_none_or(Vec::is_empty) {
            missing.push(key);
        }
    }
    if !missing.is_empty() {
        return Ok(Outcome::not_met(format!(
            "the OpenID Provider metadata at {url} (HTTP 200) lacks {}",
            missing.join(", ")
        )));
    }
    Ok(Outcome::pass(
        "jwks_uri, subject_types_supported and id_token_signing_alg_values_supported are present",
    ))
}

/// RFC 8414 §3.2: metadata is served with HTTP 200 as `application/json`.
pub async fn json_content_type(cx: &Cx) -> ProbeResult {
    let Some(url) = cx.server.metadata_url.clone() else {
        return Ok(Outcome::skip(
            "the server publishes no metadata at the issuer's well-known URLs (the endpoints come from the target file)",
        ));
    };
    let resp = cx
        .http
        .send(
            "read the server's metadata",
            Request::get(url.clone()).back_channel(),
        )
        .await?;
    if resp.status != 200 || !resp.json().is_some_and(|j| j.is_object()) {
        return Err(ProbeError::Unexpected(format!(
            "{url} answered HTTP {} without a JSON object this time",
            resp.status
        )));
    }
    let content_type = resp.header("content-type").unwrap_or("absent");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Ok(Outcome::not_met(format!(
            "the metadata at {url} is a JSON object served with HTTP 200 and Content-Type {content_type}, not application/json"
        )));
    }
    Ok(Outcome::pass(format!(
        "HTTP 200, Content-Type {content_type}"
    )))
}

/// RFC 8414 §3.2: "Claims with zero elements MUST be omitted from the response."
pub async fn no_empty_members(cx: &Cx) -> ProbeResult {
    let (url, doc) = metadata_or_skip!(cx);
    let empty: Vec<&str> = doc
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_array().is_some_and(Vec::is_empty))
                .map(|(k, _)| k.as_str())
                .collect()
        })
        .unwrap_or_default();
    if !empty.is_empty() {
        return Ok(Outcome::not_met(format!(
            "the metadata at {url} (HTTP 200) has empty arrays: {}",
            empty.join(", ")
        )));
    }
    Ok(Outcome::pass("no metadata member is an empty array"))
}
