//! The browser's cookies stay in the browser: token, revocation and userinfo requests are the
//! client's back channel and carry none, as a real client's server sends them.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use oauthprobe::flow::token;
use oauthprobe::http::{Limits, Redactor, Request, ScanClient};
use url::Url;

#[tokio::test]
async fn token_and_bearer_requests_carry_no_browser_cookies() {
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let record = |path: &'static str, seen: Arc<Mutex<Vec<(String, bool)>>>| {
        move |headers: HeaderMap| async move {
            seen.lock()
                .unwrap()
                .push((path.to_string(), headers.contains_key(header::COOKIE)));
            "{}"
        }
    };
    let router = Router::new()
        .route(
            "/login",
            get(|| async {
                (
                    [(header::SET_COOKIE, "session=s3cr3t; Path=/")],
                    "signed in",
                )
                    .into_response()
            }),
        )
        .route("/page", get(record("/page", seen.clone())))
        .route("/token", post(record("/token", seen.clone())))
        .route("/userinfo", get(record("/userinfo", seen.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let client = ScanClient::new(
        vec![base.origin()],
        Limits::default(),
        false,
        Arc::new(Redactor::new(Vec::new())),
    )
    .unwrap();
    let http = client.session();
    http.send("sign in", Request::get(base.join("login").unwrap()))
        .await
        .unwrap();
    http.send("a page", Request::get(base.join("page").unwrap()))
        .await
        .unwrap();
    token::send(
        &http,
        "redeem",
        Request::post_form(
            base.join("token").unwrap(),
            [("grant_type", "authorization_code")],
        ),
    )
    .await
    .unwrap();
    http.send(
        "userinfo",
        Request::get(base.join("userinfo").unwrap()).bearer("at"),
    )
    .await
    .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("/page".to_string(), true),
            ("/token".to_string(), false),
            ("/userinfo".to_string(), false)
        ],
        "the browser's session cookie reaches its pages only"
    );
    // The evidence records what was sent: a cookie on the page, none on the back channel.
    let recorded: Vec<(String, bool)> = http
        .transcript()
        .iter()
        .map(|x| {
            let cookie = x.request.headers.iter().any(|(n, _)| n == "cookie");
            (x.request.url.clone(), cookie)
        })
        .filter(|(url, _)| !url.ends_with("/login"))
        .map(|(url, cookie)| (url.rsplit('/').next().unwrap_or("").to_string(), cookie))
        .collect();
    assert_eq!(
        recorded,
        [
            ("page".to_string(), true),
            ("token".to_string(), false),
            ("userinfo".to_string(), false)
        ]
    );
}
