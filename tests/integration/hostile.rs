//! Servers that misbehave on purpose: the scanner stays within the target's origins, bounds
//! what it reads, and says what went wrong.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use oauthprobe::engine::{self, ScanOptions, Status};
use oauthprobe::target::Target;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}")
}

/// A fake authorization server whose /authorize is `authorize`.
async fn fake_server(authorize: Router<()>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = serde_json::json!({
        "issuer": base, "authorization_endpoint": format!("{base}/authorize"), "token_endpoint": format!("{base}/token"),
    });
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(meta) }),
        )
        .merge(authorize);
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    base
}

fn target(issuer: &str) -> Target {
    let text = format!(
        "issuer = \"{issuer}\"\n[client]\nid = \"c\"\nsecret = \"s3cret-value\"\nredirect_uri = \"{issuer}/cb\"\n[login]\nusername = \"alice\"\npassword = \"pw-value\"\n"
    );
    Target::parse(std::path::Path::new("t.toml"), &text, &|_| None).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_origin_is_read_not_followed() {
    let (elsewhere, hits) = crate::common::counting_server("bystander").await;
    let to = format!("{elsewhere}/steal");
    let base = fake_server(Router::new().route(
        "/authorize",
        get(move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]).into_response() }),
    ))
    .await;
    let report = engine::scan(target(&base), ScanOptions::default())
        .await
        .unwrap();
    let err = report
        .preflight_error
        .expect("no code, so the pre-flight fails");
    assert!(
        err.contains(&elsewhere) && err.contains("did not return a code"),
        "{err}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing was sent to the other origin"
    );
    // Sign-in failed: every check that needs a user is an error; the others still ran.
    assert!(
        report
            .results
            .iter()
            .filter(|r| r.meta.sign_in)
            .all(|r| r.status == Status::Error)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_form_posting_elsewhere_is_refused_with_the_reason() {
    let (elsewhere, hits) = crate::common::counting_server("bystander").await;
    let page = format!(
        "<title>Sign in</title><form method=post action=\"{elsewhere}/collect\"><input name=username><input type=password name=password><button>Sign in</button></form>"
    );
    let base =
        fake_server(Router::new().route("/authorize", get(move || async move { Html(page) })))
            .await;
    let report = engine::scan(target(&base), ScanOptions::default())
        .await
        .unwrap();
    let err = report.preflight_error.expect("login cannot proceed");
    assert!(
        err.contains("login failed at")
            && err.contains("outside the target's origins")
            && err.contains("\"Sign in\""),
        "{err}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the password was not sent off the target's origin"
    );
    assert!(!err.contains("pw-value"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_metadata_document_is_not_read_whole() {
    let big = "x".repeat(3 << 20);
    let app = Router::new().route(
        "/.well-known/oauth-authorization-server",
        get(move || async move { big }),
    );
    let base = serve(app).await;
    let opts = ScanOptions {
        limits: oauthprobe::http::Limits {
            max_body_bytes: 1 << 20,
            ..Default::default()
        },
        ..ScanOptions::default()
    };
    let report = engine::scan(target(&base), opts).await.unwrap();
    let err = report.preflight_error.expect("no usable metadata");
    assert!(
        err.contains("no metadata found") && err.contains("1048576"),
        "{err}"
    );
}

/// Metadata that names another issuer and puts every endpoint on another origin (a canary that
/// counts what it gets): RFC 8414 §3.3 says such metadata MUST NOT be used. The scan stops
/// before any secret, code or password is sent, and says what to name if the origin is real.
#[tokio::test(flavor = "multi_thread")]
async fn metadata_pointing_at_another_origin_is_not_used() {
    let (canary, hits) = crate::common::counting_server("bystander").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = serde_json::json!({
        "issuer": canary,
        "authorization_endpoint": format!("{canary}/authorize"),
        "token_endpoint": format!("{canary}/token"),
        "userinfo_endpoint": format!("{canary}/userinfo"),
    });
    let app = Router::new().route(
        "/.well-known/oauth-authorization-server",
        get(move || async move { axum::Json(meta) }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });

    let report = engine::scan(target(&base), ScanOptions::default())
        .await
        .unwrap();
    let err = report.preflight_error.expect("the scan stops");
    assert!(
        err.contains(&format!("the authorization endpoint at {canary}/authorize"))
            && err.contains("[endpoints] authorization")
            && err.contains(&format!("names the issuer \"{canary}\"")),
        "{err}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the other origin"
    );
    assert!(report.results.iter().all(|r| r.status == Status::Error));
}

/// An https token endpoint's plain-http twin is asked once, by the TLS check's probe, and never
/// joins the scope: a later redirect to http:// is not followed.
#[test]
fn a_plaintext_twin_never_joins_the_scope() {
    use oauthprobe::http::{Limits, Redactor, Request, ScanClient};
    let https = url::Url::parse("https://127.0.0.1:1/token").unwrap();
    let client = ScanClient::new(
        vec![https.origin()],
        Limits::default(),
        false,
        Arc::new(Redactor::new(Vec::new())),
    )
    .unwrap();
    let http = client.session();
    let plain = url::Url::parse("http://127.0.0.1:1/token").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A plain request, not marked as the probe, is refused unsent.
    let refused = rt.block_on(http.send("plain", Request::get(plain.clone())));
    assert!(
        matches!(refused, Err(oauthprobe::http::HttpError::OffOrigin { .. })),
        "{refused:?}"
    );
    assert!(!client.is_allowed(&plain));
}

/// A token endpoint that never issues a token (it answers 307): a refusal then proves nothing,
/// so no check that rests on one may pass. The pre-flight's control redemption shows the server
/// issues no tokens even to a correct request, and those checks end in error saying so.
#[tokio::test(flavor = "multi_thread")]
async fn refusals_prove_nothing_when_no_token_is_ever_issued() {
    use axum::extract::Query;
    use std::collections::HashMap;
    let authorize = Router::new()
        .route(
            "/authorize",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let mut to =
                    url::Url::parse(q.get("redirect_uri").map_or("http://127.0.0.1:9/cb", |s| s))
                        .unwrap();
                to.query_pairs_mut()
                    .append_pair("code", &oauthprobe::crypto::random_token(32));
                if let Some(s) = q.get("state") {
                    to.query_pairs_mut().append_pair("state", s);
                }
                (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
            }),
        )
        .route(
            "/token",
            axum::routing::any(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/token2")],
                )
                    .into_response()
            }),
        );
    let base = fake_server(authorize).await;
    let report = engine::scan(target(&base), ScanOptions::default())
        .await
        .unwrap();
    let mut controlled = 0;
    for r in &report.results {
        if r.meta.token_control {
            assert_ne!(r.status, Status::Pass, "{}: {}", r.meta.id, r.message);
            if r.status == Status::Error && r.message.contains("a refusal proves nothing") {
                controlled += 1;
            }
        }
    }
    // Nineteen of them ran against this target (the rest need a second or public client) and
    // refused; every one is now an error that names the failed control.
    assert!(
        controlled >= 15,
        "{controlled} checks named the failed control"
    );
    assert!(
        report
            .results
            .iter()
            .any(|r| r.meta.id == "metadata-issuer-matches" && r.status == Status::Pass),
        "checks that need no token still pass"
    );
}
