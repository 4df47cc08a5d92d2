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

/// One flaw, one check: when a special verifier redeemed a code, whether any wrong verifier
/// does; then the finding is pkce-verifier-checked's.
async fn any_verifier_works(cx: &Cx) -> Result<Option<String>, ProbeError> {
    let client = cx.client();
    let issued = cx
        .obtain_code(
            "control: obtain a code to redeem with a random wrong verifier",
            client,
            cx.request_for(client),
        )
        .await?;
    let (wrong, _) = pkce_pair();
    let resp = cx
        .redeem(
            "control: redeem it with a random wrong code_verifier",
            client,
            &issued.code,
            issued.request.redirect_uri(),
            Some(&wrong),
        )
        .await?;
    Ok(resp.issued().then(|| {
        "a random wrong code_verifier redeems a code too (HTTP 200 with an access_token): the server does not check verifiers at all, which pkce-verifier-checked reports".to_string()
    }))
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
        return Ok(Outcome::not_met(
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
        return Ok(Outcome::not_met(
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
        if let Some(why) = any_verifier_works(cx).await? {
            return Ok(Outcome::skip(format!(
                "the challenge itself redeemed the code as code_verifier, but {why}"
            )));
        }
        return Ok(Outcome::not_met(
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
        Outcome::not_met_of(
            &["RFC 9700 §2.1.1", "FAPI 2.0 Security Profile §5.3.2.2"],
            format!(
                "{downgrade_refused}; but code_challenge_method=plain is accepted (a code was issued and redeemed with the plain verifier); RFC 9700 §2.1.1 recommends S256 only"
            ),
        )
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
        Outcome::not_met(
            "the public client obtained a code without a code_challenge and redeemed it: HTTP 200 with an access_token",
        )
    } else {
        Outcome::pass(format!(
            "a code was issued without a challenge but could not be redeemed ({})",
            resp.describe()
        ))
    })
}

/// RFC 9700 §2.1.1: a code_verifier for a code issued without a challenge is refused.
pub async fn verifier_without_challenge_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let request = cx.request_for(client).without_pkce();
    let outcome = cx
        .authorize(
            "authorization request without code_challenge",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    let Some(code) = outcome.code().map(str::to_string) else {
        return Ok(Outcome::pass(format!(
            "the server issues no code without a challenge, so no downgrade can start: it {}",
            outcome.describe()
        )));
    };
    let (verifier, _) = pkce_pair();
    let resp = cx
        .redeem(
            "redeem the challenge-less code with a code_verifier",
            client,
            &code,
            request.redirect_uri(),
            Some(&verifier),
        )
        .await?;
    Ok(if resp.issued() {
        Outcome::not_met(
            "a code issued without a code_challenge was redeemed with an arbitrary code_verifier: HTTP 200 with an access_token",
        )
    } else {
        Outcome::pass(format!(
            "a code issued without a challenge was not redeemed with a code_verifier ({})",
            resp.describe()
        ))
    })
}

/// RFC 9700 §2.1.1: PKCE support is detectable; code_challenge_methods_supported is RECOMMENDED.
pub async fn s256_advertised(cx: &Cx) -> ProbeResult {
    // The scanner read the metadata in the pre-flight; this check reads it again as evidence.
    let Some(url) = cx.server.metadata_url.clone() else {
        return Ok(Outcome::skip(
            "the server publishes no metadata at the issuer's well-known URLs (the endpoints come from the target file), so there is no document to list code_challenge_methods_supported in",
        ));
    };
    cx.http
        .send(
            "read the metadata",
            crate::http::Request::get(url).back_channel(),
        )
        .await?;
    let methods = cx.server.metadata["code_challenge_methods_supported"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .map(str::to_string)
                .collect::<Vec<_>>()
        });
    Ok(match methods {
        None => Outcome::not_met(
            "the metadata has no code_challenge_methods_supported: clients cannot detect PKCE support (RFC 9700 §2.1.1 RECOMMENDED)",
        ),
        Some(m) if m.iter().any(|x| x == "S256") => Outcome::pass(format!(
            "code_challenge_methods_supported lists {}",
            m.join(", ")
        )),
        Some(m) => Outcome::not_met(format!(
            "code_challenge_methods_supported lists {} but not S256, which the server accepted for every code of this scan",
            if m.is_empty() {
                "nothing".to_string()
            } else {
                m.join(", ")
            }
        )),
    })
}

/// RFC 7636 §4.4.1: a transformation the server does not support is invalid_request, never a code.
pub async fn unknown_method_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let request = cx
        .request_for(client)
        .set("code_challenge_method", "oauthprobe-unknown");
    let outcome = cx
        .authorize(
            "authorization request with code_challenge_method=oauthprobe-unknown",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    Ok(if outcome.code().is_some() {
        Outcome::not_met(format!(
            "a code was issued for code_challenge_method=oauthprobe-unknown instead of invalid_request: the server {}",
            outcome.describe()
        ))
    } else {
        Outcome::pass(format!(
            "the unknown method was refused: the server {}",
            outcome.describe()
        ))
    })
}

/// RFC 7636 §4.3 makes an absent method mean plain; RFC 9700 §2.1.1 wants S256 only.
pub async fn default_method_not_plain(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let (plain, _) = pkce_pair();
    let request = cx
        .request_for(client)
        .remove("code_challenge_method")
        .set("code_challenge", &plain);
    let outcome = cx
        .authorize(
            "authorization request with a code_challenge and no method",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    let Some(code) = outcome.code().map(str::to_string) else {
        return Ok(Outcome::pass(format!(
            "a challenge without a method was refused: the server {}",
            outcome.describe()
        )));
    };
    let resp = cx
        .redeem(
            "redeem with the challenge itself as the verifier (plain)",
            client,
            &code,
            request.redirect_uri(),
            Some(&plain),
        )
        .await?;
    Ok(if resp.issued() {
        Outcome::not_met(
            "a challenge sent without a method was treated as plain: the challenge itself redeemed the code (HTTP 200 with an access_token)",
        )
    } else {
        Outcome::pass(format!(
            "a code was issued for a challenge without a method, but the challenge as a plain verifier was refused ({})",
            resp.describe()
        ))
    })
}

/// RFC 7636 §4.6: the verifier is checked against this code's challenge, not any challenge.
pub async fn verifier_bound_to_code(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let first = cx.fresh_code(client).await?;
    let second = cx
        .obtain_code(
            "obtain a second code, with another challenge",
            client,
            cx.request_for(client),
        )
        .await?;
    let resp = cx
        .redeem(
            "redeem the first code with the second code's verifier",
            client,
            &first.code,
            first.request.redirect_uri(),
            second.request.verifier.as_deref(),
        )
        .await?;
    if resp.issued() {
        if let Some(why) = any_verifier_works(cx).await? {
            return Ok(Outcome::skip(format!(
                "another pending code's verifier redeemed the code, but {why}"
            )));
        }
        return Ok(Outcome::not_met(
            "a code was redeemed with the code_verifier of another pending code: HTTP 200 with an access_token",
        ));
    }
    Ok(Outcome::pass(format!(
        "the other code's verifier was refused ({}); {}",
        resp.describe(),
        control(cx, &first).await?
    )))
}

/// RFC 9700 §2.1.1: for a public client, the verifier is the only proof; it cannot be left out.
pub async fn verifier_required_public_client(cx: &Cx) -> ProbeResult {
    let Some(public) = &cx.target.public_client else {
        return Ok(Outcome::skip(
            crate::catalog::Requirement::PublicClient.missing_reason(),
        ));
    };
    let issued = cx.fresh_code(public).await?;
    let resp = cx
        .redeem(
            "public client: redeem without code_verifier",
            public,
            &issued.code,
            issued.request.redirect_uri(),
            None,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "a public client's code issued with an S256 challenge was redeemed without code_verifier: HTTP 200 with an access_token",
        ));
    }
    let control = cx
        .redeem_properly(
            "public client: control, redeem with the right verifier",
            public,
            &issued,
        )
        .await?;
    Ok(Outcome::pass(format!(
        "refused without code_verifier ({}); {}",
        resp.describe(),
        if control.issued() {
            "the same code then redeemed with the right verifier"
        } else {
            "the code was then unusable even with the right verifier (a failed attempt may consume it)"
        }
    )))
}
