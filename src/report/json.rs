//! The JSON report, schema version 1 (documented in the README). Its structs are the published
//! model, kept apart from the engine's types so that refactoring never changes the output.

use serde::Serialize;

use crate::catalog::SpecRef;
use crate::engine::{CheckResult, Report, Status};
use crate::http::Exchange;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub schema_version: u32,
    pub tool: Tool,
    pub target: TargetInfo<'a>,
    /// `enabled`, or `disabled` under `--insecure`.
    pub tls_verification: &'static str,
    /// Files whose certificates were trusted besides the built-in roots (`--ca-cert`, `[tls] ca_cert`).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub ca_files: &'a [String],
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight_error: Option<&'a str>,
    pub summary: Summary,
    pub results: Vec<JsonResult<'a>>,
}

#[derive(Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Serialize)]
pub struct TargetInfo<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
}

#[derive(Serialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub skip: usize,
    pub error: usize,
    /// Requests sent again after a 429 or 503 (each marked `retry` in its evidence).
    pub retries: usize,
}

#[derive(Serialize)]
pub struct JsonResult<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub family: &'a str,
    pub severity: &'static str,
    pub status: &'static str,
    pub message: &'a str,
    pub references: &'a [SpecRef],
    pub remediation: &'a str,
    pub duration_ms: u64,
    pub requests: usize,
    pub evidence: &'a [Exchange],
}

pub fn model(report: &Report) -> JsonReport<'_> {
    JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        target: TargetInfo {
            name: &report.target_name,
            issuer: &report.issuer,
        },
        tls_verification: super::tls_verification(report.insecure_tls),
        ca_files: &report.ca_files,
        started_at: super::rfc3339(report.started_at),
        duration_ms: report.duration.as_millis() as u64,
        preflight_error: report.preflight_error.as_deref(),
        summary: Summary {
            total: report.results.len(),
            pass: report.count(Status::Pass),
            fail: report.count(Status::Fail),
            warn: report.count(Status::Warn),
            skip: report.count(Status::Skip),
            error: report.count(Status::Error),
            retries: report.retries,
        },
        results: report.results.iter().map(result).collect(),
    }
}

/// One check's result as the report's `results[]` holds it (and a JSON Lines line, with its
/// target).
pub fn result(r: &CheckResult) -> JsonResult<'_> {
    JsonResult {
        id: &r.meta.id,
        title: &r.meta.title,
        family: &r.meta.family,
        severity: r.meta.severity.as_str(),
        status: r.status.as_str(),
        message: &r.message,
        references: &r.meta.spec,
        remediation: &r.meta.remediation,
        duration_ms: r.duration_ms,
        requests: r.requests,
        evidence: &r.evidence,
    }
}

pub fn render(report: &Report) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let out = serde_json::to_string_pretty(&model(report)).unwrap_or_default();
    let mut out = escape_c1_controls(&out);
    out.push('\n');
    out
}

/// The document of a run over several targets (`scan --config DIR/`, a shard, a merge): one
/// report per target, each exactly what a scan of that target alone writes, in target-name
/// order, and a summary over all of them.
#[derive(Serialize)]
pub struct JsonRun {
    pub schema_version: u32,
    pub tool: Tool,
    /// `I/N` when this is one shard's share of the targets (`--shard`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub started_at: String,
    pub duration_ms: u64,
    pub summary: RunSummary,
    pub reports: Vec<serde_json::Value>,
}

#[derive(Serialize, Default, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub targets: usize,
    /// Targets whose pre-flight failed (`preflight_error`): nothing or little of them was checked.
    pub not_scanned: usize,
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub skip: usize,
    pub error: usize,
    pub retries: usize,
}

impl RunSummary {
    /// Adds up the targets' own summaries: the one way both a run and a merge count.
    pub fn of(reports: &[serde_json::Value]) -> Self {
        let mut sum = RunSummary {
            targets: reports.len(),
            ..RunSummary::default()
        };
        for report in reports {
            let n = |key: &str| report["summary"][key].as_u64().unwrap_or(0) as usize;
            sum.total += n("total");
            sum.pass += n("pass");
            sum.fail += n("fail");
            sum.warn += n("warn");
            sum.skip += n("skip");
            sum.error += n("error");
            sum.retries += n("retries");
            if report.get("preflight_error").is_some_and(|e| !e.is_null()) {
                sum.not_scanned += 1;
            }
        }
        sum
    }
}

pub fn tool() -> Tool {
    Tool {
        name: "oauthprobe",
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// A run's document from its targets' reports (as JSON values, so that a merge of shards'
/// files and a run write the same thing), sorted by target name.
pub fn run_document(
    mut reports: Vec<serde_json::Value>,
    shard: Option<String>,
    started_at: String,
    duration_ms: u64,
) -> JsonRun {
    reports.sort_by(|a, b| target_name(a).cmp(target_name(b)));
    JsonRun {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        shard,
        started_at,
        duration_ms,
        summary: RunSummary::of(&reports),
        reports,
    }
}

/// The name a report's target goes by (`target.name`).
pub fn target_name(report: &serde_json::Value) -> &str {
    report["target"]["name"].as_str().unwrap_or("")
}

pub fn render_run(run: &JsonRun) -> String {
    let out = serde_json::to_string_pretty(run).unwrap_or_default();
    let mut out = escape_c1_controls(&out);
    out.push('\n');
    out
}

/// A report as the value a run's document holds.
pub fn value(report: &Report) -> serde_json::Value {
    serde_json::to_value(model(report)).unwrap_or_default()
}

/// serde_json escapes the C0 controls but writes DEL and the C1 controls (U+0080 to U+009F,
/// U+009B is a CSI that some terminals obey) as they are; a report shown with `cat` must not
/// carry a server's escape sequences. They can only occur inside strings, where `\u` is valid.
pub fn escape_c1_controls(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn c1_controls_are_escaped_and_read_back_the_same() {
        let value = serde_json::json!({ "m": "a\u{1b}[2J\u{9b}31m\u{7f}é" });
        let text = super::escape_c1_controls(&value.to_string());
        assert!(!text.chars().any(char::is_control), "{text:?}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
