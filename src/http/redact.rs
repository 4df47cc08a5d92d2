//! Redaction of evidence: nothing secret may reach a transcript, a report or an error message.
//!
//! Two independent layers, both applied by [`Redactor::redact`]:
//!
//! * **Known values** — client secrets and passwords given at start, plus tokens, codes and
//!   verifiers learned during the scan ([`Redactor::add`]). Each is replaced verbatim, inside the
//!   base64 of `id:secret` (Basic credentials), and in whatever encoding a server may echo it
//!   in: the text is also searched once decoded from HTML character references, from percent-
//!   encoding (`%20` or `+` for a space, any case, any subset of characters encoded) and from
//!   JSON string escapes, and a match there is replaced at its place in the original text.
//!   Values shorter than [`MIN_KNOWN_LEN`] characters are not replaced blindly (they would eat
//!   ordinary text); the name-based layer still covers them.
//! * **By name**, whatever the value — `Authorization` credentials, cookie values, and the
//!   values of sensitive parameters ([`SENSITIVE_PARAMS`]) in URL queries and fragments, form
//!   bodies, JSON members and HTML `<input name=… value=…>` fields (form_post responses).
//!
//! `state`, `nonce`, `code_challenge`, `error`, `scope` are evidence and are never redacted by name.
//!
//! # Cost
//!
//! A server chooses the tokens, codes and cookies the scan learns, and the text it is redacted
//! from, so neither may make redaction grow with the other:
//!
//! * The known forms (each value and its base64 groups) are searched for with Aho-Corasick
//!   automata ([`Automaton`]): one pass over the text (and one over each decoded view the text
//!   actually needs) per automaton, whatever the number of values. Values learned since the last
//!   redaction are built into a new automaton when the next redaction needs them, and automata
//!   are merged when the newer one weighs at least half the older (like a binary counter): each
//!   form is rebuilt O(log n) times, and there are O(log n) automata.
//! * A form longer than [`PREFIX_BYTES`] is kept as its first [`PREFIX_BYTES`] bytes (in the
//!   automaton), its length and a hash of the whole, which a match of the prefix is checked
//!   against (a hash of the text, computed only when such a prefix is found): a 1 MB token costs
//!   a few hundred bytes, not a copy per encoded form. A hash collision (2^-61) would only
//!   redact too much.
//! * Values are de-duplicated by their SHA-256 digest (the value itself is not kept).
//! * At most [`MAX_COOKIE_VALUES`] cookie values are learned ([`Redactor::add_cookie`]); a
//!   server setting more still has them redacted by name in `Cookie` and `Set-Cookie` headers.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use url::Url;

/// What every secret is replaced with.
pub const REDACTED: &str = "«redacted»";

/// Known values shorter than this (in characters) are not replaced blindly.
pub const MIN_KNOWN_LEN: usize = 6;

/// Cookie values learned as known values at most: a server may set any number of cookies, and
/// each would otherwise be searched for in every string recorded. Beyond this, cookie values are
/// still redacted by name wherever they appear as cookies (`Cookie`, `Set-Cookie`).
pub const MAX_COOKIE_VALUES: usize = 1024;

/// Cookie values longer than this (in bytes) are not learned as known values (browsers keep at
/// most 4096 bytes per cookie; RFC 6265 §6.1); they are still redacted by name.
pub const MAX_COOKIE_BYTES: usize = 4096;

/// Forms longer than this (in bytes) are searched for by this prefix, then checked by hash.
const PREFIX_BYTES: usize = 128;

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
pub struct Redactor {
    known: RwLock<Known>,
    /// The hash long forms are checked with (random per redactor).
    poly: Poly,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor {
            known: RwLock::default(),
            poly: Poly::random(),
        }
    }
}

#[derive(Default)]
struct Known {
    /// SHA-256 of every value learned (de-duplication without keeping the value).
    seen: HashSet<[u8; 32]>,
    /// How many of them were cookie values ([`MAX_COOKIE_VALUES`]).
    cookies: usize,
    /// Whether a value has a space (then `+` is decoded as a space too).
    spaces: bool,
    /// Forms learned since the last redaction, not yet in an automaton.
    pending: Vec<Pattern>,
    /// The automata, oldest (heaviest) first; each weighs more than twice the next.
    levels: Vec<Level>,
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
        self.learn(secret.as_ref(), false);
    }

    /// Learns the value of a cookie the scan sends: like [`Redactor::add`], but only the first
    /// [`MAX_COOKIE_VALUES`] distinct values up to [`MAX_COOKIE_BYTES`] each (a server chooses
    /// how many cookies it sets; cookies are also redacted by name).
    pub fn add_cookie(&self, value: impl AsRef<str>) {
        let value = value.as_ref();
        if value.len() <= MAX_COOKIE_BYTES {
            self.learn(value, true);
        }
    }

    fn learn(&self, secret: &str, cookie: bool) {
        if secret.chars().nth(MIN_KNOWN_LEN - 1).is_none() {
            return;
        }
        let digest = sha256(secret);
        {
            let known = self.read();
            if known.seen.contains(&digest) || (cookie && known.cookies >= MAX_COOKIE_VALUES) {
                return;
            }
        }
        let forms = forms(secret, self.poly);
        let mut known = self.write();
        if cookie && known.cookies >= MAX_COOKIE_VALUES {
            return;
        }
        if !known.seen.insert(digest) {
            return;
        }
        if cookie {
            known.cookies += 1;
        }
        known.spaces |= secret.contains(' ');
        known.pending.extend(forms);
    }

    /// Learns Basic client credentials: the secret itself, and the exact base64 of `id:secret`
    /// both with and without the RFC 6749 §2.3.1 form-encoding.
    pub fn add_basic(&self, id: &str, secret: &str) {
        self.add(secret);
        let encoded = format!("{}:{}", form_encode(id), form_encode(secret));
        for pair in [encoded, format!("{id}:{secret}")] {
            let b64 = STANDARD.encode(pair.as_bytes());
            let digest = sha256(&b64);
            let mut pattern = PatternBuilder::new(self.poly);
            pattern.push(b64.as_bytes());
            let mut known = self.write();
            if known.seen.insert(digest) {
                known.pending.extend(pattern.finish());
            }
        }
    }

    /// How many values were added (not counting their encoded forms).
    pub fn known_count(&self) -> usize {
        self.read().seen.len()
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
    /// its decoded views ([`View`]), replaced where it stands in the text.
    pub fn redact_known<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if text.is_empty() {
            return Cow::Borrowed(text);
        }
        if !self.read().pending.is_empty() {
            self.write().flush();
        }
        let known = self.read();
        if known.levels.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut ranges = Vec::new();
        let search = |hay: &[u8], found: &mut Vec<(usize, usize)>| {
            let mut hashes = TextHashes::new(self.poly);
            for level in &known.levels {
                level.automaton.find(hay, &mut hashes, found);
            }
        };
        search(text.as_bytes(), &mut ranges);
        for view in View::ALL {
            let Some(decoded) = view.decode(text, known.spaces) else {
                continue;
            };
            let mut found = Vec::new();
            search(&decoded.text, &mut found);
            ranges.extend(found.into_iter().map(|(a, b)| decoded.original(a, b)));
        }
        drop(known);
        replace_ranges(text, ranges)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Known {
    /// Builds the pending forms into an automaton, merged with the newest ones while it weighs at
    /// least half of them.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut patterns = std::mem::take(&mut self.pending);
        let mut weight: usize = patterns.iter().map(|p| p.head.len()).sum();
        while self.levels.last().is_some_and(|l| weight * 2 >= l.weight) {
            if let Some(older) = self.levels.pop() {
                weight += older.weight;
                patterns.extend(older.patterns);
            }
        }
        self.levels.push(Level {
            automaton: Automaton::build(&patterns),
            patterns,
            weight,
        });
    }
}

/// One automaton and the forms it was built from (kept to merge it with another later).
struct Level {
    automaton: Automaton,
    patterns: Vec<Pattern>,
    /// Bytes of the forms as kept (the prefix of a long one).
    weight: usize,
}

/// `text` with each range (merged where they overlap) replaced by [`REDACTED`].
fn replace_ranges(text: &str, mut ranges: Vec<(usize, usize)>) -> Cow<'_, str> {
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    // Widened to character boundaries: only a hash collision could cut a character, but a
    // panic is not an option.
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let ceil = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i += 1;
        }
        i
    };
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut current: Option<(usize, usize)> = None;
    for (a, b) in ranges {
        let (a, b) = (floor(a), ceil(b));
        match current {
            Some((s, e)) if a < e => current = Some((s, e.max(b))),
            _ => {
                if let Some((s, e)) = current {
                    out.push_str(&text[last..s]);
                    out.push_str(REDACTED);
                    last = e;
                }
                current = Some((a.max(last), b.max(last)));
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

/// Adds `a..b` to `found`, merged with the last range if they overlap (matches mostly arrive in
/// order, so runs of overlapping matches stay one range).
fn push_range(found: &mut Vec<(usize, usize)>, a: usize, b: usize) {
    match found.last_mut() {
        Some(last) if a < last.1 && b > last.0 => *last = (last.0.min(a), last.1.max(b)),
        _ => found.push((a, b)),
    }
}

fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
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

/// The forms of a secret searched for: the secret itself, and the base64 groups of it and of
/// its form-encoding. Its percent-encoded, form-encoded, HTML-escaped and JSON-escaped forms are
/// not kept: they are found by searching the decoded views of the text ([`View`]).
///
/// Inside base64("id:" + secret) the id is unknown, but every complete 3-byte group of the
/// secret encodes to the same 4 characters whatever precedes it; only its alignment varies, so
/// each of the three alignments is a form (when it has at least two groups). The forms are built
/// as streams: none is ever held whole.
fn forms(secret: &str, poly: Poly) -> Vec<Pattern> {
    let mut raw = PatternBuilder::new(poly);
    raw.push(secret.as_bytes());
    let mut out: Vec<Pattern> = raw.finish().into_iter().collect();
    let mut at = 0;
    let form_differs = url::form_urlencoded::byte_serialize(secret.as_bytes()).any(|piece| {
        let same = secret.as_bytes().get(at..at + piece.len()) == Some(piece.as_bytes());
        at += piece.len();
        !same
    });
    for form in [false, true] {
        if form && !form_differs {
            continue;
        }
        let mut groups = [0, 1, 2].map(|skip| Base64Groups::new(skip, poly));
        let mut feed = |bytes: &[u8]| groups.iter_mut().for_each(|g| g.push(bytes));
        if form {
            url::form_urlencoded::byte_serialize(secret.as_bytes())
                .for_each(|piece| feed(piece.as_bytes()));
        } else {
            feed(secret.as_bytes());
        }
        out.extend(groups.into_iter().filter_map(Base64Groups::finish));
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert((p.head.clone(), p.long.map(|l| (l.len, l.hash)))));
    out
}

/// The base64 of a byte stream after its first `skip` bytes, whole 3-byte groups only.
struct Base64Groups {
    skip: usize,
    pending: Vec<u8>,
    out: PatternBuilder,
}

impl Base64Groups {
    const CHUNK: usize = 3 * 1024;

    fn new(skip: usize, poly: Poly) -> Self {
        Base64Groups {
            skip,
            pending: Vec::new(),
            out: PatternBuilder::new(poly),
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        let skipped = self.skip.min(bytes.len());
        self.skip -= skipped;
        bytes = &bytes[skipped..];
        while !bytes.is_empty() {
            let take = (Self::CHUNK - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == Self::CHUNK {
                self.out.push(STANDARD.encode(&self.pending).as_bytes());
                self.pending.clear();
            }
        }
    }

    /// The form, if it has at least two groups (8 characters).
    fn finish(mut self) -> Option<Pattern> {
        let whole = self.pending.len() / 3 * 3;
        self.out
            .push(STANDARD.encode(&self.pending[..whole]).as_bytes());
        (self.out.len >= 8).then(|| self.out.finish()).flatten()
    }
}

/// A form as searched for: whole if at most [`PREFIX_BYTES`] long, else its prefix, length and
/// hash.
struct Pattern {
    head: Box<[u8]>,
    long: Option<Long>,
}

/// What checks a long form beyond its prefix.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Long {
    len: usize,
    hash: u64,
    /// `base^len`, to take a hash of the text's bytes at the same length.
    pow: u64,
}

/// Builds a [`Pattern`] from a stream of bytes.
struct PatternBuilder {
    poly: Poly,
    head: Vec<u8>,
    len: usize,
    hash: u64,
}

impl PatternBuilder {
    fn new(poly: Poly) -> Self {
        PatternBuilder {
            poly,
            head: Vec::new(),
            len: 0,
            hash: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = PREFIX_BYTES
            .saturating_sub(self.head.len())
            .min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        self.len += bytes.len();
        self.hash = bytes.iter().fold(self.hash, |h, &b| self.poly.step(h, b));
    }

    fn finish(self) -> Option<Pattern> {
        if self.len == 0 {
            return None;
        }
        let long = (self.len > PREFIX_BYTES).then(|| Long {
            len: self.len,
            hash: self.hash,
            pow: self.poly.pow(self.len),
        });
        Some(Pattern {
            head: self.head.into_boxed_slice(),
            long,
        })
    }
}

/// Polynomial hash of bytes modulo the Mersenne prime 2^61 - 1, with a random base.
#[derive(Clone, Copy)]
struct Poly {
    base: u64,
}

const MODULUS: u64 = (1 << 61) - 1;

impl Poly {
    fn random() -> Self {
        let r = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        Poly {
            base: 256 + r % (MODULUS - 512),
        }
    }

    fn reduce(x: u128) -> u64 {
        // x = hi * 2^61 + lo ≡ hi + lo.
        let s = (x & u128::from(MODULUS)) + (x >> 61);
        let s = (s & u128::from(MODULUS)) + (s >> 61);
        let s = s as u64;
        if s >= MODULUS { s - MODULUS } else { s }
    }

    fn mul(a: u64, b: u64) -> u64 {
        Self::reduce(u128::from(a) * u128::from(b))
    }

    /// The hash of `bytes + [b]` from the hash `h` of `bytes`.
    fn step(self, h: u64, b: u8) -> u64 {
        Self::reduce(u128::from(h) * u128::from(self.base) + u128::from(b) + 1)
    }

    fn pow(self, mut n: usize) -> u64 {
        let (mut result, mut x) = (1, self.base);
        while n > 0 {
            if n & 1 == 1 {
                result = Self::mul(result, x);
            }
            x = Self::mul(x, x);
            n >>= 1;
        }
        result
    }
}

/// Hashes of the prefixes of a text, computed the first time a long form's prefix is found in
/// it, and kept every [`TextHashes::EVERY`] bytes (the rest recomputed from there).
struct TextHashes {
    poly: Poly,
    checkpoints: Option<Vec<u64>>,
}

impl TextHashes {
    const EVERY: usize = 32;

    fn new(poly: Poly) -> Self {
        TextHashes {
            poly,
            checkpoints: None,
        }
    }

    /// The hash of `text[..i]`.
    fn prefix(&mut self, text: &[u8], i: usize) -> u64 {
        let poly = self.poly;
        let checkpoints = self.checkpoints.get_or_insert_with(|| {
            let mut v = Vec::with_capacity(text.len() / Self::EVERY + 1);
            let mut h = 0;
            v.push(h);
            for chunk in text.chunks(Self::EVERY) {
                h = chunk.iter().fold(h, |h, &b| poly.step(h, b));
                v.push(h);
            }
            v
        });
        let at = i / Self::EVERY;
        let from = checkpoints.get(at).copied().unwrap_or(0);
        text[at * Self::EVERY..i]
            .iter()
            .fold(from, |h, &b| poly.step(h, b))
    }

    /// Whether `text[start..start + long.len]` hashes as `long` does.
    fn matches(&mut self, text: &[u8], start: usize, long: &Long) -> bool {
        let Some(end) = start.checked_add(long.len).filter(|&e| e <= text.len()) else {
            return false;
        };
        let h = self.prefix(text, end);
        let shifted = Poly::mul(self.prefix(text, start), long.pow);
        let h = if h >= shifted {
            h - shifted
        } else {
            h + MODULUS - shifted
        };
        h == long.hash
    }
}

/// An Aho-Corasick automaton over forms, reporting at each position of the text the longest
/// form ending there (which covers every shorter one), so that a search is linear in the text
/// whatever the forms. States are numbered breadth-first, so that the children of a state are
/// consecutive states, sorted by the byte leading to them.
///
/// Written here rather than taken from the `aho-corasick` crate: the crate reports every
/// overlapping match (about 120 per position for values that are suffixes of one another) or
/// leftmost ones, not the longest form ending at each position; getting that from it meant
/// stepping its NFA by hand with per-state bookkeeping. Tried: more code, and slower.
struct Automaton {
    /// Transitions of the start state (0), by byte.
    root: Box<[u32; 256]>,
    /// The children of state `s` are states `first_child[s]..first_child[s + 1]`.
    first_child: Vec<u32>,
    /// The byte leading to each state.
    label: Vec<u8>,
    /// The longest proper suffix of the state's bytes that is also a state.
    fail: Vec<u32>,
    /// Length of the longest whole form that is a suffix of the state's bytes (0: none), and
    /// [`Automaton::LONG`] if long forms have the state's bytes as their prefix.
    out: Vec<u32>,
    /// Those long forms, by state, longest first.
    long: HashMap<u32, Vec<Long>>,
}

impl Automaton {
    const LONG: u32 = 1 << 31;

    fn build(patterns: &[Pattern]) -> Self {
        let mut order: Vec<&Pattern> = patterns.iter().filter(|p| !p.head.is_empty()).collect();
        order.sort_unstable_by(|a, b| a.head.cmp(&b.head));
        let mut a = Automaton {
            root: Box::new([0; 256]),
            first_child: Vec::new(),
            label: vec![0],
            fail: vec![0],
            out: vec![0],
            long: HashMap::new(),
        };
        // Per state: the forms (a range of `order`) having its bytes as prefix, and its depth.
        let mut nodes: Vec<(usize, usize, usize)> = vec![(0, order.len(), 0)];
        let mut id = 0;
        while let Some(&(lo, hi, depth)) = nodes.get(id) {
            let mut j = lo;
            let mut own = 0;
            let mut long = Vec::new();
            // Sorted, the forms ending here come first.
            while j < hi && order[j].head.len() == depth {
                match order[j].long {
                    None => own = depth as u32,
                    Some(l) => long.push(l),
                }
                j += 1;
            }
            let inherited = if id == 0 {
                0
            } else {
                a.out[a.fail[id] as usize] & !Self::LONG
            };
            let mut out = if own > 0 { own } else { inherited };
            if !long.is_empty() {
                long.sort_unstable_by(|x, y| y.len.cmp(&x.len).then(x.hash.cmp(&y.hash)));
                long.dedup();
                a.long.insert(id as u32, long);
                out |= Self::LONG;
            }
            a.out[id] = out;
            a.first_child.push(nodes.len() as u32);
            while j < hi {
                let byte = order[j].head[depth];
                let mut k = j + 1;
                while k < hi && order[k].head[depth] == byte {
                    k += 1;
                }
                let fail = if id == 0 { 0 } else { a.next(a.fail[id], byte) };
                if id == 0 {
                    a.root[usize::from(byte)] = nodes.len() as u32;
                }
                nodes.push((j, k, depth + 1));
                a.label.push(byte);
                a.fail.push(fail);
                a.out.push(0);
                j = k;
            }
            id += 1;
        }
        a.first_child.push(nodes.len() as u32);
        a
    }

    /// The child of `s` by `byte`, if any.
    fn child(&self, s: u32, byte: u8) -> Option<u32> {
        let s = s as usize;
        let lo = *self.first_child.get(s)? as usize;
        let hi = *self.first_child.get(s + 1)? as usize;
        let labels = self.label.get(lo..hi)?;
        labels.binary_search(&byte).ok().map(|i| (lo + i) as u32)
    }

    /// The state after `byte` from state `s`.
    fn next(&self, mut s: u32, byte: u8) -> u32 {
        loop {
            if s == 0 {
                return self.root[usize::from(byte)];
            }
            if let Some(t) = self.child(s, byte) {
                return t;
            }
            s = self.fail[s as usize];
        }
    }

    /// Adds to `found` the range of every form found in `text` (overlapping matches merged).
    fn find(&self, text: &[u8], hashes: &mut TextHashes, found: &mut Vec<(usize, usize)>) {
        let mut s = 0;
        for (i, &byte) in text.iter().enumerate() {
            s = self.next(s, byte);
            let out = self.out[s as usize];
            if out == 0 {
                continue;
            }
            let end = i + 1;
            let len = (out & !Self::LONG) as usize;
            if len > 0 {
                push_range(found, end.saturating_sub(len), end);
            }
            if out & Self::LONG != 0 {
                let start = end.saturating_sub(PREFIX_BYTES);
                let long = self.long.get(&s).map_or(&[][..], Vec::as_slice);
                if let Some(l) = long.iter().find(|l| hashes.matches(text, start, l)) {
                    push_range(found, start, start + l.len);
                }
            }
        }
    }
}

/// The decodings of a text a secret may be echoed in.
#[derive(Clone, Copy)]
enum View {
    Html,
    Percent,
    /// Percent-decoding with `+` as a space (only when a known value has a space; otherwise
    /// it finds nothing the percent view does not).
    Form,
    Json,
}

impl View {
    const ALL: [View; 4] = [View::Html, View::Percent, View::Form, View::Json];

    /// The decoded text, if the text holds this view's escape character, something was decoded,
    /// and the text is small enough to map (under 4 GiB).
    fn decode(self, text: &str, spaces: bool) -> Option<Decoded> {
        if u32::try_from(text.len()).is_err() {
            return None;
        }
        let d = match self {
            View::Html if text.contains('&') => html_decoded(text),
            View::Percent if text.contains('%') => percent_decoded(text, false),
            View::Form if spaces && text.contains('+') => percent_decoded(text, true),
            View::Json if text.contains('\\') => json_unescaped(text),
            _ => return None,
        };
        d.changed.then_some(d)
    }
}

/// A decoded view of a text: the decoded bytes (UTF-8), and for each the offset in the original
/// text of the character it belongs to (a character that was not encoded maps to itself).
/// Matches are found at character boundaries, so only the offsets of first bytes are used.
struct Decoded {
    text: Vec<u8>,
    /// One more than `text`: the end of the original.
    src: Vec<u32>,
    changed: bool,
}

impl Decoded {
    fn with_capacity(n: usize) -> Self {
        Decoded {
            text: Vec::with_capacity(n),
            src: Vec::with_capacity(n + 1),
            changed: false,
        }
    }

    /// A character decoded from the original text starting at `start`.
    fn push(&mut self, c: char, start: usize) {
        let mut buf = [0; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        self.text.extend_from_slice(bytes);
        self.src
            .extend(std::iter::repeat_n(start as u32, bytes.len()));
    }

    /// Original text copied as it is.
    fn keep(&mut self, s: &str, start: usize) {
        self.text.extend_from_slice(s.as_bytes());
        self.src.extend((start..start + s.len()).map(|i| i as u32));
    }

    fn finish(mut self, original_len: usize) -> Self {
        self.src.push(original_len as u32);
        self
    }

    /// The range of the original text that the decoded bytes `a..b` came from.
    fn original(&self, a: usize, b: usize) -> (usize, usize) {
        let at = |i: usize| self.src.get(i).map_or(0, |&o| o as usize);
        (at(a), at(b).max(at(a)))
    }
}

/// HTML character references: `&amp; &lt; &gt; &quot; &apos;` (any case), `&#NN;`, `&#xHH;`.
fn html_decoded(text: &str) -> Decoded {
    let mut d = Decoded::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        // Up to the next reference, copied as it is.
        let plain = rest.find('&').unwrap_or(rest.len());
        if plain > 0 {
            d.keep(&rest[..plain], i);
            i += plain;
            continue;
        }
        if let Some((c, len)) = html_reference(rest) {
            d.push(c, i);
            d.changed = true;
            i += len;
        } else {
            d.keep("&", i);
            i += 1;
        }
    }
    d.finish(text.len())
}

/// The character a reference at the start of `s` (which starts with `&`) stands for, and its
/// length in bytes, if it is one.
fn html_reference(s: &str) -> Option<(char, usize)> {
    // Bytes, not `str::get`: a cut 12 bytes on may fall inside a character.
    let end = s
        .as_bytes()
        .get(1..s.len().min(12))?
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
    let mut bytes = Vec::new();
    while i < b.len() {
        if b[i] == b'%' && hex(i).is_some() {
            // A run of escapes, decoded together (a character may take several).
            let start = i;
            bytes.clear();
            while i < b.len() && b[i] == b'%' {
                let Some(v) = hex(i) else { break };
                bytes.push(v);
                i += 3;
            }
            let mut at = 0; // byte of `bytes`
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    d.push(c, start + at * 3);
                    at += c.len_utf8();
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
            d.push(' ', i);
            d.changed = true;
            i += 1;
        } else {
            // Up to the next escape, copied as it is.
            let rest = &text[i..];
            let plain = rest
                .find(|c| c == '%' || (plus && c == '+'))
                .unwrap_or(rest.len())
                .max(rest.chars().next().map_or(1, char::len_utf8));
            d.keep(&rest[..plain], i);
            i += plain;
        }
    }
    d.finish(text.len())
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
        let plain = rest.find('\\').unwrap_or(rest.len());
        if plain > 0 {
            d.keep(&rest[..plain], i);
            i += plain;
            continue;
        }
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
            d.push(c, i);
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
                d.push(c, i);
                d.changed = true;
                i += 12;
                continue;
            }
            if let Some(c) = char::from_u32(u) {
                d.push(c, i);
                d.changed = true;
                i += 6;
                continue;
            }
        }
        d.keep("\\", i);
        i += 1;
    }
    d.finish(text.len())
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

    /// Peak RSS of this process (Linux), in KiB, if known.
    fn peak_rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Figures for the report, not an assertion of speed or size: run alone, e.g.
    /// `cargo test --release --lib redact::tests::figures_one_megabyte_token -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints figures; run alone"]
    fn figures_one_megabyte_token() {
        let before = peak_rss_kib().unwrap_or(0);
        let token: String = (0..1 << 20)
            .map(|i: u32| {
                char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                        [(i.wrapping_mul(2654435761) >> 26) as usize],
                )
            })
            .collect();
        let red = r(&["client-secret-value"]);
        let start = std::time::Instant::now();
        red.add(&token);
        red.add(&token);
        let json = format!("{{\"access_token\":\"{token}\",\"token_type\":\"Bearer\"}}");
        let form = format!("token={token}&token_type_hint=access_token&x=a%20b");
        let html = format!("<p>&amp; {token} &lt;</p>");
        for text in [&json, &form, &html] {
            assert!(!red.redact(text).contains(&token[..64]));
        }
        assert_eq!(
            red.redact_header("authorization", &format!("Bearer {token}")),
            "Bearer «redacted»"
        );
        let after = peak_rss_kib().unwrap_or(0);
        println!(
            "1 MiB token: peak RSS {before} KiB before, {after} KiB after (+{} KiB), {:?}",
            after.saturating_sub(before),
            start.elapsed()
        );
    }

    /// The known-values layer done naively on the raw text (every occurrence of every value,
    /// overlapping ones merged), to check the automata against.
    fn naive_known(values: &[String], text: &str) -> String {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for v in values {
            let mut from = 0;
            while let Some(p) = text[from..].find(v.as_str()) {
                ranges.push((from + p, from + p + v.len()));
                from += p + text[from + p..].chars().next().map_or(1, char::len_utf8);
            }
        }
        replace_ranges(text, ranges).into_owned()
    }

    /// A small deterministic generator (no test may depend on luck).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn pick<'a>(&mut self, s: &'a [&'a str]) -> &'a str {
            s[self.next() as usize % s.len()]
        }
    }

    #[test]
    fn automata_find_what_a_naive_search_finds() {
        // Few letters, so that values overlap, nest and share prefixes and suffixes; some
        // longer than the prefix kept in the automaton; added in batches between redactions,
        // so that automata are built and merged.
        let letters = ["a", "b", "é", "a", "b", "-"];
        let mut rng = Lcg(7);
        for round in 0..40 {
            let red = r(&[]);
            let mut values = Vec::new();
            for batch in 0..1 + round % 5 {
                for _ in 0..1 + rng.next() % 6 {
                    let len = if rng.next() % 5 == 0 {
                        PREFIX_BYTES + (rng.next() as usize % 40)
                    } else {
                        MIN_KNOWN_LEN + rng.next() as usize % 6
                    };
                    let v: String = (0..len).map(|_| rng.pick(&letters)).collect();
                    red.add(&v);
                    values.push(v);
                }
                let mut text: String = (0..300).map(|_| rng.pick(&letters)).collect();
                // And some values whole, one touching the next.
                for v in values.iter().skip(batch % 2) {
                    text.push_str(v);
                    if rng.next() % 2 == 0 {
                        text.push('.');
                    }
                }
                assert_eq!(
                    red.redact_known(&text),
                    naive_known(&values, &text),
                    "round {round}: {values:?}"
                );
            }
        }
    }

    #[test]
    fn ten_thousand_cookie_values_added_one_by_one() {
        let value = |i: u64| {
            let mut rng = Lcg(i);
            format!("ck{i:05}{:08x}{:08x}", rng.next(), rng.next())
        };
        let red = r(&[]);
        let mut large = String::new();
        for i in 0..10_000 {
            red.add(value(i));
            // Redactions now and then, so that automata are built and merged on the way.
            if i % 997 == 0 {
                assert_eq!(
                    red.redact_known(&format!("[{}]", value(i))),
                    format!("[{REDACTED}]")
                );
            }
        }
        assert_eq!(red.known_count(), 10_000);
        let echoed: Vec<u64> = (0..10_000).step_by(7).collect();
        for (n, &i) in echoed.iter().enumerate() {
            let v = value(i);
            large.push_str(&format!("<p>cookie {i} ü "));
            match n % 4 {
                0 => large.push_str(&v),
                1 => large.push_str(&percent_encode(&v, n % 8 == 1)),
                2 => large.push_str(&v.replace('c', "&#99;")),
                _ => large.push_str(&v.replace('k', "\\u006b")),
            }
            large.push_str(" é</p>\n");
        }
        large.push_str(&"plain text, nothing known; ".repeat(20_000));
        let out = red.redact(&large);
        assert_eq!(out.matches(REDACTED).count(), echoed.len());
        for &i in &echoed {
            assert!(
                out.contains(&format!("<p>cookie {i} ü {REDACTED} é</p>\n")),
                "{i}"
            );
        }
        assert!(out.ends_with("plain text, nothing known; "));
        assert_eq!(red.known_count(), 10_000);
    }

    #[test]
    fn cookie_values_learned_up_to_a_cap() {
        let red = r(&[]);
        red.add_cookie("x".repeat(MAX_COOKIE_BYTES + 1));
        assert_eq!(red.known_count(), 0);
        for i in 0..MAX_COOKIE_VALUES + 10 {
            red.add_cookie(format!("cookie-value-{i:05}."));
            red.add_cookie(format!("cookie-value-{i:05}.")); // a repeat does not count
        }
        assert_eq!(red.known_count(), MAX_COOKIE_VALUES);
        let first = "cookie-value-00000.".to_string();
        let beyond = format!("cookie-value-{:05}.", MAX_COOKIE_VALUES + 5);
        assert_eq!(red.redact(&format!("<{first}>")), format!("<{REDACTED}>"));
        assert_eq!(red.redact(&format!("<{beyond}>")), format!("<{beyond}>"));
        // Not learned, but still redacted as a cookie.
        assert_eq!(
            red.redact_header("set-cookie", &format!("sid={beyond}; Path=/")),
            format!("sid={REDACTED}; Path=/")
        );
        assert_eq!(
            red.redact(&format!("Cookie: sid={beyond}\r\n")),
            format!("Cookie: sid={REDACTED}\r\n")
        );
        // Secrets are not capped.
        red.add(&beyond);
        assert_eq!(red.redact(&format!("<{beyond}>")), format!("<{REDACTED}>"));
    }

    #[test]
    fn a_secret_and_its_prefix_are_both_redacted_whole() {
        let short = "tok-1234";
        let long = "tok-1234-and-then-much-more";
        let longer: String = format!("{long}{}", "Z".repeat(PREFIX_BYTES * 2));
        // Either order of learning, and with a redaction in between (separate automata).
        for order in 0..3 {
            let red = r(&[]);
            match order {
                0 => [short, long, &longer].iter().for_each(|v| red.add(v)),
                1 => [&*longer, long, short].iter().for_each(|v| red.add(v)),
                _ => {
                    red.add(long);
                    let _ = red.redact("x");
                    red.add(&longer);
                    let _ = red.redact("x");
                    red.add(short);
                }
            }
            for (text, want) in [
                (format!("[{short}]"), format!("[{REDACTED}]")),
                (format!("[{long}]"), format!("[{REDACTED}]")),
                (format!("[{longer}]"), format!("[{REDACTED}]")),
                (format!("[{long}-tail]"), format!("[{REDACTED}-tail]")),
                (
                    format!("[{short}{short}]"),
                    format!("[{REDACTED}{REDACTED}]"),
                ),
                (format!("[tok-{long}]"), format!("[tok-{REDACTED}]")),
                (
                    format!("[{}]", percent_encode(long, true)),
                    format!("[{REDACTED}]"),
                ),
            ] {
                assert_eq!(red.redact(&text), want, "order {order}");
            }
        }
        // Overlapping without nesting: the union goes.
        let red = r(&["abc-def-1", "def-1-ghi"]);
        assert_eq!(red.redact("[abc-def-1-ghi]"), format!("[{REDACTED}]"));
    }

    /// Every encoding an echo may take, of a secret short and of one longer than the prefix
    /// the automaton keeps.
    #[test]
    fn secrets_echoed_in_each_encoding() {
        let long_secret = format!("{AWKWARD}{}{AWKWARD}", "0123456789".repeat(30));
        for secret in [AWKWARD, long_secret.as_str()] {
            let red = r(&[secret]);
            let json = serde_json::to_string(secret).unwrap();
            let json = &json[1..json.len() - 1];
            let html = secret
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;");
            let go_json = json.replace('&', "\\u0026").replace('<', "\\u003c");
            for encoded in [
                secret.to_string(),
                html,
                percent_encode(secret, true),
                percent_encode(secret, false),
                form_encode(secret),
                json.to_string(),
                go_json,
            ] {
                assert_whole_secret_redacted(&red, &encoded);
            }
            // Inside Basic credentials, the id unknown: nothing of the secret's groups is left.
            let b64 = STANDARD.encode(format!("someone:{secret}"));
            let out = red.redact(&format!("[{b64}]"));
            assert!(out.contains(REDACTED), "{out}");
            assert!(out.len() < 40, "{out}");
            let red = r(&[]);
            red.add_basic("client-é", secret);
            let b64 = STANDARD.encode(format!("client-é:{secret}"));
            assert_whole_secret_redacted(&red, &b64);
        }
    }

    #[test]
    fn non_ascii_around_secrets_is_kept_whole() {
        let red = r(&["sëcrét-välue", "plain-secret"]);
        for (text, want) in [
            ("ésëcrét-välueé", "é«redacted»é"),
            ("😀plain-secret😀", "😀«redacted»😀"),
            (
                "日本sëcrét-välue語plain-secret",
                "日本«redacted»語«redacted»",
            ),
            ("s%C3%ABcr%C3%A9t-v%C3%A4lue ü", "«redacted» ü"),
            ("ü s&#235;cr&eacute;t-välue", "ü s&#235;cr&eacute;t-välue"), // &eacute; is not decoded
            ("ü s&#235;cr&#xe9;t-v\u{e4}lue ö", "ü «redacted» ö"),
            ("ö s\\u00ebcr\\u00e9t-v\\u00e4lue\\", "ö «redacted»\\"),
            ("%E9%80plain-secret%F0%9F", "%E9%80«redacted»%F0%9F"),
        ] {
            assert_eq!(red.redact(text), want, "{text}");
        }
        // Cut inside a character in every position: no panic, and no partial secret.
        let text = "é日plain-secret😀";
        for end in 0..=text.len() {
            if let Some(t) = text.get(..end) {
                let _ = red.redact(t);
            }
        }
    }

    #[test]
    fn a_long_token_is_kept_as_a_prefix_and_found_whole() {
        let token: String = (0..100_000)
            .map(|i: u32| char::from(b'A' + (i.wrapping_mul(2654435761) >> 28) as u8))
            .collect();
        let red = r(&[]);
        red.add(&token);
        {
            let mut known = red.write();
            known.flush();
            let kept: usize = known.levels.iter().map(|l| l.weight).sum();
            // The token, and base64 groups at three alignments: a prefix of each.
            assert!(kept <= 4 * PREFIX_BYTES, "{kept}");
        }
        assert_eq!(
            red.redact(&format!("{{\"x\":\"{token}\"}}")),
            format!("{{\"x\":\"{REDACTED}\"}}")
        );
        // The prefix alone, or the token less its last character, is not the token.
        let almost = &token[..token.len() - 1];
        assert_eq!(red.redact_known(almost), almost);
        let changed = format!("{almost}!");
        assert_eq!(red.redact_known(&changed), changed);
        assert_eq!(
            red.redact(&format!("a{token}{token}b")),
            format!("a{REDACTED}{REDACTED}b")
        );
    }

    /// Figures for the report (not assertions of speed): 10,000 values added one by one, then
    /// one 1 MB string redacted; and a server setting 60 new cookies per response over 500
    /// responses, each response's strings redacted. Run alone, with --release:
    /// `cargo test --release --lib redact::tests::figures_many_values -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints figures; run alone"]
    fn figures_many_values() {
        let value = |i: u64| {
            let mut rng = Lcg(i);
            format!("ck{i:05}{:08x}{:08x}", rng.next(), rng.next())
        };
        let red = r(&[]);
        let start = std::time::Instant::now();
        for i in 0..10_000 {
            red.add(value(i));
        }
        let added = start.elapsed();
        let text = format!(
            "{} &amp; %41 \\n {}",
            "lorem ipsum ".repeat(40_000),
            value(77)
        );
        let start = std::time::Instant::now();
        let out = red.redact(&text);
        let redacted = start.elapsed();
        assert!(out.ends_with(REDACTED));
        println!("10,000 values: added in {added:?}, 1 MB text redacted in {redacted:?}");

        for capped in [true, false] {
            let red = r(&["client-secret-value"]);
            let start = std::time::Instant::now();
            for response in 0..500u64 {
                for c in 0..60 {
                    let v = value(response * 60 + c);
                    if capped {
                        red.add_cookie(v)
                    } else {
                        red.add(v)
                    }
                }
                let page = format!("<p>hello &amp; welcome {}</p>", "x".repeat(2000));
                for s in [
                    &page,
                    "Set-Cookie: a=1; Path=/",
                    "http://127.0.0.1/cb?x=1&state=s",
                ] {
                    let _ = red.redact(s);
                }
            }
            println!(
                "cookie flood (500 responses x 60 new values, 3 strings each, {}): {:?}, {} values kept",
                if capped { "add_cookie" } else { "add, no cap" },
                start.elapsed(),
                red.known_count()
            );
        }
    }
}
