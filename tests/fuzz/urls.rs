//! URL comparisons: the client's scope (src/http/client.rs `is_allowed`), what the HTTP stack
//! would connect to for an allowed URL, and the user agent's "this redirect leaves the server"
//! (src/flow/authorize.rs `leaves_the_server`) for URLs spelt oddly: userinfo, IPv6, encoded
//! characters, dot segments, default ports, case, fragments.

use std::sync::Arc;

use axum::http::Uri;
use oauthprobe::flow::authorize::{AuthRequest, is_at_or_under, leaves_the_server};
use oauthprobe::flow::discovery::well_known_urls;
use oauthprobe::http::{HttpSession, Limits, Redactor, Response, ScanClient};
use url::Url;

use crate::{Case, Gen, run};

const ALLOWED: &[&str] = &[
    "http://127.0.0.1:8080/",
    "https://as.example/",
    "http://[::1]:9000/",
    "https://xn--caf-dma.example:8443/",
];

const OWN_HOSTS: &[&str] = &[
    "127.0.0.1:8080",
    "as.example",
    "[::1]:9000",
    "café.example:8443",
    "xn--caf-dma.example:8443",
];

/// Redirect URIs and endpoints: on the server's origins (the lab's own callback, one at the
/// root, encoded and non-ASCII paths) and off them.
const REGISTERED: &[&str] = &[
    "http://127.0.0.1:8080/app/callback",
    "http://127.0.0.1:8080/",
    "http://127.0.0.1:8080/app/callback?x=1",
    "http://127.0.0.1:8080/app/%C3%A9/cb",
    "https://as.example/cb",
    "https://as.example/a%2Fb/cb",
    "https://client.example/cb",
    "http://[::1]:9000/cb#frag",
];

const ENDPOINTS: &[&str] = &[
    "http://127.0.0.1:8080/authorize",
    "https://as.example/oauth2/auth",
    "http://[::1]:9000/auth?tenant=a",
    "http://127.0.0.1:8080/app/callback/authorize",
];

pub struct State {
    http: HttpSession,
    origins: Vec<(String, String, u16)>,
}

fn setup() -> State {
    let urls: Vec<Url> = ALLOWED
        .iter()
        .map(|u| Url::parse(u).expect("a valid URL"))
        .collect();
    let client = ScanClient::new(
        urls.iter().map(Url::origin).collect(),
        Limits::default(),
        false,
        Arc::new(Redactor::new(Vec::new())),
    )
    .expect("a scan client");
    let origins = urls
        .iter()
        .map(|u| {
            (
                u.scheme().to_string(),
                u.host_str().unwrap_or_default().to_string(),
                u.port_or_known_default().unwrap_or_default(),
            )
        })
        .collect();
    State {
        http: client.session(),
        origins,
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 3986 §6.2.2 for a path: escapes of unreserved characters decoded, other escapes in
/// upper case (the oracle: written apart from the product's code).
fn normal_path(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let v = h * 16 + l;
                if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                    out.push(v);
                } else {
                    out.extend(format!("%{v:02X}").bytes());
                }
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The resource a URL names, query and fragment aside, normalised.
fn resource(u: &Url) -> (String, Option<String>, Option<u16>, String) {
    (
        u.scheme().to_string(),
        u.host_str().map(str::to_string),
        u.port_or_known_default(),
        normal_path(u.path()),
    )
}

/// The same URL spelt another way: case, explicit default port, encoded unreserved characters,
/// hex case, dot segments.
fn respell(g: &mut Gen, u: &Url) -> String {
    let scheme = if g.bool() {
        u.scheme().to_uppercase()
    } else {
        u.scheme().to_string()
    };
    let host = u.host_str().unwrap_or_default();
    let host = if g.bool() {
        host.to_uppercase()
    } else {
        host.to_string()
    };
    let port = match (u.port(), g.bool()) {
        (Some(p), _) => format!(":{p}"),
        (None, true) => format!(":{}", u.port_or_known_default().unwrap_or(80)),
        (None, false) => String::new(),
    };
    let mut path = String::new();
    let raw = u.path().as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'%' && i + 2 < raw.len() {
            let esc = &u.path()[i..i + 3];
            path.push_str(&if g.bool() {
                esc.to_lowercase()
            } else {
                esc.to_uppercase()
            });
            i += 3;
            continue;
        }
        if (c.is_ascii_alphanumeric() || b"-._~".contains(&c)) && g.one_in(3) {
            path.push_str(&if g.bool() {
                format!("%{c:02X}")
            } else {
                format!("%{c:02x}")
            });
        } else if c == b'/' && g.one_in(4) {
            path.push_str(g.pick(&["/./", "/x/../", "/"]));
        } else {
            path.push(c as char);
        }
        i += 1;
    }
    format!("{scheme}://{host}{port}{path}")
}

fn with_params(g: &mut Gen, base: &str, state: &str) -> String {
    let params: &[&str] = &[
        "code=abc",
        "code=",
        "error=access_denied",
        "state=",
        "iss=x",
        "response_type=code",
        "client_id=c",
        "x=1",
    ];
    let mut q: Vec<String> = (0..g.len(3)).map(|_| g.pick(params).to_string()).collect();
    if g.bool() {
        q.push(format!("state={}", if g.bool() { state } else { "other" }));
    }
    let mut out = base.to_string();
    if !q.is_empty() || g.one_in(4) {
        out.push(if g.one_in(4) { '#' } else { '?' });
        out.push_str(&q.join("&"));
    }
    if g.one_in(4) {
        out.push_str("#code=frag");
    }
    out
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// The scope, against an oracle built from the URL's parts, and what the HTTP stack connects
/// to (reqwest parses the URL's text again, as a URI).
fn scope(state: &State, case: &mut Case, u: &Url) {
    let allowed = state.http.is_allowed(u);
    let expected = matches!(u.scheme(), "http" | "https")
        && state.origins.iter().any(|(s, h, p)| {
            s == u.scheme()
                && Some(h.as_str()) == u.host_str()
                && Some(*p) == u.port_or_known_default()
        });
    assert_eq!(
        allowed, expected,
        "is_allowed({u}) disagrees with its origin"
    );
    case.reached(if allowed { "allowed" } else { "refused" });

    if matches!(u.scheme(), "http" | "https") {
        let again = Url::parse(u.as_str()).expect("a serialised URL parses");
        assert_eq!(&again, u, "the URL does not parse back to itself");
        if let Ok(uri) = u.as_str().parse::<Uri>() {
            assert_eq!(uri.scheme_str(), Some(u.scheme()), "scheme of {u}");
            assert_eq!(uri.host(), u.host_str(), "host of {u} as a URI");
            assert_eq!(
                uri.port_u16().unwrap_or(default_port(u.scheme())),
                u.port_or_known_default().unwrap_or_default(),
                "port of {u} as a URI"
            );
        } else if allowed {
            case.reached("allowed but not a URI");
        }
        for w in well_known_urls(u) {
            assert_eq!(
                w.origin(),
                u.origin(),
                "a well-known URL leaves the issuer's origin"
            );
        }
    }
}

#[test]
fn urls() {
    run("urls", setup, |state, case: &mut Case| {
        let g = &mut case.g;
        let raw = g.url(OWN_HOSTS, &["cb", "callback", "authorize", "app"]);
        case.note("url", &raw);
        match Url::parse(&raw) {
            Ok(u) => scope(state, case, &u),
            Err(_) => case.reached("not a URL"),
        }

        // A Location header resolved against an allowed page.
        let g = &mut case.g;
        let page = Url::parse(ENDPOINTS[g.below(ENDPOINTS.len())]).expect("a valid URL");
        let location = g.url(OWN_HOSTS, &["cb"]);
        let resp = Response {
            status: 302,
            headers: vec![("location".into(), location.clone())],
            body: Vec::new(),
            final_url: page.clone(),
        };
        assert_eq!(resp.location(), page.join(location.trim()).ok());

        // Does a redirect leave the server?
        let registered = Url::parse(g.pick(REGISTERED)).expect("a valid URL");
        let ours = if g.bool() {
            g.pick(REGISTERED).to_string()
        } else {
            respell(g, &registered)
        };
        let endpoint = Url::parse(g.pick(ENDPOINTS)).expect("a valid URL");
        let sent_state = "s7";
        let request = AuthRequest {
            params: vec![
                ("response_type".into(), "code".into()),
                ("client_id".into(), "c".into()),
                ("redirect_uri".into(), ours.clone()),
                ("state".into(), sent_state.into()),
            ],
            verifier: None,
        };
        let ours_url = Url::parse(&ours).ok();
        let base = match g.below(5) {
            0 => respell(g, &registered),
            1 => match &ours_url {
                Some(o) => respell(g, o),
                None => raw.clone(),
            },
            2 => respell(g, &endpoint),
            _ => raw.clone(),
        };
        let target = with_params(g, &base, sent_state);
        case.note("registered", &registered.as_str());
        case.note("redirect_uri sent", &ours);
        case.note("endpoint", &endpoint.as_str());
        case.note("location", &target);
        let Ok(loc) = Url::parse(&target) else {
            return;
        };
        let leaves = leaves_the_server(&state.http, &loc, &request, &registered, &endpoint);
        if !leaves {
            assert!(
                state.http.is_allowed(&loc),
                "a redirect off the origins would be followed"
            );
        }
        let here = resource(&loc);
        let to_client =
            here == resource(&registered) || ours_url.as_ref().is_some_and(|o| resource(o) == here);
        if to_client {
            case.reached("to the redirect_uri");
            assert!(
                leaves,
                "a redirect to the redirect_uri, spelt {loc}, would be followed"
            );
        } else if state.http.is_allowed(&loc)
            // By design a URL at or under a redirect_uri is taken for it (read, never
            // requested), even when it is the endpoint: a redirect_uri at the server's root
            // ends the flow at its first redirect.
            && !is_at_or_under(&loc, &registered)
            && !ours_url.as_ref().is_some_and(|o| is_at_or_under(&loc, o))
            && here == resource(&endpoint)
            && loc
                .query_pairs()
                .any(|(k, _)| k == "response_type" || k == "client_id")
        {
            case.reached("back to the endpoint");
            assert!(
                !leaves,
                "a redirect back to the authorization endpoint ({loc}) ends the flow"
            );
        }
    });
}
