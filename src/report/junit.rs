//! JUnit XML, in the shape Jenkins (its xunit plugin's `junit-10.xsd`), GitLab and most CI test
//! views read: `<testsuites>`, a `<testsuite>` per family of checks (per target and family in
//! a run over several targets), a `<testcase>` per check. `fail` is a `<failure>`, `error` an
//! `<error>`, `skip` a `<skipped>`; `pass` and `warn` pass (a warning does not fail the gate,
//! its `<system-out>` says WARN). Every testcase's `<system-out>` holds the verdict's message
//! and the exchanges of its evidence, redacted. A target that could not be scanned has a
//! `preflight` testcase in error.
//!
//! All text is escaped for XML, and what XML 1.0 cannot hold at all (C0 controls but tab,
//! newline and carriage return; U+FFFE, U+FFFF) is written as a visible `\u{..}` escape, so
//! the file is well-formed whatever the server put in its answers.

use std::fmt::Write as _;

use super::{Context, Subject};
use crate::catalog::FAMILIES;
use crate::engine::{CheckResult, Report, Status};

pub fn write(subject: Subject<'_>, ctx: &Context<'_>) -> String {
    let reports = subject.reports();
    let several = matches!(subject, Subject::Run(_));
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for report in reports {
        let timestamp = super::rfc3339(report.started_at);
        if let Some(e) = &report.preflight_error {
            tests += 1;
            errors += 1;
            let name = suite_name(report, several, "preflight");
            let _ = write!(
                suites,
                "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0.000\" timestamp=\"{timestamp}\">\n{}    <testcase name=\"preflight\" classname=\"{}\" time=\"0.000\">\n      <error type=\"preflight\" message=\"{}\">{}</error>\n    </testcase>\n  </testsuite>\n",
                attr(&name),
                properties(report, ctx),
                attr(&classname(report, "preflight")),
                attr(e),
                text(e),
            );
        }
        for family in families(report) {
            let cases: Vec<&CheckResult> = report
                .results
                .iter()
                .filter(|r| r.meta.family == family)
                .collect();
            let count = |s: Status| cases.iter().filter(|r| r.status == s).count();
            let ms: u64 = cases.iter().map(|r| r.duration_ms).sum();
            tests += cases.len();
            failures += count(Status::Fail);
            errors += count(Status::Error);
            let _ = writeln!(
                suites,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{timestamp}\">",
                attr(&suite_name(report, several, &family)),
                cases.len(),
                count(Status::Fail),
                count(Status::Error),
                count(Status::Skip),
                seconds(ms),
            );
            suites.push_str(&properties(report, ctx));
            for r in cases {
                suites.push_str(&testcase(report, r));
            }
            suites.push_str("  </testsuite>\n");
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"oauthprobe\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">\n{suites}</testsuites>\n",
        seconds(subject.duration().as_millis() as u64)
    )
}

/// The families of a report, in the catalog's order of families, then any other.
fn families(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = FAMILIES
        .iter()
        .filter(|f| report.results.iter().any(|r| r.meta.family == **f))
        .map(|f| f.to_string())
        .collect();
    for r in &report.results {
        if !out.contains(&r.meta.family) {
            out.push(r.meta.family.clone());
        }
    }
    out
}

fn suite_name(report: &Report, several: bool, family: &str) -> String {
    if several {
        format!("{} / {family}", report.target_name)
    } else {
        family.to_string()
    }
}

fn classname(report: &Report, family: &str) -> String {
    format!("oauthprobe.{}.{family}", report.target_name)
}

/// The suite's properties: the target, and the profile the verdicts are judged under, then a
/// `profile.NAME` line per `--profile` saying whether it was met.
fn properties(report: &Report, ctx: &Context<'_>) -> String {
    let mut out = format!(
        "    <properties>\n      <property name=\"target\" value=\"{}\"/>\n      <property name=\"issuer\" value=\"{}\"/>\n      <property name=\"tls_verification\" value=\"{}\"/>\n      <property name=\"profile\" value=\"{}\"/>\n",
        attr(&report.target_name),
        attr(&report.issuer),
        super::tls_verification(report.insecure_tls),
        attr(&report.profile.name),
    );
    for summary in ctx.profile_summaries(report) {
        let _ = writeln!(
            out,
            "      <property name=\"profile.{}\" value=\"{}\"/>",
            attr(&summary.name),
            attr(&summary.line())
        );
    }
    out.push_str("    </properties>\n");
    out
}

fn testcase(report: &Report, r: &CheckResult) -> String {
    let mut out = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">\n",
        attr(&r.meta.id),
        attr(&classname(report, &r.meta.family)),
        seconds(r.duration_ms)
    );
    let verdict = format!(
        "{} ({} severity): {}",
        r.status.as_str().to_uppercase(),
        r.meta.severity,
        r.message
    );
    match r.status {
        Status::Fail => {
            let refs: Vec<String> = r.meta.spec.iter().map(|s| s.to_string()).collect();
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}\n\n{}\nRemediation: {}\nReferences: {}</failure>",
                r.meta.severity,
                attr(&r.message),
                text(&r.meta.title),
                text(&r.message),
                text(&r.meta.remediation),
                text(&refs.join(", "))
            );
        }
        Status::Error => {
            let _ = writeln!(
                out,
                "      <error type=\"error\" message=\"{}\">{}</error>",
                attr(&r.message),
                text(&r.message)
            );
        }
        Status::Skip => {
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(&r.message));
        }
        Status::Pass | Status::Warn => {}
    }
    let mut system_out = format!("{verdict}\n");
    if !r.evidence.is_empty() {
        system_out.push('\n');
        system_out.push_str(&super::evidence_text(&r.evidence));
    }
    let _ = writeln!(out, "      <system-out>{}</system-out>", text(&system_out));
    out.push_str("    </testcase>\n");
    out
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Character data: `&`, `<`, `>` escaped, the characters XML 1.0 forbids shown as escapes.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value in double quotes: also `"`, and newlines and tabs as character
/// references (a parser would otherwise turn them into spaces).
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    // Terminal-safe first: C0 and C1 controls (but newline and tab) and bidirectional
    // overrides become `\u{..}` text, which also rids the text of every C0 control XML 1.0
    // forbids; the two non-characters it leaves are shown the same way.
    let safe = super::terminal_safe(s);
    let mut out = String::with_capacity(safe.len() + 16);
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\u{fffe}' | '\u{ffff}' => out.extend(c.escape_unicode()),
            c if !xml_char(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0 §2.2 `Char`.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_xml_cannot_hold_is_shown_not_written() {
        let evil = "a\u{0}b\u{1b}[31m\u{b}<x>&\"'\u{fffe}\u{ffff}\r\n\tz";
        let t = text(evil);
        assert!(
            t.chars()
                .all(|c| xml_char(c) && c != '\u{fffe}' && c != '\u{ffff}')
        );
        assert!(!t.contains('<') && !t.contains('\u{1b}'), "{t}");
        assert!(t.contains("&lt;x&gt;&amp;"), "{t}");
        let a = attr(evil);
        assert!(!a.contains('"') && !a.contains('\n'), "{a}");
    }
}
