//! Redaction of evidence: nothing secret may reach a transcript, a report or an error message.
//!
//! Two independent layers, both applied by [`Redactor::redact`]:
//!
//! * **Known values** — client secrets and passwords given at start, plus tokens, codes and
//!   verifiers learned during the scan ([`Redactor::add`]). Each is replaced verbatim and in its
//!   URL-encoded, form-encoded and JSON-escaped forms, and inside the base64 of `id:secret`
//!   (Basic credentials), wherever it occurs. Values shorter than [`MIN_KNOWN_LEN`] characters are
//!   not replaced blindly (they would eat ordinary text); the name-based layer still covers them.
//! * **By name**, whatever the value — `Authorization` credentials, cookie values, and the
//!   values of sensitive parameters ([`SENSITIVE_PARAMS`]) in URL queries and fragments, form
//!   bodies, JSON members and HTML `<input name=… value=…>` fields (form_post responses).
//!
//! `state`, `nonce`, `code_challenge`, `error`, `scope` are evidence and are never redacted by name.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use url::Url;

/// What every secret is replaced with.
pub const REDACTED: &str = "«redacted»";

/// Known values shorter than this (in characters) are not replaced blindly.
pub const MIN_KNOWN_LEN: usize = 6;

/// Parameter / JSON member / form field names whose values are always redacted.
pub const SENSITIVE_PARAMS: &[&str] = &[
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "client_assertion",
    // Same kind of value under other names.
    "id_token_hint",
    "device_code",
    "assertion",
    "subject_token",
    "actor_token",
    "logout_token",
];

/// Whether values of the parameter `name` are always redacted (ASCII case-insensitive).
pub fn is_sensitive_param(name: &str) -> bool {
    SENSITIVE_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// Redacts secrets from text. Shared (`Arc<Redactor>`) by the whole scan; [`Redactor::add`] works
/// through `&self`.
#[derive(Default)]
pub struct Redactor {
    known: RwLock<Known>,
}

#[derive(Default)]
struct Known {
    /// Values added, as given (for de-duplication).
    values: HashSet<String>,
    /// Every form of every value, longest first so that no longer secret is left half-replaced.
    patterns: Vec<String>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("known_values", &self.known_count())
            .finish()
    }
}

impl Redactor {
    /// A redactor knowing `secrets` (client secrets, passwords).
    pub fn new(secrets: Vec<String>) -> Self {
        let r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Learns a secret at run time (access/refresh/ID token, code, code_verifier…).
    /// Values shorter than [`MIN_KNOWN_LEN`] characters are ignored.
    pub fn add(&self, secret: impl AsRef<str>) {
        let secret = secret.as_ref();
        if secret.chars().count() < MIN_KNOWN_LEN {
            return;
        }
        let mut known = self.write();
        if !known.values.insert(secret.to_owned()) {
            return;
        }
        let mut changed = false;
        for v in variants(secret) {
            if !known.patterns.contains(&v) {
                known.patterns.push(v);
                changed = true;
            }
        }
        if changed {
            known
                .patterns
                .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }
    }

    /// Learns Basic client credentials: the secret itself, and the exact base64 of `id:secret`
    /// both with and without the RFC 6749 §2.3.1 form-encoding.
    pub fn add_basic(&self, id: &str, secret: &str) {
        self.add(secret);
        let encoded = format!("{}:{}", form_encode(id), form_encode(secret));
        for pair in [encoded, format!("{id}:{secret}")] {
            let b64 = STANDARD.encode(pair.as_bytes());
            let mut known = self.write();
            if known.values.insert(b64.clone()) && !known.patterns.contains(&b64) {
                known.patterns.push(b64);
                known
                    .patterns
                    .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            }
        }
    }

    /// How many values were added (not counting their encoded forms).
    pub fn known_count(&self) -> usize {
        self.read().values.len()
    }

    /// Text with every known secret and every sensitive-by-name value replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let known = self.redact_known(text);
        redact_by_name(&known)
    }

    /// A header value fit for evidence: `Authorization` keeps only its scheme, cookies only their
    /// names and attributes, everything else goes through [`Redactor::redact`].
    pub fn redact_header(&self, name: &str, value: &str) -> String {
        self.redact_known(&redact_header_value(name, value))
            .into_owned()
    }

    /// [`Redactor::redact_header`] over a list of headers.
    pub fn redact_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(n, v)| (n.clone(), self.redact_header(n, v)))
            .collect()
    }

    /// A URL fit for evidence and error messages.
    pub fn redact_url(&self, url: &Url) -> String {
        self.redact(url.as_str())
    }

    /// Only the known-values layer.
    pub fn redact_known<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let known = self.read();
        let mut out = Cow::Borrowed(text);
        for p in &known.patterns {
            if out.contains(p.as_str()) {
                out = Cow::Owned(out.replace(p.as_str(), REDACTED));
            }
        }
        out
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// `application/x-www-form-urlencoded` encoding of one value (space becomes `+`).
pub(crate) fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// The forms a secret may take in an HTTP exchange.
fn variants(secret: &str) -> Vec<String> {
    let form = form_encode(secret);
    let mut out = vec![
        secret.to_owned(),
        form.clone(),
        percent_encode(secret, true),
        percent_encode(secret, false),
    ];
    if let Ok(json) = serde_json::to_string(secret) {
        out.push(json[1..json.len() - 1].to_owned());
    }
    // Inside base64("id:" + secret) the id is unknown, but every complete 3-byte group of the
    // secret encodes to the same 4 characters whatever precedes it; only its alignment varies.
    for s in [secret, form.as_str()] {
        let bytes = s.as_bytes();
        for skip in 0..3 {
            if bytes.len() <= skip {
                continue;
            }
            let rest = &bytes[skip..];
            let whole = rest.len() / 3 * 3;
            let core = STANDARD.encode(&rest[..whole]);
            if core.len() >= 8 {
                out.push(core);
            }
        }
    }
    let mut seen = HashSet::new();
    out.retain(|v| !v.is_empty() && seen.insert(v.clone()));
    out
}

/// The by-name layer alone (no known values): what can be said without knowing any secret.
pub fn redact_by_name(text: &str) -> String {
    let t = redact_header_lines(text);
    let t = redact_json_members(&t);
    let t = redact_html_inputs(&t);
    redact_params(&t)
}

/// A header value with its credential part hidden, by header name; other headers get
/// [`redact_by_name`].
pub fn redact_header_value(name: &str, value: &str) -> String {
    let n = name.trim();
    if n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("proxy-authorization") {
        redact_credentials(value)
    } else if n.eq_ignore_ascii_case("cookie") {
        redact_cookie(value)
    } else if n.eq_ignore_ascii_case("set-cookie") {
        redact_set_cookie(value)
    } else if is_secret_header_name(n) && !value.trim().is_empty() {
        REDACTED.to_owned()
    } else {
        redact_by_name(value)
    }
}

/// Custom headers that by their name carry a credential (`X-Api-Key`, `X-Auth-Token`…).
fn is_secret_header_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret", "token", "password", "api-key", "apikey", "api_key",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `Basic abc` → `Basic «redacted»`; a bare credential → `«redacted»`.
fn redact_credentials(value: &str) -> String {
    let v = value.trim();
    if v.is_empty() {
        return String::new();
    }
    match v.split_once(char::is_whitespace) {
        Some((scheme, rest)) if !rest.trim().is_empty() && scheme.bytes().all(is_token_byte) => {
            format!("{scheme} {REDACTED}")
        }
        // A scheme alone (no credentials) is not secret; any other bare value is.
        _ if AUTH_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(v)) => v.to_owned(),
        _ => REDACTED.to_owned(),
    }
}

const AUTH_SCHEMES: &[&str] = &[
    "Basic",
    "Bearer",
    "DPoP",
    "Digest",
    "Negotiate",
    "NTLM",
    "MAC",
];

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `a=1; b=2` → `a=«redacted»; b=«redacted»`.
fn redact_cookie(value: &str) -> String {
    value
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, _)) => format!("{}={REDACTED}", name.trim()),
            None => REDACTED.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `sid=abc; Path=/; HttpOnly` → `sid=«redacted»; Path=/; HttpOnly`.
fn redact_set_cookie(value: &str) -> String {
    let mut parts = value.split(';');
    let first = parts.next().unwrap_or("").trim();
    let mut out = match first.split_once('=') {
        Some((name, _)) => format!("{}={REDACTED}", name.trim()),
        None if first.is_empty() => String::new(),
        None => REDACTED.to_owned(),
    };
    for attr in parts {
        out.push_str("; ");
        out.push_str(&redact_by_name(attr.trim()));
    }
    out
}

/// Raw header lines (`Authorization: …`, `Cookie: …`, `Set-Cookie: …`) found in free text.
fn redact_header_lines(text: &str) -> String {
    if !text.contains(':') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']);
        let eol = &line[content.len()..];
        if let Some((name, value)) = content.split_once(':') {
            let n = name.trim();
            if [
                "authorization",
                "proxy-authorization",
                "cookie",
                "set-cookie",
            ]
            .iter()
            .any(|h| h.eq_ignore_ascii_case(n))
            {
                let lead = &value[..value.len() - value.trim_start().len()];
                out.push_str(name);
                out.push(':');
                out.push_str(lead);
                out.push_str(&redact_header_value(n, value.trim()));
                out.push_str(eol);
                continue;
            }
        }
        out.push_str(line);
    }
    out
}

#[derive(Clone, Copy)]
enum JsonKind {
    Secret,
    Credentials,
    Cookie,
    SetCookie,
}

fn json_kind(key_lower: &[u8]) -> Option<JsonKind> {
    let key = std::str::from_utf8(key_lower).ok()?;
    if is_sensitive_param(key) {
        Some(JsonKind::Secret)
    } else {
        match key {
            "authorization" | "proxy-authorization" => Some(JsonKind::Credentials),
            "cookie" => Some(JsonKind::Cookie),
            "set-cookie" => Some(JsonKind::SetCookie),
            _ => None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `"access_token": "…"` → `"access_token": "«redacted»"`, textually, so that it also works on
/// truncated or invalid JSON, JSON inside HTML, and JSON encoded inside a JSON string (`\"`).
fn redact_json_members(text: &str) -> String {
    let b = text.as_bytes();
    let lower = text.to_ascii_lowercase();
    let lb = lower.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let escaped = i > 0 && b[i - 1] == b'\\';
        let key_start = i + 1;
        // The key: name characters up to the closing quote.
        let mut k = key_start;
        while k < b.len() && (b[k].is_ascii_alphanumeric() || b[k] == b'_' || b[k] == b'-') {
            k += 1;
        }
        let close: &[u8] = if escaped { b"\\\"" } else { b"\"" };
        let kind = if k > key_start && b[k..].starts_with(close) {
            json_kind(&lb[key_start..k])
        } else {
            None
        };
        let Some(kind) = kind else {
            i += 1;
            continue;
        };
        let mut j = skip_ws(b, k + close.len());
        if j >= b.len() || b[j] != b':' {
            i = k;
            continue;
        }
        j = skip_ws(b, j + 1);
        if !b[j..].starts_with(close) {
            i = k;
            continue;
        }
        let vstart = j + close.len();
        let vend = if escaped {
            text[vstart..].find("\\\"").map_or(b.len(), |p| vstart + p)
        } else {
            let mut e = vstart;
            while e < b.len() && b[e] != b'"' {
                e += if b[e] == b'\\' { 2 } else { 1 };
            }
            e.min(b.len())
        };
        let value = &text[vstart..vend];
        let replacement = match kind {
            JsonKind::Secret => REDACTED.to_owned(),
            JsonKind::Credentials => redact_credentials(value),
            JsonKind::Cookie => redact_cookie(value),
            JsonKind::SetCookie => redact_set_cookie(value),
        };
        if !value.is_empty() && value != replacement {
            out.push_str(&text[last..vstart]);
            out.push_str(&replacement);
            last = vend;
        }
        i = vend.max(i + 1);
    }
    out.push_str(&text[last..]);
    out
}

/// Value span of attribute `attr` inside one tag (`lower` is the tag lowercased).
fn attr_value_span(tag: &[u8], lower: &str, attr: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(p) = lower[from..].find(attr) {
        let start = from + p;
        from = start + attr.len();
        if start == 0 || !tag[start - 1].is_ascii_whitespace() {
            continue;
        }
        let mut j = skip_ws(tag, start + attr.len());
        if j >= tag.len() || tag[j] != b'=' {
            continue;
        }
        j = skip_ws(tag, j + 1);
        if j >= tag.len() {
            return None;
        }
        if tag[j] == b'"' || tag[j] == b'\'' {
            let q = tag[j];
            let end = tag[j + 1..]
                .iter()
                .position(|&c| c == q)
                .map_or(tag.len(), |e| j + 1 + e);
            return Some((j + 1, end));
        }
        let end = tag[j..]
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == b'>')
            .map_or(tag.len(), |e| j + e);
        return Some((j, end));
    }
    None
}

/// `<input name="code" value="…">` (form_post responses) → value redacted.
fn redact_html_inputs(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("<input") {
        return text.to_owned();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut from = 0;
    while let Some(p) = lower[from..].find("<input") {
        let start = from + p;
        let end = lower[start..].find('>').map_or(b.len(), |e| start + e);
        from = end.max(start + 1);
        let tag = &b[start..end];
        let tag_lower = &lower[start..end];
        let Some((ns, ne)) = attr_value_span(tag, tag_lower, "name") else {
            continue;
        };
        if !is_sensitive_param(&text[start + ns..start + ne]) {
            continue;
        }
        let Some((vs, ve)) = attr_value_span(tag, tag_lower, "value") else {
            continue;
        };
        let value = &text[start + vs..start + ve];
        if value.is_empty() || value == REDACTED {
            continue;
        }
        out.push_str(&text[last..start + vs]);
        out.push_str(REDACTED);
        last = start + ve;
    }
    out.push_str(&text[last..]);
    out
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn ends_param_value(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'&' | b'#' | b'"' | b'\'' | b'<' | b'>')
}

/// `«redacted»`, possibly followed by punctuation of the surrounding text (`code=«redacted»: …`).
fn is_already_redacted(value: &str) -> bool {
    value.strip_prefix(REDACTED).is_some_and(|rest| {
        rest.chars()
            .all(|c| matches!(c, ':' | ',' | '.' | ';' | ')' | ']' | '}'))
    })
}

/// `code=…` in URL queries, fragments and form bodies (wherever they appear in the text).
fn redact_params(text: &str) -> String {
    if !text.contains('=') {
        return text.to_owned();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while let Some(p) = text[i..].find('=') {
        let eq = i + p;
        let mut s = eq;
        while s > last && is_name_byte(b[s - 1]) {
            s -= 1;
        }
        i = eq + 1;
        if s == eq || !is_sensitive_param(&text[s..eq]) {
            continue;
        }
        let vstart = eq + 1;
        let vend = b[vstart..]
            .iter()
            .position(|&c| ends_param_value(c))
            .map_or(b.len(), |e| vstart + e);
        let value = &text[vstart..vend];
        if value.is_empty() || is_already_redacted(value) {
            continue;
        }
        out.push_str(&text[last..vstart]);
        out.push_str(REDACTED);
        last = vend;
        i = vend;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(secrets: &[&str]) -> Redactor {
        Redactor::new(secrets.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn known_value_replaced_everywhere() {
        let red = r(&["sup3r-s3cret-value"]);
        let out =
            red.redact("x sup3r-s3cret-value y /path/sup3r-s3cret-value?a=sup3r-s3cret-value");
        assert!(!out.contains("sup3r"), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3);
        assert!(out.starts_with("x «redacted» y /path/"));
    }

    #[test]
    fn known_value_encoded_forms_replaced() {
        let secret = "p@ss word/+&=%!";
        let red = r(&[secret]);
        let form = form_encode(secret);
        let pct = percent_encode(secret, true);
        let pct_lower = percent_encode(secret, false);
        let json = serde_json::to_string(&serde_json::json!({ "x": secret })).unwrap();
        for text in [
            format!("a {secret} b"),
            format!("a {form} b"),
            format!("a {pct} b"),
            format!("a {pct_lower} b"),
            json.clone(),
        ] {
            let out = red.redact(&text);
            assert!(out.contains(REDACTED), "{text} -> {out}");
            assert!(
                !out.contains("ss word") && !out.contains("ss+word") && !out.contains("ss%20word")
            );
        }
        assert_eq!(red.redact(&json), format!("{{\"x\":\"{REDACTED}\"}}"));
    }

    #[test]
    fn special_characters_are_literal_not_patterns() {
        let secret = r"a.*+?^${}()|[]\b";
        let red = r(&[secret]);
        assert_eq!(red.redact(&format!("<{secret}>")), format!("<{REDACTED}>"));
        // Regex-like meaning must not apply: these do not contain the secret.
        assert_eq!(red.redact("aXXXb aaaa ()|"), "aXXXb aaaa ()|");
    }

    #[test]
    fn short_known_values_are_not_replaced_blindly() {
        let red = r(&["abc", "12345"]);
        red.add("xy");
        assert_eq!(red.known_count(), 0);
        let out = red.redact("abc abcdef 12345 code=abc&client_secret=12345&state=abc");
        assert_eq!(
            out,
            "abc abcdef 12345 code=«redacted»&client_secret=«redacted»&state=abc"
        );
    }

    #[test]
    fn values_added_at_run_time_are_redacted() {
        let red = r(&[]);
        assert_eq!(
            red.redact("tok eyJhbGciOi.abc.def"),
            "tok eyJhbGciOi.abc.def"
        );
        red.add("eyJhbGciOi.abc.def");
        red.add(String::from("eyJhbGciOi.abc.def"));
        assert_eq!(red.known_count(), 1);
        assert_eq!(red.redact("tok eyJhbGciOi.abc.def"), "tok «redacted»");
    }

    #[test]
    fn longer_secret_containing_a_shorter_one_is_fully_replaced() {
        let red = r(&["secret", "secret-and-more"]);
        assert_eq!(red.redact("[secret-and-more]"), "[«redacted»]");
    }

    #[test]
    fn base64_of_id_and_secret_is_redacted() {
        let red = r(&["my client secret!"]);
        for id in ["c", "cl", "client-1", "a b:c%"] {
            for pair in [
                format!("{id}:my client secret!"),
                format!("{}:{}", form_encode(id), form_encode("my client secret!")),
            ] {
                let b64 = STANDARD.encode(pair);
                let out = red.redact(&format!("echo {b64} end"));
                assert!(out.contains(REDACTED), "{id}: {out}");
                // At most a few boundary characters remain, not the credential.
                let left = out
                    .replace("echo ", "")
                    .replace(" end", "")
                    .replace(REDACTED, "");
                assert!(left.len() <= 4 + id.len() * 2 + 8, "{id}: {out}");
            }
        }
        let red = r(&[]);
        red.add_basic("a b:c%", "a b:c%");
        let b64 = STANDARD.encode("a+b%3Ac%25:a+b%3Ac%25");
        assert_eq!(red.redact(&format!("[{b64}]")), "[«redacted»]");
    }

    #[test]
    fn authorization_header_keeps_scheme_only() {
        let red = r(&[]);
        assert_eq!(
            red.redact_header("Authorization", "Basic YWJjOmRlZg=="),
            "Basic «redacted»"
        );
        assert_eq!(
            red.redact_header("authorization", "Bearer abc.def"),
            "Bearer «redacted»"
        );
        assert_eq!(
            red.redact_header("Proxy-Authorization", "opaque"),
            "«redacted»"
        );
        assert_eq!(
            red.redact_header("Authorization", "DPoP x"),
            "DPoP «redacted»"
        );
        assert_eq!(red.redact_header("Authorization", "Bearer"), "Bearer");
        assert_eq!(red.redact_header("Authorization", "hunter"), "«redacted»");
        assert_eq!(red.redact_header("X-Api-Key", "k-123"), "«redacted»");
        assert_eq!(red.redact_header("X-Auth-Token", "t"), "«redacted»");
        assert_eq!(red.redact_header("Content-Type", "text/html"), "text/html");
        // In free text and in JSON (an echo of the request).
        assert_eq!(
            red.redact("GET / HTTP/1.1\r\nAuthorization: Basic YWJjOmRlZg==\r\nHost: x\r\n"),
            "GET / HTTP/1.1\r\nAuthorization: Basic «redacted»\r\nHost: x\r\n"
        );
        assert_eq!(
            red.redact(r#"{"headers":{"Authorization":"Bearer abc.def"}}"#),
            r#"{"headers":{"Authorization":"Bearer «redacted»"}}"#
        );
    }

    #[test]
    fn cookies_keep_names_and_attributes() {
        let red = r(&[]);
        assert_eq!(
            red.redact_header("Set-Cookie", "sid=abc123; Path=/; HttpOnly; SameSite=Lax"),
            "sid=«redacted»; Path=/; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            red.redact_header("cookie", "sid=abc123; csrf=xyz"),
            "sid=«redacted»; csrf=«redacted»"
        );
        assert_eq!(
            red.redact("Set-Cookie: sid=abc; HttpOnly\nx"),
            "Set-Cookie: sid=«redacted»; HttpOnly\nx"
        );
        assert_eq!(
            red.redact(r#"{"cookie":"a=1; b=2"}"#),
            r#"{"cookie":"a=«redacted»; b=«redacted»"}"#
        );
    }

    #[test]
    fn sensitive_query_and_fragment_parameters() {
        let red = r(&[]);
        let url = "https://rp.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz&scope=openid#access_token=2YotnFZFEjr1zCsicMWpAA&token_type=bearer&id_token=eyJ.x.y";
        assert_eq!(
            red.redact(url),
            "https://rp.example/cb?code=«redacted»&state=xyz&scope=openid#access_token=«redacted»&token_type=bearer&id_token=«redacted»"
        );
        assert_eq!(
            red.redact_header("Location", "/cb?error=access_denied&state=s1&code=abc"),
            "/cb?error=access_denied&state=s1&code=«redacted»"
        );
        let u = Url::parse("http://x/a?token=abcdef&nonce=n1").unwrap();
        assert_eq!(red.redact_url(&u), "http://x/a?token=«redacted»&nonce=n1");
    }

    #[test]
    fn sensitive_form_parameters() {
        let red = r(&[]);
        let body = "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=dBjftJeZ4CVP&client_id=c1&client_secret=s%26x&client_assertion_type=jwt-bearer&client_assertion=eyJ.a.b&password=pw&code_challenge=E9Mel&code_challenge_method=S256&token_type_hint=access_token&refresh_token=r1&token=t1";
        assert_eq!(
            red.redact(body),
            "grant_type=authorization_code&code=«redacted»&redirect_uri=https%3A%2F%2Frp%2Fcb&code_verifier=«redacted»&client_id=c1&client_secret=«redacted»&client_assertion_type=jwt-bearer&client_assertion=«redacted»&password=«redacted»&code_challenge=E9Mel&code_challenge_method=S256&token_type_hint=access_token&refresh_token=«redacted»&token=«redacted»"
        );
        // response_type=code is a value, not a parameter named code.
        assert_eq!(
            red.redact("response_type=code&nonce=abc&error=invalid_grant"),
            "response_type=code&nonce=abc&error=invalid_grant"
        );
    }

    #[test]
    fn sensitive_json_members() {
        let red = r(&[]);
        let body = r#"{"access_token": "2YotnFZFEjr1zCsicMWpAA", "token_type":"Bearer", "expires_in":3600,
            "refresh_token" :"tGzv3JOkF0XG5Qx2TlKWIA", "id_token":"eyJ\"x", "scope":"openid", "nonce":"n-0S6",
            "state":"af0ifjsldkj", "error":"none", "code": 400, "nested": {"code": "abc"}}"#;
        let out = red.redact(body);
        for s in [
            "2YotnFZFEjr1zCsicMWpAA",
            "tGzv3JOkF0XG5Qx2TlKWIA",
            "eyJ",
            "\"abc\"",
        ] {
            assert!(!out.contains(s), "{s} in {out}");
        }
        for s in [
            "\"token_type\":\"Bearer\"",
            "\"scope\":\"openid\"",
            "\"nonce\":\"n-0S6\"",
            "\"state\":\"af0ifjsldkj\"",
            "\"error\":\"none\"",
            "\"code\": 400",
            "\"expires_in\":3600",
        ] {
            assert!(out.contains(s), "{s} missing from {out}");
        }
        assert!(out.contains("\"access_token\": \"«redacted»\""));
        // Still valid JSON.
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id_token"], REDACTED);
    }

    #[test]
    fn json_inside_a_json_string_and_truncated_json() {
        let red = r(&[]);
        let nested = r#"{"body":"{\"access_token\":\"secretAT\",\"state\":\"s\"}"}"#;
        let out = red.redact(nested);
        assert!(!out.contains("secretAT"), "{out}");
        assert!(out.contains(r#"\"state\":\"s\""#));
        let truncated = r#"{"refresh_token":"tGzv3JOkF0XG5Qx2"#;
        assert_eq!(red.redact(truncated), r#"{"refresh_token":"«redacted»"#);
    }

    #[test]
    fn form_post_html_inputs() {
        let red = r(&[]);
        let html = r#"<form method="post" action="https://rp/cb">
<input type="hidden" name="code" value="SplxlOBeZQQYbYS6WxSbIA"/>
<INPUT value='eyJ.id.tok' type=hidden name=id_token>
<input type="hidden" name="state" value="xyz"/></form>"#;
        let out = red.redact(html);
        assert!(
            !out.contains("SplxlOBeZQQYbYS6WxSbIA") && !out.contains("eyJ.id.tok"),
            "{out}"
        );
        assert!(out.contains(r#"name="state" value="xyz""#));
        assert!(out.contains(r#"name="code" value="«redacted»""#));
    }

    #[test]
    fn parameter_names_that_merely_contain_a_sensitive_name_are_kept() {
        let red = r(&[]);
        let text = "code_challenge=abc&x_code_y=1&mycode=2&token_type=bearer&state=code";
        assert_eq!(red.redact(text), text);
    }

    #[test]
    fn redaction_is_idempotent_and_leaves_plain_text_alone() {
        let red = r(&["abcdefgh"]);
        let once = red.redact("code=abcdefgh&x=abcdefgh Authorization: Basic abcdefgh");
        assert_eq!(red.redact(&once), once);
        let plain = "Hello, world: nothing to see here; a=b & c=d.";
        assert_eq!(red.redact(plain), plain);
        assert_eq!(red.redact(""), "");
        assert_eq!(red.redact("ünïcødé code=ü"), "ünïcødé code=«redacted»");
        let msg = "GET http://x/cb?code=«redacted»: timed out (code=abc).";
        assert_eq!(
            red.redact(msg),
            "GET http://x/cb?code=«redacted»: timed out (code=«redacted»"
        );
        assert_eq!(red.redact("code=«redacted»LEAK"), "code=«redacted»");
    }

    #[test]
    fn debug_does_not_show_values() {
        let red = r(&["hunter2-secret"]);
        let d = format!("{red:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("known_values: 1"));
    }
}
