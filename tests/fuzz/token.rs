//! Token responses (src/flow/token.rs over the real HTTP client, on 127.0.0.1): random types in
//! the known members, bodies that are not JSON, odd headers. No panic; `issued` means a 200 with
//! a non-empty access_token and nothing less; no secret sent or token received appears in the
//! transcript or in an error.

use oauthprobe::engine::{self, ScanOptions};
use oauthprobe::flow::jwt::Jws;
use oauthprobe::flow::token;
use oauthprobe::http::redact::{MIN_KNOWN_LEN, REDACTED};
use serde_json::{Value, json};
use url::Url;

use crate::discovery::target;
use crate::serve::{Reply, Server};
use crate::{Case, Gen, run};

fn token_value(g: &mut Gen) -> Value {
    match g.below(8) {
        0 => g.json(2, &["", "x"]),
        1 => json!(""),
        2 => json!(g.text(8, &["eyJ", ".", "\"", "\\", "%", "&", " "])),
        3 => json!(format!("{}.{}.{}", g.alnum(20), g.alnum(30), g.alnum(40))),
        _ => {
            let n = g.range(1, 64);
            json!(g.alnum(n))
        }
    }
}

fn body(g: &mut Gen, code: &str) -> Value {
    let mut doc = serde_json::Map::new();
    for key in ["access_token", "refresh_token", "id_token"] {
        if g.below(4) > 0 {
            let v = token_value(g);
            doc.insert(key.into(), v);
        }
    }
    for (key, choices) in [
        ("token_type", &["Bearer", "bearer", "DPoP", ""][..]),
        (
            "error",
            &["invalid_grant", "invalid_client", "", "\u{1b}[2J"][..],
        ),
        (
            "scope",
            &["openid", "openid  profile", " ", "openid\nemail"][..],
        ),
        ("expires_in", &["3600", "-1"][..]),
    ] {
        if g.bool() {
            let v = if g.bool() {
                json!(g.pick(choices))
            } else {
                g.json(1, choices)
            };
            doc.insert(key.into(), v);
        }
    }
    if g.one_in(6) {
        doc.insert("echo".into(), json!(format!("you sent code={code}")));
    }
    Value::Object(doc)
}

/// Secrets whose absence can be asserted: long enough to be known, and not made of the
/// marker's own text.
fn checkable(s: &str) -> bool {
    s.chars().count() >= MIN_KNOWN_LEN && !s.contains(['«', '»']) && !REDACTED.contains(s)
}

#[test]
fn token() {
    run("token", Server::start, |server, case: &mut Case| {
        let g = &mut case.g;
        let Some(target) = target(&server.base, g) else {
            panic!("the fuzz target file does not parse");
        };
        let code_len = g.range(6, 30);
        let code = g.alnum(code_len);
        let verifier = g.alnum(43);
        let json = body(g, &code);
        let status = g.choose(&[200, 200, 200, 400, 401, 500, 302]);
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        for _ in 0..g.len(3) {
            let (name, value) = match g.below(4) {
                0 => (
                    "cache-control",
                    g.pick(&[
                        "no-store",
                        "No-Store, private",
                        "no-store=1",
                        "max-age=0",
                        "",
                    ])
                    .to_string(),
                ),
                1 => ("set-cookie", format!("sid={}; HttpOnly", g.alnum(12))),
                2 => (
                    "x-echo",
                    json["access_token"].as_str().unwrap_or("x").to_string(),
                ),
                _ => ("pragma", g.text(3, &[])),
            };
            headers.push((name.to_string(), value));
        }
        let bytes = match g.below(10) {
            0 => g.lossy(300).into_bytes(),
            // An echo of the code where the recorded excerpt is cut (4096 characters), after
            // multi-byte text.
            1 => {
                let pad = g.pick(&["é", "a", "😀", "\\u00e9", "&amp;"]);
                let n = g.range(4000, 4100) / pad.chars().count();
                format!("{}code={code}&x={code}", pad.repeat(n)).into_bytes()
            }
            _ => g.json_text(&json),
        };
        case.note("status", &status);
        case.note("headers", &headers);
        case.note("body", &String::from_utf8_lossy(&bytes));
        server.script(vec![(
            "/token".to_string(),
            Reply {
                status,
                headers,
                body: bytes.clone(),
            },
        )]);

        let (client, _navigator) =
            engine::connect(&target, &ScanOptions::default()).expect("a client");
        let session = client.session();
        let url = Url::parse(&format!("{}/token", server.base)).expect("a URL");
        let form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.clone()),
            (
                "redirect_uri".to_string(),
                target.client.redirect_uri.clone(),
            ),
            ("code_verifier".to_string(), verifier.clone()),
        ];
        let req = token::authenticated(&target.client, url, form);
        let result = server
            .runtime
            .block_on(token::send(&session, "redeem", req));
        assert_eq!(server.canary_hits(), 0);

        let mut secrets = vec![
            "client-secret-1".to_string(),
            "alice-password-1".to_string(),
            code.clone(),
            verifier.clone(),
        ];
        match &result {
            Ok(tr) => {
                let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
                let access = parsed
                    .as_ref()
                    .and_then(|j| j.get("access_token"))
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                assert_eq!(
                    tr.issued(),
                    tr.status == 200 && access.is_some(),
                    "issued()"
                );
                assert_eq!(tr.status, status);
                let _ = tr.describe();
                let _ = tr.scopes();
                let no_store = tr
                    .headers
                    .iter()
                    .filter(|(k, _)| k == "cache-control")
                    .flat_map(|(_, v)| v.split(','))
                    .any(|d| d.trim().eq_ignore_ascii_case("no-store"));
                assert_eq!(tr.is_no_store(), no_store);
                case.reached(if tr.issued() { "issued" } else { "not issued" });
                for key in ["access_token", "refresh_token", "id_token"] {
                    if let Some(t) = tr.field(key) {
                        secrets.push(t.to_string());
                    }
                }
                if let Some(id_token) = tr.field("id_token") {
                    if let Ok(jws) = Jws::parse(id_token) {
                        let _ = jws.verify(&json!({"keys": [{"kty": "EC", "crv": "P-256"}]}));
                    }
                }
            }
            Err(e) => {
                case.reached("error");
                let shown = e.to_string();
                for s in secrets.iter().filter(|s| checkable(s)) {
                    assert!(
                        !shown.contains(s.as_str()),
                        "the error shows {s:?}: {shown}"
                    );
                }
            }
        }
        let transcript = session.transcript();
        case.note("transcript", &transcript);
        let mut texts: Vec<&str> = Vec::new();
        for ex in &transcript {
            texts.push(&ex.step);
            texts.push(&ex.request.url);
            texts.extend(ex.request.headers.iter().map(|(_, v)| v.as_str()));
            texts.extend(ex.request.body.as_deref());
            texts.extend(ex.error.as_deref());
            if let Some(resp) = &ex.response {
                texts.extend(resp.headers.iter().map(|(_, v)| v.as_str()));
                texts.push(&resp.body);
            }
        }
        for s in secrets.iter().filter(|s| checkable(s)) {
            for t in &texts {
                assert!(
                    !t.replace(REDACTED, "«»").contains(s.as_str()),
                    "{s:?} is in the transcript: {t:?}"
                );
            }
        }
    });
}
