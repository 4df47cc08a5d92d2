//! Client authentication at the token endpoint.

use crate::crypto::{pkce_pair, random_token};
use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeResult};
use crate::flow::token;
use crate::http::Request;
use crate::secret::Secret;
use crate::target::{AuthMethod, Client};

/// The confidential client of the target file, or why the check cannot run.
fn confidential(cx: &Cx) -> Result<&Client, Outcome> {
    let client = cx.client();
    match &client.secret {
        Some(_) => Ok(client),
        None => Err(Outcome::skip(
            "the [client] of the target file has no secret; give it its client secret to run this check",
        )),
    }
}

/// RFC 6749 §3.2.1: a confidential client MUST authenticate at the token endpoint.
pub async fn required(cx: &Cx) -> ProbeResult {
    let client = match confidential(cx) {
        Ok(c) => c,
        Err(skip) => return Ok(skip),
    };
    let issued = cx.fresh_code(client).await?;
    let req = token::client_id_only(
        client,
        cx.server.endpoints.token.clone(),
        issued.redemption_form(),
    );
    let resp = cx
        .send_token("redeem the code with the client_id alone, no secret", req)
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "confidential client `{}` redeemed a code without its secret: HTTP 200 with an access_token",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "a code redemption with the client_id alone was refused ({})",
        resp.describe()
    )))
}

/// RFC 6749 §3.2.1: the server authenticates the client, so a wrong secret is refused.
pub async fn secret_checked(cx: &Cx) -> ProbeResult {
    let client = match confidential(cx) {
        Ok(c) => c,
        Err(skip) => return Ok(skip),
    };
    let issued = cx.fresh_code(client).await?;
    let wrong = random_token(24);
    cx.http.redactor().add(&wrong);
    let impostor = Client {
        secret: Some(Secret::new(wrong)),
        ..client.clone()
    };
    let resp = cx
        .send_token(
            "redeem the code with a wrong client secret",
            cx.token_request(&impostor, issued.redemption_form()),
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "client `{}` redeemed a code with a wrong secret: HTTP 200 with an access_token",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "a wrong client secret was refused ({})",
        resp.describe()
    )))
}

/// RFC 6749 §5.2: a failed Basic authentication MUST get HTTP 401 and a WWW-Authenticate
/// challenge for the Basic scheme.
pub async fn basic_challenge(cx: &Cx) -> ProbeResult {
    let unknown_id = format!("oauthprobe-unknown-{}", random_token(6));
    let secret = Secret::new(random_token(24));
    cx.http.redactor().add(secret.expose());
    let (verifier, _) = pkce_pair();
    cx.http.redactor().add(&verifier);
    let form = vec![
        ("grant_type".to_string(), "authorization_code".to_string()),
        ("code".to_string(), random_token(32)),
        ("redirect_uri".to_string(), cx.client().redirect_uri.clone()),
        ("code_verifier".to_string(), verifier),
    ];
    let req = Request::post_form(cx.server.endpoints.token.clone(), form)
        .basic_auth(&unknown_id, &secret);
    let resp = cx
        .send_token("authenticate an unknown client with HTTP Basic", req)
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(
            "an unknown client authenticating with HTTP Basic got HTTP 200 and an access_token",
        ));
    }
    if resp.error() != Some("invalid_client") {
        return Ok(Outcome::best_practice_not_met(format!(
            "an unknown client authenticating with HTTP Basic got {} rather than invalid_client (RFC 6749 §5.2)",
            resp.describe()
        )));
    }
    let challenge = resp.header("www-authenticate");
    let basic_challenge = challenge.is_some_and(|c| {
        c.split(',')
            .any(|part| part.trim().to_ascii_lowercase().starts_with("basic"))
    });
    if resp.status != 401 || !basic_challenge {
        return Ok(Outcome::not_met(format!(
            "a failed HTTP Basic client authentication got invalid_client with HTTP {} and {}",
            resp.status,
            match challenge {
                Some(c) => format!("WWW-Authenticate: {c} (no Basic challenge)"),
                None => "no WWW-Authenticate header".to_string(),
            }
        )));
    }
    Ok(Outcome::pass(format!(
        "HTTP 401 invalid_client with WWW-Authenticate: {}",
        challenge.unwrap_or_default()
    )))
}

/// RFC 6749 §2.3.1: client credentials "MUST NOT be included in the request URI".
pub async fn secret_not_in_query(cx: &Cx) -> ProbeResult {
    // A client registered for client_secret_basic would be refused for using the wrong method,
    // whatever the server thinks of URLs: only a client_secret_post client tells them apart.
    let post_client = [Some(cx.client()), cx.second_client()]
        .into_iter()
        .flatten()
        .find(|c| c.auth_method == AuthMethod::ClientSecretPost && c.secret.is_some());
    let Some(client) = post_client else {
        return Ok(Outcome::skip(
            "neither [client] nor [second_client] uses client_secret_post; add one that does to run this check",
        ));
    };
    let secret = client
        .secret
        .as_ref()
        .map(Secret::expose)
        .unwrap_or_default();
    let issued = cx.fresh_code(client).await?;
    let mut url = cx.server.endpoints.token.clone();
    url.query_pairs_mut()
        .append_pair("client_id", &client.id)
        .append_pair("client_secret", secret);
    let req = Request::post_form(url, issued.redemption_form());
    let resp = cx
        .send_token(
            "redeem the code with client_id and client_secret in the URL query",
            req,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "client `{}` authenticated with its secret in the URL query: HTTP 200 with an access_token; the server tolerates the client's breach of RFC 6749 §2.3.1",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "client credentials in the URL query were not accepted ({})",
        resp.describe()
    )))
}

/// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
pub async fn single_method(cx: &Cx) -> ProbeResult {
    let client = match confidential(cx) {
        Ok(c) => c,
        Err(skip) => return Ok(skip),
    };
    let issued = cx.fresh_code(client).await?;
    let wrong = Secret::new(random_token(24));
    cx.http.redactor().add(wrong.expose());
    // The registered method with the right secret, plus the other method with a wrong one.
    let req = match client.auth_method {
        AuthMethod::ClientSecretPost => cx
            .token_request(client, issued.redemption_form())
            .basic_auth(&client.id, &wrong),
        _ => {
            let mut form = issued.redemption_form();
            form.push(("client_id".into(), client.id.clone()));
            form.push(("client_secret".into(), wrong.expose().to_string()));
            cx.token_request(client, form)
        }
    };
    let resp = cx
        .send_token(
            "redeem the code with two client authentication methods, the second with a wrong secret",
            req,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "a token request carrying both HTTP Basic and client_secret credentials for `{}`, one of them wrong, returned HTTP 200 and an access_token; the server tolerates the client's breach of RFC 6749 §2.3",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "a request with two client authentication methods was refused ({})",
        resp.describe()
    )))
}

/// RFC 6749 §4.1.3: a client that does not authenticate sends its client_id, and the server
/// checks the code was issued to it.
pub async fn public_client_id_required(cx: &Cx) -> ProbeResult {
    let Some(client) = cx.public_client() else {
        return Ok(Outcome::skip(
            crate::catalog::Requirement::PublicClient.missing_reason(),
        ));
    };
    let issued = cx.fresh_code(client).await?;
    let req = Request::post_form(cx.server.endpoints.token.clone(), issued.redemption_form());
    let resp = cx
        .send_token(
            "redeem the public client's code without client_id or any authentication",
            req,
        )
        .await?;
    if resp.issued() {
        return Ok(Outcome::not_met(format!(
            "a code issued to public client `{}` was redeemed by a request that named no client: HTTP 200 with an access_token",
            client.id
        )));
    }
    Ok(Outcome::pass(format!(
        "a redemption without client_id was refused ({})",
        resp.describe()
    )))
}
