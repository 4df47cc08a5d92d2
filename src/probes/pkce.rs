//! PKCE (RFC 7636) as RFC 9700 and OAuth 2.1 require it.

use crate::crypto::pkce_pair;
use crate::engine::Outcome;
use crate::engine::context::{Cx, IssuedCode, ProbeError, ProbeResult};
use crate::flow::authorize::Consent;

async fn control(cx: &Cx, issued: &IssuedCode) -> Result<&'static str, ProbeError> {
    let resp = cx
        .redeem_properly(
            "control: redeem with the right verifier",
            cx.client(),
            issued,
        )
        .await?;
    Ok(if resp.issued() {
        "the same code then redeemed with the right verifier"
    } else {
        "the code was then unusable even with the right verifier (a failed attempt may consume it)"
    })
}

/// RFC 7636 §4.6 and RFC 9700 §2.1.1: a code bound to a challenge needs its verifier.
pub async fn verifier_required(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let resp = cx
        .redeem(
            "redeem without code_verifier",
            client,
            &issued.code,
            issued.request.redirect_uri(),
            None,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::fail(
            "a code issued with an S256 challenge was redeemed without code_verifier: HTTP 200 with an access_token",
        ));
    }
    Ok(Outcome::pass(format!(
        "refused without code_verifier ({}); {}",
        resp.describe(),
        control(cx, &issued).await?
    )))
}

pub async fn verifier_checked(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let (wrong, _) = pkce_pair();
    let resp = cx
        .redeem(
            "redeem with a wrong code_verifier",
            client,
            &issued.code,
            issued.request.redirect_uri(),
            Some(&wrong),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::fail(
            "a code issued with an S256 challenge was redeemed with a wrong (well-formed) code_verifier: HTTP 200 with an access_token",
        ));
    }
    Ok(Outcome::pass(format!(
        "a wrong code_verifier was refused ({}); {}",
        resp.describe(),
        control(cx, &issued).await?
    )))
}

pub async fn no_plain_downgrade(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let challenge = issued
        .request
        .get("code_challenge")
        .unwrap_or_default()
        .to_string();
    let resp = cx
        .redeem(
            "redeem with the S256 challenge itself as the verifier",
            client,
            &issued.code,
            issued.request.redirect_uri(),
            Some(&challenge),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::fail(
            "an S256 challenge was satisfied by sending the challenge itself as code_verifier: HTTP 200 with an access_token",
        ));
    }
    let downgrade_refused = format!(
        "the challenge as verifier was refused ({})",
        resp.describe()
    );

    // Does the server hand out codes for the plain method at all?
    let (plain, _) = pkce_pair();
    let request = cx
        .request_for(client)
        .set("code_challenge", &plain)
        .set("code_challenge_method", "plain");
    let outcome = cx
        .authorize(
            "ask for a code with code_challenge_method=plain",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    let Some(code) = outcome.code().map(str::to_string) else {
        return Ok(Outcome::pass(format!(
            "{downgrade_refused}; code_challenge_method=plain refused: the server {}",
            outcome.describe()
        )));
    };
    let plain_resp = cx
        .redeem(
            "redeem the plain-method code",
            client,
            &code,
            request.redirect_uri(),
            Some(&plain),
        )
        .await?;
    Ok(if plain_resp.issued() {
        Outcome::warn(format!(
            "{downgrade_refused}; but code_challenge_method=plain is accepted (a code was issued and redeemed with the plain verifier); RFC 9700 §2.1.1 recommends S256 only"
        ))
    } else {
        Outcome::pass(format!(
            "{downgrade_refused}; a plain-method code was issued but not redeemable with the plain verifier ({})",
            plain_resp.describe()
        ))
    })
}

/// RFC 9700 §2.1.1 and OAuth 2.1 §4.1.1: public clients must use PKCE.
pub async fn required_public_client(cx: &Cx) -> ProbeResult {
    let Some(public) = &cx.target.public_client else {
        return Ok(Outcome::skip(
            crate::catalog::Requirement::PublicClient.missing_reason(),
        ));
    };
    let request = cx.request_for(public).without_pkce();
    let outcome = cx
        .authorize(
            "public client: request without code_challenge",
            public,
            &request,
            Consent::Approve,
        )
        .await?;
    let Some(code) = outcome.code().map(str::to_string) else {
        return Ok(Outcome::pass(format!(
            "refused without a challenge: the server {}",
            outcome.describe()
        )));
    };
    let resp = cx
        .redeem(
            "public client: redeem the PKCE-less code",
            public,
            &code,
            request.redirect_uri(),
            None,
        )
        .await?;
    Ok(if resp.issued() {
        Outcome::fail(
            "the public client obtained a code without a code_challenge and redeemed it: HTTP 200 with an access_token",
        )
    } else {
        Outcome::pass(format!(
            "a code was issued without a challenge but could not be redeemed ({})",
            resp.describe()
        ))
    })
}
