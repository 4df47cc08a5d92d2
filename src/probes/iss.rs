//! RFC 9207: the issuer identifier in authorization responses, against mix-up attacks.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::{AuthOutcome, Consent};

/// A successful authorization response, and an error response when one can be provoked.
async fn responses(cx: &Cx) -> Result<Vec<(String, AuthOutcome)>, ProbeError> {
    let client = cx.client();
    let request = cx.request_for(client);
    let success = cx
        .authorize(
            "successful authorization request",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    if success.code().is_none() {
        return Err(ProbeError::Unexpected(format!(
            "no code came back for a valid request: the server {}",
            success.describe()
        )));
    }
    let mut out = vec![("the success response".to_string(), success)];
    if let Some((what, error)) = super::state::provoke_error(cx, client, None).await? {
        out.push((format!("the error response ({what})"), error));
    }
    Ok(out)
}

fn advertised(cx: &Cx) -> bool {
    cx.server.metadata["authorization_response_iss_parameter_supported"] == true
}

/// RFC 9207 §2: iss in every authorization response, errors included.
pub async fn present(cx: &Cx) -> ProbeResult {
    let responses = responses(cx).await?;
    let (with, without): (Vec<_>, Vec<_>) = responses
        .iter()
        .partition(|(_, r)| r.param("iss").is_some_and(|v| !v.is_empty()));
    let names = |list: &[&(String, AuthOutcome)]| {
        list.iter()
            .map(|(what, _)| what.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    Ok(if without.is_empty() {
        Outcome::pass(format!("iss is present in {}", names(&with)))
    } else if advertised(cx) {
        Outcome::fail(format!(
            "the metadata sets authorization_response_iss_parameter_supported, but {} had no iss",
            names(&without)
        ))
    } else if !with.is_empty() {
        Outcome::fail(format!(
            "iss is present in {} (the server implements RFC 9207) but not in {}",
            names(&with),
            names(&without)
        ))
    } else {
        Outcome::warn(format!(
            "{} had no iss, and the metadata does not claim RFC 9207 support: clients that use several authorization servers cannot detect mix-up attacks by iss",
            names(&without)
        ))
    })
}

/// RFC 9207 §2.3: the iss value is the metadata's issuer, character for character.
pub async fn matches_issuer(cx: &Cx) -> ProbeResult {
    let issuer = cx.server.endpoints.issuer.clone();
    let responses = responses(cx).await?;
    let mut wrong = Vec::new();
    let mut right = Vec::new();
    for (what, r) in &responses {
        match r.param("iss") {
            Some(iss) if iss == issuer => right.push(what.clone()),
            Some(iss) => wrong.push(format!("{what} has iss `{iss}`")),
            None => {}
        }
    }
    Ok(if !wrong.is_empty() {
        Outcome::fail(format!(
            "{}, but the metadata's issuer is `{issuer}`",
            wrong.join("; ")
        ))
    } else if right.is_empty() {
        Outcome::pass("no response carried iss, so none carried a wrong one (see iss-present)")
    } else {
        Outcome::pass(format!(
            "iss equals the metadata's issuer `{issuer}` in {}",
            right.join(" and ")
        ))
    })
}

/// RFC 9207 §2.3: a server that sends iss says so in its metadata.
pub async fn advertised_when_sent(cx: &Cx) -> ProbeResult {
    let responses = responses(cx).await?;
    let sent: Vec<&str> = responses
        .iter()
        .filter(|(_, r)| r.param("iss").is_some())
        .map(|(what, _)| what.as_str())
        .collect();
    Ok(if sent.is_empty() {
        Outcome::pass("the server sends no iss, so there is no support to advertise")
    } else if cx.server.metadata_url.is_none() {
        Outcome::pass("the server sends iss and publishes no metadata to advertise it in")
    } else if advertised(cx) {
        Outcome::pass(format!(
            "iss is sent ({}) and the metadata sets authorization_response_iss_parameter_supported to true",
            sent.join(", ")
        ))
    } else {
        Outcome::fail(format!(
            "iss is sent ({}) but the metadata does not set authorization_response_iss_parameter_supported to true",
            sent.join(", ")
        ))
    })
}
