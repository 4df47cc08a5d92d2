//! Discovery: endpoints come from the issuer's metadata; one left out of the first document
//! is taken from the issuer's other one, when it names the same issuer.

use std::path::Path;

use axum::Router;
use axum::routing::get;
use oauthprobe::engine::{self, ScanOptions};
use oauthprobe::target::Target;
use serde_json::json;

#[tokio::test]
async fn an_endpoint_missing_from_one_document_comes_from_the_other() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = base.clone();
    // The RFC 8414 document names revocation but not userinfo; the OpenID one the reverse.
    let oauth = json!({"issuer": issuer, "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"), "revocation_endpoint": format!("{base}/revoke")});
    let oidc = json!({"issuer": issuer, "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"), "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks")});
    let router = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(oauth) }),
        )
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(oidc) }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });

    let text = format!(
        "issuer = \"{issuer}\"\n[client]\nid = \"c\"\nsecret = \"s\"\nredirect_uri = \"http://127.0.0.1:9/cb\"\n[login]\nusername = \"u\"\npassword = \"p\"\n"
    );
    let target = Target::parse(Path::new("t.toml"), &text, &|_| None).unwrap();
    let opts = ScanOptions::default();
    let (client, _navigator) = engine::connect(&target, &opts).unwrap();
    let session = client.session();
    let found = engine::discover(&client, &session, &target).await.unwrap();
    let ep = &found.endpoints;
    assert_eq!(ep.revocation.as_ref().map(|u| u.path()), Some("/revoke"));
    assert_eq!(ep.userinfo.as_ref().map(|u| u.path()), Some("/userinfo"));
    assert_eq!(ep.jwks.as_ref().map(|u| u.path()), Some("/jwks"));
    // The checks judge the document the server serves first, not a blend of the two.
    assert!(found.metadata.get("userinfo_endpoint").is_none());
}
