//! Authorization code handling.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::Consent;

/// RFC 6749 §4.1.2: a code MUST NOT be honoured twice.
pub async fn single_use(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();

    let issued = cx.fresh_code(client).await?;
    let first = cx
        .redeem_properly("redeem the code (first time)", client, &issued)
        .await?;
    if !first.issued() {
        return Err(ProbeError::Unexpected(format!(
            "the first redemption of a fresh code failed: {}",
            first.describe()
        )));
    }
    let replay = cx
        .redeem_properly("redeem the same code again", client, &issued)
        .await?;
    if replay.issued() {
        findings.push(
            "the second redemption of a PKCE-bound code returned HTTP 200 and a new access_token"
                .to_string(),
        );
    } else {
        notes.push(format!(
            "replay of a PKCE-bound code refused ({})",
            replay.describe()
        ));
        if replay.error() != Some("invalid_grant") {
            warnings.push(format!(
                "the replay was refused with {} rather than invalid_grant (RFC 6749 §5.2)",
                replay.describe()
            ));
        }
        if let Some(at) = first.access_token() {
            match cx.token_works("use the first access token after the replay", at).await? {
                Some(true) => warnings.push(
                    "the access token from the first redemption still works after the replay (RFC 6749 §4.1.2: SHOULD be revoked)"
                        .to_string(),
                ),
                Some(false) => notes.push("tokens from the first redemption were revoked".to_string()),
                None => notes.push("no userinfo endpoint to tell whether the first tokens were revoked".to_string()),
            }
        }
    }

    // A consumed PKCE challenge can hide a reusable code: test a code issued without PKCE too.
    let request = cx.request_for(client).without_pkce();
    let outcome = cx
        .authorize(
            "ask for a code without PKCE",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    match outcome.code() {
        Some(code) => {
            let code = code.to_string();
            let redirect = request.redirect_uri();
            let first = cx
                .redeem(
                    "redeem the PKCE-less code (first time)",
                    client,
                    &code,
                    redirect,
                    None,
                )
                .await?;
            if first.issued() {
                let replay = cx
                    .redeem(
                        "redeem the PKCE-less code again",
                        client,
                        &code,
                        redirect,
                        None,
                    )
                    .await?;
                if replay.issued() {
                    findings.push("the second redemption of a code issued without PKCE returned HTTP 200 and a new access_token".to_string());
                } else {
                    notes.push(format!(
                        "replay of a PKCE-less code refused ({})",
                        replay.describe()
                    ));
                }
            } else {
                notes.push(format!(
                    "a code issued without PKCE could not be redeemed at all ({})",
                    first.describe()
                ));
            }
        }
        None => notes.push("the server issues no code without PKCE".to_string()),
    }

    Ok(if !findings.is_empty() {
        Outcome::fail(findings.join("; "))
    } else if !warnings.is_empty() {
        Outcome::warn(format!("{}; {}", warnings.join("; "), notes.join("; ")))
    } else {
        Outcome::pass(notes.join("; "))
    })
}
