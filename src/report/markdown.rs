//! Markdown for a GitHub job summary (`$GITHUB_STEP_SUMMARY`) or a pull-request comment: a
//! summary line, the findings (fail, warn, error) in a table, the passes and skips folded in a
//! `<details>`. Rendered by GitHub's Markdown (GFM with its HTML allow-list).
//!
//! Every string that may come from the server (messages, names, the issuer) goes through
//! [`text`]: ASCII punctuation is written as numeric character references, which Markdown shows
//! as the characters and never reads as syntax. No `[..](..)` link, `![..]` image, `<tag>`,
//! table `|`, emphasis or code span can come out of it, and no autolink either: `https:` and
//! `www.` are spelt with a reference in them (`https&#58;`, `www&#46;`), which the autolink
//! extension does not match.

use std::fmt::Write as _;

use super::{Context, Subject};
use crate::engine::{CheckResult, Report, Status};

pub fn write(subject: Subject<'_>, ctx: &Context<'_>) -> String {
    let reports = subject.reports();
    let mut out = String::new();
    match subject {
        Subject::One(report) => {
            let _ = writeln!(
                out,
                "## oauthprobe · {} ({})\n",
                text(&report.target_name),
                text(&report.issuer)
            );
            out.push_str(&summary_line(reports, subject.duration(), ctx));
            out.push('\n');
            section(&mut out, report, false, ctx);
        }
        Subject::Run(run) => {
            let shard = run
                .shard
                .map(|s| format!(" (shard {s})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "## oauthprobe · {} targets{shard}\n",
                run.reports.len()
            );
            out.push_str(&summary_line(reports, subject.duration(), ctx));
            out.push('\n');
            if !reports.is_empty() {
                out.push_str("| target | issuer | fail | warn | error | pass | skip |\n|---|---|---|---|---|---|---|\n");
                for r in reports {
                    let _ = writeln!(
                        out,
                        "| {}{} | {} | {} | {} | {} | {} | {} |",
                        text(&r.target_name),
                        if r.preflight_error.is_some() {
                            " (could not be scanned)"
                        } else {
                            ""
                        },
                        text(&r.issuer),
                        r.count(Status::Fail),
                        r.count(Status::Warn),
                        r.count(Status::Error),
                        r.count(Status::Pass),
                        r.count(Status::Skip),
                    );
                }
                out.push('\n');
            }
            for r in reports {
                let _ = writeln!(out, "### {} ({})\n", text(&r.target_name), text(&r.issuer));
                section(&mut out, r, true, ctx);
            }
        }
    }
    out
}

fn summary_line(reports: &[Report], duration: std::time::Duration, ctx: &Context<'_>) -> String {
    let counts = super::counts(reports);
    let checks: usize = counts.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| {
            if *n > 0 && matches!(s, Status::Fail | Status::Error) {
                format!("**{n} {s}**")
            } else {
                format!("{n} {s}")
            }
        })
        .collect();
    let mut line = format!(
        "{} {checks} checks in {}: {}",
        verdict_mark(&counts),
        super::took(duration),
        parts.join(", ")
    );
    if let Some(status) = ctx.exit_status {
        let _ = write!(
            line,
            " · exit {} ({})",
            status.code(),
            text(status.meaning())
        );
    }
    if reports.iter().any(|r| r.insecure_tls) {
        line.push_str(" · **TLS verification disabled** (--insecure)");
    }
    line.push('\n');
    line
}

fn verdict_mark(counts: &[(Status, usize)]) -> &'static str {
    let n = |s: Status| counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
    if n(Status::Fail) > 0 {
        "❌"
    } else if n(Status::Error) > 0 || n(Status::Warn) > 0 {
        "⚠️"
    } else {
        "✅"
    }
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Fail => "❌",
        Status::Warn => "⚠️",
        Status::Skip => "⏭️",
        Status::Error => "❗",
    }
}

fn section(out: &mut String, report: &Report, several: bool, ctx: &Context<'_>) {
    if let Some(e) = &report.preflight_error {
        let _ = writeln!(out, "**The target could not be scanned:** {}\n", text(e));
    }
    profiles(out, report, ctx);
    let findings: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warn | Status::Error))
        .collect();
    let rest: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| matches!(r.status, Status::Pass | Status::Skip))
        .collect();
    if findings.is_empty() {
        out.push_str("No check failed, warned or ended in error.\n\n");
    } else {
        out.push_str("| check | severity | result |\n|---|---|---|\n");
        // Failures, then errors, then warnings; the catalog's order within each.
        for status in [Status::Fail, Status::Error, Status::Warn] {
            for r in findings.iter().filter(|r| r.status == status) {
                row(out, r);
            }
        }
        out.push('\n');
    }
    if !rest.is_empty() {
        let pass = rest.iter().filter(|r| r.status == Status::Pass).count();
        let skip = rest.len() - pass;
        let _ = writeln!(
            out,
            "<details><summary>{pass} passed, {skip} skipped{}</summary>\n",
            if several {
                format!(" ({})", text(&report.target_name))
            } else {
                String::new()
            }
        );
        out.push_str("| check | severity | result |\n|---|---|---|\n");
        for r in rest {
            row(out, r);
        }
        out.push_str("\n</details>\n\n");
    }
}

/// One row per `--profile`: whether the report meets it, and the checks that keep it from it.
fn profiles(out: &mut String, report: &Report, ctx: &Context<'_>) {
    let summaries = ctx.profile_summaries(report);
    if summaries.is_empty() {
        return;
    }
    out.push_str("| profile | verdict | MUST met | SHOULD met | not met | not run |\n|---|---|---|---|---|---|\n");
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.iter().map(|id| text(id)).collect::<Vec<_>>().join(", ")
        }
    };
    for s in summaries {
        let _ = writeln!(
            out,
            "| {} | {} {} | {}/{} | {}/{} | {} | {} |",
            text(&s.name),
            if s.met { "✅" } else { "❌" },
            if s.met { "met" } else { "not met" },
            s.must.met,
            s.must.total,
            s.should.met,
            s.should.total,
            list(&s.not_met),
            list(&s.not_run),
        );
    }
    out.push('\n');
}

fn row(out: &mut String, r: &CheckResult) {
    let _ = writeln!(
        out,
        "| {} `{}` | {} | **{}** {} |",
        mark(r.status),
        r.meta.id,
        r.meta.severity,
        r.status,
        text(&r.message)
    );
}

/// Text from the server made inert in Markdown (and in the HTML GitHub allows in it): control
/// characters shown as escapes, newlines as spaces (a table cell is one line), and as numeric
/// character references every character that Markdown or HTML could read as syntax (links,
/// images, tags, entities, emphasis, code, tables, headings, math), the `:` of a URL and the
/// `@` of an address (autolinks), and the dot after `www` (the other autolink).
pub fn text(s: &str) -> String {
    let safe = super::terminal_line(s);
    let safe = safe.replace("\\n", " ").replace("\\r", " ");
    let mut out = String::with_capacity(safe.len() + 32);
    let mut last3 = ['\0'; 3];
    for c in safe.chars() {
        let after_www = last3.iter().all(|w| w.eq_ignore_ascii_case(&'w'));
        if MARKUP.contains(c) || (c == '.' && after_www) {
            let _ = write!(out, "&#{};", c as u32);
        } else {
            out.push(c);
        }
        last3 = [last3[1], last3[2], c];
    }
    out
}

const MARKUP: &str = "\\`*_[]()<>&!|~#\"':@$";

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn server_text_cannot_become_markdown_or_html() {
        let evil = "x | [a](https://e.test/) ![i](http://e.test/i.png) <img src=x> www.e.test `c` *b* \\| a@e.test\n# h";
        let t = text(evil);
        for bad in [
            "|", "[", "]", "(", "<", ">", "`", "*", "://", "www.", "@", "\n", "# ",
        ] {
            assert!(!t.contains(bad), "{bad:?} in {t}");
        }
        // Only references: every `&` starts one.
        assert!(t.match_indices('&').all(|(i, _)| t[i..].starts_with("&#")));
        assert_eq!(
            text("plain words, é: 127.0.0.1/x-y"),
            "plain words, é&#58; 127.0.0.1/x-y"
        );
    }
}
