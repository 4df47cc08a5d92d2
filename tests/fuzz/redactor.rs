//! The redactor (src/http/redact.rs, public API only): for random secrets embedded in random
//! text raw, percent-encoded, form-encoded, HTML-escaped, JSON-escaped or inside HTTP Basic, the
//! output holds neither the secret nor the form it was embedded in; no input panics.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oauthprobe::http::redact::{MIN_KNOWN_LEN, REDACTED, Redactor};

use crate::{Case, Gen, run};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Raw,
    /// Every character outside the unreserved set, upper- or lower-case hex.
    Percent {
        upper: bool,
    },
    /// A random subset of characters percent-encoded (unreserved ones included).
    PercentSome,
    /// `application/x-www-form-urlencoded` (`+` for a space).
    Form,
    /// `& < > " '` as named references.
    HtmlNamed,
    /// A random subset as `&#NN;` / `&#xHH;`, the rest as named references or raw.
    HtmlNumeric,
    /// serde_json's string escaping.
    Json,
    /// A random subset as `\uXXXX` (surrogate pairs for astral characters).
    JsonUnicode,
}

const ENCODINGS: &[Encoding] = &[
    Encoding::Raw,
    Encoding::Percent { upper: true },
    Encoding::Percent { upper: false },
    Encoding::PercentSome,
    Encoding::Form,
    Encoding::HtmlNamed,
    Encoding::HtmlNumeric,
    Encoding::Json,
    Encoding::JsonUnicode,
];

fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

fn percent_char(out: &mut String, c: char, upper: bool) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
}

fn html_named(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => return None,
    })
}

fn encode(g: &mut Gen, secret: &str, how: Encoding) -> String {
    let mut out = String::new();
    match how {
        Encoding::Raw => out.push_str(secret),
        Encoding::Percent { upper } => {
            for c in secret.chars() {
                if unreserved(c) {
                    out.push(c);
                } else {
                    percent_char(&mut out, c, upper);
                }
            }
        }
        Encoding::PercentSome => {
            for c in secret.chars() {
                if g.bool() || c == '%' {
                    let upper = g.bool();
                    percent_char(&mut out, c, upper);
                } else {
                    out.push(c);
                }
            }
        }
        Encoding::Form => out = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        Encoding::HtmlNamed => {
            for c in secret.chars() {
                match html_named(c) {
                    Some(r) => out.push_str(r),
                    None => out.push(c),
                }
            }
        }
        Encoding::HtmlNumeric => {
            for c in secret.chars() {
                if g.bool() || c == '&' {
                    if g.bool() {
                        out.push_str(&format!("&#{};", c as u32));
                    } else {
                        out.push_str(&format!("&#x{:X};", c as u32));
                    }
                } else {
                    match html_named(c) {
                        Some(r) => out.push_str(r),
                        None => out.push(c),
                    }
                }
            }
        }
        Encoding::Json => {
            let quoted = serde_json::to_string(secret).unwrap_or_default();
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
        Encoding::JsonUnicode => {
            for c in secret.chars() {
                let must = matches!(c, '"' | '\\') || (c as u32) < 0x20;
                if must || g.bool() {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04X}"));
                    }
                } else {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// The text as the encoding's reader sees it (what a person or a program decodes it to).
fn decode(text: &str, how: Encoding) -> String {
    match how {
        Encoding::Raw => text.to_string(),
        Encoding::Percent { .. } | Encoding::PercentSome => percent_decode(text.as_bytes(), false),
        Encoding::Form => percent_decode(text.as_bytes(), true),
        Encoding::HtmlNamed | Encoding::HtmlNumeric => html_decode(text),
        Encoding::Json | Encoding::JsonUnicode => json_decode(text),
    }
}

fn percent_decode(b: &[u8], plus: bool) -> String {
    let hex = |i: usize| -> Option<u8> {
        let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
        u8::from_str_radix(h, 16).ok()
    };
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(i)) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) if plus => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn html_decode(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let semi = rest.as_bytes().iter().take(12).position(|&c| c == b';');
        let decoded = semi.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn json_decode(text: &str) -> String {
    let mut units: Vec<u16> = Vec::new();
    let mut out = String::new();
    let flush = |units: &mut Vec<u16>, out: &mut String| {
        out.push_str(&String::from_utf16_lossy(units));
        units.clear();
    };
    let mut i = 0;
    let b = text.as_bytes();
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let simple = match b[i + 1] {
                b'"' => Some('"'),
                b'\\' => Some('\\'),
                b'/' => Some('/'),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                _ => None,
            };
            if let Some(c) = simple {
                flush(&mut units, &mut out);
                out.push(c);
                i += 2;
                continue;
            }
            let unit = text
                .get(i + 2..i + 6)
                .filter(|_| b[i + 1] == b'u')
                .and_then(|h| u16::from_str_radix(h, 16).ok());
            if let Some(u) = unit {
                units.push(u);
                i += 6;
                continue;
            }
        }
        flush(&mut units, &mut out);
        let c = text[i..].chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8();
    }
    flush(&mut units, &mut out);
    out
}

/// A secret of the kinds the scanner knows: tokens, passwords with symbols, non-ASCII text.
fn secret(g: &mut Gen) -> String {
    loop {
        let n = g.range(MIN_KNOWN_LEN, 40);
        let s: String = match g.below(5) {
            0 => g.alnum(n),
            1 => (0..n)
                .map(|_| {
                    let set = b"ABCabc019-_.~+/=";
                    char::from(set[g.below(set.len())])
                })
                .collect(),
            2 => (0..n)
                .map(|_| {
                    let set = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~aZ9";
                    set.chars().nth(g.below(set.len())).unwrap_or('x')
                })
                .collect(),
            3 => (0..n).map(|_| g.char()).collect(),
            _ => {
                let words = [
                    "pässwörd",
                    "s3cret",
                    "中文",
                    "😀",
                    "a b",
                    "x&y",
                    "%41",
                    "&amp;",
                ];
                let mut s = String::new();
                while s.chars().count() < n {
                    s.push_str(g.pick(&words));
                }
                s
            }
        };
        // The marker's own characters could be rebuilt from markers and the text around them.
        if s.contains(['«', '»']) || REDACTED.contains(s.as_str()) {
            continue;
        }
        return s;
    }
}

/// Where a secret sits in a recorded string.
fn context(g: &mut Gen, embedded: &str) -> String {
    let shapes: &[&str] = &[
        "{}",
        "password={}&x=1",
        "?code={}#state=1",
        "{\"error_description\":\"bad {}\"}",
        "<input name=\"x\" value=\"{}\">",
        "<p>you said {} to us</p>",
        "Location: https://c.example/cb?q={}",
        "\"{}\"",
        "{}{}",
        "+{}+",
    ];
    // Spaces keep the text around from joining the encoding (`\` + `\u0041` is a backslash
    // and `u0041` in JSON, `%` + `41…` an escape): an ambiguity, not a leak.
    format!(" {} ", g.pick(shapes).replace("{}", embedded))
}

fn without_markers(text: &str) -> String {
    text.replace(REDACTED, "«»")
}

#[test]
fn redactor() {
    run(
        "redactor",
        || (),
        |(), case: &mut Case| {
            let g = &mut case.g;
            let n = g.range(1, 3);
            let secrets: Vec<String> = (0..n).map(|_| secret(g)).collect();
            let mut text = String::new();
            let mut embedded: Vec<(usize, Encoding, String)> = Vec::new();
            let words = [
                "password", "code", "token", "=", "&", "%", "\\u00", "&#x", "+",
            ];
            for _ in 0..g.range(1, 4) {
                text.push_str(&g.text(10, &words));
                let which = g.below(secrets.len());
                let how = g.choose(ENCODINGS);
                let enc = encode(g, &secrets[which], how);
                text.push_str(&context(g, &enc));
                embedded.push((which, how, enc));
            }
            text.push_str(&g.text(10, &words));
            // Inside base64("id:secret") only the secret's whole 3-byte groups are known (the id
            // shifts them); from 8 bytes on at least two groups are, so the echo is broken. A
            // shorter secret's header is learned whole when the scanner sends it.
            let long: Vec<usize> = (0..secrets.len())
                .filter(|&i| secrets[i].len() >= 8)
                .collect();
            let basic = (!long.is_empty() && g.one_in(4)).then(|| {
                let k = g.range(1, 12);
                let id = g.alnum(k);
                let which = g.choose(&long);
                let pair = format!("{id}:{}", secrets[which]);
                let b64 = STANDARD.encode(pair.as_bytes());
                (which, b64)
            });
            if let Some((_, b64)) = &basic {
                text.push_str(&format!("\nyou sent: Basic {b64}\n"));
                text.push_str(&g.text(4, &words));
            }
            case.note("secrets", &secrets);
            case.note("text", &text);
            let r = Redactor::new(if case.g.bool() {
                secrets.clone()
            } else {
                Vec::new()
            });
            for s in &secrets {
                r.add(s);
            }
            let full = r.redact(&text);
            let known = r.redact_known(&text).into_owned();
            case.note("redact", &full);
            case.note("redact_known", &known);
            for out in [&full, &known] {
                let plain = without_markers(out);
                for s in &secrets {
                    assert!(
                        !plain.contains(s.as_str()),
                        "the secret {s:?} survived in {out:?}"
                    );
                }
                for (which, how, enc) in &embedded {
                    assert!(
                        !plain.contains(enc.as_str()),
                        "secret {which} embedded {how:?} as {enc:?} survived in {out:?}"
                    );
                    let decoded = decode(&plain, *how);
                    assert!(
                        !decoded.contains(secrets[*which].as_str()),
                        "secret {which} embedded {how:?} as {enc:?} decodes back from {out:?}"
                    );
                }
                if let Some((which, b64)) = &basic {
                    assert!(
                        !plain.contains(b64.as_str()),
                        "Basic credentials of secret {which} ({b64}) survived in {out:?}"
                    );
                }
            }
            // Nothing known: the known-values layer leaves any text as it is.
            let empty = Redactor::new(Vec::new());
            let junk = case.g.lossy(200);
            assert_eq!(empty.redact_known(&junk), junk.as_str());
            let _ = empty.redact(&junk);
            let _ = r.redact(&junk);
        },
    );
}
