//! The scanner never requests the redirect_uri, however the server spells it: a server that sends
//! the browser to an encoded, case-changed or slash-doubled variant of it (issue 10, item 7: the
//! header checks' redirect walk compared URL text by prefix and fetched `/oauthprobe/%63allback`
//! six times). The redirect_uri lives on a canary origin that the target file puts in scope
//! (`[login] origins`), so only the comparison stands between the scanner and it.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use oauthprobe::engine::{self, ScanOptions};
use oauthprobe::target::Target;

type Params = Query<std::collections::HashMap<String, String>>;

/// An authorization server whose authorization endpoint answers every request with a redirect
/// to `spell(state)`, and whose token endpoint issues a token for any code.
async fn server(spell: impl Fn(&str) -> String + Clone + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
    });
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(meta) }),
        )
        .route(
            "/authorize",
            get(move |Query(q): Params| {
                let to = spell(q.get("state").map_or("", String::as_str));
                async move { (StatusCode::FOUND, [(header::LOCATION, to)]).into_response() }
            }),
        )
        .route(
            "/token",
            post(|| async {
                axum::Json(
                    serde_json::json!({"access_token": "spelling-token", "token_type": "Bearer"}),
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    base
}

fn target(issuer: &str, client: &str) -> Target {
    let text = format!(
        "issuer = \"{issuer}\"\n[client]\nid = \"c\"\nsecret = \"s3cret-value\"\nredirect_uri = \"{client}/oauthprobe/callback\"\nscope = \"openid\"\n[login]\nusername = \"alice\"\npassword = \"pw-value\"\norigins = [\"{client}\"]\n"
    );
    Target::parse(std::path::Path::new("t.toml"), &text, &|_| None).unwrap()
}

/// The whole catalog against a server answering with `spell`; the client's origin gets nothing.
async fn scan_with(spell: impl Fn(&str, &str) -> String + Clone + Send + Sync + 'static) {
    let (client, hits) = crate::common::counting_server("the client").await;
    let at = client.clone();
    let issuer = server(move |state| spell(&at, state)).await;
    let report = engine::scan(target(&issuer, &client), ScanOptions::default())
        .await
        .unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the redirect_uri was requested; preflight: {:?}",
        report.preflight_error
    );
    let framing = report
        .results
        .iter()
        .find(|r| r.meta.id == "headers-anti-framing")
        .unwrap();
    assert!(
        framing.message.contains("redirected away")
            || framing.message == oauthprobe::engine::NOT_RUN_AFTER_PREFLIGHT,
        "the header walk stopped at the redirect: {}",
        framing.message
    );
}

/// The authorization response in the fragment, on an encoded path: the pre-flight reads its
/// code, and the header checks' walk stops there.
#[tokio::test(flavor = "multi_thread")]
async fn an_encoded_redirect_uri_with_the_response_in_the_fragment_is_not_requested() {
    scan_with(|client, state| format!("{client}/oauthprobe/%63allback#code=c0de&state={state}"))
        .await;
}

/// No response at all, the path spelled in another case with doubled slashes: the flow ends
/// there (no code), nothing follows it.
#[tokio::test(flavor = "multi_thread")]
async fn a_recased_slash_doubled_redirect_uri_without_a_response_is_not_requested() {
    scan_with(|client, _| format!("{client}/OAuthProbe//%43allback%2F")).await;
}
