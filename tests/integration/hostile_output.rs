//! A server that writes escape sequences into what the scanner shows: its page title, its
//! metadata strings. Nothing it sends may reach a terminal or a target file as a raw control
//! character: the text stays visible, escaped, and inert.

use std::process::{Command, Output};

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use crate::common::oauthprobe;

/// Sets the window title, clears the screen, and paints a forged PASS in green.
const EVIL: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[32mPASS\u{1b}[0m\u{9b}31m";

/// An authorization server on 127.0.0.1:0 whose metadata strings and sign-in page carry [`EVIL`].
async fn hostile_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code", format!("code{EVIL}")],
        // A newline that would start a TOML line of its own in a comment.
        "grant_types_supported": ["authorization_code\nname = \"injected\"\r\n[injected]"],
        "scopes_supported": ["openid", format!("profile{EVIL}")],
        "code_challenge_methods_supported": [format!("S256{EVIL}")],
        "token_endpoint_auth_methods_supported": [format!("client_secret_basic{EVIL}")],
    });
    let page = format!(
        "<html><head><title>Sign in {EVIL}</title></head><body><h1>{EVIL}</h1><p>no form here</p></body></html>"
    );
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(meta) }),
        )
        .route("/authorize", get(move || async move { Html(page) }));
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    base
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs"))
        .await
        .expect("the blocking task ends")
}

/// The raw control characters in `bytes` other than newline and tab, with their offsets.
fn raw_controls(bytes: &[u8]) -> Vec<(usize, u8)> {
    let text = String::from_utf8_lossy(bytes);
    text.char_indices()
        .filter(|&(_, c)| c.is_control() && c != '\n' && c != '\t')
        .map(|(i, c)| (i, c as u32 as u8))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_from_the_server_reach_neither_the_table_nor_stderr() {
    let base = hostile_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    std::fs::write(
        &file,
        format!(
            "issuer = \"{base}\"\n[client]\nid = \"c\"\nsecret = \"s3cret-value\"\nredirect_uri = \"{base}/cb\"\n[login]\nusername = \"alice\"\npassword = \"pw-value\"\n"
        ),
    )
    .unwrap();
    let mut cmd = oauthprobe();
    cmd.args(["scan", "--color", "never", "--config"])
        .arg(&file);
    let out = run(cmd).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stdout.contains("CHECK") && stderr.contains("could not be scanned"),
        "the scan ran and its pre-flight failed on the page without a form:\n{stdout}\n{stderr}"
    );
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let raw = raw_controls(bytes);
        assert!(
            raw.is_empty(),
            "{name} holds raw control characters {raw:?}:\n{}",
            String::from_utf8_lossy(bytes).escape_debug()
        );
    }
    // What the server sent is still there to read, escaped: the page title in the pre-flight
    // error, on stderr and in the table.
    let shown = "Sign in \\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{1b}[32mPASS";
    assert!(stderr.contains(shown), "{stderr}");
    assert!(stdout.contains(shown), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_metadata_strings_escaped_into_a_valid_file() {
    let base = hostile_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    let mut cmd = oauthprobe();
    cmd.args(["init", "--issuer", &base, "--output"]).arg(&file);
    let out = run(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let raw = raw_controls(&bytes);
    assert!(raw.is_empty(), "raw control characters {raw:?} in:\n{text}");
    assert!(raw_controls(&out.stderr).is_empty());
    let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        !parsed.contains_key("injected"),
        "a metadata newline started a table of its own:\n{text}"
    );
    assert_eq!(
        parsed["name"].as_str(),
        Some("127.0.0.1"),
        "a metadata newline set a key:\n{text}"
    );
    // Visible, but inert.
    assert!(
        text.contains("authorization_code\\nname = \"injected\"\\r\\n[injected]"),
        "{text}"
    );
    assert!(text.contains("profile\\u{1b}]0;owned\\u{7}"), "{text}");
}
