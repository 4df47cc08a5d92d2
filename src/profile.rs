//! Conformance profiles: `profiles/<name>.toml`, embedded at build time. A profile names the
//! documents it holds the server to; a check's level under it comes from the keywords of the
//! clauses the check quotes from those documents (the strictest wins), unless the profile
//! overrides it. This is the one place that rule lives: `checks --profile`, `profiles` and
//! the reports' per-profile summaries all ask [`Profile::level`], and every verdict comes from
//! [`Profile::judge`]: a probe says what it saw ([`Finding`]), the profile says what it means.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::catalog::{self, Binds, CheckMeta, SpecRef};
use crate::engine::outcome::{Breaks, Feature, Finding};
use crate::engine::{Report, Status};

macro_rules! profiles {
    ($($name:literal),* $(,)?) => {
        /// Every profile file, in listing order: (name, text).
        pub static FILES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../profiles/", $name, ".toml"))),)*
        ];
    };
}

profiles![
    "default",
    "rfc9700",
    "oauth2.1",
    "oidcc-basic",
    "oidcc-config",
    "fapi2-sp",
];

/// A check's requirement level under a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Level {
    /// Outside the profile: none of its documents is quoted, or the profile leaves it out.
    #[serde(rename = "n/a")]
    NotApplicable,
    #[serde(rename = "MAY")]
    May,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "MUST")]
    Must,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Must, Level::Should, Level::May, Level::NotApplicable];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::NotApplicable => "n/a",
        }
    }

    /// A keyword as a check document writes it (RFC 2119, RFC 8174).
    pub fn of_keyword(keyword: &str) -> Option<Level> {
        match keyword {
            "MUST" | "MUST NOT" | "REQUIRED" | "SHALL" | "SHALL NOT" => Some(Level::Must),
            "SHOULD" | "SHOULD NOT" | "RECOMMENDED" | "NOT RECOMMENDED" => Some(Level::Should),
            "MAY" | "OPTIONAL" => Some(Level::May),
            _ => None,
        }
    }

    /// An override in a profile's `[levels]`.
    fn parse_override(s: &str) -> Option<Level> {
        match s {
            "MUST" => Some(Level::Must),
            "SHOULD" => Some(Level::Should),
            "n/a" => Some(Level::NotApplicable),
            _ => None,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parameters a profile sets for its checks (not used by any probe yet).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// The longest acceptable authorization code lifetime, in seconds.
    pub code_max_lifetime_s: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub title: String,
    /// Where its levels come from, citing the standard.
    pub description: String,
    /// The documents it holds the server to: a check's reference counts when its `doc` is one
    /// of these, or one of these followed by `-` (a draft's version: `draft-ietf-oauth-v2-1`
    /// holds `draft-ietf-oauth-v2-1-16`).
    pub standards: Vec<String>,
    /// `false`: a profile that signs no one in; the checks that need a sign-in are n/a.
    pub sign_in: bool,
    /// Check id → level, overriding the documents' keywords.
    pub levels: BTreeMap<String, Level>,
    /// Checks outside its scope: n/a.
    pub leave_out: Vec<String>,
    /// Optional features it requires: a server without one fails the checks of it, where
    /// under a profile that leaves it optional they are n/a.
    pub requires: Vec<Feature>,
    pub parameters: Parameters,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    title: String,
    description: String,
    standards: Vec<String>,
    #[serde(default = "yes")]
    sign_in: bool,
    #[serde(default)]
    levels: BTreeMap<String, String>,
    #[serde(default)]
    leave_out: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default)]
    parameters: Parameters,
}

/// The 1-based line of the first line of `text` that starts (after blanks) with `key`, for
/// errors that serde cannot place.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| {
                    rest.trim_start().starts_with(['=', '"', ',']) || rest.trim().is_empty()
                })
        })
        .map_or(1, |i| i + 1)
}

/// Parses and validates `profiles/<file_name>.toml`; every error names the file and a line.
pub fn parse(file_name: &str, text: &str) -> Result<Profile, String> {
    let path = format!("profiles/{file_name}.toml");
    let file: ProfileFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
        match line {
            Some(line) => format!("{path}:{line}: {}", e.message()),
            None => format!("{path}: {}", e.message()),
        }
    })?;
    let at = |key: &str| format!("{path}:{}", line_of(text, key));
    if file.name != file_name {
        return Err(format!(
            "{}: name is `{}`, the file is {file_name}.toml",
            at("name"),
            file.name
        ));
    }
    if file.description.trim().is_empty() {
        return Err(format!(
            "{}: the description must say where the levels come from",
            at("description")
        ));
    }
    if file.standards.is_empty() {
        return Err(format!("{}: no standards", at("standards")));
    }
    let known = |id: &str| catalog::find(id).is_some();
    let ids = || catalog::catalog().iter().map(|c| c.id.as_str());
    let mut levels = BTreeMap::new();
    for (id, level) in &file.levels {
        if !known(id) {
            return Err(format!(
                "{}: [levels] names no check `{id}`{}",
                at(id),
                crate::suggest::hint(id, ids())
            ));
        }
        let Some(l) = Level::parse_override(level) else {
            return Err(format!(
                "{}: [levels] {id} = \"{level}\": a level is \"MUST\", \"SHOULD\" or \"n/a\"",
                at(id)
            ));
        };
        levels.insert(id.clone(), l);
    }
    for id in &file.leave_out {
        if !known(id) {
            return Err(format!(
                "{}: leave_out names no check `{id}`{}",
                at(&format!("\"{id}\"")),
                crate::suggest::hint(id, ids())
            ));
        }
        if levels.contains_key(id) {
            return Err(format!(
                "{}: {id} is both left out and given a level",
                at(&format!("\"{id}\""))
            ));
        }
    }
    let mut requires = Vec::new();
    for name in &file.requires {
        let Some(feature) = Feature::parse(name) else {
            return Err(format!(
                "{}: requires names no feature `{name}`{} (one of: {})",
                at("requires"),
                crate::suggest::hint(name, Feature::ALL.iter().map(|f| f.name())),
                Feature::ALL.map(|f| f.name()).join(", ")
            ));
        };
        requires.push(feature);
    }
    Ok(Profile {
        name: file.name,
        title: file.title,
        description: file.description,
        standards: file.standards,
        sign_in: file.sign_in,
        levels,
        leave_out: file.leave_out,
        requires,
        parameters: file.parameters,
    })
}

static PROFILES: LazyLock<Vec<Profile>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, text)| {
            // Compiled in; the unit tests parse every one of them.
            parse(name, text).unwrap_or_else(|e| panic!("invalid profile: {e}"))
        })
        .collect()
});

pub fn profiles() -> &'static [Profile] {
    &PROFILES
}

/// `default`: the profile verdicts are judged under when no `--profile` is given.
pub fn default_profile() -> &'static Profile {
    find("default").unwrap_or(&profiles()[0])
}

pub fn find(name: &str) -> Option<&'static Profile> {
    profiles().iter().find(|p| p.name == name)
}

/// The profiles `--profile` names, in the order given (a name given twice counts once), or
/// the message for an unknown one.
pub fn resolve(names: &[String]) -> Result<Vec<&'static Profile>, String> {
    let mut out: Vec<&'static Profile> = Vec::new();
    for name in names {
        let Some(p) = find(name) else {
            return Err(format!(
                "unknown profile `{name}`{} (see `oauthprobe profiles`)",
                crate::suggest::hint(name, profiles().iter().map(|p| p.name.as_str()))
            ));
        };
        if !out.iter().any(|o| o.name == p.name) {
            out.push(p);
        }
    }
    Ok(out)
}

impl Profile {
    /// Whether a reference's document is one this profile holds the server to.
    pub fn holds(&self, doc: &str) -> bool {
        self.standards.iter().any(|s| {
            doc == s
                || doc
                    .strip_prefix(s.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
        })
    }

    /// The check's level under this profile: the override, else n/a when left out (or when it
    /// needs a sign-in the profile does not make), else the strictest level among the clauses
    /// it quotes from the profile's documents ([`clause_level`]); n/a when it quotes none.
    pub fn level(&self, check: &CheckMeta) -> Level {
        if let Some(l) = self.levels.get(&check.id) {
            return *l;
        }
        if self.leave_out.contains(&check.id) || (!self.sign_in && check.sign_in) {
            return Level::NotApplicable;
        }
        self.strictest(check.spec.iter())
            .unwrap_or(Level::NotApplicable)
    }

    /// The strictest level among `clauses` that quote this profile's documents; `None` when
    /// none does.
    fn strictest<'a>(&self, clauses: impl Iterator<Item = &'a SpecRef>) -> Option<Level> {
        clauses
            .filter(|s| self.holds(&s.doc))
            .filter_map(clause_level)
            .max()
    }

    /// The verdict on what a probe saw, under this profile, and a note to put before the
    /// probe's message when the profile changes what it would mean elsewhere.
    ///
    /// A check outside the profile (n/a) is skipped whatever it saw: left out, never failed.
    /// Not met is a fail when what it breaks is a MUST of the profile, a warning when a SHOULD
    /// or a best practice, and a pass, said so, when it breaks only clauses of documents the
    /// profile does not hold. A `[levels]` override is the profile's own clause for the check
    /// as a whole: every variant not met takes its level.
    pub fn judge(&self, check: &CheckMeta, finding: &Finding) -> (Status, Option<String>) {
        let level = self.level(check);
        if level == Level::NotApplicable && !matches!(finding, Finding::NotApplicable) {
            return (
                Status::Skip,
                Some(format!("n/a under profile {}", self.name)),
            );
        }
        let breaks = match finding {
            Finding::Met => return (Status::Pass, None),
            Finding::NotApplicable => return (Status::Skip, None),
            Finding::Unsupported(feature) if self.requires.contains(feature) => {
                return (
                    Status::Fail,
                    Some(format!(
                        "profile {} requires {}, and the server does not offer it",
                        self.name,
                        feature.name()
                    )),
                );
            }
            Finding::Unsupported(feature) => {
                return (
                    Status::Skip,
                    Some(format!(
                        "n/a under profile {}, which leaves {} optional",
                        self.name,
                        feature.name()
                    )),
                );
            }
            Finding::Unknown => return (Status::Error, None),
            Finding::NotMet(breaks) => *breaks,
        };
        let broken = if self.levels.contains_key(&check.id) {
            Some(level)
        } else {
            match breaks {
                Breaks::Check => Some(level),
                Breaks::BestPractice => Some(Level::Should),
                Breaks::Clauses(names) => {
                    let clauses = match clauses_named(check, names) {
                        Ok(c) => c,
                        Err(e) => return (Status::Error, Some(e)),
                    };
                    let Some(level) = self.strictest(clauses.iter().copied()) else {
                        let names: Vec<String> = clauses.iter().map(|c| c.to_string()).collect();
                        return (
                            Status::Pass,
                            Some(format!(
                                "met under profile {}: what follows breaks only {}, outside it",
                                self.name,
                                names.join(", ")
                            )),
                        );
                    };
                    Some(level)
                }
            }
        };
        match broken {
            Some(Level::Must) => (Status::Fail, None),
            _ => (Status::Warn, None),
        }
    }
}

/// A quoted clause's level for the server: its keyword, except that a MUST binding the client
/// is a SHOULD here, since the server at most tolerates a client that breaks it (the verdict
/// rule of checks/README.md).
pub fn clause_level(clause: &SpecRef) -> Option<Level> {
    let level = Level::of_keyword(&clause.level)?;
    Some(match clause.binds {
        Binds::Client => level.min(Level::Should),
        Binds::Server => level,
    })
}

/// The clauses of the check that `names` name (see [`Breaks::Clauses`]), or why not: a name
/// that matches none is a bug in the probe, said as an error, never a guess.
pub fn clauses_named<'a>(check: &'a CheckMeta, names: &[&str]) -> Result<Vec<&'a SpecRef>, String> {
    let mut out = Vec::new();
    for name in names {
        let matching: Vec<&SpecRef> = check
            .spec
            .iter()
            .filter(|s| clause_is_named(s, name))
            .collect();
        if matching.is_empty() {
            return Err(format!(
                "the probe names the clause `{name}`, which checks/{}.md does not quote (a bug in oauthprobe)",
                check.id
            ));
        }
        out.extend(matching);
    }
    Ok(out)
}

/// What a finding of "not met" breaks, as the reports name it: each clause (`RFC 6749 §10.10
/// SHOULD`), or `best practice`; empty for any other finding.
pub fn broken(check: &CheckMeta, finding: &Finding) -> Vec<String> {
    let name = |s: &SpecRef| format!("{} §{} {}", s.doc, s.section, s.level);
    match finding {
        Finding::NotMet(Breaks::Check) => check.spec.iter().map(name).collect(),
        Finding::NotMet(Breaks::Clauses(names)) => clauses_named(check, names)
            .map(|c| c.into_iter().map(name).collect())
            .unwrap_or_default(),
        Finding::NotMet(Breaks::BestPractice) => vec!["best practice".to_string()],
        _ => Vec::new(),
    }
}

/// `RFC 9700 §2.1.1` names every clause of that section; `RFC 9700 §2.1.1 RECOMMENDED` only
/// the one with that keyword.
pub fn clause_is_named(clause: &SpecRef, name: &str) -> bool {
    let full = format!("{} §{} {}", clause.doc, clause.section, clause.level);
    full.strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

impl Profile {
    /// How many checks of the catalog have `level` under this profile.
    pub fn count(&self, level: Level) -> usize {
        catalog::catalog()
            .iter()
            .filter(|c| self.level(c) == level)
            .count()
    }
}

/// `met x of total`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Tally {
    pub met: usize,
    pub total: usize,
}

/// Whether one report meets one profile, each result judged under it ([`Profile::judge`]).
/// A MUST-level check is met when it passed, or warned (what it broke was a SHOULD or a best
/// practice of it, not its MUST); a SHOULD-level check only when it passed. A fail, or a warn,
/// is named in `not_met` (a waived fail too: the baseline accepts a finding, it does not make
/// the server conform); a skip, an error or a check the selection left out is not run, and a
/// profile with a check that counts (MUST or SHOULD) not run is never met.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    pub met: bool,
    pub must: Tally,
    pub should: Tally,
    /// Checks of the catalog outside the profile (n/a), or of a feature the server does not
    /// offer and the profile does not require; MAY-level checks do not count either.
    pub not_applicable: usize,
    /// Checks that count and were skipped, or not selected (`--only`, `--skip`).
    pub skipped: usize,
    /// Checks that count and ended in error.
    pub errors: usize,
    /// The checks that count and failed or warned.
    pub not_met: Vec<String>,
    /// The checks that count and were skipped, not selected or ended in error.
    pub not_run: Vec<String>,
}

pub fn summarize(profile: &Profile, report: &Report) -> Summary {
    let mut s = Summary {
        name: profile.name.clone(),
        met: false,
        must: Tally::default(),
        should: Tally::default(),
        not_applicable: 0,
        skipped: 0,
        errors: 0,
        not_met: Vec::new(),
        not_run: Vec::new(),
    };
    for check in catalog::catalog() {
        let result = report.results.iter().find(|r| r.meta.id == check.id);
        let mut level = profile.level(check);
        // A feature the server does not offer, and the profile does not require: the check
        // is outside what the server implements, so it does not count.
        if let Some(Finding::Unsupported(feature)) = result.map(|r| &r.finding)
            && !profile.requires.contains(feature)
        {
            level = Level::NotApplicable;
        }
        let must = level == Level::Must;
        let tally = match level {
            Level::Must => &mut s.must,
            Level::Should => &mut s.should,
            Level::May => continue,
            Level::NotApplicable => {
                s.not_applicable += 1;
                continue;
            }
        };
        tally.total += 1;
        let status = result.map(|r| profile.judge(r.meta, &r.finding).0);
        match status {
            Some(Status::Pass) => tally.met += 1,
            Some(Status::Warn) if must => {
                tally.met += 1;
                s.not_met.push(check.id.clone());
            }
            Some(Status::Fail | Status::Warn) => s.not_met.push(check.id.clone()),
            Some(Status::Error) => {
                s.errors += 1;
                s.not_run.push(check.id.clone());
            }
            Some(Status::Skip) | None => {
                s.skipped += 1;
                s.not_run.push(check.id.clone());
            }
        }
    }
    s.met = s.must.total > 0 && s.must.met == s.must.total && s.not_run.is_empty();
    s
}

impl Summary {
    /// The table's line: `rfc9700: not met · MUST 60/62 · SHOULD 3/3 · 30 n/a · 2 skipped,
    /// 0 errors · not met: a, b · not run: c`.
    pub fn line(&self) -> String {
        let mut out = format!(
            "profile {}: {} · MUST met {}/{} · SHOULD met {}/{} · {} n/a · {} skipped, {} {}",
            self.name,
            if self.met { "met" } else { "not met" },
            self.must.met,
            self.must.total,
            self.should.met,
            self.should.total,
            self.not_applicable,
            self.skipped,
            self.errors,
            if self.errors == 1 { "error" } else { "errors" },
        );
        if !self.not_met.is_empty() {
            out.push_str(&format!(" · not met: {}", self.not_met.join(", ")));
        }
        if !self.not_run.is_empty() {
            out.push_str(&format!(" · not run: {}", self.not_run.join(", ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::CheckResult;

    fn check(id: &str) -> &'static CheckMeta {
        catalog::find(id).unwrap_or_else(|| panic!("no check {id}"))
    }

    fn level(profile: &str, id: &str) -> Level {
        find(profile).unwrap().level(check(id))
    }

    #[test]
    fn every_file_parses_and_names_itself() {
        for (name, text) in FILES {
            let p = parse(name, text).unwrap();
            assert_eq!(p.name, *name);
        }
        assert_eq!(profiles().len(), FILES.len());
    }

    #[test]
    fn profiles_dir_holds_exactly_the_embedded_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".toml").map(str::to_string))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "a file in profiles/ that the binary does not embed (add it to profiles![]), or the reverse"
        );
    }

    #[test]
    fn default_holds_every_document_the_catalog_cites() {
        let default = find("default").unwrap();
        for c in catalog::catalog() {
            for s in &c.spec {
                // A profile of a high-security ecosystem, not a baseline: only fapi2-sp holds it.
                if s.doc.starts_with("FAPI") {
                    assert!(!default.holds(&s.doc), "{}", s.doc);
                    continue;
                }
                assert!(
                    default.holds(&s.doc),
                    "{}: {} is not in default",
                    c.id,
                    s.doc
                );
            }
            assert_ne!(default.level(c), Level::NotApplicable, "{}", c.id);
        }
    }

    #[test]
    fn every_keyword_of_the_catalog_has_a_level() {
        for c in catalog::catalog() {
            for s in &c.spec {
                assert!(
                    Level::of_keyword(&s.level).is_some(),
                    "{} {}",
                    c.id,
                    s.level
                );
            }
        }
    }

    #[test]
    fn a_draft_is_held_by_its_name_without_the_version() {
        let p = find("oauth2.1").unwrap();
        assert!(p.holds("draft-ietf-oauth-v2-1-16") && p.holds("draft-ietf-oauth-v2-1-15"));
        assert!(p.holds("RFC 6749"));
        assert!(!p.holds("RFC 67490") && !p.holds("draft-ietf-oauth-v2-10"));
        assert!(!find("rfc9700").unwrap().holds("draft-ietf-oauth-v2-1-16"));
    }

    #[test]
    fn the_strictest_keyword_of_the_profiles_documents_wins() {
        // pkce-no-plain-downgrade: RFC 7636 §4.6 MUST, RFC 9700 §2.1.1 SHOULD.
        assert_eq!(level("rfc9700", "pkce-no-plain-downgrade"), Level::Must);
        // code-single-use: RFC 6749 MUST, RFC 9700 SHOULD, the 2.1 draft MUST.
        assert_eq!(level("rfc9700", "code-single-use"), Level::Must);
        assert_eq!(level("oauth2.1", "code-single-use"), Level::Must);
        // authz-implicit-refused: only RFC 9700 §2.1.2, SHOULD NOT.
        assert_eq!(level("rfc9700", "authz-implicit-refused"), Level::Should);
        assert_eq!(level("default", "authz-implicit-refused"), Level::Should);
        // pkce-s256-advertised: only RFC 9700 §2.1.1, RECOMMENDED.
        assert_eq!(level("rfc9700", "pkce-s256-advertised"), Level::Should);
        // Outside OpenID Connect Core, RFC 6749 and RFC 6750: n/a under oidcc-basic.
        assert_eq!(
            level("oidcc-basic", "authz-implicit-refused"),
            Level::NotApplicable
        );
        // An OIDC check that rfc9700 does not hold.
        assert_eq!(level("rfc9700", "oidc-nonce-echoed"), Level::NotApplicable);
        assert_eq!(level("oidcc-basic", "oidc-nonce-echoed"), Level::Must);
    }

    #[test]
    fn overrides_and_leave_out_come_first() {
        // FAPI 2.0 SP §5.3.2.2 "shall require the value of response_type ... to be code".
        assert_eq!(level("fapi2-sp", "authz-implicit-refused"), Level::Must);
        assert_eq!(level("fapi2-sp", "pkce-s256-advertised"), Level::Should);
        // Quoted by the check itself: FAPI §5.3.2.2 item 10's "shall not".
        assert_eq!(level("fapi2-sp", "authz-login-not-307"), Level::Must);
        assert_eq!(
            level("fapi2-sp", "pkce-required-public-client"),
            Level::NotApplicable
        );
        assert_eq!(
            find("fapi2-sp").unwrap().parameters.code_max_lifetime_s,
            Some(60)
        );
    }

    #[test]
    fn oidcc_config_holds_only_checks_without_a_sign_in() {
        let p = find("oidcc-config").unwrap();
        let mut counted = 0;
        for c in catalog::catalog() {
            if c.sign_in {
                assert_eq!(p.level(c), Level::NotApplicable, "{}", c.id);
            } else if p.level(c) != Level::NotApplicable {
                counted += 1;
            }
        }
        assert_eq!(
            level("oidcc-config", "metadata-oidc-required-fields"),
            Level::Must
        );
        assert_eq!(
            level("oidcc-config", "oidc-id-token-signature-valid"),
            Level::NotApplicable
        );
        assert!(counted >= 10, "{counted}");
    }

    #[test]
    fn bad_files_are_refused_naming_the_file_and_line() {
        let base = "name = \"x\"\ntitle = \"t\"\ndescription = \"d\"\nstandards = [\"RFC 6749\"]\n";
        assert!(parse("x", base).is_ok());
        let e = parse("x", &format!("{base}colour = \"red\"\n")).unwrap_err();
        assert!(e.starts_with("profiles/x.toml:5: "), "{e}");
        assert!(e.contains("colour"), "{e}");
        let e = parse(
            "x",
            &format!("{base}[levels]\ncode-single-use = \"MAYBE\"\n"),
        )
        .unwrap_err();
        assert!(e.starts_with("profiles/x.toml:6: "), "{e}");
        let e = parse("x", &format!("{base}[levels]\ncode-single-us = \"MUST\"\n")).unwrap_err();
        assert!(
            e.starts_with("profiles/x.toml:6: ") && e.contains("did you mean `code-single-use`"),
            "{e}"
        );
        let e = parse("x", &format!("{base}leave_out = [\n  \"nope-check\",\n]\n")).unwrap_err();
        assert!(e.starts_with("profiles/x.toml:6: "), "{e}");
        let e = parse("x", &format!("{base}[parameters]\ncode_lifetime = 3\n")).unwrap_err();
        assert!(e.starts_with("profiles/x.toml:6: "), "{e}");
        let e = parse("y", base).unwrap_err();
        assert!(e.starts_with("profiles/y.toml:1: "), "{e}");
        let e = parse("x", &base.replace("[\"RFC 6749\"]", "[]")).unwrap_err();
        assert!(e.starts_with("profiles/x.toml:4: "), "{e}");
    }

    #[test]
    fn an_unknown_profile_is_refused_with_a_suggestion() {
        let e = resolve(&["rfc970".to_string()]).unwrap_err();
        assert!(e.contains("did you mean `rfc9700`"), "{e}");
        let two = resolve(&["rfc9700".into(), "default".into(), "rfc9700".into()]).unwrap();
        assert_eq!(two.len(), 2);
    }

    fn report_with(status: impl Fn(&CheckMeta) -> Option<Status>) -> Report {
        Report {
            target_name: "t".into(),
            issuer: "http://127.0.0.1".into(),
            started_at: std::time::SystemTime::UNIX_EPOCH,
            duration: std::time::Duration::ZERO,
            preflight_error: None,
            preflight_in_target_file: false,
            insecure_tls: false,
            ca_files: Vec::new(),
            proxy: None,
            retries: 0,
            profile: default_profile(),
            results: catalog::catalog()
                .iter()
                .filter_map(|meta| {
                    status(meta).map(|status| CheckResult {
                        meta,
                        finding: crate::engine::Finding::judged(status),
                        status,
                        message: String::new(),
                        duration_ms: 0,
                        requests: 0,
                        evidence: Vec::new(),
                        waiver: None,
                    })
                })
                .collect(),
        }
    }

    #[test]
    fn met_only_when_every_check_that_counts_passed() {
        let p = find("rfc9700").unwrap();
        let all_pass = summarize(p, &report_with(|_| Some(Status::Pass)));
        assert!(all_pass.met, "{all_pass:?}");
        assert_eq!(all_pass.must.met, all_pass.must.total);
        assert_eq!(all_pass.must.total, p.count(Level::Must));
        assert_eq!(all_pass.should.total, p.count(Level::Should));
        assert_eq!(all_pass.not_applicable, p.count(Level::NotApplicable));

        // A warn on a SHOULD-level check: named, the SHOULD tally one short, the profile met
        // (only the MUSTs decide); a warn on a MUST-level one: not met.
        let warn = summarize(
            p,
            &report_with(|c| {
                Some(if c.id == "authz-implicit-refused" {
                    Status::Warn
                } else {
                    Status::Pass
                })
            }),
        );
        assert!(warn.met);
        assert_eq!(warn.should.met + 1, warn.should.total);
        assert_eq!(warn.not_met, ["authz-implicit-refused"]);
        // A warn on a MUST-level check (what it broke was a best practice): its MUST is met,
        // the check is named, the profile met; a fail on it: not met.
        let must_warn = summarize(
            p,
            &report_with(|c| {
                Some(if c.id == "code-single-use" {
                    Status::Warn
                } else {
                    Status::Pass
                })
            }),
        );
        assert!(must_warn.met && must_warn.must.met == must_warn.must.total);
        assert_eq!(must_warn.not_met, ["code-single-use"]);
        let must_fail = summarize(
            p,
            &report_with(|c| {
                Some(if c.id == "code-single-use" {
                    Status::Fail
                } else {
                    Status::Pass
                })
            }),
        );
        assert!(!must_fail.met && must_fail.must.met + 1 == must_fail.must.total);
        assert_eq!(must_fail.not_met, ["code-single-use"]);

        // A skip, an error, a check not selected: never met, though nothing failed.
        for odd in [Some(Status::Skip), Some(Status::Error), None] {
            let s = summarize(
                p,
                &report_with(|c| {
                    if c.id == "code-expires" {
                        odd
                    } else {
                        Some(Status::Pass)
                    }
                }),
            );
            assert!(!s.met && s.not_met.is_empty(), "{odd:?}: {s:?}");
            assert_eq!(s.not_run, ["code-expires"]);
            assert_eq!(s.errors, usize::from(odd == Some(Status::Error)));
            assert_eq!(s.skipped, usize::from(odd != Some(Status::Error)));
        }

        // An n/a check that errs does not count.
        let na = summarize(
            p,
            &report_with(|c| {
                Some(if c.id == "oidc-nonce-echoed" {
                    Status::Error
                } else {
                    Status::Pass
                })
            }),
        );
        assert!(na.met, "{na:?}");
        assert!(
            na.line().starts_with("profile rfc9700: met · MUST met "),
            "{}",
            na.line()
        );
    }

    fn judge(profile: &str, id: &str, finding: Finding) -> (Status, Option<String>) {
        find(profile).unwrap().judge(check(id), &finding)
    }

    #[test]
    fn the_clause_a_variant_breaks_decides_its_verdict() {
        let plain = Finding::NotMet(Breaks::Clauses(&[
            "RFC 9700 §2.1.1",
            "FAPI 2.0 Security Profile §5.3.2.2",
        ]));
        // Accepting plain breaks a SHOULD of RFC 9700 that binds the client: a warning.
        assert_eq!(
            judge("rfc9700", "pkce-no-plain-downgrade", plain.clone()).0,
            Status::Warn
        );
        assert_eq!(
            judge("default", "pkce-no-plain-downgrade", plain.clone()).0,
            Status::Warn
        );
        // FAPI 2.0 §5.3.2.2 requires S256, quoted by the check: a fail.
        assert_eq!(
            judge("fapi2-sp", "pkce-no-plain-downgrade", plain.clone()).0,
            Status::Fail
        );
        // The check as a whole (the S256 challenge taken as verifier): RFC 7636's MUST.
        let whole = Finding::NotMet(Breaks::Check);
        assert_eq!(
            judge("rfc9700", "pkce-no-plain-downgrade", whole.clone()).0,
            Status::Fail
        );
        // A client-binding MUST is at most a warning; a server-binding one a fail.
        assert_eq!(
            judge("rfc9700", "state-missing", whole.clone()).0,
            Status::Warn
        );
        assert_eq!(
            judge("oauth2.1", "state-missing", whole.clone()).0,
            Status::Fail
        );
        // A best practice is a warning wherever the check counts, n/a where it does not.
        let practice = Finding::NotMet(Breaks::BestPractice);
        assert_eq!(
            judge("default", "code-single-use", practice.clone()).0,
            Status::Warn
        );
        let (status, note) = judge("rfc9700", "oidc-nonce-echoed", whole.clone());
        assert_eq!(status, Status::Skip);
        assert!(note.unwrap().contains("n/a under profile rfc9700"));
        // Left out: n/a whatever the probe saw, an error included.
        assert_eq!(
            judge("fapi2-sp", "pkce-required-public-client", Finding::Unknown).0,
            Status::Skip
        );
        // A variant that breaks only a document outside the profile: met, and said so.
        let revoke = Finding::NotMet(Breaks::Clauses(&["RFC 9700 §4.2.4"]));
        let (status, note) = judge("oidcc-basic", "code-single-use", revoke.clone());
        assert_eq!(status, Status::Pass, "{note:?}");
        assert!(note.unwrap().contains("RFC 9700 §4.2.4"));
        assert_eq!(judge("rfc9700", "code-single-use", revoke).0, Status::Warn);
        // A clause the check does not quote is a bug, said as an error.
        let typo = Finding::NotMet(Breaks::Clauses(&["RFC 9700 §9.9"]));
        let (status, note) = judge("default", "code-single-use", typo);
        assert_eq!(status, Status::Error);
        assert!(note.unwrap().contains("checks/code-single-use.md"));
    }

    #[test]
    fn a_clause_is_named_by_doc_and_section_and_its_keyword_when_needed() {
        let c = check("code-unguessable");
        assert_eq!(clauses_named(c, &["RFC 6749 §10.10"]).unwrap().len(), 2);
        let should = clauses_named(c, &["RFC 6749 §10.10 SHOULD"]).unwrap();
        assert_eq!(should.len(), 1);
        assert_eq!(should[0].level, "SHOULD");
        assert!(clauses_named(c, &["RFC 6749 §10.1"]).is_err());
        assert!(clauses_named(c, &["RFC 6749 §10.10 SHOUL"]).is_err());
        // What a report says the variant breaks.
        let short = Finding::NotMet(Breaks::Clauses(&["RFC 6749 §10.10 SHOULD"]));
        assert_eq!(broken(c, &short), ["RFC 6749 §10.10 SHOULD"]);
        assert_eq!(
            broken(c, &Finding::NotMet(Breaks::Check)),
            ["RFC 6749 §10.10 MUST", "RFC 6749 §10.10 SHOULD"]
        );
        assert!(broken(c, &Finding::Met).is_empty());
        // Short codes warn everywhere that holds RFC 6749; too short ones fail.
        assert_eq!(
            find("oidcc-basic").unwrap().judge(c, &short).0,
            Status::Warn
        );
    }

    #[test]
    fn a_feature_the_server_lacks_is_na_unless_the_profile_requires_it() {
        let base = "name = \"x\"\ntitle = \"t\"\ndescription = \"d\"\nstandards = [\"RFC 7009\", \"RFC 6749\"]\n";
        let requiring = parse("x", &format!("{base}requires = [\"revocation\"]\n")).unwrap();
        let optional = parse("x", base).unwrap();
        let lacking = Finding::Unsupported(Feature::Revocation);
        let c = check("tokens-refresh-token-revocable");
        assert_eq!(optional.judge(c, &lacking).0, Status::Skip);
        let (status, note) = requiring.judge(c, &lacking);
        assert_eq!(status, Status::Fail);
        assert!(note.unwrap().contains("requires revocation"));
        // Another feature is not the required one.
        let no_userinfo = Finding::Unsupported(Feature::Userinfo);
        assert_eq!(requiring.judge(c, &no_userinfo).0, Status::Skip);

        // In the summary: outside what the server implements, n/a, so it can still be met;
        // under the requiring profile, not met.
        let mut report = report_with(|_| Some(Status::Pass));
        for r in &mut report.results {
            if r.meta.id.contains("revocable") {
                r.finding = lacking.clone();
                r.status = Status::Skip;
            }
        }
        let met = summarize(&optional, &report);
        assert!(met.met, "{}", met.line());
        assert_eq!(met.must.met, met.must.total, "{}", met.line());
        assert!(
            met.not_run.is_empty() && met.not_met.is_empty(),
            "{}",
            met.line()
        );
        let not_met = summarize(&requiring, &report);
        assert!(!not_met.met, "{}", not_met.line());
        assert!(
            not_met
                .not_met
                .contains(&"tokens-refresh-token-revocable".to_string())
        );

        let e = parse("x", &format!("{base}requires = [\"revocaton\"]\n")).unwrap_err();
        assert!(
            e.starts_with("profiles/x.toml:5: ") && e.contains("did you mean `revocation`"),
            "{e}"
        );
    }
}
