//! The JSON report, schema version 1 (documented in the README). Its structs are the published
//! model, kept apart from the engine's types so that refactoring never changes the output.

use serde::Serialize;

use super::{Context, Subject};
use crate::catalog::SpecRef;
use crate::engine::{CheckResult, Report, Status};
use crate::exit::ExitStatus;
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
    /// The proxy every request went through (`--proxy`), without its credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<&'a str>,
    pub started_at: String,
    pub duration_ms: u64,
    /// How the scan was run (present when the command line wrote the report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<&'a super::ScanSettings>,
    /// The ids of the checks selected, in catalog order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<&'a [String]>,
    /// The code a scan of this target alone exits with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<ExitStatusJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight_error: Option<&'a str>,
    /// The pre-flight error is a mistake in the target file (the scan exits 2).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preflight_in_target_file: bool,
    /// The profile the results' statuses are judged under: the first `--profile`, else
    /// `default`.
    pub profile: &'a str,
    pub summary: Summary,
    /// Whether each profile `--profile` named was met, each judging the results itself
    /// (absent without `--profile`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<crate::profile::Summary>,
    pub results: Vec<JsonResult<'a>>,
}

/// `exit_status`: the process's exit code and what it says.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct ExitStatusJson {
    pub code: u8,
    pub meaning: &'static str,
}

impl From<ExitStatus> for ExitStatusJson {
    fn from(status: ExitStatus) -> Self {
        ExitStatusJson {
            code: status.code(),
            meaning: status.meaning(),
        }
    }
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
    /// Fails the baseline waives (counted in `fail` too; they do not fail the gate).
    pub waived: usize,
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
    /// Present when the baseline names this check: `waived` (a fail that does not fail the
    /// gate), `expired` (past its date: it counts), `stale` (the check passes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<JsonWaiver<'a>>,
    /// What the finding breaks, when the probe found the requirement not met: the clauses it
    /// quotes that the variant seen breaks (`RFC 9700 §2.1.1 SHOULD`), or `best practice`;
    /// each profile judges by those it holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<String>,
    /// The verdict under each profile `--profile` named, in their order (absent without
    /// `--profile`): the first is `status`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<ProfileVerdict<'a>>,
    pub evidence: &'a [Exchange],
}

#[derive(Serialize)]
pub struct ProfileVerdict<'a> {
    pub profile: &'a str,
    pub status: &'static str,
}

#[derive(Serialize)]
pub struct JsonWaiver<'a> {
    pub state: &'static str,
    pub reason: &'a str,
    pub expires: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
    /// `file:line` of the baseline entry.
    pub baseline: &'a str,
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
        proxy: report.proxy.as_deref(),
        started_at: super::rfc3339(report.started_at),
        duration_ms: report.duration.as_millis() as u64,
        options: None,
        selection: None,
        exit_status: None,
        preflight_error: report.preflight_error.as_deref(),
        preflight_in_target_file: report.preflight_in_target_file,
        profile: &report.profile.name,
        summary: Summary {
            total: report.results.len(),
            pass: report.count(Status::Pass),
            fail: report.count(Status::Fail),
            warn: report.count(Status::Warn),
            skip: report.count(Status::Skip),
            error: report.count(Status::Error),
            retries: report.retries,
            waived: report.waived(),
        },
        profiles: Vec::new(),
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
        waiver: r.waiver.as_ref().map(|a| JsonWaiver {
            state: a.state.as_str(),
            reason: &a.waiver.reason,
            expires: &a.waiver.expires,
            owner: a.waiver.owner.as_deref(),
            baseline: &a.waiver.set_at,
        }),
        breaks: crate::profile::broken(r.meta, &r.finding),
        verdicts: Vec::new(),
        evidence: &r.evidence,
    }
}

pub fn render(report: &Report) -> String {
    render_model(&model(report))
}

/// The report with what the context knows: the options, the selection, the exit status.
pub fn model_in<'a>(report: &'a Report, ctx: &Context<'a>) -> JsonReport<'a> {
    let mut model = JsonReport {
        options: ctx.options,
        selection: ctx.selection,
        exit_status: ctx.exit_status_of(report).map(Into::into),
        profiles: ctx.profile_summaries(report),
        ..model(report)
    };
    for (json, r) in model.results.iter_mut().zip(&report.results) {
        json.verdicts = ctx
            .profiles
            .iter()
            .map(|p| ProfileVerdict {
                profile: &p.name,
                status: p.judge(r.meta, &r.finding).0.as_str(),
            })
            .collect();
    }
    model
}

fn render_model(model: &JsonReport) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let out = serde_json::to_string_pretty(model).unwrap_or_default();
    let mut out = escape_c1_controls(&out);
    out.push('\n');
    out
}

/// The writer of `--format json`: one report (its `exit_status` the process's), or a run's
/// document (each report's `exit_status` the one a scan of that target alone has, the
/// document's the process's).
pub fn write(subject: Subject<'_>, ctx: &Context<'_>) -> String {
    match subject {
        Subject::One(report) => render_model(&JsonReport {
            exit_status: ctx.exit_status.map(Into::into),
            ..model_in(report, ctx)
        }),
        Subject::Run(run) => {
            let reports = run
                .reports
                .iter()
                .map(|r| serde_json::to_value(model_in(r, ctx)).unwrap_or_default())
                .collect();
            let mut doc = run_document(
                reports,
                run.shard.map(|s| s.to_string()),
                super::rfc3339(run.started_at),
                run.duration.as_millis() as u64,
            );
            doc.options = ctx.options.cloned();
            doc.selection = ctx.selection.map(<[String]>::to_vec);
            doc.exit_status = ctx.exit_status.map(Into::into);
            render_run(&doc)
        }
    }
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<super::ScanSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Vec<String>>,
    /// The process's exit code: the worst of the targets' (or the merge's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<ExitStatusJson>,
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
    pub waived: usize,
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
            sum.waived += n("waived");
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
        options: None,
        selection: None,
        exit_status: None,
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
