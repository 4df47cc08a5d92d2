//! HTML parsing bounded in work: every page the scanner reads goes through [`parse`].
//!
//! html5ever is a faithful browser parser, and like a browser's its cost grows with nesting:
//! each start tag scans the stack of open elements, so a page of 100,000 nested `<div>`s
//! takes time quadratic in its size (a 500 KB page hung a scan), and a tag with 100,000
//! attributes is checked for duplicates pairwise. A login or consent page is nothing like
//! either. [`bound`] reads the page once, linearly, tracking the elements a parser would
//! keep open, and cuts the page where it nests deeper than [`MAX_DEPTH`], holds more than
//! [`MAX_ELEMENTS`] elements or a tag with more than [`MAX_ATTRIBUTES`] attributes; the
//! parser then reads only what came before, and the caller is told the page was cut.

use std::fmt;

use scraper::Html;

/// Deeper than any real page; browsers cap their DOM depth at 512.
pub const MAX_DEPTH: usize = 256;
/// About 1 MiB of markup's worth of small elements.
pub const MAX_ELEMENTS: usize = 100_000;
pub const MAX_ATTRIBUTES: usize = 256;

/// Why a page was cut before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    Depth,
    Elements,
    Attributes,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::Depth => write!(f, "it nests elements deeper than {MAX_DEPTH}"),
            Cut::Elements => write!(f, "it holds more than {MAX_ELEMENTS} elements"),
            Cut::Attributes => write!(f, "a tag has more than {MAX_ATTRIBUTES} attributes"),
        }
    }
}

/// The page parsed as a browser would, up to where [`bound`] cuts it.
pub fn parse(html: &str) -> (Html, Option<Cut>) {
    let (kept, cut) = bound(html);
    (Html::parse_document(kept), cut)
}

/// The text a user can read on a page: the body's text nodes outside script, style, template
/// and noscript, and the values of form controls that are not hidden, whitespace collapsed,
/// read no further than about `limit` bytes (cut at a character boundary).
pub fn visible_text(doc: &Html, limit: usize) -> String {
    use ego_tree::iter::Edge;
    let hides = |node: &ego_tree::NodeRef<'_, scraper::Node>| {
        node.value().as_element().is_some_and(|e| {
            matches!(
                e.name(),
                "script" | "style" | "template" | "noscript" | "head"
            )
        })
    };
    let mut out = String::new();
    let push = |piece: &str, out: &mut String| {
        for word in piece.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    };
    // One walk, counting the hiding elements open around each node (asking every text
    // node for its ancestors is quadratic on a deeply nested page).
    let mut hidden_by = 0usize;
    for edge in doc.tree.root().traverse() {
        if out.len() >= limit {
            break;
        }
        match edge {
            Edge::Open(node) if hides(&node) => hidden_by += 1,
            Edge::Close(node) if hides(&node) => hidden_by = hidden_by.saturating_sub(1),
            Edge::Open(node) => match node.value() {
                scraper::Node::Text(text) if hidden_by == 0 => push(text, &mut out),
                scraper::Node::Element(e) if e.name() == "input" => {
                    let hidden = e
                        .attr("type")
                        .is_some_and(|t| t.eq_ignore_ascii_case("hidden"));
                    if let Some(v) = e.attr("value").filter(|_| !hidden) {
                        push(v, &mut out);
                    }
                }
                _ => {}
            },
            Edge::Close(_) => {}
        }
    }
    if out.len() > limit {
        let cut = (0..=limit)
            .rev()
            .find(|&i| out.is_char_boundary(i))
            .unwrap_or(0);
        out.truncate(cut);
    }
    out
}

/// Elements whose content is text up to their end tag: no tags inside.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];
/// Elements that never stay open.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "frame", "basefont", "bgsound", "image",
];
/// Elements a parser closes on its own (the next sibling closes them), or that are the
/// page's frame: counting them open would cut real pages (a list of `<option>`s).
const SELF_CLOSING_IN_PRACTICE: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "rb", "rt", "rtc", "rp", "tr", "td", "th",
    "tbody", "thead", "tfoot", "colgroup", "caption", "html", "head", "body",
];

/// The longest prefix of `html` within the bounds, cut at the start of the tag that
/// crossed one. Linear in the text (each end tag pops at most [`MAX_DEPTH`] names).
pub fn bound(html: &str) -> (&str, Option<Cut>) {
    let b = html.as_bytes();
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut elements = 0usize;
    let mut i = 0usize;
    while let Some(offset) = b[i..].iter().position(|&c| c == b'<') {
        let start = i + offset;
        let rest = &b[start + 1..];
        if rest.starts_with(b"!--") {
            i = find(b, start + 4, b"-->").map_or(b.len(), |e| e + 3);
            continue;
        }
        if rest.first().is_some_and(|&c| c == b'!' || c == b'?') {
            i = find(b, start + 1, b">").map_or(b.len(), |e| e + 1);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_at = start + 1 + usize::from(closing);
        if !b.get(name_at).is_some_and(u8::is_ascii_alphabetic) {
            i = start + 1;
            continue;
        }
        let name_end = b[name_at..]
            .iter()
            .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')
            .map_or(b.len(), |p| name_at + p);
        let name = b[name_at..name_end].to_ascii_lowercase();
        let (tag_end, attributes) = tag_end(b, name_end);
        i = tag_end;
        if closing {
            if let Some(at) = open.iter().rposition(|n| *n == name) {
                open.truncate(at);
            }
            continue;
        }
        elements += 1;
        let cut = if attributes > MAX_ATTRIBUTES {
            Some(Cut::Attributes)
        } else if elements > MAX_ELEMENTS {
            Some(Cut::Elements)
        } else {
            None
        };
        if let Some(cut) = cut {
            return (&html[..start], Some(cut));
        }
        let is = |list: &[&str]| list.iter().any(|n| n.as_bytes() == name.as_slice());
        if name == b"plaintext" {
            break;
        }
        if is(RAW_TEXT) {
            let mut end_tag = b"</".to_vec();
            end_tag.extend_from_slice(&name);
            i = find_ignore_case(b, i, &end_tag).unwrap_or(b.len());
            continue;
        }
        if is(VOID) || is(SELF_CLOSING_IN_PRACTICE) {
            continue;
        }
        open.push(name);
        if open.len() > MAX_DEPTH {
            return (&html[..start], Some(Cut::Depth));
        }
    }
    (html, None)
}

/// Where the tag whose name ends at `from` ends (just past its `>`), and how many
/// attributes it has. Quotes count only where the tokenizer reads an attribute value
/// (after `=`), so a stray quote cannot hide the markup after it.
fn tag_end(b: &[u8], from: usize) -> (usize, usize) {
    let mut i = from;
    let mut attributes = 0usize;
    let mut in_name = false;
    let mut after_equals = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'>' => return (i + 1, attributes),
            b'=' if in_name || after_equals => {
                in_name = false;
                after_equals = true;
            }
            b'"' | b'\'' if after_equals => {
                i = b[i + 1..]
                    .iter()
                    .position(|&q| q == c)
                    .map_or(b.len(), |p| i + 1 + p);
                after_equals = false;
            }
            c if c.is_ascii_whitespace() => {
                in_name = false;
            }
            b'/' => {
                in_name = false;
                after_equals = false;
            }
            _ => {
                if !in_name && !after_equals {
                    attributes += 1;
                    in_name = true;
                } else if after_equals {
                    // An unquoted value: it runs to whitespace or `>`.
                    while i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() && b[i + 1] != b'>' {
                        i += 1;
                    }
                    after_equals = false;
                }
            }
        }
        i += 1;
    }
    (b.len(), attributes)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn find_ignore_case(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}x{}", "<div>".repeat(depth), "</div>".repeat(depth))
    }

    #[test]
    fn real_pages_are_not_cut() {
        let page = r#"<!doctype html><html><head><title>Sign in</title>
            <script>if (a < b && "<div>") {}</script><style>p > a {}</style></head>
            <body><div class="c"><form method=post action="/login?x=1&y=2">
            <p>Name <input name=user><p>Password <input type=password name=pw>
            <select name=c><option>A<option>B<option selected>C</select>
            <table><tr><td>1<td>2<tr><td>3</table>
            <svg><path d="M0 0"/><path d="M1 1"/></svg>
            <button type=submit title='a > b'>Sign in</button></form></div>
            <!-- <div><div><div> --></body></html>"#;
        assert_eq!(bound(page), (page, None));
        let many_options = format!("<select>{}</select>", "<option>x".repeat(5000));
        assert_eq!(bound(&many_options).1, None);
        let closed = "<div></div>".repeat(10_000);
        assert_eq!(bound(&closed).1, None);
        assert_eq!(bound(&nested(MAX_DEPTH)).1, None);
    }

    #[test]
    fn deep_nesting_is_cut_where_it_crosses_the_bound() {
        let page = nested(100_000);
        let (kept, cut) = bound(&page);
        assert_eq!(cut, Some(Cut::Depth));
        assert_eq!(kept, "<div>".repeat(MAX_DEPTH));
        // End tags of elements never opened do not hide depth.
        let sneaky = "<div></span>".repeat(1000);
        assert_eq!(bound(&sneaky).1, Some(Cut::Depth));
        // Nor does a quote the tokenizer reads as part of an attribute name.
        let quoted = format!("<div a\"b>{}", "<div>".repeat(1000));
        assert_eq!(bound(&quoted).1, Some(Cut::Depth));
    }

    #[test]
    fn tags_with_too_many_attributes_and_floods_of_elements_are_cut() {
        let attrs: String = (0..1000).map(|n| format!(" a{n}=\"v\"")).collect();
        let page = format!("<p>before</p><input{attrs}><p>after</p>");
        let (kept, cut) = bound(&page);
        assert_eq!((kept, cut), ("<p>before</p>", Some(Cut::Attributes)));
        let flood = "<br>".repeat(MAX_ELEMENTS + 10);
        assert_eq!(bound(&flood).1, Some(Cut::Elements));
    }

    #[test]
    fn cutting_never_splits_a_character_and_odd_input_never_panics() {
        for page in [
            "é<div>".repeat(300),
            "<".to_string(),
            "</".to_string(),
            "<a b='".to_string(),
            "<a b=".to_string(),
            "<!--".to_string(),
            "<script>".to_string(),
            "<div é=\"ü\">".repeat(300),
        ] {
            let (kept, _) = bound(&page);
            assert!(page.starts_with(kept));
            let _ = parse(&page);
        }
    }

    #[test]
    fn a_deeply_nested_page_parses_to_the_cut() {
        let page = format!("<title>T</title>{}", nested(50_000));
        let (doc, cut) = parse(&page);
        assert_eq!(cut, Some(Cut::Depth));
        let divs = doc
            .select(&scraper::Selector::parse("div").unwrap())
            .count();
        assert_eq!(divs, MAX_DEPTH);
    }
}
