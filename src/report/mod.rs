//! Report writers: a table for people, JSON for machines, SARIF for code scanning, JUnit for
//! CI test views, Markdown for job summaries and pull-request comments, HTML for a browser.
//! Each writer turns the engine's `Report` (or a run's reports) into its own output model;
//! [`FORMATS`] is the one list of them, from which `--format`, `--report`, `--help` and the
//! README's table come.

pub mod diff;
pub mod html;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod sarif;
pub mod table;
pub mod term;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::engine::{Report, Severity, Status};
use crate::exit::ExitStatus;
use crate::http::Exchange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// One JSON object per check, a line each, written as each check ends ([`jsonl`]).
    Jsonl,
    Sarif,
    Junit,
    Markdown,
    Html,
}

/// One report format: its name on the command line, the file extension its files take, what
/// it is for, and its writer (which renders one target's report and a run over several).
pub struct FormatInfo {
    pub format: Format,
    pub name: &'static str,
    pub extension: &'static str,
    pub description: &'static str,
    pub write: fn(Subject<'_>, &Context<'_>) -> String,
}

/// Every format, in the order `--help` and the README list them.
pub const FORMATS: &[FormatInfo] = &[
    FormatInfo {
        format: Format::Table,
        name: "table",
        extension: "txt",
        description: "a table for the terminal: one row per check, then the counts",
        write: |subject, ctx| match subject {
            Subject::One(report) => table::render_in(report, ctx),
            Subject::Run(run) => table::render_run_in(run, ctx),
        },
    },
    FormatInfo {
        format: Format::Json,
        name: "json",
        extension: "json",
        description: "the JSON report (schema version 1): options, selection, exit status, every verdict with its evidence",
        write: json::write,
    },
    FormatInfo {
        format: Format::Jsonl,
        name: "jsonl",
        extension: "jsonl",
        description: "JSON Lines: a JSON object per check, a line each (on stdout or in --output, written as each check ends)",
        write: |subject, _| subject.reports().iter().map(jsonl::render).collect(),
    },
    FormatInfo {
        format: Format::Sarif,
        name: "sarif",
        extension: "sarif",
        description: "SARIF 2.1.0 for GitHub code scanning: a rule per check, a result per fail and warn",
        write: sarif::write,
    },
    FormatInfo {
        format: Format::Junit,
        name: "junit",
        extension: "xml",
        description: "JUnit XML for GitLab, Jenkins and other CI test views: a testsuite per family, a testcase per check",
        write: junit::write,
    },
    FormatInfo {
        format: Format::Markdown,
        name: "markdown",
        extension: "md",
        description: "Markdown for $GITHUB_STEP_SUMMARY and pull-request comments: findings first, passes folded",
        write: markdown::write,
    },
    FormatInfo {
        format: Format::Html,
        name: "html",
        extension: "html",
        description: "one self-contained HTML page: summary, a filterable table, each check's evidence",
        write: html::write,
    },
];

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        FORMATS.iter().find(|f| f.name == s).map(|f| f.format)
    }

    pub fn info(self) -> &'static FormatInfo {
        FORMATS
            .iter()
            .find(|f| f.format == self)
            .unwrap_or(&FORMATS[0])
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }
}

/// The formats' names, comma-separated (error messages, help).
pub fn format_names() -> String {
    FORMATS
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The README's table of formats (a test holds the README to it).
pub fn formats_markdown() -> String {
    let mut out = String::from("| format | file | what it is for |\n|---|---|---|\n");
    for f in FORMATS {
        out.push_str(&format!(
            "| `{}` | `.{}` | {} |\n",
            f.name,
            f.extension,
            f.description.replace('|', "\\|")
        ));
    }
    out
}

/// What a writer renders: one target's report, or a run over several targets.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    One(&'a Report),
    Run(&'a Run<'a>),
}

impl<'a> Subject<'a> {
    pub fn reports(&self) -> &'a [Report] {
        match self {
            Subject::One(report) => std::slice::from_ref(*report),
            Subject::Run(run) => run.reports,
        }
    }

    pub fn started_at(&self) -> SystemTime {
        match self {
            Subject::One(report) => report.started_at,
            Subject::Run(run) => run.started_at,
        }
    }

    pub fn duration(&self) -> std::time::Duration {
        match self {
            Subject::One(report) => report.duration,
            Subject::Run(run) => run.duration,
        }
    }
}

/// The scan's options as the reports record them (`options` in the JSON).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScanSettings {
    pub concurrency: usize,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub slow: bool,
    /// Seconds per HTTP request.
    pub timeout: u64,
    /// Seconds the scan of each target may take; `None`: the default for the selection.
    pub deadline: Option<u64>,
    pub rps: Option<u32>,
    pub retries: u32,
    pub sessions: Option<u32>,
    pub fail_on: Severity,
    pub insecure: bool,
    /// `--proxy` as reports show it (without credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// `--baseline FILE`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    pub strict_baseline: bool,
}

/// What the writers know besides the reports: how the scan was run and how the process ends.
/// A writer given the default (a library caller, a test) leaves out what it does not know.
#[derive(Default)]
pub struct Context<'a> {
    /// How the table is laid out (colour, width, which rows).
    pub view: table::View,
    pub options: Option<&'a ScanSettings>,
    /// The ids of the checks selected (`--only`, `--skip`), in catalog order.
    pub selection: Option<&'a [String]>,
    /// The process's exit code, computed before the reports are written.
    pub exit_status: Option<ExitStatus>,
    /// The target file each target was read from, by target name (SARIF locations).
    pub target_files: &'a [(String, PathBuf)],
    /// The profiles `--profile` named: the JSON and the table say, per report, whether each
    /// was met ([`crate::profile::summarize`]).
    pub profiles: &'a [&'static crate::profile::Profile],
}

impl Context<'_> {
    pub fn target_file(&self, name: &str) -> Option<&PathBuf> {
        self.target_files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// Whether the report meets each profile `--profile` named (none: an empty list).
    pub fn profile_summaries(&self, report: &Report) -> Vec<crate::profile::Summary> {
        self.profiles
            .iter()
            .map(|p| crate::profile::summarize(p, report))
            .collect()
    }

    /// The exit code a scan of this target alone has under these options (`--fail-on`).
    pub fn exit_status_of(&self, report: &Report) -> Option<ExitStatus> {
        self.options
            .map(|o| exit_status_under(report, o.fail_on, self.profiles))
    }
}

pub fn render(report: &Report, format: Format, view: &table::View) -> String {
    write(
        Subject::One(report),
        format,
        &Context {
            view: *view,
            ..Context::default()
        },
    )
}

/// A run over several targets, or one shard's share of them.
pub struct Run<'a> {
    /// In target-name order.
    pub reports: &'a [Report],
    pub shard: Option<crate::target_set::Shard>,
    pub started_at: SystemTime,
    pub duration: std::time::Duration,
}

pub fn render_run(run: &Run, format: Format, view: &table::View) -> String {
    write(
        Subject::Run(run),
        format,
        &Context {
            view: *view,
            ..Context::default()
        },
    )
}

/// The report in `format`, with what the context knows.
pub fn write(subject: Subject<'_>, format: Format, ctx: &Context<'_>) -> String {
    (format.info().write)(subject, ctx)
}

/// The counts of one report or of a run, by status.
pub fn counts(reports: &[Report]) -> [(Status, usize); 5] {
    Status::ALL.map(|s| (s, reports.iter().map(|r| r.count(s)).sum()))
}

/// An exchange of the evidence as plain text, as it was recorded (redacted): the request,
/// then the answer or why there is none. Text from the server: every writer escapes it.
pub fn exchange_text(n: usize, x: &Exchange) -> String {
    let mut out = format!("[{n}] {} ({} ms)\n", x.step, x.elapsed_ms);
    if let Some(via) = &x.via {
        out.push_str(&format!("    sent by {via}\n"));
    }
    if let Some(r) = &x.retry {
        out.push_str(&format!(
            "    retry {} after HTTP {}, waited {} ms ({})\n",
            r.number, r.after_status, r.waited_ms, r.wait_from
        ));
    }
    out.push_str(&format!("> {} {}\n", x.request.method, x.request.url));
    for (k, v) in &x.request.headers {
        out.push_str(&format!("> {k}: {v}\n"));
    }
    if let Some(body) = &x.request.body {
        out.push_str(">\n");
        for line in body.lines() {
            out.push_str(&format!("> {line}\n"));
        }
    }
    match (&x.response, &x.error) {
        (Some(resp), _) => {
            out.push_str(&format!("< HTTP {}\n", resp.status));
            for (k, v) in &resp.headers {
                out.push_str(&format!("< {k}: {v}\n"));
            }
            if !resp.body.is_empty() {
                out.push_str("<\n");
                for line in resp.body.lines() {
                    out.push_str(&format!("< {line}\n"));
                }
            }
            if resp.truncated {
                out.push_str("< (body cut to an excerpt)\n");
            }
        }
        (None, Some(e)) => out.push_str(&format!("! no answer: {e}\n")),
        (None, None) => out.push_str("! no answer\n"),
    }
    if let Some(why) = &x.not_retried {
        out.push_str(&format!("    not retried: {why}\n"));
    }
    out
}

/// A check's whole evidence as plain text (see [`exchange_text`]).
pub fn evidence_text(evidence: &[Exchange]) -> String {
    evidence
        .iter()
        .enumerate()
        .map(|(i, x)| exchange_text(i + 1, x))
        .collect::<Vec<_>>()
        .join("\n")
}

/// "1.2 s" or "41 ms".
pub fn took(duration: std::time::Duration) -> String {
    if duration.as_secs() == 0 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// The line every human-readable report carries about TLS, when there is something to say:
/// verification switched off (`--insecure`), or roots trusted besides the built-in ones.
pub fn tls_line(insecure: bool, ca_files: &[String]) -> Option<String> {
    if insecure {
        Some("TLS certificate verification DISABLED (--insecure): the server's identity was not checked; not valid as an audit of a real deployment".into())
    } else if ca_files.is_empty() {
        None
    } else {
        Some(format!(
            "TLS: certificates verified against the built-in roots and the CA certificates in {}",
            terminal_safe(&ca_files.join(", "))
        ))
    }
}

/// `tls_verification` in the JSON report.
pub fn tls_verification(insecure: bool) -> &'static str {
    if insecure { "disabled" } else { "enabled" }
}

/// 1 when a check failed at or above `fail_on`; else 3 when the scan is incomplete (the target
/// could not be scanned, or a check could not decide); else 0.
pub fn exit_status(report: &Report, fail_on: Severity) -> ExitStatus {
    if report.preflight_in_target_file {
        return ExitStatus::Usage;
    }
    gate(
        report
            .results
            .iter()
            .filter(|r| r.gates())
            .map(|r| r.meta.severity),
        report.preflight_error.is_some() || report.count(Status::Error) > 0,
        fail_on,
    )
}

/// The exit status when the report is held to several profiles (`--profile`, repeated): the
/// worst of its own (judged under the first) and each profile's, whose verdicts come from the
/// same findings. A check outside a profile is n/a there: it neither fails nor errs.
pub fn exit_status_under(
    report: &Report,
    fail_on: Severity,
    profiles: &[&crate::profile::Profile],
) -> ExitStatus {
    profiles
        .iter()
        .fold(exit_status(report, fail_on), |worst, p| {
            if report.preflight_in_target_file {
                return ExitStatus::Usage;
            }
            let judged = || {
                report
                    .results
                    .iter()
                    .map(|r| (r, p.judge(r.meta, &r.finding).0))
            };
            worst.worst(gate(
                judged()
                    .filter(|(r, status)| *status == Status::Fail && !r.waived())
                    .map(|(r, _)| r.meta.severity),
                report.preflight_error.is_some() || judged().any(|(_, s)| s == Status::Error),
                fail_on,
            ))
        })
}

/// The worst of the targets' exit statuses: 1 when any failed, else 3 when any is incomplete.
pub fn exit_status_all(
    reports: &[Report],
    fail_on: Severity,
    profiles: &[&crate::profile::Profile],
) -> ExitStatus {
    reports
        .iter()
        .map(|r| exit_status_under(r, fail_on, profiles))
        .fold(ExitStatus::Ok, ExitStatus::worst)
}

/// The gate from what failed (the severity of each fail) and whether anything is undecided.
pub fn gate(
    mut failed: impl Iterator<Item = Severity>,
    incomplete: bool,
    fail_on: Severity,
) -> ExitStatus {
    if failed.any(|severity| severity >= fail_on) {
        ExitStatus::Failed
    } else if incomplete {
        ExitStatus::Incomplete
    } else {
        ExitStatus::Ok
    }
}

/// Text from the server made safe for a terminal: control characters (escape sequences among
/// them, C1 controls such as U+009B CSI too) and the bidirectional overrides that reorder what
/// is shown are written as `\u{..}` escapes instead of being obeyed. Newlines and tabs stay.
pub fn terminal_safe(text: &str) -> String {
    escape_controls(text, false)
}

/// [`terminal_safe`] for text that must stay on one line (a comment in a file, a log line):
/// newline, carriage return and tab are written `\n`, `\r`, `\t` as well.
pub fn terminal_line(text: &str) -> String {
    escape_controls(text, true)
}

fn escape_controls(text: &str, one_line: bool) -> String {
    if !text.chars().any(|c| needs_escape(c, one_line)) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' if one_line => out.push_str("\\n"),
            '\r' if one_line => out.push_str("\\r"),
            '\t' if one_line => out.push_str("\\t"),
            c if needs_escape(c, one_line) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char, one_line: bool) -> bool {
    (c.is_control() && (one_line || (c != '\n' && c != '\t'))) || is_bidi_control(c)
}

/// Unicode bidirectional formatting characters (UAX #9): they reorder the text around them.
pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// RFC 3339 in UTC, without pulling in a date crate.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let evil = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[32mPASS\u{9b}31m\u{202e}x\r\ny\tz";
        let safe = terminal_safe(evil);
        assert_eq!(
            safe,
            "\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{1b}[32mPASS\\u{9b}31m\\u{202e}x\\u{d}\ny\tz"
        );
        assert_eq!(
            terminal_line(evil),
            "\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{1b}[32mPASS\\u{9b}31m\\u{202e}x\\r\\ny\\tz"
        );
        assert_eq!(terminal_safe("plain é ✓"), "plain é ✓");
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_912_245_123)),
            "2026-11-29T00:30:45.123Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
