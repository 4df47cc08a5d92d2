//! A server that writes escape sequences into what the scanner shows: its page title, its
//! metadata strings. Nothing it sends may reach a terminal or a target file as a raw control
//! character: the text stays visible, escaped, and inert.

use std::process::{Command, Output};

use std::collections::HashMap;

use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};

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
    // A table wide enough that no message or pre-flight error is wrapped: the assertions below
    // look for whole strings (and for any fragment of a secret) in the output.
    cmd.env("COLUMNS", "1000");
    crate::common::run(cmd).await
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
    assert!(
        !stderr.contains("panicked") && out.status.code() != Some(101),
        "{stderr}"
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

/// The test user's password, with every character an encoder touches.
const PASSWORD: &str = "Zq&x <Wv> \"Jk\" 'Yh' +%Pm/ö";

/// A sign-in page whose server echoes the password back: HTML-escaped in the page, JSON-escaped
/// in a script, percent-encoded in a link, the way a careless error page does.
async fn echoing_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let meta = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
    });
    let form = "<html><head><title>Sign in</title></head><body><form method=\"post\" action=\"/login\">\
        <input name=\"username\"><input type=\"password\" name=\"password\">\
        <button type=\"submit\">Sign in</button></form></body></html>";
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(meta) }),
        )
        .route("/authorize", get(move || async move { Html(form) }))
        .route(
            "/login",
            post(
                |axum::Form(f): axum::Form<HashMap<String, String>>| async move {
                    let pw = f.get("password").cloned().unwrap_or_default();
                    let html = pw
                        .replace('&', "&amp;")
                        .replace('<', "&lt;")
                        .replace('>', "&gt;")
                        .replace('"', "&quot;")
                        .replace('\'', "&#x27;");
                    let json = serde_json::to_string(&pw)
                        .unwrap()
                        .replace('<', "\\u003c")
                        .replace('&', "\\u0026");
                    let pct: String = url::form_urlencoded::byte_serialize(pw.as_bytes()).collect();
                    Html(format!(
                        "<html><head><title>Wrong password {html}</title></head><body>\
                         <p>The password {html} is wrong.</p><p>You typed: {html}</p>\
                         <script>var typed = {json};</script>\
                         <a href=\"/retry?again={pct}\">again</a></body></html>"
                    ))
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    base
}

/// A server that echoes the password, raw in its title and encoded in its page: the title goes
/// into the pre-flight error and every "not run" message, so the engine passes every message
/// through the redactor, and no output holds the password in any encoding.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_echoed_encoded_is_redacted_in_every_output() {
    let base = echoing_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    let password = toml::Value::String(PASSWORD.into()).to_string();
    std::fs::write(
        &file,
        format!(
            "issuer = \"{base}\"\n[client]\nid = \"c\"\nsecret = \"s3cret-value\"\nredirect_uri = \"{base}/cb\"\n[login]\nusername = \"alice\"\npassword = {password}\n"
        ),
    )
    .unwrap();
    for format in ["json", "table"] {
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--color", "never", "--format", format, "--config"])
            .arg(&file);
        let out = run(cmd).await;
        let all = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains("Wrong password") || all.contains("wrong"),
            "the echo page is in the evidence, or this test shows nothing:\n{all}"
        );
        // Each fragment carries a character that random tokens (state, PKCE, codes) never hold,
        // in every encoding the page uses, so a match is the password and not chance.
        for part in [
            "Zq&x",
            "Zq&amp;x",
            "Zq%26x",
            "Zq\\u0026x",
            "<Wv>",
            "&lt;Wv&gt;",
            "%3CWv%3E",
            "\\u003cWv\\u003e",
            "\"Jk\"",
            "&quot;Jk&quot;",
            "%22Jk%22",
            "\\\"Jk\\\"",
            "'Yh'",
            "&#x27;Yh&#x27;",
            "&#39;Yh&#39;",
            "%27Yh%27",
            "%Pm",
            "%25Pm",
        ] {
            assert!(
                !all.contains(part),
                "{format}: a part of the password ({part}) is in the output:\n{all}"
            );
        }
    }
}
