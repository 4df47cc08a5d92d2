//! The lab's secure defaults and each weakness, over real HTTP on 127.0.0.1.

use std::time::Duration;

use oauthprobe::lab::{DEMO_CLIENT_ID, LabOptions, POST_CLIENT_ID, PUBLIC_CLIENT_ID, Weakness};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;

const BASIC: &str = DEMO_CLIENT_ID;

#[tokio::test]
async fn metadata_is_served_at_both_well_known_urls() {
    let lab = spawn_lab(&[]).await;
    for path in [
        ".well-known/oauth-authorization-server",
        ".well-known/openid-configuration",
    ] {
        let m: Value = http()
            .get(lab.base_url().join(path).unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(m["issuer"], lab.issuer());
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            m["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(m["token_endpoint"], format!("{}/token", lab.issuer()));
    }
    let weak = spawn_lab(&[Weakness::PkcePlain]).await;
    let m: Value = http()
        .get(
            weak.base_url()
                .join(".well-known/oauth-authorization-server")
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256", "plain"])
    );
}

#[tokio::test]
async fn login_and_consent_pages_refuse_framing_and_set_a_safe_cookie() {
    let lab = spawn_lab(&[]).await;
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let client = http();
    let resp = client.get(req.url(&lab)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("type=\"password\""),
        "login page has a password field"
    );
    let rid = hidden(&body, "request_id").unwrap();
    let user = lab.user();
    let resp = client
        .post(lab.base_url().join("login").unwrap())
        .form(&[
            ("request_id", rid.as_str()),
            ("username", &user.username),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "a wrong password shows the form again"
    );
    assert!(resp.headers().get("set-cookie").is_none());
    let resp = client
        .post(lab.base_url().join("login").unwrap())
        .form(&[
            ("request_id", rid.as_str()),
            ("username", &user.username),
            ("password", &user.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let consent = client
        .get(
            lab.base_url()
                .join(resp.headers()["location"].to_str().unwrap())
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(consent.headers()["x-frame-options"], "DENY");
    let body = consent.text().await.unwrap();
    assert!(
        body.contains("oauthprobe demo app"),
        "consent names the client"
    );
    assert!(
        body.contains("<li>openid</li>") && body.contains("<li>profile</li>"),
        "consent lists the scopes"
    );
    assert!(body.contains("id=\"approve\"") && body.contains("id=\"deny\""));
}

#[tokio::test]
async fn consent_without_the_csrf_token_is_refused() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    // Sign in once so the next request lands on the consent page.
    browser.authorize(&lab, &req, true).await.code();
    let body = browser
        .http
        .get(req.url(&lab))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rid = hidden(&body, "request_id").unwrap();
    for csrf in ["", "forged"] {
        let resp = browser
            .http
            .post(lab.base_url().join("consent").unwrap())
            .form(&[
                ("request_id", rid.as_str()),
                ("csrf_token", csrf),
                ("decision", "approve"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(
            resp.headers().get("location").is_none(),
            "no code is issued"
        );
    }
}

#[tokio::test]
async fn state_and_iss_come_back_on_success_and_on_denial() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let state = format!("a b+c%d&e=f/g#h ✓ {}", "x".repeat(200));
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let req = req.set("state", &state);
    let ok = browser.authorize(&lab, &req, true).await;
    assert_eq!(
        query(ok.location(), "state").as_deref(),
        Some(state.as_str())
    );
    assert_eq!(query(ok.location(), "iss").as_deref(), Some(lab.issuer()));
    assert!(
        ok.location()
            .as_str()
            .starts_with(&lab.client(BASIC).unwrap().redirect_uris[0])
    );
    let denied = browser.authorize(&lab, &req, false).await;
    assert_eq!(
        query(denied.location(), "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query(denied.location(), "state").as_deref(),
        Some(state.as_str())
    );
    assert_eq!(
        query(denied.location(), "iss").as_deref(),
        Some(lab.issuer())
    );
    assert!(query(denied.location(), "code").is_none());
    // An error found before login (here an unknown scope) also carries state and iss.
    let bad_scope = browser
        .authorize(&lab, &req.clone().set("scope", "openid admin"), true)
        .await;
    assert_eq!(
        query(bad_scope.location(), "error").as_deref(),
        Some("invalid_scope")
    );
    assert_eq!(
        query(bad_scope.location(), "state").as_deref(),
        Some(state.as_str())
    );
}

#[tokio::test]
async fn weakness_state_dropped_omits_state() {
    let lab = spawn_lab(&[Weakness::StateDropped]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let ok = browser.authorize(&lab, &req, true).await;
    assert!(ok.code().len() > 20);
    assert_eq!(query(ok.location(), "state"), None);
    let denied = browser.authorize(&lab, &req, false).await;
    assert_eq!(query(denied.location(), "state"), None);
    assert_eq!(
        query(denied.location(), "iss").as_deref(),
        Some(lab.issuer()),
        "only state is dropped"
    );
}

#[tokio::test]
async fn unknown_client_or_redirect_uri_is_a_page_never_a_redirect() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let registered = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let cases = [
        req.clone().set("client_id", "nobody"),
        req.clone()
            .set("redirect_uri", "https://attacker.example/cb"),
        req.clone()
            .set("redirect_uri", &format!("{registered}/extra")),
        req.clone()
            .set("redirect_uri", &format!("{registered}?x=1")),
        req.clone().add("client_id", BASIC),
    ];
    for case in &cases {
        match browser.authorize(&lab, case, true).await {
            Outcome::Page(status, body) => {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert!(body.contains("id=\"error\""));
            }
            other => panic!("{:?} was redirected: {other:?}", case.params),
        }
    }
    // A client with two registered URIs must name one.
    let (post, _) = AuthRequest::new(&lab, POST_CLIENT_ID);
    assert!(matches!(
        browser
            .authorize(&lab, &post.remove("redirect_uri"), true)
            .await,
        Outcome::Page(StatusCode::BAD_REQUEST, _)
    ));
}

#[tokio::test]
async fn weakness_redirect_uri_prefix_accepts_extensions_only() {
    let lab = spawn_lab(&[Weakness::RedirectUriPrefix]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let registered = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let extended = format!("{registered}.attacker.example/steal");
    let out = browser
        .authorize(&lab, &req.clone().set("redirect_uri", &extended), true)
        .await;
    assert!(out.location().as_str().starts_with(&extended), "{out:?}");
    assert!(!out.code().is_empty());
    let foreign = browser
        .authorize(
            &lab,
            &req.set("redirect_uri", "https://attacker.example/cb"),
            true,
        )
        .await;
    assert!(matches!(foreign, Outcome::Page(StatusCode::BAD_REQUEST, _)));
}

#[tokio::test]
async fn weakness_redirect_uri_any_accepts_anything() {
    let lab = spawn_lab(&[Weakness::RedirectUriAny]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let out = browser
        .authorize(
            &lab,
            &req.set("redirect_uri", "https://attacker.example/cb"),
            true,
        )
        .await;
    assert_eq!(out.location().host_str(), Some("attacker.example"));
    assert!(!out.code().is_empty());
}

#[tokio::test]
async fn code_redeems_once_and_a_replay_revokes_its_tokens() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = browser.authorize(&lab, &req, true).await.code();
    let (status, headers, body) = token_request(
        &lab,
        BASIC,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert!(issued(status, &body), "{status} {body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    let access = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo_status(&lab, &access).await, StatusCode::OK);
    let (status, again) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(
        userinfo_status(&lab, &access).await,
        StatusCode::UNAUTHORIZED,
        "tokens from a replayed code are revoked"
    );
    let (status, _, refreshed) = token_request(
        &lab,
        BASIC,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(
        (status, refreshed["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn weakness_code_reuse_redeems_twice() {
    let lab = spawn_lab(&[Weakness::CodeReuse]).await;
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let (s1, b1) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    let (s2, b2) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    assert!(issued(s1, &b1) && issued(s2, &b2), "{b2}");
    assert_ne!(b1["access_token"], b2["access_token"]);
}

#[tokio::test]
async fn code_is_bound_to_client_redirect_uri_and_lifetime() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = browser.authorize(&lab, &req, true).await.code();
    let (status, body) = redeem(&lab, POST_CLIENT_ID, &code, &redirect_uri, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another client"
    );
    let (status, body) = redeem(
        &lab,
        BASIC,
        &code,
        &format!("{redirect_uri}x"),
        Some(&verifier),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another redirect_uri"
    );
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    assert!(
        issued(status, &body),
        "failed attempts do not consume the code: {body}"
    );

    let expired = spawn_lab_with(LabOptions {
        code_lifetime: Some(Duration::ZERO),
        ..LabOptions::default()
    })
    .await;
    let (req, verifier) = AuthRequest::new(&expired, BASIC);
    let redirect_uri = expired.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = Browser::new().authorize(&expired, &req, true).await.code();
    let (status, body) = redeem(&expired, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "expired code"
    );
}

#[tokio::test]
async fn weakness_redirect_uri_token_unchecked_ignores_the_token_redirect_uri() {
    let lab = spawn_lab(&[Weakness::RedirectUriTokenUnchecked]).await;
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let (status, body) = redeem(
        &lab,
        BASIC,
        &code,
        "https://attacker.example/cb",
        Some(&verifier),
    )
    .await;
    assert!(issued(status, &body), "{body}");
}

#[tokio::test]
async fn pkce_is_required_s256_only_and_checked() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    for bad in [
        req.clone()
            .remove("code_challenge")
            .remove("code_challenge_method"),
        req.clone().set("code_challenge_method", "plain"),
        req.clone().remove("code_challenge_method"),
    ] {
        let out = browser.authorize(&lab, &bad, true).await;
        assert_eq!(
            query(out.location(), "error").as_deref(),
            Some("invalid_request"),
            "{:?}",
            bad.params
        );
        assert_eq!(query(out.location(), "state").as_deref(), Some("st-123"));
        assert!(query(out.location(), "code").is_none());
    }
    let (public, _) = AuthRequest::new(&lab, PUBLIC_CLIENT_ID);
    let out = browser
        .authorize(
            &lab,
            &public
                .remove("code_challenge")
                .remove("code_challenge_method"),
            true,
        )
        .await;
    assert_eq!(
        query(out.location(), "error").as_deref(),
        Some("invalid_request")
    );

    let code = browser.authorize(&lab, &req, true).await.code();
    let challenge = req
        .params
        .iter()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .clone();
    let wrong = oauthprobe::crypto::pkce_pair().0;
    for v in [
        None,
        Some(wrong.as_str()),
        Some(challenge.as_str()),
        Some("short"),
    ] {
        let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, v).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "verifier {v:?}"
        );
    }
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    assert!(issued(status, &body));
}

#[tokio::test]
async fn weakness_pkce_optional_skips_a_missing_verifier_only() {
    let lab = spawn_lab(&[Weakness::PkceOptional]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = browser.authorize(&lab, &req, true).await.code();
    let wrong = oauthprobe::crypto::pkce_pair().0;
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&wrong)).await;
    assert_eq!(body["error"], "invalid_grant", "{status}");
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, None).await;
    assert!(issued(status, &body), "{body}");
    // A challenge is still required to get a code.
    let out = browser
        .authorize(
            &lab,
            &req.remove("code_challenge").remove("code_challenge_method"),
            true,
        )
        .await;
    assert_eq!(
        query(out.location(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn weakness_pkce_verifier_unchecked_takes_any_verifier() {
    let lab = spawn_lab(&[Weakness::PkceVerifierUnchecked]).await;
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, None).await;
    assert_eq!(
        body["error"], "invalid_grant",
        "a verifier is still required: {status}"
    );
    let (status, body) = redeem(
        &lab,
        BASIC,
        &code,
        &redirect_uri,
        Some(&oauthprobe::crypto::pkce_pair().0),
    )
    .await;
    assert!(issued(status, &body), "{body}");
}

#[tokio::test]
async fn weakness_pkce_plain_accepts_plain_and_the_challenge_as_verifier() {
    let lab = spawn_lab(&[Weakness::PkcePlain]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let challenge = req
        .params
        .iter()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .clone();
    let code = browser.authorize(&lab, &req, true).await.code();
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&challenge)).await;
    assert!(
        issued(status, &body),
        "S256 challenge satisfied by itself: {body}"
    );
    let plain = "p".repeat(50);
    let code = browser
        .authorize(
            &lab,
            &req.set("code_challenge", &plain)
                .set("code_challenge_method", "plain"),
            true,
        )
        .await
        .code();
    let (status, body) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&plain)).await;
    assert!(issued(status, &body), "{body}");
}

#[tokio::test]
async fn verifier_without_challenge_is_refused_even_when_pkce_is_not_required() {
    let lab = spawn_lab(&[Weakness::PkceNotRequired]).await;
    let browser = Browser::new();
    for client in [BASIC, PUBLIC_CLIENT_ID] {
        let (req, verifier) = AuthRequest::new(&lab, client);
        let req = req.remove("code_challenge").remove("code_challenge_method");
        let redirect_uri = lab.client(client).unwrap().redirect_uris[0].clone();
        let code = browser.authorize(&lab, &req, true).await.code();
        let (status, body) = redeem(&lab, client, &code, &redirect_uri, Some(&verifier)).await;
        assert_eq!(body["error"], "invalid_grant", "RFC 9700 §2.1.1: {status}");
        let (status, body) = redeem(&lab, client, &code, &redirect_uri, None).await;
        assert!(issued(status, &body), "{client}: {body}");
    }
    // A challenge that was sent is still checked.
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = browser.authorize(&lab, &req, true).await.code();
    let (_, body) = redeem(&lab, BASIC, &code, &redirect_uri, None).await;
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn token_endpoint_takes_form_posts_only() {
    let lab = spawn_lab(&[]).await;
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let client = lab.client(BASIC).unwrap();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect_uris[0].as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let mut url = lab.base_url().join("token").unwrap();
    url.query_pairs_mut().extend_pairs(params.iter());
    let resp = http()
        .get(url)
        .basic_auth(&client.id, client.secret.as_deref())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(!resp.text().await.unwrap().contains("access_token"));
    let resp = http()
        .post(lab.base_url().join("token").unwrap())
        .basic_auth(&client.id, client.secret.as_deref())
        .json(&serde_json::json!({"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uris[0], "code_verifier": verifier}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let (status, _, body) = token_request(
        &lab,
        BASIC,
        &[params[0], params[1], params[1], params[2], params[3]],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request")),
        "repeated code"
    );
    let (status, _, body) = token_request(&lab, BASIC, &params).await;
    assert!(
        issued(status, &body),
        "the code is still good after the refused attempts: {body}"
    );
}

#[tokio::test]
async fn weakness_token_get_issues_tokens_for_get() {
    let lab = spawn_lab(&[Weakness::TokenGet]).await;
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let client = lab.client(BASIC).unwrap();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let mut url = lab.base_url().join("token").unwrap();
    url.query_pairs_mut()
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", &client.redirect_uris[0])
        .append_pair("code_verifier", &verifier);
    let resp = http()
        .get(url)
        .basic_auth(&client.id, client.secret.as_deref())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(issued(status, &body), "{body}");
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let lab = spawn_lab(&[]).await;
    let url = lab.base_url().join("token").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", "http://127.0.0.1/cb"),
    ];
    let resp = http()
        .post(url.clone())
        .basic_auth(BASIC, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    // The confidential client omitting its secret, as if it were public.
    let resp = http()
        .post(url.clone())
        .form(&[form[0], form[1], form[2], ("client_id", BASIC)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let resp = http()
        .post(url.clone())
        .form(&[
            form[0],
            form[1],
            form[2],
            ("client_id", POST_CLIENT_ID),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, _, body) = token_request(
        &lab,
        POST_CLIENT_ID,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn implicit_grant_and_repeated_parameters_are_refused() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let (req, _) = AuthRequest::new(&lab, BASIC);
    let out = browser
        .authorize(&lab, &req.clone().set("response_type", "token"), true)
        .await;
    assert_eq!(
        query(out.location(), "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert!(out.location().fragment().is_none() && query(out.location(), "access_token").is_none());
    let out = browser
        .authorize(&lab, &req.add("scope", "openid"), true)
        .await;
    assert_eq!(
        query(out.location(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn id_token_is_signed_and_carries_nonce_and_at_hash() {
    let lab = spawn_lab(&[]).await;
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let (_, body) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    let jwt = body["id_token"]
        .as_str()
        .expect("id_token for the openid scope");
    let parts: Vec<&str> = jwt.split('.').collect();
    let dec = |s: &str| {
        serde_json::from_slice::<Value>(&oauthprobe::crypto::b64url_decode(s).unwrap()).unwrap()
    };
    let (header, claims) = (dec(parts[0]), dec(parts[1]));
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["iss"], lab.issuer());
    assert_eq!(claims["aud"], BASIC);
    assert_eq!(claims["nonce"], "n-456");
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(
        claims["at_hash"],
        oauthprobe::crypto::b64url(&oauthprobe::crypto::sha256(at.as_bytes())[..16])
    );
    let jwks: Value = http()
        .get(lab.base_url().join("jwks").unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], header["kid"]);
    let mut point = vec![4u8];
    point.extend(oauthprobe::crypto::b64url_decode(key["x"].as_str().unwrap()).unwrap());
    point.extend(oauthprobe::crypto::b64url_decode(key["y"].as_str().unwrap()).unwrap());
    let sig = oauthprobe::crypto::b64url_decode(parts[2]).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("the ID token verifies against /jwks");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let lab = spawn_lab(&[]).await;
    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let redirect_uri = lab.client(BASIC).unwrap().redirect_uris[0].clone();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let (_, first) = redeem(&lab, BASIC, &code, &redirect_uri, Some(&verifier)).await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, _, other) = token_request(
        &lab,
        POST_CLIENT_ID,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1)],
    )
    .await;
    assert_eq!(
        (status, other["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "bound to the client"
    );
    let (status, _, wider) = token_request(
        &lab,
        BASIC,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt1),
            ("scope", "openid email"),
        ],
    )
    .await;
    assert_eq!(
        (status, wider["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "no widening"
    );
    let (status, _, second) = token_request(
        &lab,
        BASIC,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1)],
    )
    .await;
    assert!(issued(status, &second));
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2, "rotated");
    let (status, _, replay) = token_request(
        &lab,
        BASIC,
        &[("grant_type", "refresh_token"), ("refresh_token", rt1)],
    )
    .await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (_, _, after) = token_request(
        &lab,
        BASIC,
        &[("grant_type", "refresh_token"), ("refresh_token", rt2)],
    )
    .await;
    assert_eq!(after["error"], "invalid_grant", "the family is revoked");
    assert_eq!(
        userinfo_status(&lab, second["access_token"].as_str().unwrap()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn userinfo_and_revocation_follow_rfc6750_and_rfc7009() {
    let lab = spawn_lab(&[]).await;
    let url = lab.base_url().join("userinfo").unwrap();
    let resp = http().get(url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let resp = http()
        .get(url.clone())
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );

    let (req, verifier) = AuthRequest::new(&lab, BASIC);
    let client = lab.client(BASIC).unwrap();
    let code = Browser::new().authorize(&lab, &req, true).await.code();
    let (_, tokens) = redeem(
        &lab,
        BASIC,
        &code,
        &client.redirect_uris[0],
        Some(&verifier),
    )
    .await;
    let at = tokens["access_token"].as_str().unwrap();
    let profile: Value = http()
        .get(url.clone())
        .bearer_auth(at)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile["sub"], "alice");
    assert_eq!(profile["name"], "Alice Example");
    let mut query_url = url.clone();
    query_url.query_pairs_mut().append_pair("access_token", at);
    assert_eq!(
        http().get(query_url).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "no tokens in URLs"
    );
    let resp = http()
        .post(lab.base_url().join("revoke").unwrap())
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(userinfo_status(&lab, at).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn demo_app_signs_in_and_refuses_a_forged_state() {
    let lab = spawn_lab(&[]).await;
    let browser = Browser::new();
    let start = browser
        .http
        .get(lab.base_url().join("app/login").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let authorize = url::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        query(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let req = AuthRequest {
        params: authorize.query_pairs().into_owned().collect(),
    };
    let back = browser.authorize(&lab, &req, true).await;
    let page = browser
        .http
        .get(back.location().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("id=\"profile-name\">Alice Example<"),
        "{html}"
    );
    assert!(
        html.contains("id=\"granted-scopes\">openid profile email<"),
        "{html}"
    );
    assert!(html.contains("id=\"expires-in\">3600<"), "{html}");

    // A callback whose state is not this browser's: the CSRF defence refuses it.
    browser
        .http
        .get(lab.base_url().join("app/login").unwrap())
        .send()
        .await
        .unwrap();
    let mut forged = back.location().clone();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "state")
        .collect();
    forged
        .query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("state", "forged");
    let page = browser.http.get(forged).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("does not match"));
}
