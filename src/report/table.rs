//! The terminal table: the header, the rows worth reading (failures, warnings, errors; every
//! row with `--all`), what was folded away, the failing ids, then the summary line; laid out
//! to the width it is given, long messages wrapped rather than the whole table.

use tabled::settings::object::Columns;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::{Modify, Style, Width};
use tabled::{Table, Tabled};

use super::term;
use super::terminal_safe;
use crate::engine::{CheckResult, Report, Severity, Status};

/// How much of a report the table shows, and in what room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Paint the status column.
    pub color: bool,
    /// Display columns no line may exceed; `None`: no limit (messages are not wrapped).
    pub width: Option<usize>,
    /// Every row in catalog order (`--all`); else failures, warnings and errors first and
    /// passes and skips counted.
    pub all: bool,
    /// Only results at or above this severity are shown (`--min-severity`); the counts, the
    /// failing ids and the exit code still cover every result.
    pub min_severity: Option<Severity>,
}

impl Default for View {
    /// Every row, no width limit, no colour: what a program reading the table wants.
    fn default() -> Self {
        View {
            color: false,
            width: None,
            all: true,
            min_severity: None,
        }
    }
}

/// How many failing ids the line before the summary names before "and N more".
pub const FAILED_IDS_SHOWN: usize = 8;

#[derive(Tabled)]
struct Row {
    #[tabled(rename = "CHECK")]
    id: String,
    #[tabled(rename = "STATUS")]
    status: String,
    #[tabled(rename = "SEVERITY")]
    severity: String,
    #[tabled(rename = "RESULT")]
    message: String,
}

fn paint(status: Status, color: bool) -> String {
    let text = status.as_str().to_uppercase();
    if !color {
        return text;
    }
    let code = match status {
        Status::Pass => "32",
        Status::Fail => "1;31",
        Status::Warn => "33",
        Status::Skip => "2",
        Status::Error => "1;35",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Whether the default view shows a row of this status: what needs reading. Passes say
/// nothing to act on; skips are the scan's own scope (a slow check, a second client not
/// configured) and repeat the same few reasons, so both are counted, not listed.
fn shown_by_default(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Warn | Status::Error)
}

/// The order the default view leads with: failures, then warnings, then errors; the most
/// severe first within each, then catalog order.
fn lead_rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Warn => 1,
        Status::Error => 2,
        Status::Skip => 3,
        Status::Pass => 4,
    }
}

/// A check the pre-flight's failure kept from running: the header says why, once.
fn kept_by_preflight(r: &CheckResult) -> bool {
    r.status == Status::Error && r.message == crate::engine::NOT_RUN_AFTER_PREFLIGHT
}

/// The rows `view` shows, in its order.
fn shown<'a>(report: &'a Report, view: &View) -> Vec<&'a CheckResult> {
    let mut rows: Vec<&CheckResult> = report
        .results
        .iter()
        .filter(|r| view.min_severity.is_none_or(|min| r.meta.severity >= min))
        .filter(|r| view.all || (shown_by_default(r.status) && !kept_by_preflight(r)))
        .collect();
    if !view.all {
        // Stable: catalog order within a status and severity.
        rows.sort_by_key(|r| (lead_rank(r.status), std::cmp::Reverse(r.meta.severity)));
    }
    rows
}

/// One line of plain text (no escape sequences) to fit `view`'s width.
fn line(text: &str, view: &View) -> String {
    match view.width {
        Some(width) => term::wrapped(text, width),
        None => format!("{text}\n"),
    }
}

/// A table laid out to `view`'s width: the widest column (the messages, the issuers) is
/// wrapped first, at spaces where it can.
fn fit(table: &mut Table, view: &View) {
    if let Some(width) = view.width {
        table.with(
            Width::wrap(width)
                .priority(PriorityMax::right())
                .keep_words(true),
        );
    }
}

/// Every string in the table may hold text from the server (a page title, a metadata value, an
/// error body): it goes through [`terminal_safe`], so the only escape sequences in the output
/// are the colours painted here.
pub fn render(report: &Report, view: &View) -> String {
    render_in(
        report,
        &super::Context {
            view: *view,
            ..super::Context::default()
        },
    )
}

/// The table with what the context knows: after the counts, one line per `--profile`.
pub fn render_in(report: &Report, ctx: &super::Context<'_>) -> String {
    let view = &ctx.view;
    let mut out = line(
        &format!(
            "oauthprobe {} · {} ({}){}",
            env!("CARGO_PKG_VERSION"),
            terminal_safe(&report.target_name),
            terminal_safe(&report.issuer),
            // Said only when it is not the one every scan had before profiles.
            if report.profile.name == "default" {
                String::new()
            } else {
                format!(" · verdicts under profile {}", report.profile.name)
            }
        ),
        view,
    );
    if let Some(tls) = super::tls_line(report.insecure_tls, &report.ca_files) {
        out.push_str(&line(&tls, view));
    }
    if let Some(proxy) = &report.proxy {
        out.push_str(&line(
            &format!(
                "every request went through the proxy {}",
                terminal_safe(proxy)
            ),
            view,
        ));
    }
    if let Some(e) = &report.preflight_error {
        out.push('\n');
        out.push_str(&line(
            &format!("The target could not be scanned: {}", terminal_safe(e)),
            view,
        ));
        out.push('\n');
    }
    let shown = shown(report, view);
    if !shown.is_empty() {
        let mut rows: Vec<Row> = shown
            .iter()
            .map(|r| Row {
                id: terminal_safe(&r.meta.id),
                status: match &r.waiver {
                    Some(w) => format!("{} ({})", paint(r.status, view.color), w.state.as_str()),
                    None => paint(r.status, view.color),
                },
                severity: r.meta.severity.to_string(),
                message: match &r.waiver {
                    Some(w) => format!(
                        "{} [baseline {}: {}, until {}]",
                        terminal_safe(&r.message),
                        terminal_safe(&w.waiver.set_at),
                        terminal_safe(&w.waiver.reason),
                        w.waiver.expires
                    ),
                    None => terminal_safe(&r.message),
                },
            })
            .collect();
        if let Some((id_room, message_room)) = view.width.map(|w| rooms(&rows, w)) {
            for row in &mut rows {
                if term::width(&row.id) > id_room {
                    row.id = term::wrap(&row.id, id_room).join("\n");
                }
                row.message = term::wrap(&row.message, message_room).join("\n");
            }
        }
        let mut table = Table::new(rows);
        table.with(Style::sharp());
        if view.width.is_none() {
            // No width to fit: each message on lines of 72 columns, as it always was.
            table.with(Modify::new(Columns::new(3..4)).with(Width::wrap(72).keep_words(true)));
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    if let Some(folded) = folded(report, view, shown.len()) {
        out.push_str(&line(&folded, view));
    }
    if let Some(failed) = failed_ids(report) {
        out.push_str(&line(&failed, view));
    }
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
    let took = took(report.duration);
    let retries = retries_note(report.retries);
    let waived = match report.waived() {
        0 => String::new(),
        n => format!(" ({n} waived by the baseline)"),
    };
    out.push_str(&line(
        &format!(
            "{} checks in {took}: {}{waived}{retries}{}",
            report.results.len(),
            counts.join(", "),
            if report.insecure_tls {
                " · TLS verification disabled (--insecure)"
            } else {
                ""
            }
        ),
        view,
    ));
    for summary in ctx.profile_summaries(report) {
        out.push_str(&line(&summary.line(), view));
    }
    out
}

/// The display columns the CHECK and RESULT cells may take in `width`: STATUS and SEVERITY
/// take what their widest cell needs, CHECK too while RESULT keeps [`MIN_MESSAGE`], and RESULT
/// the rest (borders and padding counted).
fn rooms(rows: &[Row], width: usize) -> (usize, usize) {
    let widest = |header: &str, cell: fn(&Row) -> &str| {
        rows.iter()
            .map(|r| term::width(cell(r)))
            .chain([term::width(header)])
            .max()
            .unwrap_or(0)
    };
    // The status cell may be painted: its width is the word's.
    let status = rows
        .iter()
        .map(|r| strip_paint(&r.status).len())
        .chain(["STATUS".len()])
        .max()
        .unwrap_or(0);
    let fixed = status + widest("SEVERITY", |r| &r.severity) + 5 + 8;
    let id = widest("CHECK", |r| &r.id);
    let id_room = id.min(width.saturating_sub(fixed + MIN_MESSAGE).max(MIN_ID));
    let message_room = width.saturating_sub(fixed + id_room).max(MIN_MESSAGE);
    (id_room, message_room)
}

/// Narrower than this, the CHECK column is not made.
const MIN_ID: usize = 10;

/// The RESULT column is not made narrower than this by wrapping the messages alone.
const MIN_MESSAGE: usize = 16;

fn strip_paint(cell: &str) -> &str {
    cell.strip_prefix("\x1b[")
        .and_then(|rest| rest.split_once('m'))
        .map_or(cell, |(_, rest)| {
            rest.strip_suffix("\x1b[0m").unwrap_or(rest)
        })
}

/// What the view left out, as a sentence: "96 pass and 2 skip not shown (--all shows every
/// row)"; `None` when every result is a row.
fn folded(report: &Report, view: &View, shown: usize) -> Option<String> {
    let hidden = report.results.len() - shown.min(report.results.len());
    if hidden == 0 {
        return None;
    }
    let mut parts = Vec::new();
    if let Some(min) = view.min_severity {
        let below = report
            .results
            .iter()
            .filter(|r| r.meta.severity < min)
            .count();
        if below > 0 {
            parts.push(format!("{below} below --min-severity {min}"));
        }
    }
    if !view.all {
        let kept = report
            .results
            .iter()
            .filter(|r| kept_by_preflight(r))
            .filter(|r| view.min_severity.is_none_or(|min| r.meta.severity >= min))
            .count();
        if kept > 0 {
            parts.push(format!(
                "{kept} error (not run: see the pre-flight error above)"
            ));
        }
        for status in [Status::Pass, Status::Skip] {
            let n = report
                .results
                .iter()
                .filter(|r| r.status == status)
                .filter(|r| view.min_severity.is_none_or(|min| r.meta.severity >= min))
                .count();
            if n > 0 {
                parts.push(format!("{n} {}", status.as_str()));
            }
        }
    }
    let hint = if view.all {
        ""
    } else {
        " (--all shows every row)"
    };
    let none = if shown == 0 && !view.all {
        "no failure, warning or error to show: "
    } else {
        ""
    };
    Some(format!("{none}{} not shown{hint}", and_list(&parts)))
}

/// "a", "a and b", "a, b and c".
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "failed: a, b, c and 4 more", the ids of the failed checks in catalog order, bounded.
fn failed_ids(report: &Report) -> Option<String> {
    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.meta.id.as_str())
        .collect();
    if failed.is_empty() {
        return None;
    }
    let named = failed
        .iter()
        .take(FAILED_IDS_SHOWN)
        .map(|id| terminal_safe(id))
        .collect::<Vec<_>>()
        .join(", ");
    let more = match failed.len().saturating_sub(FAILED_IDS_SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!("failed: {named}{more}"))
}

#[derive(Tabled)]
struct TargetRow {
    #[tabled(rename = "TARGET")]
    name: String,
    #[tabled(rename = "ISSUER")]
    issuer: String,
    #[tabled(rename = "PASS")]
    pass: usize,
    #[tabled(rename = "FAIL")]
    fail: usize,
    #[tabled(rename = "WARN")]
    warn: usize,
    #[tabled(rename = "SKIP")]
    skip: usize,
    #[tabled(rename = "ERROR")]
    error: usize,
    #[tabled(rename = "NOTE")]
    note: &'static str,
}

/// Each target's table in turn, then one row per target and the counts over all of them.
pub fn render_run(run: &super::Run, view: &View) -> String {
    render_run_in(
        run,
        &super::Context {
            view: *view,
            ..super::Context::default()
        },
    )
}

/// [`render_run`] with what the context knows (each target's profile lines).
pub fn render_run_in(run: &super::Run, ctx: &super::Context<'_>) -> String {
    let view = &ctx.view;
    let mut out = String::new();
    for report in run.reports {
        out.push_str(&render_in(report, ctx));
        out.push('\n');
    }
    let shard = run
        .shard
        .map(|s| format!(" (shard {s})"))
        .unwrap_or_default();
    let targets = match run.reports.len() {
        1 => "1 target".to_string(),
        n => format!("{n} targets"),
    };
    out.push_str(&line(&format!("{targets}{shard}"), view));
    if run.reports.is_empty() {
        out.push_str(&line(
            "This shard holds no target: there are fewer targets than shards.",
            view,
        ));
        return out;
    }
    let rows = run.reports.iter().map(|r| TargetRow {
        name: terminal_safe(&r.target_name),
        issuer: terminal_safe(&r.issuer),
        pass: r.count(Status::Pass),
        fail: r.count(Status::Fail),
        warn: r.count(Status::Warn),
        skip: r.count(Status::Skip),
        error: r.count(Status::Error),
        note: if r.preflight_error.is_some() {
            "could not be scanned"
        } else {
            ""
        },
    });
    let mut table = Table::new(rows);
    table.with(Style::sharp());
    fit(&mut table, view);
    out.push_str(&table.to_string());
    out.push('\n');
    let checks: usize = run.reports.iter().map(|r| r.results.len()).sum();
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|s| {
            let n: usize = run.reports.iter().map(|r| r.count(*s)).sum();
            format!("{n} {}", s.as_str())
        })
        .collect();
    let retries: usize = run.reports.iter().map(|r| r.retries).sum();
    let not_scanned = run
        .reports
        .iter()
        .filter(|r| r.preflight_error.is_some())
        .count();
    out.push_str(&line(
        &format!(
            "{targets}, {checks} checks in {}: {}{}{}",
            took(run.duration),
            counts.join(", "),
            retries_note(retries),
            match not_scanned {
                0 => String::new(),
                n => format!(" · {n} could not be scanned"),
            }
        ),
        view,
    ));
    out
}

fn took(duration: std::time::Duration) -> String {
    if duration.as_secs() == 0 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// `, N retries` for a summary line, or nothing when there were none.
fn retries_note(retries: usize) -> String {
    match retries {
        0 => String::new(),
        1 => ", 1 retry".to_string(),
        n => format!(", {n} retries"),
    }
}
