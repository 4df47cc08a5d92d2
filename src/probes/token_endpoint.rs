//! The token endpoint's request handling.

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeResult};
use crate::flow::token;

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
        return Ok(Outcome::fail(
            "a GET token request with its parameters in the query returned HTTP 200 and an access_token",
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
