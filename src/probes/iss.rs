//! RFC 9207: the issuer identifier in authorization responses, against mix-up attacks.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::{AuthOutcome, Consent};

/// The responses a check reads: the success response, the error response when one could be
/// provoked, and, when none could, what the attempts met instead.
struct Responses {
    seen: Vec<(String, AuthOutcome)>,
    no_error: Option<String>,
}

/// A successful authorization response, and an error response when one can be provoked.
async fn responses(cx: &Cx) -> Result<Responses, ProbeError> {
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
    let mut seen = vec![("the success response".to_string(), success)];
    let provoked = super::state::provoke_error(cx, client, None).await?;
    let no_error = match provoked.error {
        Some((what, error)) => {
            seen.push((format!("the error response ({what})"), error));
            None
        }
        None => Some(provoked.why_none()),
    };
    Ok(Responses { seen, no_error })
}

fn advertised(cx: &Cx) -> bool {
    cx.server.metadata["authorization_response_iss_parameter_supported"] == true
}

/// RFC 9207 §2: iss in every authorization response, errors included.
pub async fn present(cx: &Cx) -> ProbeResult {
    let Responses { seen, no_error } = responses(cx).await?;
    let (with, without): (Vec<_>, Vec<_>) = seen
        .iter()
        .partition(|(_, r)| r.param("iss").is_some_and(|v| !v.is_empty()));
    let names = |list: &[&(String, AuthOutcome)]| {
        list.iter()
            .map(|(what, _)| what.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let unchecked = no_error
        .as_ref()
        .map(|why| format!("; the error response was not checked: {why}"))
        .unwrap_or_default();
    Ok(if without.is_empty() {
        match &no_error {
            // Only half of "every authorization response" was observed: no pass for it.
            Some(why) => Outcome::skip(format!(
                "iss is present in {}, but the error half of this check was not run: {why}",
                names(&with)
            )),
            None => Outcome::pass(format!("iss is present in {}", names(&with))),
        }
    } else if advertised(cx) {
        Outcome::not_met(format!(
            "the metadata sets authorization_response_iss_parameter_supported, but {} had no iss{unchecked}",
            names(&without)
        ))
    } else if !with.is_empty() {
        Outcome::not_met(format!(
            "iss is present in {} (the server implements RFC 9207) but not in {}",
            names(&with),
            names(&without)
        ))
    } else {
        // RFC 9207 binds only a server that supports it: mix-up defence is the best practice.
        Outcome::best_practice_not_met(format!(
            "{} had no iss, and the metadata does not claim RFC 9207 support: clients that use several authorization servers cannot detect mix-up attacks by iss{unchecked}",
            names(&without)
        ))
    })
}

/// RFC 9207 §2.3: the iss value is the metadata's issuer, character for character.
pub async fn matches_issuer(cx: &Cx) -> ProbeResult {
    let issuer = cx.server.endpoints.issuer.clone();
    let Responses { seen, no_error } = responses(cx).await?;
    let mut wrong = Vec::new();
    let mut right = Vec::new();
    for (what, r) in &seen {
        match r.param("iss") {
            Some(iss) if iss == issuer => right.push(what.clone()),
            Some(iss) => {
                if let Some(why) = super::metadata_issuer_is_the_cause(cx, iss) {
                    return Ok(Outcome::skip(format!("{what} has iss `{iss}`; {why}")));
                }
                wrong.push(format!("{what} has iss `{iss}`"))
            }
            None => {}
        }
    }
    Ok(if !wrong.is_empty() {
        Outcome::not_met(format!(
            "{}, but the metadata's issuer is `{issuer}`",
            wrong.join("; ")
        ))
    } else if right.is_empty() {
        // One flaw, one check: a missing iss is iss-present's finding.
        Outcome::skip(
            "no response carried iss, so there is no value to compare with the issuer (iss-present reports the missing iss)",
        )
    } else if let Some(why) = no_error.filter(|_| right.len() < 2) {
        Outcome::skip(format!(
            "iss equals the metadata's issuer `{issuer}` in {}, but the error half of this check was not run: {why}",
            right.join(" and ")
        ))
    } else {
        Outcome::pass(format!(
            "iss equals the metadata's issuer `{issuer}` in {}",
            right.join(" and ")
        ))
    })
}

/// RFC 9207 §2.3: a server that sends iss says so in its metadata.
pub async fn advertised_when_sent(cx: &Cx) -> ProbeResult {
    if cx.server.metadata_url.is_none() {
        return Ok(Outcome::skip(
            "the server publishes no metadata at the issuer's well-known URLs (the endpoints come from the target file), so there is no document to advertise iss support in",
        ));
    }
    let Responses { seen, .. } = responses(cx).await?;
    let sent: Vec<&str> = seen
        .iter()
        .filter(|(_, r)| r.param("iss").is_some())
        .map(|(what, _)| what.as_str())
        .collect();
    Ok(if sent.is_empty() {
        Outcome::pass(
            "the server sends no iss, so there is no support to advertise (iss-present judges whether it should)",
        )
    } else if advertised(cx) {
        Outcome::pass(format!(
            "iss is sent ({}) and the metadata sets authorization_response_iss_parameter_supported to true",
            sent.join(", ")
        ))
    } else {
        Outcome::not_met(format!(
            "iss is sent ({}) but the metadata does not set authorization_response_iss_parameter_supported to true",
            sent.join(", ")
        ))
    })
}
