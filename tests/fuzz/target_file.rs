//! The target file parser (src/target.rs): arbitrary TOML-like text and mutated valid files give
//! a target or an error naming a line of the file, never a panic; a rendered file parses back
//! to what was rendered, whatever its strings hold.

use std::path::Path;

use oauthprobe::target::{AuthMethod, ClientSpec, ConfigError, Target, TargetSpec};

use crate::{Case, Gen, run};

const KEYS: &[&str] = &[
    "name",
    "issuer",
    "client",
    "second_client",
    "public_client",
    "login",
    "endpoints",
    "id",
    "secret",
    "secret_env",
    "auth_method",
    "redirect_uri",
    "redirect_uris",
    "scope",
    "mode",
    "command",
    "chromium",
    "chromedriver",
    "origins",
    "username",
    "password",
    "password_env",
    "username_field",
    "password_field",
    "form_selector",
    "approve_button",
    "authorization",
    "token",
    "userinfo",
    "revocation",
    "jwks",
    "tls",
    "ca_cert",
    "\"quoted key\"",
    "'lit'",
    "a.b",
    "é",
];

const VALUES: &[&str] = &[
    "true",
    "false",
    "1",
    "-0",
    "0x10",
    "1e400",
    "inf",
    "nan",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "\"http://127.0.0.1:1\"",
    "\"https://as.example/\"",
    "\"\"",
    "''",
    "\"\\u00e9\"",
    "\"\\U0010FFFF\"",
    "\"\\UFFFFFFFF\"",
    "\"\\x41\"",
    "\"\\\"",
    "'''a\nb'''",
    "\"\"\"\n\"\"\"",
    "[]",
    "[1, \"a\"]",
    "{}",
    "{a = 1}",
    "\"client_secret_basic\"",
    "\"none\"",
    "\"command\"",
    "\"form\"",
    "[\"http://127.0.0.1:1/cb\"]",
    "\"X_PW\"",
];

fn soup(g: &mut Gen) -> String {
    let mut out = String::new();
    for _ in 0..g.len(60) {
        match g.below(14) {
            0 => out.push_str(g.pick(&[
                "[", "]", "[[", "]]", "=", ",", "{", "}", ".", "#", "\"", "'",
            ])),
            1 | 2 => out.push('\n'),
            3 | 4 => out.push_str(g.pick(KEYS)),
            5 | 6 => out.push_str(g.pick(VALUES)),
            7 => out.push_str(" = "),
            8 => out.push_str(&format!("[{}]\n", g.pick(KEYS))),
            9 => out.push_str(&g.text(3, &[])),
            10 => out.push_str(g.pick(&["\r\n", "\r", "\u{feff}", "\0", "\t", "\u{2028}"])),
            11 if g.one_in(6) => {
                let depth = g.range(10, 3000);
                let (open, close) = *g.pick(&[&("[", "]"), &("{a=", "}"), &("[{a=[", "]}]")]);
                out.push_str("k = ");
                out.push_str(&open.repeat(depth));
                if g.bool() {
                    out.push_str(&close.repeat(depth));
                }
                out.push('\n');
            }
            12 => out.push_str(&format!("\"{}\"", g.text(4, &["\\", "\\u", "\\U", "\""]))),
            _ => out.push_str(&g.lossy(8)),
        }
    }
    out
}

fn url(g: &mut Gen) -> String {
    loop {
        let u = g.url(&["127.0.0.1:8080", "as.example"], &["cb"]);
        if url::Url::parse(&u).is_ok_and(|p| matches!(p.scheme(), "http" | "https")) {
            return u;
        }
    }
}

fn odd(g: &mut Gen) -> String {
    let mut s = g.text(6, &["'''", "\"\"\"", "\\", "\n", "\r", "#", "=", "[a]"]);
    if s.is_empty() {
        s.push('x');
    }
    s
}

fn spec_client<'a>(
    auth_method: AuthMethod,
    id: &'a str,
    secret: Option<&'a str>,
    uris: &'a [String],
    scope: &'a str,
) -> ClientSpec<'a> {
    ClientSpec {
        id,
        secret,
        auth_method,
        redirect_uris: uris.iter().map(String::as_str).collect(),
        scope,
    }
}

fn check_error(text: &str, e: &ConfigError) {
    let shown = e.to_string();
    assert!(!shown.is_empty());
    if let Some(line) = e.line {
        let lines = text.split('\n').count();
        assert!(
            (1..=lines).contains(&line),
            "error line {line} outside the file's {lines} lines: {shown}"
        );
    }
}

fn check_target(t: &Target) {
    for c in t.clients() {
        assert!(!c.id.is_empty());
        assert!(!c.redirect_uris.is_empty());
        assert_eq!(c.redirect_uri, c.redirect_uris[0]);
        assert_eq!(
            c.redirect_url.as_str(),
            url::Url::parse(&c.redirect_uri).unwrap().as_str()
        );
        assert!(c.auth_method == AuthMethod::None || c.secret.is_some());
    }
    assert_ne!(t.client.auth_method, AuthMethod::None);
    if let Some(p) = &t.public_client {
        assert_eq!(p.auth_method, AuthMethod::None);
    }
    assert!(matches!(t.issuer.scheme(), "http" | "https"));
    let secrets = t.secrets();
    for c in t.clients() {
        if let Some(s) = &c.secret {
            assert!(s.expose().is_empty() || secrets.iter().any(|x| x == s.expose()));
        }
    }
}

fn parse(text: &str, env: &[(String, String)]) -> Result<Target, ConfigError> {
    Target::parse(Path::new("fuzz.toml"), text, &|name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

/// Mutations of a valid file: lines dropped, doubled or swapped, values replaced, bytes
/// inserted or removed (at character boundaries), the file cut short.
fn mutate(g: &mut Gen, text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    for _ in 0..g.range(1, 4) {
        let i = g.below(lines.len());
        match g.below(7) {
            0 => {
                lines.remove(i);
                if lines.is_empty() {
                    lines.push(String::new());
                }
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                let j = g.below(lines.len());
                lines.swap(i, j);
            }
            3 => {
                if let Some((k, _)) = lines[i].split_once('=') {
                    lines[i] = format!("{k}= {}", g.pick(VALUES));
                }
            }
            4 => lines.insert(i, format!("{} = {}", g.pick(KEYS), g.pick(VALUES))),
            5 => {
                let chars: Vec<char> = lines[i].chars().collect();
                let at = g.below(chars.len() + 1);
                let mut s: String = chars[..at].iter().collect();
                if g.bool() {
                    s.push_str(&g.text(2, &["\"", "'", "[", "]", "\\"]));
                    s.extend(&chars[at..]);
                } else {
                    s.extend(chars.iter().skip(at + 1));
                }
                lines[i] = s;
            }
            _ => {
                let keep = g.below(lines.len() + 1);
                lines.truncate(keep.max(1));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn target_file() {
    run(
        "target_file",
        || (),
        |(), case: &mut Case| {
            let g = &mut case.g;
            let env: Vec<(String, String)> = if g.bool() {
                vec![
                    ("X_PW".into(), g.text(3, &[])),
                    ("LAB_PW".into(), "pw".into()),
                ]
            } else {
                Vec::new()
            };

            // Arbitrary text.
            let text = soup(g);
            case.note("soup", &text);
            match parse(&text, &env) {
                Ok(t) => {
                    case.reached("soup parsed");
                    check_target(&t)
                }
                Err(e) => check_error(&text, &e),
            }

            // A valid file, rendered from odd strings: it parses back to them.
            let g = &mut case.g;
            let name = odd(g);
            let issuer = url(g);
            let id = odd(g);
            let secret = odd(g);
            let n = g.range(1, 3);
            let mut uris: Vec<String> = Vec::new();
            while uris.len() < n {
                let u = url(g);
                if !uris.contains(&u) {
                    uris.push(u);
                }
            }
            let scope = odd(g);
            let username = odd(g);
            let password = odd(g);
            let method = if g.bool() {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::ClientSecretPost
            };
            let public = g.bool();
            let spec = TargetSpec {
                name: &name,
                issuer: &issuer,
                client: spec_client(method, &id, Some(&secret), &uris, &scope),
                second_client: None,
                public_client: public
                    .then(|| spec_client(AuthMethod::None, &id, None, &uris, &scope)),
                username: &username,
                password: &password,
            };
            let rendered = spec.render();
            case.note("rendered", &rendered);
            let t = match parse(&rendered, &env) {
                Ok(t) => t,
                Err(e) => panic!("a rendered file does not parse: {e}"),
            };
            check_target(&t);
            assert_eq!(t.name, name);
            assert_eq!(
                t.issuer.as_str(),
                url::Url::parse(&issuer).unwrap().as_str()
            );
            assert_eq!(t.client.id, id);
            assert_eq!(
                t.client.secret.as_ref().map(|s| s.expose()),
                Some(secret.as_str())
            );
            assert_eq!(t.client.redirect_uris, uris);
            assert_eq!(t.client.scope, scope);
            assert_eq!(t.client.auth_method, method);
            assert_eq!(t.public_client.is_some(), public);
            assert_eq!(t.login.username, username);
            assert_eq!(t.login.password.expose(), password);

            // Mutated.
            let mutated = mutate(&mut case.g, &rendered);
            case.note("mutated", &mutated);
            match parse(&mutated, &env) {
                Ok(t) => {
                    case.reached("mutated parsed");
                    check_target(&t)
                }
                Err(e) => {
                    case.reached("mutated refused");
                    check_error(&mutated, &e)
                }
            }
        },
    );
}
