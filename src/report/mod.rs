//! Report writers: a table for people, JSON for machines. Each writer turns the engine's
//! `Report` into its own output model.

pub mod json;
pub mod jsonl;
pub mod merge;
pub mod table;
pub mod term;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::{Report, Severity, Status};
use crate::exit::ExitStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// One JSON object per check, a line each, written as each check ends ([`jsonl`]).
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

pub fn render(report: &Report, format: Format, view: &table::View) -> String {
    match format {
        Format::Table => table::render(report, view),
        Format::Json => json::render(report),
        Format::Jsonl => jsonl::render(report),
    }
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
    match format {
        Format::Table => table::render_run(run, view),
        Format::Jsonl => run.reports.iter().map(jsonl::render).collect(),
        Format::Json => json::render_run(&json::run_document(
            run.reports.iter().map(json::value).collect(),
            run.shard.map(|s| s.to_string()),
            rfc3339(run.started_at),
            run.duration.as_millis() as u64,
        )),
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
    gate(
        report
            .results
            .iter()
            .filter(|r| r.status == Status::Fail)
            .map(|r| r.meta.severity),
        report.preflight_error.is_some() || report.count(Status::Error) > 0,
        fail_on,
    )
}

/// The worst of the targets' exit statuses: 1 when any failed, else 3 when any is incomplete.
pub fn exit_status_all(reports: &[Report], fail_on: Severity) -> ExitStatus {
    reports
        .iter()
        .map(|r| exit_status(r, fail_on))
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
