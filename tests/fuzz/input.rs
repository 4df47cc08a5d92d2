//! Structure-aware generators: odd text, URLs, JSON, HTML tag soup.

use serde_json::{Map, Value};

/// A seeded random source with the shapes the targets need.
pub struct Gen {
    rng: fastrand::Rng,
}

/// Characters that break naive code: controls, escapes of every syntax the scanner reads,
/// multi-byte and astral characters, bidi and zero-width marks, the replacement character.
const ODD: &[&str] = &[
    "\0",
    "\t",
    "\n",
    "\r",
    "\u{1b}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    " ",
    "\"",
    "'",
    "`",
    "\\",
    "/",
    "<",
    ">",
    "&",
    ";",
    "=",
    "?",
    "#",
    "%",
    "+",
    ":",
    "@",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "*",
    "é",
    "ß",
    "İ",
    "ı",
    "K",
    "中",
    "\u{10ffff}",
    "😀",
    "\u{200b}",
    "\u{200e}",
    "\u{202e}",
    "\u{feff}",
    "\u{fffd}",
    "\u{301}",
    "\u{2028}",
    "«",
    "»",
    "%zz",
    "%e9",
    "%C3%A9",
    "%00",
    "%2F",
    "%25",
    "&amp;",
    "&#x41;",
    "&#0;",
    "&#xD800;",
    "&#1114112;",
    "&nbsp;",
    "\\u0041",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\",
    "\\\"",
    "]]>",
    "<!--",
    "-->",
];

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.rng.usize(..n) }
    }

    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        self.rng.usize(lo..=hi)
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn bool(&mut self) -> bool {
        self.rng.bool()
    }

    pub fn u8(&mut self) -> u8 {
        self.rng.u8(..)
    }

    pub fn u32(&mut self) -> u32 {
        self.rng.u32(..)
    }

    pub fn u64(&mut self) -> u64 {
        self.rng.u64(..)
    }

    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    pub fn choose<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A length, mostly short, sometimes up to `max`.
    pub fn len(&mut self, max: usize) -> usize {
        match self.below(8) {
            0 => 0,
            1..=5 => self.range(1, 8.min(max.max(1))),
            6 => self.range(0, (max / 8).max(1)),
            _ => self.range(0, max),
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.u8()).collect()
    }

    /// Any char (a Unicode scalar value), weighted toward ASCII.
    pub fn char(&mut self) -> char {
        match self.below(10) {
            0..=5 => char::from(self.rng.u8(0x20..0x7f)),
            6 => char::from(self.rng.u8(0..0x20)),
            7 => self.rng.char('\u{80}'..'\u{800}'),
            8 => self.rng.char('\u{800}'..'\u{ffff}'),
            _ => self.rng.char('\u{10000}'..='\u{10ffff}'),
        }
    }

    pub fn alnum(&mut self, n: usize) -> String {
        (0..n).map(|_| self.rng.alphanumeric()).collect()
    }

    /// Text meant to break parsers: odd pieces, random chars, words from `words`.
    pub fn text(&mut self, max_parts: usize, words: &[&str]) -> String {
        let n = self.len(max_parts);
        let mut out = String::new();
        for _ in 0..n {
            match self.below(6) {
                0 => out.push_str(self.pick(ODD)),
                1 => out.push(self.char()),
                2 if !words.is_empty() => out.push_str(self.pick(words)),
                3 => {
                    let k = self.range(1, 12);
                    out.push_str(&self.alnum(k));
                }
                4 => out.push(' '),
                _ => {
                    let k = self.range(1, 6);
                    let bytes = self.bytes(k);
                    out.push_str(&String::from_utf8_lossy(&bytes));
                }
            }
        }
        out
    }

    /// Random bytes decoded as a server's body is (invalid UTF-8 replaced).
    pub fn lossy(&mut self, max: usize) -> String {
        let n = self.len(max);
        let bytes = self.bytes(n);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A host as written in a URL: names, IP literals in odd spellings, IDNs, encodings.
    pub fn host(&mut self, own: &[&str]) -> String {
        let hosts: &[&str] = &[
            "127.0.0.1",
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.1",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "2130706433",
            "127.0.0.1.",
            "[::1]",
            "[::ffff:127.0.0.1]",
            "[0:0:0:0:0:0:0:1]",
            "[fe80::1%25eth0]",
            "[::1",
            "as.example",
            "AS.EXAMPLE",
            "as.example.",
            "evil.example",
            "as.example.evil.example",
            "as.example%2eevil.example",
            "xn--caf-dma.example",
            "café.example",
            "ÀS.example",
            "%61s.example",
            "as.exam%70le",
            "as..example",
            "as.example:80",
            "",
            "a b",
            "as\\.example",
            "as.example\u{3002}",
            "ａｓ.example",
        ];
        if !own.is_empty() && self.bool() {
            return self.pick(own).to_string();
        }
        if self.one_in(8) {
            return self.text(4, &[]);
        }
        self.pick(hosts).to_string()
    }

    /// A path, query or fragment piece with odd percent-encoding and characters.
    pub fn url_piece(&mut self, words: &[&str]) -> String {
        let pieces: &[&str] = &[
            "cb", "callback", "%63b", "%63%62", "%2e%2e", "..", ".", "%2F", "%2f", "%", "%z",
            "%zz", "%C3%A9", "é", "%00", "\\", "//", "/", ";x=1", "%3B", "A", "~", "%7E", "+", " ",
            "\t", "\n",
        ];
        let n = self.len(6);
        let mut out = String::new();
        for _ in 0..n {
            if !words.is_empty() && self.one_in(3) {
                out.push_str(self.pick(words));
            } else if self.one_in(6) {
                out.push(self.char());
            } else {
                out.push_str(self.pick(pieces));
            }
        }
        out
    }

    /// A URL as a server might write it: valid, nearly valid, or tricky (userinfo, IPv6,
    /// backslashes, odd schemes and ports, encoded pieces, fragments).
    pub fn url(&mut self, own_hosts: &[&str], words: &[&str]) -> String {
        let schemes: &[&str] = &[
            "http://",
            "https://",
            "HTTPS://",
            "hTtP://",
            "http:",
            "https:/",
            "http:\\\\",
            "//",
            "",
            "ftp://",
            "javascript:",
            "data:text/html,",
            "file:///",
            " https://",
            "http://\t",
        ];
        let mut out = String::new();
        out.push_str(self.pick(schemes));
        if self.one_in(5) {
            let user = self.url_piece(&["user", "127.0.0.1", "as.example"]);
            out.push_str(&user);
            if self.bool() {
                out.push(':');
                out.push_str(&self.url_piece(&["pass"]));
            }
            out.push_str(self.pick(&["@", "%40", "\\@", "@@"]));
        }
        out.push_str(&self.host(own_hosts));
        if self.bool() {
            let ports: &[&str] = &[
                ":80", ":443", ":8080", ":0", ":65535", ":65536", ":99999", ":", ":08080", ":-1",
                ":8o",
            ];
            out.push_str(self.pick(ports));
        }
        for _ in 0..self.len(5) {
            out.push(if self.one_in(10) { '\\' } else { '/' });
            out.push_str(&self.url_piece(words));
        }
        if self.one_in(3) {
            out.push('?');
            for i in 0..self.len(4) {
                if i > 0 {
                    out.push('&');
                }
                out.push_str(&self.url_piece(&["code", "state", "error", "client_id"]));
                if self.bool() {
                    out.push('=');
                    out.push_str(&self.url_piece(words));
                }
            }
        }
        if self.one_in(4) {
            out.push('#');
            out.push_str(&self.url_piece(&["code=x", "error=y", "state=z", "&"]));
        }
        out
    }

    /// A JSON value of any type, nested up to `depth`.
    pub fn json(&mut self, depth: usize, strings: &[&str]) -> Value {
        let top = if depth == 0 { 5 } else { 7 };
        match self.below(top) {
            0 => Value::Null,
            1 => Value::Bool(self.bool()),
            2 => match self.below(4) {
                0 => Value::from(self.u64()),
                1 => Value::from(-(self.u32() as i64)),
                2 => serde_json::Number::from_f64(f64::from_bits(self.u64()))
                    .map_or(Value::Null, Value::Number),
                _ => Value::from(self.below(10)),
            },
            3 | 4 => Value::String(if !strings.is_empty() && self.bool() {
                self.pick(strings).to_string()
            } else {
                self.text(8, strings)
            }),
            5 => Value::Array(
                (0..self.len(6))
                    .map(|_| self.json(depth - 1, strings))
                    .collect(),
            ),
            _ => {
                let mut map = Map::new();
                for _ in 0..self.len(6) {
                    let key = if self.bool() && !strings.is_empty() {
                        self.pick(strings).to_string()
                    } else {
                        self.text(3, &[])
                    };
                    let v = self.json(depth - 1, strings);
                    map.insert(key, v);
                }
                Value::Object(map)
            }
        }
    }

    /// JSON text for a value, with the serializer's output bent the way servers bend it:
    /// escaped slashes and non-ASCII, a truncated tail, trailing garbage, deep nesting, a BOM.
    pub fn json_text(&mut self, value: &Value) -> Vec<u8> {
        let mut text = if self.bool() {
            serde_json::to_string(value).unwrap_or_default()
        } else {
            serde_json::to_string_pretty(value).unwrap_or_default()
        };
        if self.one_in(6) {
            text = text.replace('/', "\\/");
        }
        if self.one_in(6) {
            text = escape_non_ascii(&text);
        }
        let mut bytes = text.into_bytes();
        match self.below(14) {
            0 => {
                let cut = self.below(bytes.len() + 1);
                bytes.truncate(cut);
            }
            1 => bytes.extend_from_slice(b"}garbage"),
            2 => {
                let depth = self.range(100, 3000);
                let mut deep = "[".repeat(depth).into_bytes();
                deep.extend_from_slice(&bytes);
                deep.extend("]".repeat(depth).bytes());
                bytes = deep;
            }
            3 => {
                let at = self.below(bytes.len() + 1);
                let junk = self.bytes(3);
                bytes.splice(at..at, junk);
            }
            4 => bytes.splice(0..0, [0xef, 0xbb, 0xbf]).for_each(drop),
            _ => {}
        }
        bytes
    }
}

/// `\uXXXX` for every non-ASCII character (surrogate pairs for astral ones).
pub fn escape_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}
