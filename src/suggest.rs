//! "did you mean": the closest known name to a mistyped one, and `*`/`?` globs.

/// The candidate closest to `word` by edit distance, when close enough to be a typo (at most
/// a third of the word's length, and at least one edit; a swap of two letters is one), or
/// one that starts with it.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    let mut prefixed: Option<&str> = None;
    for candidate in candidates {
        if prefixed.is_none() && word.len() >= 3 && candidate.starts_with(word) {
            prefixed = Some(candidate);
        }
        let d = strsim::osa_distance(word, candidate);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c).or(prefixed)
}

/// `; did you mean `x`?` or nothing.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

/// Whether `pattern` holds a glob character.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether `text` matches `pattern`, where `*` is any run of characters (none included) and
/// `?` any one character; everything else stands for itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("pkce-*", "pkce-s256-advertised"));
        assert!(glob_match("*-refused", "authz-implicit-refused"));
        assert!(glob_match("state-?issing", "state-missing"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("pkce-*", "state-echoed"));
        assert!(!glob_match("state-?", "state-"));
        assert!(!glob_match("a*b", "aXbc"));
    }

    #[test]
    fn suggestions() {
        let ids = ["pkce-verifier-required", "state-echoed", "code-single-use"];
        assert_eq!(
            did_you_mean("pkce-verifer-required", ids),
            Some("pkce-verifier-required")
        );
        assert_eq!(did_you_mean("state-echo", ids), Some("state-echoed"));
        assert_eq!(did_you_mean("code-single", ids), Some("code-single-use"));
        assert_eq!(did_you_mean("nonsense", ids), None);
        assert_eq!(did_you_mean("pcke", ["pkce", "code"]), Some("pkce"));
    }
}
