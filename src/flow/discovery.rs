//! Reads the authorization server's metadata: RFC 8414 first, then OpenID Connect Discovery.

use serde_json::Value;
use url::Url;

use crate::http::{HttpSession, Request};
use crate::target::Target;

/// Where the server's endpoints are, from its metadata and the target file's overrides.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub issuer: String,
    pub authorization: Url,
    pub token: Url,
    pub userinfo: Option<Url>,
    pub revocation: Option<Url>,
    pub jwks: Option<Url>,
}

#[derive(Debug, Clone)]
pub struct Discovered {
    pub endpoints: Endpoints,
    /// The metadata document (empty object when every endpoint came from the target file).
    pub metadata: Value,
    /// The URL the metadata was read from.
    pub metadata_url: Option<Url>,
}

impl Discovered {
    pub fn advertises(&self, key: &str, value: &str) -> Option<bool> {
        self.metadata[key]
            .as_array()
            .map(|a| a.iter().any(|v| v.as_str() == Some(value)))
    }
}

/// RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path.
pub fn well_known_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let mut out = Vec::new();
    for suffix in ["oauth-authorization-server", "openid-configuration"] {
        let mut u = issuer.clone();
        u.set_query(None);
        u.set_fragment(None);
        if suffix == "openid-configuration" {
            // OIDC Discovery §4: appended to the issuer, path included.
            u.set_path(&format!("{path}/.well-known/{suffix}"));
        } else {
            u.set_path(&format!("/.well-known/{suffix}{path}"));
        }
        out.push(u);
    }
    out
}

/// The first of the issuer's well-known metadata documents that is a JSON object, with the URL
/// it came from; or, when there is none, what each URL answered.
pub async fn read_metadata(http: &HttpSession, issuer: &Url) -> Result<(Url, Value), Vec<String>> {
    let mut attempts = Vec::new();
    for url in well_known_urls(issuer) {
        match http
            .send(
                "read the server's metadata",
                Request::get(url.clone()).back_channel(),
            )
            .await
        {
            Ok(resp) if resp.status == 200 => match resp.json() {
                Some(doc) if doc.is_object() => return Ok((url, doc)),
                _ => attempts.push(format!("{url}: HTTP 200 but not a JSON object")),
            },
            Ok(resp) => attempts.push(format!("{url}: HTTP {}", resp.status)),
            // The other well-known URL is on the same origin: the same certificate, refused again.
            Err(e @ crate::http::HttpError::Tls { .. }) => {
                attempts.push(e.to_string());
                break;
            }
            Err(e) => attempts.push(e.to_string()),
        }
    }
    Err(attempts)
}

pub async fn discover(http: &HttpSession, target: &Target) -> Result<Discovered, String> {
    let issuer = target.issuer.as_str().trim_end_matches('/').to_string();
    let (metadata_url, metadata, attempts) = match read_metadata(http, &target.issuer).await {
        Ok((u, m)) => (Some(u), m, Vec::new()),
        Err(attempts) => (None, Value::Object(Default::default()), attempts),
    };
    // An endpoint the first document leaves out may be in the issuer's other one (the RFC 8414
    // document without userinfo, the OpenID one without revocation): same issuer, same server.
    let mut sibling = Value::Null;
    let wants = ["userinfo_endpoint", "revocation_endpoint", "jwks_uri"];
    if let Some(first) = &metadata_url
        && wants.iter().any(|k| metadata.get(*k).is_none())
    {
        for url in well_known_urls(&target.issuer)
            .into_iter()
            .filter(|u| u != first)
        {
            let Ok(resp) = http
                .send(
                    "read the server's other metadata document",
                    Request::get(url),
                )
                .await
            else {
                continue;
            };
            let doc = resp.json().filter(|d| resp.status == 200 && d.is_object());
            if let Some(doc) = doc
                && doc.get("issuer").is_some()
                && doc.get("issuer") == metadata.get("issuer")
            {
                sibling = doc;
                break;
            }
        }
    }
    let from_meta = |key: &str| -> Result<Option<Url>, String> {
        let value = metadata
            .get(key)
            .or_else(|| wants.contains(&key).then(|| sibling.get(key)).flatten());
        match value.and_then(Value::as_str) {
            None => Ok(None),
            Some(s) => Url::parse(s)
                .map(Some)
                .map_err(|e| format!("metadata `{key}` is not a URL ({s}): {e}")),
        }
    };
    let ep = &target.endpoints;
    let pick = |over: &Option<Url>, key: &str| -> Result<Option<Url>, String> {
        match over {
            Some(u) => Ok(Some(u.clone())),
            None => from_meta(key),
        }
    };
    // Every well-known URL unanswered: the server is down or the issuer is wrong, and naming
    // endpoints in the target file would not help.
    let unreachable = metadata_url.is_none()
        && !attempts.is_empty()
        && attempts
            .iter()
            .all(|a| a.contains(": connection failed: ") || a.contains(": timed out after "));
    if unreachable {
        return Err(format!(
            "the server at {} did not answer ({}); check `issuer` in the target file and that the server is up",
            target.issuer.origin().ascii_serialization(),
            attempts.first().map(String::as_str).unwrap_or("")
        ));
    }
    let missing = |what: &str, key: &str| {
        if metadata_url.is_none() {
            format!(
                "no metadata found ({}), and the target file's [endpoints] has no `{what}`",
                attempts.join("; ")
            )
        } else {
            format!("the metadata has no `{key}` and the target file's [endpoints] has no `{what}`")
        }
    };
    let authorization = pick(&ep.authorization, "authorization_endpoint")?
        .ok_or_else(|| missing("authorization", "authorization_endpoint"))?;
    let token =
        pick(&ep.token, "token_endpoint")?.ok_or_else(|| missing("token", "token_endpoint"))?;
    Ok(Discovered {
        endpoints: Endpoints {
            issuer: metadata
                .get("issuer")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or(issuer),
            authorization,
            token,
            userinfo: pick(&ep.userinfo, "userinfo_endpoint")?,
            revocation: pick(&ep.revocation, "revocation_endpoint")?,
            jwks: pick(&ep.jwks, "jwks_uri")?,
        },
        metadata,
        metadata_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_rfc8414_and_oidc() {
        let urls = well_known_urls(&Url::parse("https://as.example/tenant/a/").unwrap());
        assert_eq!(
            urls[0].as_str(),
            "https://as.example/.well-known/oauth-authorization-server/tenant/a"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://as.example/tenant/a/.well-known/openid-configuration"
        );
        let urls = well_known_urls(&Url::parse("http://127.0.0.1:8080").unwrap());
        assert_eq!(
            urls[0].as_str(),
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server"
        );
    }
}
