//! The terminal table: one row per check, then a summary line.

use tabled::settings::object::Columns;
use tabled::settings::{Modify, Style, Width};
use tabled::{Table, Tabled};

use super::terminal_safe;
use crate::engine::{Report, Status};

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

/// Every string in the table may hold text from the server (a page title, a metadata value, an
/// error body): it goes through [`terminal_safe`], so the only escape sequences in the output
/// are the colours painted here.
pub fn render(report: &Report, color: bool) -> String {
    let mut out = format!(
        "oauthprobe {} · {} ({})\n",
        env!("CARGO_PKG_VERSION"),
        terminal_safe(&report.target_name),
        terminal_safe(&report.issuer)
    );
    if let Some(line) = super::tls_line(report.insecure_tls, &report.ca_files) {
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(proxy) = &report.proxy {
        out.push_str(&format!(
            "every request went through the proxy {}\n",
            terminal_safe(proxy)
        ));
    }
    if let Some(e) = &report.preflight_error {
        out.push_str(&format!(
            "\nThe target could not be scanned: {}\n\n",
            terminal_safe(e)
        ));
    }
    let rows: Vec<Row> = report
        .results
        .iter()
        .map(|r| Row {
            id: terminal_safe(&r.meta.id),
            status: match &r.waiver {
                Some(w) => format!("{} ({})", paint(r.status, color), w.state.as_str()),
                None => paint(r.status, color),
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
    let mut table = Table::new(rows);
    table
        .with(Style::sharp())
        .with(Modify::new(Columns::new(3..4)).with(Width::wrap(72).keep_words(true)));
    out.push_str(&table.to_string());
    out.push('\n');
    let counts: Vec<String> = Status::ALL
        .iter()
        .map(|s| format!("{} {}", report.count(*s), s.as_str()))
        .collect();
    let took = took(report.duration);
    let retries = match report.retries {
        0 => String::new(),
        1 => ", 1 retry".to_string(),
        n => format!(", {n} retries"),
    };
    let waived = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail && !r.gates())
        .count();
    let waived = match waived {
        0 => String::new(),
        n => format!(" ({n} waived by the baseline)"),
    };
    out.push_str(&format!(
        "{} checks in {took}: {}{waived}{retries}{}\n",
        report.results.len(),
        counts.join(", "),
        if report.insecure_tls {
            " · TLS verification disabled (--insecure)"
        } else {
            ""
        }
    ));
    out
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
pub fn render_run(run: &super::Run, color: bool) -> String {
    let mut out = String::new();
    for report in run.reports {
        out.push_str(&render(report, color));
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
    out.push_str(&format!("{targets}{shard}\n"));
    if run.reports.is_empty() {
        out.push_str("This shard holds no target: there are fewer targets than shards.\n");
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
    out.push_str(&format!(
        "{targets}, {checks} checks in {}: {}{}{}\n",
        took(run.duration),
        counts.join(", "),
        match retries {
            0 => String::new(),
            1 => ", 1 retry".to_string(),
            n => format!(", {n} retries"),
        },
        match not_scanned {
            0 => String::new(),
            n => format!(" · {n} could not be scanned"),
        }
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
