//! The catalog: one document per check in `checks/<id>.md`, embedded at build time. Its front
//! matter (id, title, family, severity, spec references, remediation, the lab weaknesses that
//! must make it fail) is the single source for the `checks` listing, the docs and the reports.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::engine::outcome::Severity;
use crate::lab::Weakness;

macro_rules! documents {
    ($($id:literal),* $(,)?) => {
        /// Every check document, in catalog order.
        pub static DOCUMENTS: &[(&str, &str)] = &[
            $(($id, include_str!(concat!("../../checks/", $id, ".md"))),)*
        ];
    };
}

documents![
    "redirect-uri-exact-match",
    "redirect-uri-token-binding",
    "code-single-use",
    "state-echoed",
    "state-missing",
    "token-endpoint-rejects-get",
    "pkce-verifier-required",
    "pkce-verifier-checked",
    "pkce-no-plain-downgrade",
    "pkce-required-public-client",
    "code-bound-to-client",
    "code-expires",
    "code-unguessable",
    "code-unknown-refused",
    "code-single-use-concurrent",
    "redirect-uri-unknown-client-not-redirected",
    "redirect-uri-error-not-redirected",
    "redirect-uri-fragment-refused",
    "redirect-uri-duplicate-refused",
    "redirect-uri-not-normalised",
    "redirect-uri-query-exact",
    "redirect-uri-path-exact",
    "redirect-uri-subdomain-refused",
    "redirect-uri-userinfo-refused",
    "redirect-uri-required-when-several",
    "iss-present",
    "iss-matches-issuer",
    "iss-advertised",
    "authz-unknown-param-ignored",
    "authz-response-type-checked",
    "authz-implicit-refused",
    "authz-duplicate-param-refused",
    "authz-unknown-scope-not-granted",
    "state-long-echoed",
    "state-echoed-on-denial",
    "pkce-verifier-without-challenge-refused",
    "pkce-s256-advertised",
    "pkce-unknown-method-refused",
    "pkce-default-method-not-plain",
    "redirect-uri-token-required",
    "authz-endpoint-no-fragment",
    "authz-login-not-307",
    "pkce-verifier-bound-to-code",
    "code-bound-to-public-client",
    "redirect-uri-token-exact",
    "pkce-verifier-required-public-client",
    "token-endpoint-no-store",
    "token-endpoint-error-response",
    "token-endpoint-rejects-duplicate-params",
    "token-endpoint-ignores-unknown-params",
    "token-endpoint-no-password-grant",
    "client-auth-required",
    "client-auth-secret-checked",
    "client-auth-basic-challenge",
    "client-auth-secret-not-in-query",
    "refresh-rotated-for-public-client",
    "refresh-replay-revokes-grant",
    "refresh-bound-to-client",
    "refresh-requires-client-auth",
    "refresh-no-store",
    "refresh-scope-not-widened",
    "oidc-id-token-signature-valid",
    "oidc-id-token-issuer",
    "oidc-id-token-audience",
    "oidc-id-token-lifetime",
    "oidc-nonce-echoed",
    "oidc-userinfo-sub-matches",
    "metadata-issuer-matches",
    "metadata-required-fields",
    "metadata-endpoints-https",
    "metadata-jwks-public-keys-only",
    "tokens-tampered-access-token-refused",
    "tokens-userinfo-requires-token",
    "tokens-refresh-token-revocable",
    "headers-anti-framing",
    "headers-authorization-no-cors",
    "client-auth-single-method",
    "token-endpoint-tls-only",
    "token-endpoint-response-format",
    "client-auth-public-client-id-required",
    "oidc-id-token-subject",
    "metadata-oidc-required-fields",
    "oidc-refresh-id-token-consistent",
    "tokens-userinfo-bearer-challenge",
    "metadata-json-content-type",
    "oidc-userinfo-post-supported",
    "metadata-no-empty-members",
    "metadata-oidc-issuer-matches",
    "oidc-id-token-kid-when-several-keys",
    "oidc-max-age-auth-time",
    "oidc-prompt-none-shows-no-page",
    "tokens-userinfo-query-token-refused",
    "tokens-access-token-revocable",
    "headers-referrer-policy",
    "headers-session-cookie-flags",
    "token-endpoint-rejects-json-body",
    "headers-consent-names-client",
    "authz-error-redirected",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecRef {
    pub doc: String,
    pub section: String,
    pub level: String,
    /// Whom the quoted requirement binds: the party that breaks it when it is not met.
    pub binds: Binds,
    pub quote: String,
}

/// Whom a quoted requirement binds. A check fails only on a requirement that binds the server
/// (or on an exploitable flaw it demonstrates); a server that tolerates a client's breach of a
/// requirement binding the client is a warning at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Binds {
    /// The authorization server (its endpoints, its userinfo endpoint as a resource server, the
    /// tokens and documents it issues).
    Server,
    /// The client (what it sends, and how it processes what it receives).
    Client,
}

impl Binds {
    pub fn name(self) -> &'static str {
        match self {
            Binds::Server => "server",
            Binds::Client => "client",
        }
    }
}

/// A verdict other than pass that a check can give to a server it can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Fail,
    Warn,
}

impl std::fmt::Display for SpecRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} §{}", self.doc, self.section)
    }
}

/// What the target file must provide for a check to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    PublicClient,
    SecondClient,
}

impl Requirement {
    pub fn missing_reason(self) -> &'static str {
        match self {
            Requirement::PublicClient => {
                "no [public_client] in the target file; add a public client (auth_method = \"none\") to run it"
            }
            Requirement::SecondClient => {
                "no [second_client] in the target file; add a second confidential client to run it"
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckMeta {
    pub id: String,
    pub title: String,
    pub family: String,
    pub severity: Severity,
    pub remediation: String,
    #[serde(rename = "references")]
    pub spec: Vec<SpecRef>,
    pub requires: Vec<Requirement>,
    #[serde(serialize_with = "weakness_names")]
    pub lab_weaknesses: Vec<Weakness>,
    /// Lab weaknesses that must make this check warn: a SHOULD or a best practice they break.
    #[serde(serialize_with = "weakness_names")]
    pub lab_warnings: Vec<Weakness>,
    /// Waits minutes on a real server: runs only with `--slow`.
    pub slow: bool,
    /// Its probe can make the server revoke grants that other checks' codes may share: the
    /// exclusive checks run one at a time, and each runs its replay or revocation alone
    /// (`Cx::alone`, see checks/README.md).
    pub exclusive: bool,
    /// Needs the test user signed in (a code, tokens, a session). `false`: it still runs when
    /// the pre-flight's sign-in fails (metadata, keys, endpoint headers, code-less token requests).
    pub sign_in: bool,
    /// A pass rests on the token endpoint refusing a request: it counts only when the same
    /// server, in the same scan, issued tokens to the correct request (the pre-flight's
    /// control redemption); otherwise the check ends in error.
    pub token_control: bool,
    /// The findings the probe can report: `fail`, `warn`, both, or neither (a check that can
    /// only pass or skip against the servers it can reach).
    pub verdicts: Vec<Level>,
    /// Why those levels, by the verdict rule of checks/README.md: whom the clause binds and
    /// what the probe shows.
    pub why: String,
    /// The document after the front matter (Markdown).
    #[serde(skip)]
    pub body: &'static str,
}

fn weakness_names<S: serde::Serializer>(w: &[Weakness], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(w.iter().map(|w| w.name()))
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    family: String,
    severity: String,
    remediation: String,
    #[serde(default)]
    lab_weaknesses: Vec<String>,
    #[serde(default)]
    lab_warnings: Vec<String>,
    #[serde(default)]
    slow: bool,
    #[serde(default = "yes")]
    sign_in: bool,
    #[serde(default)]
    token_control: bool,
    #[serde(default)]
    requires: Vec<Requirement>,
    #[serde(default)]
    exclusive: bool,
    verdicts: Vec<Level>,
    why: String,
    spec: Vec<SpecRef>,
}

/// Splits `+++ toml +++ markdown` and validates the front matter.
pub fn parse_document(file_id: &str, text: &'static str) -> Result<CheckMeta, String> {
    let rest = text
        .strip_prefix("+++\n")
        .ok_or_else(|| format!("checks/{file_id}.md: no +++ front matter"))?;
    let (front, body) = rest
        .split_once("\n+++\n")
        .ok_or_else(|| format!("checks/{file_id}.md: the front matter is not closed by +++"))?;
    let fm: FrontMatter = toml::from_str(front).map_err(|e| format!("checks/{file_id}.md: {e}"))?;
    if fm.id != file_id {
        return Err(format!(
            "checks/{file_id}.md: front matter id is `{}`",
            fm.id
        ));
    }
    let severity = Severity::parse(&fm.severity)
        .ok_or_else(|| format!("checks/{file_id}.md: unknown severity `{}`", fm.severity))?;
    let weaknesses = |names: &[String]| {
        names
            .iter()
            .map(|w| w.parse::<Weakness>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("checks/{file_id}.md: {e}"))
    };
    let lab_weaknesses = weaknesses(&fm.lab_weaknesses)?;
    let lab_warnings = weaknesses(&fm.lab_warnings)?;
    if fm.spec.is_empty() {
        return Err(format!("checks/{file_id}.md: no [[spec]] reference"));
    }
    check_verdicts(file_id, &fm)?;
    check_binding_stated(file_id, &fm.spec, body)?;
    Ok(CheckMeta {
        id: fm.id,
        title: fm.title,
        family: fm.family,
        severity,
        remediation: fm.remediation,
        spec: fm.spec,
        requires: fm.requires,
        exclusive: fm.exclusive,
        sign_in: fm.sign_in,
        token_control: fm.token_control,
        verdicts: fm.verdicts,
        why: fm.why,
        lab_weaknesses,
        lab_warnings,
        slow: fm.slow,
        body,
    })
}

/// The declared verdicts agree with the lab lists and the quotes: a check that fails has a lab
/// weakness that makes it fail, and a MUST or MUST NOT binding the server to rest the failure on.
fn check_verdicts(file_id: &str, fm: &FrontMatter) -> Result<(), String> {
    let can = |l: Level| fm.verdicts.contains(&l);
    let mut seen = Vec::new();
    for v in &fm.verdicts {
        if seen.contains(v) {
            return Err(format!("checks/{file_id}.md: `verdicts` repeats a level"));
        }
        seen.push(*v);
    }
    if !fm.lab_weaknesses.is_empty() && !can(Level::Fail) {
        return Err(format!(
            "checks/{file_id}.md: lab_weaknesses make it fail, but `verdicts` has no \"fail\""
        ));
    }
    if !fm.lab_warnings.is_empty() && !can(Level::Warn) {
        return Err(format!(
            "checks/{file_id}.md: lab_warnings make it warn, but `verdicts` has no \"warn\""
        ));
    }
    let server_must = fm
        .spec
        .iter()
        .any(|s| s.binds == Binds::Server && s.level.starts_with("MUST"));
    if can(Level::Fail) && !server_must {
        return Err(format!(
            "checks/{file_id}.md: it can fail, but no [[spec]] is a MUST or MUST NOT with binds = \"server\""
        ));
    }
    if fm.why.trim().is_empty() {
        return Err(format!("checks/{file_id}.md: `why` is empty"));
    }
    for s in &fm.spec {
        // The keyword must be in the quote: REQUIRED and SHALL are written MUST. FAPI writes
        // its keywords in lower case (ISO Directive Part 2: "shall", "should").
        let lower_case = s.doc.starts_with("FAPI");
        let words: &[&str] = match s.level.as_str() {
            "MUST" => &["MUST", "REQUIRED", "SHALL"],
            "MUST NOT" => &["MUST NOT", "SHALL NOT"],
            "SHOULD" => &["SHOULD"],
            "SHOULD NOT" => &["SHOULD NOT"],
            "RECOMMENDED" => &["RECOMMENDED"],
            other => {
                return Err(format!(
                    "checks/{file_id}.md: [[spec]] {} §{}: unknown level `{other}`",
                    s.doc, s.section
                ));
            }
        };
        if !words
            .iter()
            .any(|w| s.quote.contains(w) || (lower_case && s.quote.contains(&w.to_lowercase())))
        {
            return Err(format!(
                "checks/{file_id}.md: [[spec]] {} §{}: the quote holds no {}",
                s.doc, s.section, s.level
            ));
        }
    }
    Ok(())
}

/// The body's "## The requirement" says whom each cited requirement binds, in the words
/// "binds the server" or "binds the client" (`checks explain` prints the body).
fn check_binding_stated(file_id: &str, spec: &[SpecRef], body: &str) -> Result<(), String> {
    let section = body
        .split("\n## The requirement\n")
        .nth(1)
        .map(|rest| rest.split("\n## ").next().unwrap_or(rest))
        .ok_or_else(|| format!("checks/{file_id}.md: no \"## The requirement\" section"))?;
    for b in [Binds::Server, Binds::Client] {
        let phrase = format!("binds the {}", b.name());
        if spec.iter().any(|s| s.binds == b) && !section.contains(&phrase) {
            return Err(format!(
                "checks/{file_id}.md: a [[spec]] has binds = \"{}\", and \"## The requirement\" never says \"{phrase}\"",
                b.name()
            ));
        }
    }
    Ok(())
}

/// The order of families in listings and reports: the authorization request, then the token
/// endpoint, then tokens in use, then what the server publishes and shows.
pub const FAMILIES: &[&str] = &[
    "redirect-uri",
    "code",
    "state",
    "iss",
    "pkce",
    "authz",
    "token-endpoint",
    "client-auth",
    "refresh",
    "tokens",
    "oidc",
    "metadata",
    "headers",
];

fn family_rank(family: &str) -> usize {
    FAMILIES
        .iter()
        .position(|f| *f == family)
        .unwrap_or(FAMILIES.len())
}

static CATALOG: LazyLock<Vec<CheckMeta>> = LazyLock::new(|| {
    let mut checks: Vec<CheckMeta> = DOCUMENTS
        .iter()
        .map(|(id, text)| {
            // The documents are compiled in; the unit tests below parse every one of them.
            parse_document(id, text).unwrap_or_else(|e| panic!("invalid check document: {e}"))
        })
        .collect();
    // Grouped by family; within one, in the order the documents are listed.
    checks.sort_by_key(|c| family_rank(&c.family));
    checks
});

pub fn catalog() -> &'static [CheckMeta] {
    &CATALOG
}

pub fn find(id: &str) -> Option<&'static CheckMeta> {
    catalog().iter().find(|c| c.id == id)
}

/// `RFC 6749 §4.1.2, §10.5, RFC 9700 §4.2.4`: the sections of each document, in order.
fn references(c: &CheckMeta) -> String {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for s in &c.spec {
        let doc = match s.doc.as_str() {
            d if d.starts_with("draft-ietf-oauth-v2-1") => "OAuth 2.1".to_string(),
            d => d.to_string(),
        };
        match out.iter_mut().find(|(d, _)| *d == doc) {
            Some((_, sections)) if !sections.contains(&s.section) => {
                sections.push(s.section.clone())
            }
            Some(_) => {}
            None => out.push((doc, vec![s.section.clone()])),
        }
    }
    out.iter()
        .map(|(doc, sections)| {
            let sections: Vec<String> = sections.iter().map(|s| format!("§{s}")).collect();
            format!("{doc} {}", sections.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The catalog as the README's Markdown table; the README holds exactly this (a test checks).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| id | family | severity | what must hold | references | lab weakness that fails it (or, marked, makes it warn) |\n|---|---|---|---|---|---|\n",
    );
    for c in catalog() {
        let mut weak: Vec<String> = c
            .lab_weaknesses
            .iter()
            .map(|w| format!("`{}`", w.name()))
            .collect();
        let warns: Vec<String> = c
            .lab_warnings
            .iter()
            .map(|w| format!("`{}`", w.name()))
            .collect();
        if !warns.is_empty() {
            weak.push(format!("{} (warns)", warns.join(", ")));
        }
        let weak = if weak.is_empty() {
            "none: see checks/README.md".to_string()
        } else {
            weak.join("; ")
        };
        let slow = if c.slow { " (slow: `--slow`)" } else { "" };
        out.push_str(&format!(
            "| `{}` | {} | {} | {}{slow} | {} | {weak} |\n",
            c.id,
            c.family,
            c.severity,
            c.title.replace('|', "\\|"),
            references(c)
        ));
    }
    out
}

/// The verdict audit as checks/README.md's table: for every check, the clauses it cites with
/// whom each binds and its keyword, the levels the check can give, and why. checks/README.md
/// holds exactly this between its two `audit-table` markers (a test checks).
pub fn audit_table() -> String {
    let mut out = String::from(
        "| check | clause (doc §) | binds | keyword | levels it can give | why |\n|---|---|---|---|---|---|\n",
    );
    for c in catalog() {
        let column =
            |f: &dyn Fn(&SpecRef) -> String| c.spec.iter().map(f).collect::<Vec<_>>().join("<br>");
        let levels = if c.verdicts.is_empty() {
            "none (pass or skip)".to_string()
        } else {
            c.verdicts
                .iter()
                .map(|l| match l {
                    Level::Fail => "fail",
                    Level::Warn => "warn",
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {levels} | {} |\n",
            c.id,
            column(&|s| s.to_string()),
            column(&|s| s.binds.name().to_string()),
            column(&|s| s.level.clone()),
            c.why.replace('|', "\\|"),
        ));
    }
    out
}

/// The checks that a lab weakness must make fail: the one place this mapping lives.
pub fn tripped_by(w: Weakness) -> Vec<&'static str> {
    catalog()
        .iter()
        .filter(|c| c.lab_weaknesses.contains(&w))
        .map(|c| c.id.as_str())
        .collect()
}

/// The checks that a lab weakness must make warn.
pub fn warned_by(w: Weakness) -> Vec<&'static str> {
    catalog()
        .iter()
        .filter(|c| c.lab_warnings.contains(&w))
        .map(|c| c.id.as_str())
        .collect()
}

pub fn is_valid_id(id: &str) -> bool {
    let mut parts = id.split('-');
    id.starts_with(|c: char| c.is_ascii_lowercase())
        && parts.all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {

    #[test]
    fn every_family_is_a_known_one_and_the_catalog_is_grouped() {
        for c in super::catalog() {
            assert!(
                super::FAMILIES.contains(&c.family.as_str()),
                "{}: family `{}` is not in FAMILIES",
                c.id,
                c.family
            );
            assert!(
                c.id.starts_with(&format!("{}-", c.family)),
                "{}: the id starts with its family",
                c.id
            );
        }
        let ranks: Vec<usize> = super::catalog()
            .iter()
            .map(|c| super::family_rank(&c.family))
            .collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
    }

    use super::*;

    #[test]
    fn every_document_parses_with_a_unique_valid_id() {
        let mut seen = std::collections::HashSet::new();
        for (id, text) in DOCUMENTS {
            let meta = parse_document(id, text).unwrap();
            assert!(is_valid_id(&meta.id), "{id}");
            assert!(seen.insert(meta.id.clone()), "duplicate {id}");
            assert!(!meta.body.trim().is_empty(), "{id} has no prose");
        }
        assert_eq!(catalog().len(), DOCUMENTS.len());
    }

    #[test]
    fn checks_dir_holds_exactly_the_embedded_documents() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".md") && n != "README.md")
            .map(|n| n.trim_end_matches(".md").to_string())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = DOCUMENTS.iter().map(|(id, _)| id.to_string()).collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "a document without a check, or a check without a document"
        );
    }

    /// `UPDATE_AUDIT_TABLE=1 cargo test --lib catalog` rewrites the table in checks/README.md.
    #[test]
    fn checks_readme_holds_the_audit_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = "<!-- audit-table: generated by oauthprobe::catalog::audit_table -->\n";
        let end = "<!-- /audit-table -->";
        let (before, rest) = readme
            .split_once(start)
            .expect("checks/README.md has the audit-table start marker");
        let (table, after) = rest
            .split_once(end)
            .expect("checks/README.md has the audit-table end marker");
        if std::env::var_os("UPDATE_AUDIT_TABLE").is_some() {
            let updated = format!("{before}{start}{}{end}{after}", audit_table());
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert!(
            table == audit_table(),
            "checks/README.md's audit table differs from catalog::audit_table(): run `UPDATE_AUDIT_TABLE=1 cargo test --lib catalog` and commit the result"
        );
    }

    /// One clause, one binding and one keyword, in every check that cites it.
    #[test]
    fn a_clause_cited_twice_is_read_the_same_way() {
        let mut seen: std::collections::HashMap<(String, String, String), (Binds, String, String)> =
            Default::default();
        for c in catalog() {
            for s in &c.spec {
                let key = (s.doc.clone(), s.section.clone(), s.quote.clone());
                let this = (s.binds, s.level.clone(), c.id.clone());
                if let Some((binds, level, first)) = seen.get(&key) {
                    // A sentence with two keywords ("MUST support ... and SHOULD support ...")
                    // may be cited for either; otherwise the keyword is the same everywhere.
                    let two_keywords =
                        s.quote.contains(level.as_str()) && s.quote.contains(s.level.as_str());
                    assert!(
                        *binds == s.binds && (*level == s.level || two_keywords),
                        "{} §{} \"{}\": {first} reads it as {} {level}, {} as {} {}",
                        s.doc,
                        s.section,
                        s.quote,
                        binds.name(),
                        c.id,
                        s.binds.name(),
                        s.level
                    );
                } else {
                    seen.insert(key, this);
                }
            }
        }
    }

    #[test]
    fn the_parser_requires_a_known_binding() {
        let doc = |binds: &str| -> &'static str {
            Box::leak(
                format!(
                    "+++\nid = \"x-y\"\ntitle = \"t\"\nfamily = \"code\"\nseverity = \"low\"\nremediation = \"r\"\nverdicts = [\"warn\"]\nwhy = \"w\"\n\n[[spec]]\ndoc = \"RFC 6749\"\nsection = \"3.2\"\nlevel = \"MUST\"\n{binds}quote = \"The client MUST q.\"\n+++\n\n# x-y\n\n## The requirement\n\nThis binds the client.\n"
                )
                .into_boxed_str(),
            )
        };
        assert!(parse_document("x-y", doc("binds = \"client\"\n")).is_ok());
        assert!(parse_document("x-y", doc("")).is_err(), "binds is required");
        assert!(parse_document("x-y", doc("binds = \"both\"\n")).is_err());
        // A check that can fail needs a MUST that binds the server.
        let fails = doc("binds = \"client\"\n").replace("[\"warn\"]", "[\"fail\"]");
        assert!(parse_document("x-y", Box::leak(fails.into_boxed_str())).is_err());
    }

    #[test]
    fn id_rule() {
        assert!(is_valid_id("code-single-use") && is_valid_id("pkce2"));
        assert!(
            !is_valid_id("Code")
                && !is_valid_id("a--b")
                && !is_valid_id("-a")
                && !is_valid_id("a_b")
        );
    }
}
