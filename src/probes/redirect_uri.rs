//! Redirect URI validation at the authorization and token endpoints.

use std::net::IpAddr;

use url::Url;

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeResult};
use crate::flow::authorize::{AuthOutcome, Consent};

/// One manipulated redirect_uri and what it imitates.
pub struct Variant {
    pub name: &'static str,
    pub uri: String,
}

const ATTACKER: &str = "attacker.example";

/// The registered URI with one more path segment: a prefix match would still accept it.
fn with_path_suffix(registered: &str) -> String {
    if registered.ends_with('/') {
        format!("{registered}oauthprobe")
    } else {
        format!("{registered}/oauthprobe")
    }
}

/// The redirect_uri variants an exact-match server refuses (RFC 9700 §4.1.3).
pub fn variants(registered: &str, url: &Url) -> Vec<Variant> {
    let scheme = url.scheme();
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path();
    let mut out = vec![
        Variant {
            name: "foreign host",
            uri: format!("{scheme}://{ATTACKER}{path}"),
        },
        Variant {
            name: "path suffix",
            uri: with_path_suffix(registered),
        },
        Variant {
            name: "/../ traversal",
            uri: format!("{}/../oauthprobe", registered.trim_end_matches('/')),
        },
        Variant {
            name: "extra query parameter",
            uri: format!(
                "{registered}{}oauthprobe=1",
                if url.query().is_some() { '&' } else { '?' }
            ),
        },
        Variant {
            name: "userinfo trick",
            uri: format!("{scheme}://{host}{port}@{ATTACKER}{path}"),
        },
        Variant {
            name: "registered host as prefix",
            uri: format!("{scheme}://{host}.{ATTACKER}{port}{path}"),
        },
    ];
    if scheme == "https" {
        out.push(Variant {
            name: "http instead of https",
            uri: format!("http://{}", &registered["https://".len()..]),
        });
    }
    // RFC 8252 §7.3 and RFC 9700 §4.1.3: servers must let the port of a loopback redirect URI
    // (an IP literal, or `localhost`) vary for native apps, so another port is no variant there.
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        let other = if url.port_or_known_default() == Some(8443) {
            9443
        } else {
            8443
        };
        out.push(Variant {
            name: "another port",
            uri: format!("{scheme}://{host}:{other}{path}"),
        });
    }
    out
}

/// Whether the browser was sent to the variant (same scheme, host, port, path, user and its query).
fn sent_to(location: &Url, variant: &str) -> bool {
    let Ok(v) = Url::parse(variant) else {
        return false;
    };
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    location.scheme() == v.scheme()
        && location.host_str() == v.host_str()
        && location.port_or_known_default() == v.port_or_known_default()
        && location.path() == v.path()
        && location.username() == v.username()
        && v.query_pairs().into_owned().all(|p| pairs.contains(&p))
}

pub async fn exact_match(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let mut redirected = Vec::new();
    let mut refused = Vec::new();
    for variant in variants(&client.redirect_uri, &client.redirect_url) {
        let request = cx.request_for(client).set("redirect_uri", &variant.uri);
        let step = format!(
            "authorization request with redirect_uri variant: {}",
            variant.name
        );
        let outcome = cx
            .authorize(&step, client, &request, Consent::Approve)
            .await?;
        match &outcome {
            AuthOutcome::Redirect { location, .. } if sent_to(location, &variant.uri) => {
                let with = if outcome.code().is_some() {
                    "with a code"
                } else if let Some(e) = outcome.param("error") {
                    &format!("with error={e}")[..]
                } else {
                    ""
                };
                redirected.push(format!("{} ({} {with})", variant.name, variant.uri));
            }
            _ => refused.push(variant.name),
        }
    }
    Ok(if redirected.is_empty() {
        Outcome::pass(format!(
            "none of {} redirect_uri variants was redirected to ({})",
            refused.len(),
            refused.join(", ")
        ))
    } else {
        Outcome::fail(format!(
            "the server redirected to unregistered redirect_uri variants: {}",
            redirected.join("; ")
        ))
    })
}

/// RFC 6749 §4.1.3: the token request's redirect_uri must equal the authorization request's.
pub async fn token_binding(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let other = with_path_suffix(&client.redirect_uri);
    let wrong = cx
        .redeem(
            "redeem with a different redirect_uri",
            client,
            &issued.code,
            Some(&other),
            issued.request.verifier.as_deref(),
        )
        .await?;
    if wrong.issued() {
        return Ok(Outcome::fail(format!(
            "a code issued for {} was redeemed with redirect_uri {other}: HTTP 200 with an access_token",
            client.redirect_uri
        )));
    }
    let control = cx
        .redeem_properly(
            "control: redeem with the right redirect_uri",
            client,
            &issued,
        )
        .await?;
    Ok(Outcome::pass(if control.issued() {
        format!(
            "the mismatched redirect_uri was refused ({}); the same code then redeemed with the right one",
            wrong.describe()
        )
    } else {
        format!(
            "the mismatched redirect_uri was refused ({}); the code was then unusable ({}), as a failed attempt may consume it",
            wrong.describe(),
            control.describe()
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_an_https_uri() {
        let r = "https://app.example.com/cb";
        let v = variants(r, &Url::parse(r).unwrap());
        let uris: Vec<&str> = v.iter().map(|v| v.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "https://attacker.example/cb",
                "https://app.example.com/cb/oauthprobe",
                "https://app.example.com/cb/../oauthprobe",
                "https://app.example.com/cb?oauthprobe=1",
                "https://app.example.com@attacker.example/cb",
                "https://app.example.com.attacker.example/cb",
                "http://app.example.com/cb",
                "https://app.example.com:8443/cb",
            ]
        );
    }

    #[test]
    fn loopback_ip_keeps_its_port_free() {
        let r = "http://127.0.0.1:5000/cb?x=1";
        let v = variants(r, &Url::parse(r).unwrap());
        assert!(
            v.iter()
                .all(|v| v.name != "another port" && v.name != "http instead of https")
        );
        assert!(
            v.iter()
                .any(|v| v.uri == "http://127.0.0.1:5000/cb?x=1&oauthprobe=1")
        );
    }

    #[test]
    fn localhost_keeps_its_port_free_too() {
        let r = "http://localhost:5000/cb";
        assert!(
            variants(r, &Url::parse(r).unwrap())
                .iter()
                .all(|v| v.name != "another port")
        );
        let r = "https://app.example.com:8443/cb";
        let v = variants(r, &Url::parse(r).unwrap());
        assert!(v.iter().any(|v| v.uri == "https://app.example.com:9443/cb"));
    }

    #[test]
    fn sent_to_compares_the_parts_that_matter() {
        let loc = |s: &str| Url::parse(s).unwrap();
        assert!(sent_to(
            &loc("https://a.example/cb?oauthprobe=1&code=x"),
            "https://a.example/cb?oauthprobe=1"
        ));
        assert!(!sent_to(
            &loc("https://a.example/cb?error=invalid_request"),
            "https://a.example/cb?oauthprobe=1"
        ));
        assert!(sent_to(
            &loc("https://app@attacker.example/cb?code=1"),
            "https://app@attacker.example/cb"
        ));
        assert!(sent_to(
            &loc("http://h/oauthprobe?code=1"),
            "http://h/cb/../oauthprobe"
        ));
        assert!(!sent_to(
            &loc("http://h/cb?code=1"),
            "http://h/cb/oauthprobe"
        ));
    }
}
