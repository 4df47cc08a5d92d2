//! The terminal's width and text wrapped to it, in display columns (a CJK character takes two,
//! a combining mark none), never in bytes.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The width a report to standard output is laid out for when standard output is neither a
/// terminal nor given a width by `COLUMNS`: a file or a pipe.
pub const DEFAULT_WIDTH: usize = 100;

/// Narrower than this, the table is not squeezed further (it would be one word a line).
pub const MIN_WIDTH: usize = 40;

/// Which standard stream a width is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The width of the terminal `stream` writes to, when it is one.
pub fn terminal_width(stream: Stream) -> Option<usize> {
    #[cfg(unix)]
    {
        let size = match stream {
            Stream::Stdout => rustix::termios::tcgetwinsize(std::io::stdout()),
            Stream::Stderr => rustix::termios::tcgetwinsize(std::io::stderr()),
        };
        size.ok()
            .map(|s| usize::from(s.ws_col))
            .filter(|&cols| cols > 0)
    }
    #[cfg(not(unix))]
    {
        let _ = stream;
        None
    }
}

/// `COLUMNS`, when set to a positive number.
pub fn columns_env() -> Option<usize> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
}

/// The width a report on standard output gets: the terminal's when standard output is one,
/// else `COLUMNS`, else [`DEFAULT_WIDTH`]; never under [`MIN_WIDTH`].
pub fn report_width(to_terminal: bool) -> usize {
    let from_terminal = if to_terminal {
        terminal_width(Stream::Stdout)
    } else {
        None
    };
    from_terminal
        .or_else(columns_env)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// Display columns `text` takes (escape sequences are not expected here: plain text only).
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` display columns, with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` wrapped to lines of at most `max` display columns: broken at spaces, a word longer
/// than a line broken where it must. Each line of `text` is wrapped on its own.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in paragraph.split(' ') {
            let w = width(word);
            if used > 0 && used + 1 + w <= max {
                line.push(' ');
                line.push_str(word);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            // A word alone on its line, cut where it does not fit.
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > max && used > 0 {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cw;
            }
        }
        lines.push(line);
    }
    lines
}

/// [`wrap`] joined, each line ended by a newline.
pub fn wrapped(text: &str, max: usize) -> String {
    let mut out = String::new();
    for line in wrap(text, max) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_breaks_long_words_by_display_width() {
        assert_eq!(wrap("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // Two columns each: three fit in six columns, not six bytes.
        assert_eq!(wrap("日本語日本語", 6), ["日本語", "日本語"]);
        assert_eq!(wrap("one\ntwo", 80), ["one", "two"]);
        for line in wrap("é日x ".repeat(40).as_str(), 9) {
            assert!(width(&line) <= 9, "{line}");
        }
    }

    #[test]
    fn truncates_by_display_width() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a longer line", 6), "a lon…");
        assert!(width(&truncate("日本語日本語", 5)) <= 5);
    }
}
