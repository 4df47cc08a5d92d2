//! Redirect URI validation at the authorization and token endpoints.

use std::net::IpAddr;

use url::Url;

use crate::engine::Outcome;
use crate::engine::context::{Cx, ProbeError, ProbeResult};
use crate::flow::authorize::{AuthOutcome, AuthRequest, Consent};
use crate::target::Client;

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

/// The registered https URI with `http:` for its scheme and the rest of its text as written.
/// The text need not start with `https://` (the URL parser takes `https:host/cb`, `HTTPS://`,
/// leading spaces), so it is never cut at a fixed byte offset: only an ASCII `https:` prefix
/// is replaced, and any other spelling falls back to the parsed URL.
fn http_twin(registered: &str, url: &Url) -> String {
    let text = registered.trim_matches(|c: char| c <= ' ');
    match text.get(.."https:".len()) {
        Some(scheme) if scheme.eq_ignore_ascii_case("https:") => {
            format!("http:{}", &text["https:".len()..])
        }
        _ => {
            let mut http = url.clone();
            // https to http is always allowed (both special schemes); the text is kept if not.
            let _ = http.set_scheme("http");
            http.to_string()
        }
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
            uri: http_twin(registered, url),
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

/// What the server did with each variant: the ones it redirected to (with what), the ones it refused.
struct Tally {
    redirected: Vec<String>,
    refused: Vec<&'static str>,
}

impl Tally {
    fn verdict(self, what: &str) -> Outcome {
        if self.redirected.is_empty() {
            Outcome::pass(format!(
                "none of {} {what} was redirected to ({})",
                self.refused.len(),
                self.refused.join(", ")
            ))
        } else {
            Outcome::not_met(format!(
                "the server redirected to {what}: {}",
                self.redirected.join("; ")
            ))
        }
    }
}

/// Sends one authorization request per variant, built by `build` from a careful client's
/// request, and notes whether the browser was sent to the variant's URI.
async fn try_variants(
    cx: &Cx,
    client: &Client,
    variants: Vec<Variant>,
    build: impl Fn(AuthRequest, &Variant) -> AuthRequest,
) -> Result<Tally, ProbeError> {
    let mut tally = Tally {
        redirected: Vec::new(),
        refused: Vec::new(),
    };
    for variant in variants {
        let request = build(cx.request_for(client), &variant);
        let step = format!("authorization request, variant: {}", variant.name);
        let outcome = cx
            .authorize(&step, client, &request, Consent::Approve)
            .await?;
        match &outcome {
            AuthOutcome::Redirect { location, .. } if sent_to(location, &variant.uri) => {
                let with = if outcome.code().is_some() {
                    " with a code".to_string()
                } else if let Some(e) = outcome.param("error") {
                    format!(" with error={e}")
                } else {
                    String::new()
                };
                tally
                    .redirected
                    .push(format!("{} ({}{with})", variant.name, variant.uri));
            }
            _ => tally.refused.push(variant.name),
        }
    }
    Ok(tally)
}

pub async fn exact_match(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let variants = unregistered(client, variants(&client.redirect_uri, &client.redirect_url));
    let tally = try_variants(cx, client, variants, |r, v| r.set("redirect_uri", &v.uri)).await?;
    Ok(tally.verdict("redirect_uri variants"))
}

/// The variants that are not themselves registered for `client`: redirecting to another of its
/// registered URIs is right, so such a "variant" proves nothing.
fn unregistered(client: &Client, variants: Vec<Variant>) -> Vec<Variant> {
    variants
        .into_iter()
        .filter(|v| !client.redirect_uris.contains(&v.uri))
        .collect()
}

fn variant(name: &'static str, uri: String) -> Variant {
    Variant { name, uri }
}

/// The registered URI's parts, for building variants.
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: String,
    path: &'a str,
    query: String,
}

fn parts(url: &Url) -> Parts<'_> {
    Parts {
        scheme: url.scheme(),
        host: url.host_str().unwrap_or_default(),
        port: url.port().map(|p| format!(":{p}")).unwrap_or_default(),
        path: url.path(),
        query: url.query().map(|q| format!("?{q}")).unwrap_or_default(),
    }
}

/// RFC 6749 §4.1.2.1: an unknown client_id is an error shown to the user, never a redirect.
pub async fn unknown_client_not_redirected(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let p = parts(&client.redirect_url);
    let unknown = format!("oauthprobe-unknown-{}", crate::crypto::random_token(6));
    let variants = vec![
        variant("the registered redirect_uri", client.redirect_uri.clone()),
        variant(
            "a foreign redirect_uri",
            format!("{}://{ATTACKER}{}", p.scheme, p.path),
        ),
        variant(
            "the registered redirect_uri, no client_id",
            client.redirect_uri.clone(),
        ),
    ];
    let tally = try_variants(cx, client, variants, |r, v| {
        let r = r.set("redirect_uri", &v.uri);
        if v.name.ends_with("no client_id") {
            r.remove("client_id")
        } else {
            r.set("client_id", &unknown)
        }
    })
    .await?;
    Ok(tally.verdict(&format!(
        "redirect_uris sent with the unknown client_id `{unknown}` or without client_id"
    )))
}

/// RFC 6749 §4.1.2.1: errors are redirected only to a redirect_uri that was validated first.
pub async fn error_not_redirected(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let p = parts(&client.redirect_url);
    let foreign = format!("{}://{ATTACKER}{}", p.scheme, p.path);
    let variants = vec![
        variant("unknown response_type", foreign.clone()),
        variant("unknown scope", foreign.clone()),
        variant("no code_challenge", foreign),
    ];
    let tally = try_variants(cx, client, variants, |r, v| {
        let r = r.set("redirect_uri", &v.uri);
        match v.name {
            "unknown response_type" => r.set("response_type", "oauthprobe_unknown"),
            "unknown scope" => r.set("scope", "openid oauthprobe-unknown-scope"),
            _ => r.without_pkce(),
        }
    })
    .await?;
    Ok(tally.verdict("foreign redirect_uris sent with another error"))
}

/// RFC 6749 §3.1.2: a redirection endpoint URI has no fragment, so one with a fragment is not registered.
pub async fn fragment_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let uri = format!(
        "{}#oauthprobe",
        client.redirect_uri.split('#').next().unwrap_or_default()
    );
    let request = cx.request_for(client).set("redirect_uri", &uri);
    let outcome = cx
        .authorize(
            "authorization request with a fragment in the redirect_uri",
            client,
            &request,
            Consent::Approve,
        )
        .await?;
    Ok(match &outcome {
        AuthOutcome::Redirect { location, .. }
            if sent_to(location, &uri)
                && location
                    .fragment()
                    .is_some_and(|f| f.contains("oauthprobe")) =>
        {
            Outcome::not_met(format!(
                "the server redirected to the redirect_uri with its fragment ({}): {}",
                uri,
                outcome.describe()
            ))
        }
        _ => Outcome::pass(format!(
            "a redirect_uri with a fragment was not redirected to: the server {}",
            outcome.describe()
        )),
    })
}

/// RFC 6749 §3.1: no parameter twice; a second redirect_uri must not be where the browser goes.
pub async fn duplicate_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let p = parts(&client.redirect_url);
    let foreign = format!("{}://{ATTACKER}{}", p.scheme, p.path);
    let variants = vec![
        variant("registered first, foreign second", foreign.clone()),
        variant("foreign first, registered second", foreign),
    ];
    let registered = client.redirect_uri.clone();
    let tally = try_variants(cx, client, variants, |mut r, v| {
        let (first, second) = if v.name.starts_with("registered") {
            (registered.clone(), v.uri.clone())
        } else {
            (v.uri.clone(), registered.clone())
        };
        r = r.set("redirect_uri", &first);
        r.params.push(("redirect_uri".into(), second));
        r
    })
    .await?;
    Ok(tally.verdict("foreign redirect_uris sent next to the registered one"))
}

/// The registered path reached through encoded dot segments from another path on its origin.
pub fn encoded_traversal_variants(url: &Url) -> Vec<Variant> {
    let p = parts(url);
    let origin = format!("{}://{}{}", p.scheme, p.host, p.port);
    let rest = p.path.trim_start_matches('/');
    vec![
        variant(
            "..%2F",
            format!("{origin}/oauthprobe/..%2F{rest}{}", p.query),
        ),
        variant(
            "%2e%2e%2F",
            format!("{origin}/oauthprobe/%2e%2e%2F{rest}{}", p.query),
        ),
        variant(
            "%2F..%2F",
            format!("{origin}/oauthprobe%2F..%2F{rest}{}", p.query),
        ),
    ]
}

/// RFC 9700 §4.1.3: compared as strings, never decoded or normalised first.
pub async fn not_normalised(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let variants = unregistered(client, encoded_traversal_variants(&client.redirect_url));
    let tally = try_variants(cx, client, variants, |r, v| r.set("redirect_uri", &v.uri)).await?;
    Ok(tally.verdict("redirect_uris that reach the registered path only after decoding"))
}

/// The registered URI with its query changed: a parameter added, and each value altered.
pub fn query_variants(url: &Url) -> Vec<Variant> {
    let p = parts(url);
    let base = format!("{}://{}{}{}", p.scheme, p.host, p.port, p.path);
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let mut out = vec![variant(
        "a query parameter added",
        format!(
            "{base}{}{}oauthprobe=1",
            p.query,
            if pairs.is_empty() { '?' } else { '&' }
        ),
    )];
    if !pairs.is_empty() {
        let changed: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v}oauthprobe")))
            .collect();
        let mut u = url.clone();
        u.query_pairs_mut().clear().extend_pairs(changed);
        out.push(variant("a query value changed", u.to_string()));
    }
    out
}

/// RFC 9700 §4.1.3: the query is part of the exact match.
pub async fn query_exact(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let variants = unregistered(client, query_variants(&client.redirect_url));
    let tally = try_variants(cx, client, variants, |r, v| r.set("redirect_uri", &v.uri)).await?;
    Ok(tally.verdict("redirect_uris with another query"))
}

/// The registered URI with another path on the same origin.
pub fn path_variants(url: &Url) -> Vec<Variant> {
    let p = parts(url);
    let origin = format!("{}://{}{}", p.scheme, p.host, p.port);
    let parent = p.path.rsplit_once('/').map(|(a, _)| a).unwrap_or("");
    let mut out = vec![
        variant(
            "a sibling path",
            format!("{origin}{parent}/oauthprobe{}", p.query),
        ),
        variant(
            "a path segment before it",
            format!("{origin}/oauthprobe{}{}", p.path, p.query),
        ),
    ];
    let upper = p.path.to_ascii_uppercase();
    if upper != p.path {
        out.push(variant(
            "the path in capitals",
            format!("{origin}{upper}{}", p.query),
        ));
    }
    out
}

/// RFC 9700 §4.1.3: the path is compared exactly, case included.
pub async fn path_exact(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let variants = unregistered(client, path_variants(&client.redirect_url));
    let tally = try_variants(cx, client, variants, |r, v| r.set("redirect_uri", &v.uri)).await?;
    Ok(tally.verdict("redirect_uris with another path"))
}

/// Hosts that extend the registered host by a label: `<host>.attacker.example`, `oauthprobe.<host>`.
pub fn host_label_variants(url: &Url) -> Vec<Variant> {
    let p = parts(url);
    let rest = format!("{}{}{}", p.port, p.path, p.query);
    let mut out = vec![variant(
        "registered host followed by a foreign domain",
        format!("{}://{}.{ATTACKER}{rest}", p.scheme, p.host),
    )];
    // A label before an IP address does not make a host name.
    if matches!(url.host(), Some(url::Host::Domain(_))) {
        out.push(variant(
            "a subdomain of the registered host",
            format!("{}://oauthprobe.{}{rest}", p.scheme, p.host),
        ));
    }
    out
}

/// RFC 9700 §4.1.3: the host is compared exactly; neither a subdomain nor a longer name matches.
pub async fn subdomain_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let variants = unregistered(client, host_label_variants(&client.redirect_url));
    let tally = try_variants(cx, client, variants, |r, v| r.set("redirect_uri", &v.uri)).await?;
    Ok(tally.verdict("redirect_uris on another host"))
}

/// The registered scheme, host and port turned into the userinfo of a foreign URI.
pub fn userinfo_variants(url: &Url) -> Vec<Variant> {
    let p = parts(url);
    let rest = format!("{}{}", p.path, p.query);
    vec![
        variant(
            "registered host as user name",
            format!("{}://{}{}@{ATTACKER}{rest}", p.scheme, p.host, p.port),
        ),
        variant(
            "registered host with a password",
            format!(
                "{}://{}{}:oauthprobe@{ATTACKER}{rest}",
                p.scheme, p.host, p.port
            ),
        ),
    ]
}

/// RFC 9700 §4.1.3: compared as whole strings, so `registered-host@attacker` never passes.
pub async fn userinfo_refused(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let variants = unregistered(client, userinfo_variants(&client.redirect_url));
    let tally = try_variants(cx, client, variants, |r, v| r.set("redirect_uri", &v.uri)).await?;
    Ok(tally.verdict("redirect_uris whose host is foreign behind a userinfo"))
}

/// OAuth 2.1 §4.1.1: redirect_uri is REQUIRED when several are registered; the server must not pick one.
pub async fn required_when_several(cx: &Cx) -> ProbeResult {
    let mut clients = vec![cx.client()];
    clients.extend(cx.target.second_client.as_ref());
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    for client in clients {
        let request = cx.request_for(client).remove("redirect_uri");
        let outcome = cx
            .authorize(
                &format!("{}: authorization request without redirect_uri", client.id),
                client,
                &request,
                Consent::Approve,
            )
            .await?;
        match &outcome {
            AuthOutcome::Redirect { location, .. } if outcome.code().is_some() => {
                if client.redirect_uris.len() > 1 {
                    let mut to = location.clone();
                    to.set_query(None);
                    to.set_fragment(None);
                    warnings.push(format!(
                        "client `{}`: a request without redirect_uri got a code at {to}, though the target file lists {} redirect URIs for it: the server chose one",
                        client.id,
                        client.redirect_uris.len()
                    ));
                } else if sent_to(location, &client.redirect_uri) {
                    notes.push(format!(
                        "client `{}`: a code went to its redirect_uri (allowed when it is the only one registered; the target file lists only this one)",
                        client.id
                    ));
                } else {
                    let mut to = location.clone();
                    to.set_query(None);
                    to.set_fragment(None);
                    warnings.push(format!(
                        "client `{}`: a request without redirect_uri got a code at {to}, not at the target file's {}: the client has several redirect URIs and the server chose one",
                        client.id, client.redirect_uri
                    ));
                }
            }
            _ => notes.push(format!(
                "client `{}`: refused without redirect_uri; the server {}",
                client.id,
                outcome.describe()
            )),
        }
    }
    Ok(if warnings.is_empty() {
        Outcome::pass(notes.join("; "))
    } else {
        Outcome::not_met(warnings.join("; "))
    })
}

/// RFC 6749 §4.1.3: the token request's redirect_uri must equal the authorization request's.
///
/// Only another *registered* redirect URI tells the two apart: a server that merely checks the
/// token request's redirect_uri against the registered list refuses an unregistered one too.
pub async fn token_binding(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let second = client.redirect_uris.get(1).cloned();
    let (other, kind) = match &second {
        Some(uri) => (
            uri.clone(),
            "another redirect URI registered for the client",
        ),
        None => (
            with_path_suffix(&client.redirect_uri),
            "an unregistered redirect URI (the registered one plus a path segment)",
        ),
    };
    let wrong = cx
        .redeem(
            &format!("redeem with {kind}"),
            client,
            &issued.code,
            Some(&other),
            issued.request.verifier.as_deref(),
        )
        .await?;
    if wrong.issued() {
        return Ok(Outcome::not_met(format!(
            "a code issued for {} was redeemed with {kind}, {other}: HTTP 200 with an access_token",
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
    let then = if control.issued() {
        "the same code then redeemed with the right one".to_string()
    } else {
        format!(
            "the code was then unusable ({}), as a failed attempt may consume it",
            control.describe()
        )
    };
    Ok(Outcome::pass(match second {
        Some(_) => format!(
            "the code was bound to its request's redirect_uri: {kind}, {other}, was refused ({}); {then}",
            wrong.describe()
        ),
        None => format!(
            "{kind}, {other}, was refused ({}); {then}. Shown: the token endpoint refuses a redirect_uri that is not registered. Not shown: that it compares with the authorization request's and not merely with the registered list; that needs a second registered URI in the client's `redirect_uris`",
            wrong.describe()
        ),
    }))
}

/// One flaw, one check: when a code was redeemed with a changed or missing redirect_uri, whether
/// the token endpoint accepts an unrelated one too; then it ignores the parameter altogether,
/// which redirect-uri-token-binding reports.
async fn token_ignores_redirect_uri(cx: &Cx) -> Result<Option<String>, ProbeError> {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let foreign = format!("{}://{ATTACKER}/oauthprobe", client.redirect_url.scheme());
    let resp = cx
        .redeem(
            "control: redeem a fresh code with a foreign redirect_uri",
            client,
            &issued.code,
            Some(&foreign),
            issued.request.verifier.as_deref(),
        )
        .await?;
    Ok(resp.issued().then(|| {
        format!(
            "a fresh code redeemed with the foreign redirect_uri {foreign} too (HTTP 200 with an access_token): the token endpoint ignores redirect_uri altogether, which redirect-uri-token-binding reports"
        )
    }))
}

/// RFC 6749 §4.1.3: a redirect_uri sent in the authorization request must be sent again.
pub async fn token_required(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let without = cx
        .redeem(
            "redeem without redirect_uri",
            client,
            &issued.code,
            None,
            issued.request.verifier.as_deref(),
        )
        .await?;
    if without.issued() {
        if let Some(why) = token_ignores_redirect_uri(cx).await? {
            return Ok(Outcome::skip(format!(
                "a code requested with redirect_uri was redeemed without it, but {why}"
            )));
        }
        return Ok(Outcome::not_met(format!(
            "a code requested with redirect_uri {} was redeemed without redirect_uri: HTTP 200 with an access_token",
            client.redirect_uri
        )));
    }
    let control = cx
        .redeem_properly("control: redeem with the redirect_uri", client, &issued)
        .await?;
    Ok(Outcome::pass(format!(
        "the redemption without redirect_uri was refused ({}); {}",
        without.describe(),
        if control.issued() {
            "the same code then redeemed with it"
        } else {
            "the code was then unusable with it too (a failed attempt may consume it)"
        }
    )))
}

/// RFC 6749 §4.1.3: the token request's redirect_uri is identical, query included.
pub async fn token_exact(cx: &Cx) -> ProbeResult {
    let client = cx.client();
    let issued = cx.fresh_code(client).await?;
    let Some(other) = query_variants(&client.redirect_url)
        .into_iter()
        .next()
        .map(|v| v.uri)
    else {
        return Err(ProbeError::Unexpected("no query variant".to_string()));
    };
    let wrong = cx
        .redeem(
            "redeem with the redirect_uri plus a query parameter",
            client,
            &issued.code,
            Some(&other),
            issued.request.verifier.as_deref(),
        )
        .await?;
    if wrong.issued() {
        if let Some(why) = token_ignores_redirect_uri(cx).await? {
            return Ok(Outcome::skip(format!(
                "a code was redeemed with the redirect_uri plus a query parameter, but {why}"
            )));
        }
        return Ok(Outcome::not_met(format!(
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
    Ok(Outcome::pass(format!(
        "the redirect_uri with an added query was refused ({}); {}",
        wrong.describe(),
        if control.issued() {
            "the same code then redeemed with the right one"
        } else {
            "the code was then unusable with the right one too (a failed attempt may consume it)"
        }
    )))
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

    /// `https:/é/...` is an https URL (the parser supplies the missing slash), but its text has no
    /// `https://` prefix to cut off: cutting 8 bytes landed inside `é` and panicked.
    #[test]
    fn http_variant_of_an_https_uri_without_its_slashes() {
        for (registered, http) in [
            ("https:/é/oauthprobe", "http://xn--9ca/oauthprobe"),
            ("https:app.example.com/cb", "http://app.example.com/cb"),
            ("HTTPS://app.example.com/cb", "http://app.example.com/cb"),
            (
                " https://app.example.com/é",
                "http://app.example.com/%C3%A9",
            ),
        ] {
            let v = variants(registered, &Url::parse(registered).unwrap());
            let variant = v
                .iter()
                .find(|v| v.name == "http instead of https")
                .expect(registered);
            assert_eq!(
                Url::parse(&variant.uri).unwrap().as_str(),
                http,
                "{registered}"
            );
        }
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
    fn variants_of_the_new_checks() {
        let url = Url::parse("https://app.example.com/cb/in?tenant=a").unwrap();
        let uris = |v: Vec<Variant>| v.into_iter().map(|v| v.uri).collect::<Vec<_>>();
        assert_eq!(
            uris(encoded_traversal_variants(&url)),
            [
                "https://app.example.com/oauthprobe/..%2Fcb/in?tenant=a",
                "https://app.example.com/oauthprobe/%2e%2e%2Fcb/in?tenant=a",
                "https://app.example.com/oauthprobe%2F..%2Fcb/in?tenant=a",
            ]
        );
        assert_eq!(
            uris(query_variants(&url)),
            [
                "https://app.example.com/cb/in?tenant=a&oauthprobe=1",
                "https://app.example.com/cb/in?tenant=aoauthprobe",
            ]
        );
        assert_eq!(
            uris(path_variants(&url)),
            [
                "https://app.example.com/cb/oauthprobe?tenant=a",
                "https://app.example.com/oauthprobe/cb/in?tenant=a",
                "https://app.example.com/CB/IN?tenant=a",
            ]
        );
        assert_eq!(
            uris(host_label_variants(&url)),
            [
                "https://app.example.com.attacker.example/cb/in?tenant=a",
                "https://oauthprobe.app.example.com/cb/in?tenant=a",
            ]
        );
        let ip = Url::parse("http://127.0.0.1:8080/cb").unwrap();
        assert_eq!(host_label_variants(&ip).len(), 1);
        assert_eq!(
            uris(userinfo_variants(&ip)),
            [
                "http://127.0.0.1:8080@attacker.example/cb",
                "http://127.0.0.1:8080:oauthprobe@attacker.example/cb",
            ]
        );
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
