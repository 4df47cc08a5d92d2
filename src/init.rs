//! `oauthprobe init`: a starter target file written from the server's own metadata.

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::flow::discovery::read_metadata;
use crate::http::{Limits, Redactor, ScanClient, TlsConfig};
use crate::report::{is_bidi_control, terminal_line};

/// The metadata of `issuer`, with the URL it was read from.
pub async fn fetch_metadata(
    issuer: &Url,
    limits: Limits,
    tls: TlsConfig,
) -> Result<(Url, Value), String> {
    let client = ScanClient::with_tls(
        vec![issuer.origin()],
        limits,
        tls,
        Arc::new(Redactor::new(Vec::new())),
    )
    .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
    read_metadata(&client.session(), issuer)
        .await
        .map_err(|attempts| format!("no metadata found for {issuer}: {}", attempts.join("; ")))
}

/// A TOML basic string on one line, whatever the server put in `s`: quotes and backslashes
/// escaped, and every control or bidirectional formatting character written as a `\uXXXX`
/// escape, so the file stays valid and the value visible but inert (the `toml` crate would
/// choose a multi-line string for a value with a newline).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_bidi_control(c) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(metadata: &Value, key: &str) -> Vec<String> {
    metadata[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The target file for a server with this metadata: its endpoints, what it advertises (as
/// comments), and placeholders for the clients and the test user, secrets as `*_env` names.
pub fn render(issuer: &Url, metadata_url: &Url, metadata: &Value) -> String {
    let issuer_text = metadata["issuer"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| issuer.as_str().trim_end_matches('/').to_string());
    let mut out = String::new();
    out.push_str(&format!(
        "# oauthprobe target file, written by `oauthprobe init` from\n#   {metadata_url}\n\
         #\n\
         # Before scanning:\n\
         #   1. Register the clients below on the server (lines marked CHANGE ME), each allowed the\n\
         #      authorization code grant and the redirect_uri you write here. A loopback URI such as\n\
         #      http://127.0.0.1/oauthprobe/callback is a good choice: the scanner never requests it.\n\
         #   2. Export the secrets named by the *_env keys (they never go in this file).\n\
         #   3. Run: oauthprobe scan --config THIS_FILE\n\
         #\n\
         # What the server advertises:\n"
    ));
    for key in [
        "response_types_supported",
        "grant_types_supported",
        "code_challenge_methods_supported",
        "token_endpoint_auth_methods_supported",
        "scopes_supported",
    ] {
        let values = list(metadata, key);
        let shown = if values.is_empty() {
            "(not advertised)".to_string()
        } else {
            // A comment ends at the newline: the server's text must not start a line of its own.
            terminal_line(&values.join(", "))
        };
        out.push_str(&format!("#   {key}: {shown}\n"));
    }
    let pkce = list(metadata, "code_challenge_methods_supported");
    if !pkce.iter().any(|m| m == "S256") {
        out.push_str(
            "#   Note: S256 is not advertised; PKCE checks will show what the server does.\n",
        );
    }
    let host = issuer.host_str().unwrap_or("target");
    out.push_str(&format!("\nname = {}\n", quoted(host)));
    out.push_str(&format!("issuer = {}\n", quoted(&issuer_text)));

    out.push_str("\n# From the metadata; the scanner reads it again at each scan. Keep a line to override it.\n[endpoints]\n");
    for (key, meta_key) in [
        ("authorization", "authorization_endpoint"),
        ("token", "token_endpoint"),
        ("userinfo", "userinfo_endpoint"),
        ("revocation", "revocation_endpoint"),
        ("jwks", "jwks_uri"),
    ] {
        if let Some(url) = metadata[meta_key].as_str() {
            out.push_str(&format!("{key} = {}\n", quoted(url)));
        }
    }

    let methods = list(metadata, "token_endpoint_auth_methods_supported");
    // RFC 8414 §2: when the list is absent, client_secret_basic is the default.
    let supports = |m: &str| methods.is_empty() || methods.iter().any(|x| x == m);
    let (first, second) = if supports("client_secret_basic") {
        ("client_secret_basic", "client_secret_post")
    } else {
        ("client_secret_post", "client_secret_basic")
    };
    let scopes = list(metadata, "scopes_supported");
    let oidc = scopes.iter().any(|s| s == "openid")
        || metadata_url.path().ends_with("openid-configuration");
    let scope = if oidc { "openid" } else { "" };
    let redirect = "http://127.0.0.1/oauthprobe/callback";
    out.push_str(&format!(
        "\n# A confidential client registered for scanning.\n\
         [client]\n\
         id = \"oauthprobe-confidential\"   # CHANGE ME: the client_id the server gave you\n\
         secret_env = \"OAUTHPROBE_CLIENT_SECRET\"\n\
         auth_method = \"{first}\"\n\
         redirect_uri = \"{redirect}\"   # CHANGE ME: exactly as registered\n\
         # or every URI registered for it, the one requests use first; with two, the token\n\
         # endpoint's redirect_uri binding can be shown (redirect-uri-token-binding):\n\
         # redirect_uris = [\"{redirect}\", \"http://127.0.0.1/oauthprobe/callback2\"]\n\
         scope = {}\n",
        quoted(scope)
    ));
    out.push_str(&format!(
        "\n# Optional: a second confidential client (checks that codes and tokens stay with their client).\n\
         # [second_client]\n\
         # id = \"oauthprobe-second\"\n\
         # secret_env = \"OAUTHPROBE_SECOND_CLIENT_SECRET\"\n\
         # auth_method = \"{}\"\n\
         # redirect_uri = \"http://127.0.0.1/oauthprobe/second\"\n\
         # scope = {}\n",
        if supports(second) { second } else { first },
        quoted(scope)
    ));
    out.push_str(&format!(
        "\n# Optional: a public client (no secret; checks that PKCE is required of it).\n\
         # [public_client]\n\
         # id = \"oauthprobe-public\"\n\
         # auth_method = \"none\"\n\
         # redirect_uri = \"http://127.0.0.1/oauthprobe/public\"\n\
         # scope = {}\n",
        quoted(scope)
    ));
    out.push_str(
        "\n# The test user the scanner signs in as, through the server's own login pages.\n\
         [login]\n\
         # form: the scanner reads and submits the login and consent forms (the default);\n\
         # browser: headless Chromium, for pages built by JavaScript;\n\
         # command: your program signs in (see README, \"Scan your own server\"); manual: you do.\n\
         mode = \"form\"\n\
         username = \"CHANGE-ME\"\n\
         password_env = \"OAUTHPROBE_PASSWORD\"\n\
         # username_field = \"login\"          # when the form's field names are unusual\n\
         # password_field = \"secret\"\n\
         # form_selector = \"form#sign-in\"\n\
         # approve_button = \"Allow\"          # the consent button's text, name or id\n\
         # origins = [\"https://sso.example\"] # other origins the login pages live on\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;
    use std::path::Path;

    #[test]
    fn rendered_file_parses_once_secrets_are_set() {
        let issuer = Url::parse("https://as.example").unwrap();
        let meta = serde_json::json!({
            "issuer": "https://as.example",
            "authorization_endpoint": "https://as.example/authorize",
            "token_endpoint": "https://as.example/token",
            "jwks_uri": "https://as.example/jwks",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email"],
        });
        let url = Url::parse("https://as.example/.well-known/openid-configuration").unwrap();
        let text = render(&issuer, &url, &meta);
        let target = Target::parse(Path::new("init.toml"), &text, &|_| Some("x".into())).unwrap();
        assert_eq!(target.client.auth_method.as_str(), "client_secret_post");
        assert_eq!(
            target.endpoints.token.unwrap().as_str(),
            "https://as.example/token"
        );
        assert_eq!(target.client.scope, "openid");
        assert!(text.contains("#   code_challenge_methods_supported: S256"));

        // The list form it suggests parses once it replaces the single URI.
        let single = text
            .lines()
            .find(|l| l.starts_with("redirect_uri = "))
            .unwrap();
        let list = text
            .lines()
            .find(|l| l.starts_with("# redirect_uris = "))
            .unwrap();
        let listed = text
            .replace(single, "")
            .replace(list, list.trim_start_matches("# "));
        let target = Target::parse(Path::new("init.toml"), &listed, &|_| Some("x".into())).unwrap();
        assert_eq!(target.client.redirect_uris.len(), 2);
        assert_eq!(
            target.client.redirect_uri,
            "http://127.0.0.1/oauthprobe/callback"
        );
    }
}
