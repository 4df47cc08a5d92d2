//! Metadata (src/flow/discovery.rs through the engine's pre-flight `discover`, and `init`'s
//! target file): documents with random types in known fields, odd URLs (userinfo, IPv6, other
//! ports, encodings), bodies that are not JSON, served on 127.0.0.1. No panic; an accepted
//! document's endpoints all lie in the scope and the canary hears nothing; the file `init`
//! writes is TOML holding only the keys it means to write.

use std::path::Path;

use oauthprobe::engine::{self, ScanOptions};
use oauthprobe::flow::discovery::well_known_urls;
use oauthprobe::target::{AuthMethod, ClientSpec, Target, TargetSpec};
use serde_json::{Value, json};
use url::Url;

use crate::serve::{Reply, Server};
use crate::{Case, Gen, run};

const FIELDS: &[(&str, bool)] = &[
    ("authorization_endpoint", true),
    ("token_endpoint", true),
    ("userinfo_endpoint", false),
    ("revocation_endpoint", false),
    ("jwks_uri", false),
];

pub fn target(issuer: &str, g: &mut Gen) -> Option<Target> {
    let uris = ["http://127.0.0.1/oauthprobe/callback"];
    let spec = TargetSpec {
        name: "fuzz",
        issuer,
        client: ClientSpec {
            id: "client",
            secret: Some("client-secret-1"),
            auth_method: if g.bool() {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::ClientSecretPost
            },
            redirect_uris: uris.to_vec(),
            scope: "openid",
        },
        second_client: None,
        public_client: None,
        username: "alice",
        password: "alice-password-1",
    };
    Target::parse(Path::new("fuzz.toml"), &spec.render(), &|_| None).ok()
}

/// An endpoint as a hostile or broken server writes it.
fn endpoint(g: &mut Gen, server: &Server, issuer: &Url) -> Value {
    let [own, canary] = server.hosts();
    let port = issuer.port().unwrap_or(80);
    let tricks = [
        format!("{}/token", server.base),
        format!("{}/authorize?x=1#f", server.base),
        format!("{}/token", server.canary),
        format!("http://{own}@{canary}/token"),
        format!("http://{canary}\\@{own}/token"),
        format!("http://{canary}#@{own}/token"),
        format!("http://localhost:{port}/token"),
        format!("http://[::ffff:127.0.0.1]:{port}/token"),
        format!("http://127.1:{port}/token"),
        format!("http://2130706433:{port}/token"),
        format!("HTTP://127.0.0.1:{port}/%2e%2e/token"),
        format!("https://127.0.0.1:{port}/token"),
        format!("http://127.0.0.1:{port}.evil.example/token"),
        format!("//{canary}/token"),
        "/token".to_string(),
    ];
    match g.below(6) {
        0 => g.json(2, &["https://as.example/x"]),
        1 => Value::String(g.url(&[own.as_str(), canary.as_str()], &["token"])),
        _ => Value::String(tricks[g.below(tricks.len())].clone()),
    }
}

fn document(g: &mut Gen, server: &Server, issuer: &Url) -> Value {
    // Mostly a sound document with at most one odd member, else odd throughout.
    let sound = g.below(3) > 0;
    let odd_one = g.below(FIELDS.len() * 2);
    let mut doc = serde_json::Map::new();
    let issuer_text = issuer.as_str().trim_end_matches('/').to_string();
    doc.insert(
        "issuer".into(),
        match g.below(5) {
            0 => json!(format!("{issuer_text}/")),
            1 => g.json(1, &[server.canary.as_str()]),
            _ => json!(issuer_text),
        },
    );
    for (i, (field, required)) in FIELDS.iter().enumerate() {
        if *required || g.bool() {
            let v = if sound && i != odd_one {
                json!(format!("{}/{field}", server.base))
            } else {
                endpoint(g, server, issuer)
            };
            doc.insert(field.to_string(), v);
        }
    }
    for key in [
        "response_types_supported",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
        "scopes_supported",
        "grant_types_supported",
    ] {
        if g.bool() {
            let v = match g.below(3) {
                0 => g.json(2, &["code", "S256", "plain", "openid", "\n[x]\nk = 1\n#"]),
                _ => json!([g.text(3, &["code", "\n", "\u{1b}[2J", "\r", "\""]), "S256"]),
            };
            doc.insert(key.into(), v);
        }
    }
    Value::Object(doc)
}

fn reply(g: &mut Gen, doc: &Value) -> Reply {
    let status = g.choose(&[200, 200, 200, 200, 404, 500, 302, 301, 204]);
    let mut headers = vec![(
        "content-type".to_string(),
        g.pick(&[
            "application/json",
            "text/html",
            "application/json; charset=latin1",
            "",
        ])
        .to_string(),
    )];
    if status / 100 == 3 {
        headers.push(("location".into(), g.url(&[], &[])));
    }
    let body = match g.below(10) {
        0 => g.lossy(200).into_bytes(),
        1 => {
            let other = g.json(3, &["issuer"]);
            g.json_text(&other)
        }
        _ => g.json_text(doc),
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn check_init(issuer: &Url, metadata_url: &Url, doc: &Value) {
    let text = oauthprobe::init::render(issuer, metadata_url, doc);
    let parsed: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => panic!("init wrote a file that is not TOML ({e}):\n{text}"),
    };
    let allowed = [
        "name",
        "issuer",
        "endpoints",
        "client",
        "second_client",
        "public_client",
        "login",
    ];
    for key in parsed.keys() {
        assert!(
            allowed.contains(&key.as_str()),
            "init wrote the key {key:?}:\n{text}"
        );
    }
    for line in text.lines() {
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "init wrote a control character: {line:?}"
        );
    }
}

#[test]
fn discovery() {
    run("discovery", Server::start, |server, case: &mut Case| {
        let g = &mut case.g;
        let path = g.pick(&["", "/", "/tenant/a", "/%C3%A9", "/a/", "/a%2Fb", "/.."]);
        let issuer_text = format!("{}{path}", server.base);
        let Some(mut target) = target(&issuer_text, g) else {
            case.reached("target refused");
            return;
        };
        let issuer = target.issuer.clone();
        // Sometimes the target file names endpoints itself, or another origin for the login.
        if g.one_in(4) {
            target.endpoints.token = Url::parse(&format!("{}/named-token", server.base)).ok();
        }
        if g.one_in(8) {
            target.login.extra_origins = vec![Url::parse("https://sso.example/").expect("a URL")];
        }
        let urls = well_known_urls(&issuer);
        let mut script = Vec::new();
        let mut docs = Vec::new();
        for url in &urls {
            let doc = document(g, server, &issuer);
            script.push((url.path().to_string(), reply(g, &doc)));
            docs.push(doc);
        }
        case.note("issuer", &issuer.as_str());
        case.note("replies", &script);
        server.script(script);

        let (client, _navigator) =
            engine::connect(&target, &ScanOptions::default()).expect("a client");
        let session = client.session();
        let result = server
            .runtime
            .block_on(engine::discover(&client, &session, &target));
        assert_eq!(server.canary_hits(), 0, "the canary was contacted");
        match result {
            Ok(found) => {
                case.reached("accepted");
                let ep = &found.endpoints;
                for url in [Some(&ep.authorization), Some(&ep.token)]
                    .into_iter()
                    .chain([
                        ep.userinfo.as_ref(),
                        ep.revocation.as_ref(),
                        ep.jwks.as_ref(),
                    ])
                    .flatten()
                {
                    assert!(
                        client.is_allowed(url),
                        "an endpoint outside the scope: {url}"
                    );
                }
                if let Some(named) = &target.endpoints.token {
                    assert_eq!(
                        &ep.token, named,
                        "the target file's token endpoint was overridden"
                    );
                }
                if let Some(metadata_url) = &found.metadata_url {
                    check_init(&issuer, metadata_url, &found.metadata);
                }
            }
            Err(why) => {
                case.reached("refused");
                assert!(!why.contains("client-secret-1") && !why.contains("alice-password-1"));
            }
        }
        // Whatever the server answered, init's rendering of any document is inert.
        for (url, doc) in urls.iter().zip(&docs) {
            check_init(&issuer, url, doc);
        }
    });
}
