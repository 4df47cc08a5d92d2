//! Redaction of evidence: nothing secret may reach a transcript, a report or an error message.
//!
//! Two independent layers, both applied by [`Redactor::redact`]:
//!
//! * **Known values** — client secrets and passwords given at start, plus tokens, codes and
//!   verifiers learned during the scan ([`Redactor::add`]). Each is replaced verbatim, inside the
//!   base64 of `id:secret` (Basic credentials), and in whatever encoding a server may echo it
//!   in: the text is also searched once decoded from HTML character references, from percent-
//!   encoding (`%20` or `+` for a space, any case, any subset of characters encoded) and from
//!   JSON string escapes, and a match there is replaced at its place in the original text. Values shorter than [`MIN_KNOWN_LEN`] characters are
//!   not replaced blindly (they would eat ordinary text); the name-based layer still covers them.
//! * **By name**, whatever the value — `Authorization` credentials, cookie values, and the
//!   values of sensitive parameters ([`SENSITIVE_PARAMS`]) in URL queries and fragments, form
//!   bodies, JSON members and HTML `<input name=… value=…>` fields (form_post responses).
//!
//! `state`, `nonce`, `code_challenge`, `error`, `scope` are evidence and are never redacted by name.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};

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
    /// Values added, as given (for de-duplication), sharing their text with `secrets`.
    values: HashSet<Arc<str>>,
    /// The secrets themselves, searched for in the text and in its decoded views.
    secrets: Vec<Arc<str>>,
    /// Their base64 forms, searched for in the text only. Matches are collected as ranges and
    /// overlapping ones merged, so neither list needs an order (nothing is re-sorted on add).
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
        let shared: Arc<str> = Arc::from(secret);
        if !known.values.insert(shared.clone()) {
            return;
        }
        known.secrets.push(shared);
        for v in base64_forms(secret) {
            if !known.patterns.contains(&v) {
                known.patterns.push(v);
            }
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
            if known.values.insert(Arc::from(b64.as_str())) && !known.patterns.contains(&b64) {
                known.patterns.push(b64);
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

    /// Only the known-values layer: every known form found in the text as it is, or in one of
    /// its decoded views ([`decodings`]), replaced where it stands in the text.
    pub fn redact_known<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let known = self.read();
        let mut ranges = Vec::new();
        let mut find_in =
            |view: &str,
             patterns: &mut dyn Iterator<Item = &str>,
             to_original: &dyn Fn(usize, usize) -> (usize, usize)| {
                for p in patterns {
                    ranges.extend(
                        view.match_indices(p)
                            .map(|(at, m)| to_original(at, at + m.len())),
                    );
                }
            };
        let secrets = || known.secrets.iter().map(|s| &**s);
        find_in(
            text,
            &mut secrets().chain(known.patterns.iter().map(String::as_str)),
            &|a, b| (a, b),
        );
        if !known.secrets.is_empty() {
            // Base64 is not searched for in the decoded views: Basic credentials are sent as
            // they are, and the views cost one search per secret each.
            let spaces = known.secrets.iter().any(|s| s.contains(' '));
            for view in decodings(text, spaces) {
                find_in(&view.text, &mut secrets(), &|a, b| view.original(a, b));
            }
        }
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        ranges.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut current: Option<(usize, usize)> = None;
        for (a, b) in ranges {
            match current {
                Some((s, e)) if a < e => current = Some((s, e.max(b))),
                _ => {
                    if let Some((s, e)) = current {
                        out.push_str(&text[last..s]);
                        out.push_str(REDACTED);
                        last = e;
                    }
                    current = Some((a, b));
                }
            }
        }
        if let Some((s, e)) = current {
            out.push_str(&text[last..s]);
            out.push_str(REDACTED);
            last = e;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
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

/// Percent-encodes everything but RFC 3986 unreserved characters (tests build echoes with it).
#[cfg(test)]
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

/// The base64 groups of a secret, searched for as they are. Its percent-encoded, form-encoded,
/// HTML-escaped and JSON-escaped forms are not kept: they are found by searching the decoded
/// views of the text ([`decodings`]) for the secret itself.
fn base64_forms(secret: &str) -> Vec<String> {
    let form = form_encode(secret);
    let mut out = Vec::new();
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

/// A decoded view of a text: each decoded character with the byte range of the original text
/// it was decoded from (a character that was not encoded maps to itself).
struct Decoded {
    text: String,
    /// Per character of `text`, in order: its offset in `text`, and its start and end in the
    /// original.
    map: Vec<(usize, usize, usize)>,
    changed: bool,
}

impl Decoded {
    fn with_capacity(n: usize) -> Self {
        Decoded {
            text: String::with_capacity(n),
            map: Vec::with_capacity(n),
            changed: false,
        }
    }

    fn push(&mut self, c: char, start: usize, end: usize) {
        self.map.push((self.text.len(), start, end));
        self.text.push(c);
    }

    /// Original text copied as it is.
    fn keep(&mut self, s: &str, start: usize) {
        for (i, c) in s.char_indices() {
            self.push(c, start + i, start + i + c.len_utf8());
        }
    }

    /// The range of the original text that the decoded bytes `a..b` came from (`a < b`, both
    /// character boundaries of `text`).
    fn original(&self, a: usize, b: usize) -> (usize, usize) {
        let first = self.map.partition_point(|m| m.0 < a);
        let last = self.map.partition_point(|m| m.0 < b).saturating_sub(1);
        match (self.map.get(first), self.map.get(last)) {
            (Some(f), Some(l)) => (f.1, l.2.max(f.1)),
            _ => (0, 0),
        }
    }
}

/// The decoded views of `text` a secret may be echoed in, each built only when the text holds
/// its escape character and kept only when something was decoded; the form-decoded view (`+`
/// for a space) only when a secret has a space (`spaces`), otherwise it is the percent view.
fn decodings(text: &str, spaces: bool) -> Vec<Decoded> {
    let mut out = Vec::new();
    if text.contains('&') {
        out.push(html_decoded(text));
    }
    if text.contains('%') {
        out.push(percent_decoded(text, false));
    }
    if spaces && text.contains('+') {
        out.push(percent_decoded(text, true));
    }
    if text.contains('\\') {
        out.push(json_unescaped(text));
    }
    out.retain(|d| d.changed);
    out
}

/// HTML character references: `&amp; &lt; &gt; &quot; &apos;` (any case), `&#NN;`, `&#xHH;`.
fn html_decoded(text: &str) -> Decoded {
    let mut d = Decoded::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some((c, len)) = rest
            .starts_with('&')
            .then(|| html_reference(rest))
            .flatten()
        {
            d.push(c, i, i + len);
            d.changed = true;
            i += len;
        } else {
            let c = rest.chars().next().unwrap_or_default();
            d.push(c, i, i + c.len_utf8());
            i += c.len_utf8();
        }
    }
    d
}

/// The character a reference at the start of `s` (which starts with `&`) stands for, and its
/// length in bytes, if it is one.
fn html_reference(s: &str) -> Option<(char, usize)> {
    // Bytes, not `str::get`: a cut 12 bytes on may fall inside a character.
    let end = s.as_bytes()[1..s.len().min(12)]
        .iter()
        .position(|&c| c == b';')?
        + 1;
    let name = &s[1..end];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(code)?
    } else {
        match name.to_ascii_lowercase().as_str() {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => return None,
        }
    };
    Some((c, end + 1))
}

/// Percent-decoding (`%XX`, any case; with `plus`, `+` as a space too). Escapes whose bytes are
/// not UTF-8 are kept as they are.
fn percent_decoded(text: &str, plus: bool) -> Decoded {
    let b = text.as_bytes();
    let hex = |i: usize| -> Option<u8> {
        let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
        u8::from_str_radix(h, 16).ok()
    };
    let mut d = Decoded::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && hex(i).is_some() {
            // A run of escapes, decoded together (a character may take several).
            let start = i;
            let mut bytes = Vec::new();
            while i < b.len() && b[i] == b'%' {
                let Some(v) = hex(i) else { break };
                bytes.push(v);
                i += 3;
            }
            let mut at = 0; // byte of `bytes`
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    let n = c.len_utf8();
                    d.push(c, start + at * 3, start + (at + n) * 3);
                    at += n;
                }
                let bad = chunk.invalid().len();
                d.keep(
                    &text[start + at * 3..start + (at + bad) * 3],
                    start + at * 3,
                );
                at += bad;
            }
            d.changed = true;
        } else if plus && b[i] == b'+' {
            d.push(' ', i, i + 1);
            d.changed = true;
            i += 1;
        } else {
            let c = text[i..].chars().next().unwrap_or_default();
            d.push(c, i, i + c.len_utf8());
            i += c.len_utf8();
        }
    }
    d
}

/// JSON string escapes: `\" \\ \/ \b \f \n \r \t` and `\uXXXX` (surrogate pairs joined).
fn json_unescaped(text: &str) -> Decoded {
    let unit = |s: &str, at: usize| -> Option<u32> {
        let h = s.get(at..at + 6)?.strip_prefix("\\u")?;
        u32::from_str_radix(h, 16).ok()
    };
    let mut d = Decoded::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let simple = match rest.as_bytes() {
            [b'\\', e, ..] => match e {
                b'"' => Some('"'),
                b'\\' => Some('\\'),
                b'/' => Some('/'),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                _ => None,
            },
            _ => None,
        };
        if let Some(c) = simple {
            d.push(c, i, i + 2);
            d.changed = true;
            i += 2;
            continue;
        }
        if let Some(u) = unit(text, i) {
            let pair = (0xD800..0xDC00)
                .contains(&u)
                .then(|| unit(text, i + 6))
                .flatten()
                .filter(|l| (0xDC00..0xE000).contains(l))
                .and_then(|l| char::from_u32(0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00)));
            if let Some(c) = pair {
                d.push(c, i, i + 12);
                d.changed = true;
                i += 12;
                continue;
            }
            if let Some(c) = char::from_u32(u) {
                d.push(c, i, i + 6);
                d.changed = true;
                i += 6;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        d.push(c, i, i + c.len_utf8());
        i += c.len_utf8();
    }
    d
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

    /// A secret with every character an encoder touches, and the forms a server may echo it in.
    const AWKWARD: &str = "Zq&x <Wv> \"Jk\" 'Yh' +%Pm/ö";

    fn assert_whole_secret_redacted(red: &Redactor, encoded: &str) {
        let out = red.redact(&format!("[{encoded}]"));
        assert_eq!(out, format!("[{REDACTED}]"), "{encoded}");
    }

    #[test]
    fn html_escaped_secret_is_redacted_whole() {
        let red = r(&[AWKWARD]);
        let html = |amp: &str, quot: &str, apos: &str| {
            AWKWARD
                .replace('&', amp)
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', quot)
                .replace('\'', apos)
        };
        for encoded in [
            html("&amp;", "&quot;", "&#x27;"), // Python html.escape, Django
            html("&amp;", "&#34;", "&#39;"),   // markupsafe (Jinja), Go html/template
            html("&amp;", "&quot;", "&#039;"), // PHP htmlspecialchars
            html("&amp;", "&quot;", "&apos;"), // XML, HTML5
            html("&#38;", "\"", "'"),          // text content: quotes left alone
            html("&#x26;", "&#X22;", "&#x27;"),
        ] {
            assert_whole_secret_redacted(&red, &encoded);
        }
        // The echo the issue saw: a password in a form field, HTML-escaped.
        let out = red.redact(&format!(
            "<input name=\"password\" value=\"{}\">",
            html("&amp;", "&quot;", "&#x27;")
        ));
        for part in ["Zq", "Wv", "Jk", "Yh", "Pm", "&amp;", "&lt;"] {
            assert!(!out.contains(part), "{part}: {out}");
        }
    }

    #[test]
    fn percent_encoded_secret_is_redacted_whole() {
        let red = r(&[AWKWARD]);
        let component: String = AWKWARD
            .chars()
            .map(|c| match c {
                // encodeURIComponent leaves these as they are.
                'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '!' | '~' | '*' | '\'' => {
                    c.to_string()
                }
                c => percent_encode(&c.to_string(), true),
            })
            .collect();
        for encoded in [
            form_encode(AWKWARD),                     // + for space
            form_encode(AWKWARD).replace('+', "%20"), // %20 for space
            percent_encode(AWKWARD, true),
            percent_encode(AWKWARD, false),
            component,
            percent_encode(AWKWARD, true).replacen("%3C", "%3c", 1), // mixed case
        ] {
            assert_whole_secret_redacted(&red, &encoded);
        }
    }

    #[test]
    fn json_escaped_secret_is_redacted_whole() {
        let red = r(&[AWKWARD]);
        let serde = serde_json::to_string(AWKWARD).unwrap();
        let serde = &serde[1..serde.len() - 1];
        let go = serde
            .replace('&', "\\u0026")
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('\'', "\\u0027");
        let php = serde.replace('/', "\\/").replace('ö', "\\u00f6");
        for encoded in [serde.to_string(), go, php] {
            assert_whole_secret_redacted(&red, &encoded);
        }
        let json = serde_json::json!({ "echo": AWKWARD }).to_string();
        assert_eq!(red.redact(&json), format!("{{\"echo\":\"{REDACTED}\"}}"));
    }

    #[test]
    fn basic_credentials_of_an_awkward_secret_are_redacted() {
        let red = r(&[]);
        red.add_basic("client id&", AWKWARD);
        for pair in [
            format!("client id&:{AWKWARD}"),
            format!("{}:{}", form_encode("client id&"), form_encode(AWKWARD)),
        ] {
            assert_whole_secret_redacted(&red, &STANDARD.encode(pair));
        }
        // The id unknown: the secret's part of the base64 is redacted all the same.
        let red = r(&[AWKWARD]);
        let out = red.redact(&STANDARD.encode(format!("someone:{AWKWARD}")));
        assert!(out.contains(REDACTED), "{out}");
    }

    #[test]
    fn by_name_layer_is_char_safe() {
        let red = r(&["sup3r-s3cret-value"]);
        for text in [
            "{\"code\": \"\\é\"}",
            "{\"code\": \"é\\",
            "{\\\"password\\\": \\\"ö",
            "<input name=code value=é",
            "<input name=\"é\" value=\"x\">",
            "code=é&password=\u{1F600}",
            "Authorization: é\r\nCookie: é=ö",
            "&#x1F600; &#xD800; &#99999999999; %E9%80 %F0%9F%98 \\ud800 \\u00",
        ] {
            let _ = red.redact(text);
        }
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
