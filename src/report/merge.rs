//! `oauthprobe report merge`: the shards' JSON reports made into one run's document, the one a
//! single run over every target writes (the reports in target-name order, the summary over
//! all). A merge that would silently lose or double a target (a shard missing, given twice,
//! from another split, two reports of one target) is refused and says which file.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::json::{self, JsonRun, SCHEMA_VERSION};
use crate::engine::Severity;
use crate::exit::ExitStatus;
use crate::target_set::Shard;

/// One input: a run's document (`reports`) or one target's report (`results`).
struct Input {
    path: PathBuf,
    shard: Option<Shard>,
    started_at: Option<String>,
    duration_ms: u64,
    reports: Vec<Value>,
}

pub fn merge(files: &[PathBuf]) -> Result<JsonRun, String> {
    let inputs = files
        .iter()
        .map(|path| read(path))
        .collect::<Result<Vec<_>, _>>()?;
    check_shards(&inputs)?;
    let mut seen: Vec<(String, &Path)> = Vec::new();
    for input in &inputs {
        for report in &input.reports {
            let name = json::target_name(report).to_string();
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                return Err(format!(
                    "{}: the target `{name}` is also reported in {}; each target must be in one report only",
                    input.path.display(),
                    first.display()
                ));
            }
            seen.push((name, &input.path));
        }
    }
    let started_at = inputs
        .iter()
        .filter_map(|i| i.started_at.clone())
        .min()
        .unwrap_or_default();
    let duration_ms = inputs.iter().map(|i| i.duration_ms).max().unwrap_or(0);
    let reports = inputs.into_iter().flat_map(|i| i.reports).collect();
    Ok(json::run_document(reports, None, started_at, duration_ms))
}

/// The target reports in a JSON report file (one, or a run's), checked as a merge checks them.
pub fn reports_in(path: &Path) -> Result<Vec<Value>, String> {
    read(path).map(|input| input.reports)
}

fn read(path: &Path) -> Result<Input, String> {
    let at = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{at}: cannot read the report: {e}"))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{at}: not an oauthprobe JSON report: {e}"))?;
    if doc["tool"]["name"] != "oauthprobe" {
        return Err(format!(
            "{at}: not an oauthprobe JSON report (no `tool.name` = \"oauthprobe\"); write reports with --format json"
        ));
    }
    match doc["schema_version"].as_u64() {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        other => {
            return Err(format!(
                "{at}: schema_version {}, but this oauthprobe reads version {SCHEMA_VERSION}; merge reports written by one version",
                other.map_or("missing".to_string(), |v| v.to_string())
            ));
        }
    }
    let shard = match doc.get("shard").and_then(Value::as_str) {
        Some(s) => Some(
            s.parse::<Shard>()
                .map_err(|e| format!("{at}: `shard`: {e}"))?,
        ),
        None => None,
    };
    let reports = match (doc.get("reports"), doc.get("results")) {
        (Some(Value::Array(reports)), _) => reports.clone(),
        (None, Some(Value::Array(_))) => vec![doc.clone()],
        _ => {
            return Err(format!(
                "{at}: neither `reports` (a run's document) nor `results` (one target's report)"
            ));
        }
    };
    for (n, report) in reports.iter().enumerate() {
        if !report["target"]["name"].is_string() || !report["results"].is_array() {
            return Err(format!(
                "{at}: report {} has no `target.name` or no `results`",
                n + 1
            ));
        }
    }
    Ok(Input {
        path: path.to_path_buf(),
        shard,
        started_at: doc["started_at"].as_str().map(str::to_string),
        duration_ms: doc["duration_ms"].as_u64().unwrap_or(0),
        reports,
    })
}

/// Shards' files must come from one split (one N), each shard once, none missing.
fn check_shards(inputs: &[Input]) -> Result<(), String> {
    let sharded: Vec<(&Input, Shard)> = inputs
        .iter()
        .filter_map(|i| i.shard.map(|s| (i, s)))
        .collect();
    let Some((first, split)) = sharded.first() else {
        return Ok(());
    };
    if let Some(plain) = inputs.iter().find(|i| i.shard.is_none()) {
        return Err(format!(
            "{} is not a shard's report, but {} is (shard {split}); merge the shards of one split only",
            plain.path.display(),
            first.path.display()
        ));
    }
    if let Some((other, s)) = sharded.iter().find(|(_, s)| s.count != split.count) {
        return Err(format!(
            "{} is shard {s}, but {} is shard {split}: they come from different splits",
            other.path.display(),
            first.path.display()
        ));
    }
    for index in 1..=split.count {
        let holders: Vec<&Input> = sharded
            .iter()
            .filter(|(_, s)| s.index == index)
            .map(|(i, _)| *i)
            .collect();
        match holders.as_slice() {
            [_] => {}
            [] => {
                return Err(format!(
                    "shard {index}/{} is missing: merge the report of every shard (a job that did not finish, or a file left out)",
                    split.count
                ));
            }
            [a, b, ..] => {
                return Err(format!(
                    "shard {index}/{} is given twice: {} and {}",
                    split.count,
                    a.path.display(),
                    b.path.display()
                ));
            }
        }
    }
    Ok(())
}

/// The exit status a run over the merged targets would have: 1 when a check failed at or
/// above `fail_on`, else 3 when a target could not be scanned or a check could not decide.
pub fn exit_status(run: &JsonRun, fail_on: Severity) -> ExitStatus {
    run.reports
        .iter()
        .map(|report| {
            if report["preflight_in_target_file"] == true {
                return ExitStatus::Usage;
            }
            let results = report["results"].as_array().map_or(&[][..], Vec::as_slice);
            fn status(r: &Value) -> &str {
                r["status"].as_str().unwrap_or("")
            }
            super::gate(
                results
                    .iter()
                    .filter(|r| status(r) == "fail" && r["waiver"]["state"] != "waived")
                    // A severity this version does not know gates as the highest.
                    .map(|r| {
                        Severity::parse(r["severity"].as_str().unwrap_or(""))
                            .unwrap_or(Severity::Critical)
                    }),
                report.get("preflight_error").is_some_and(|e| !e.is_null())
                    || results.iter().any(|r| status(r) == "error"),
                fail_on,
            )
        })
        .fold(ExitStatus::Ok, ExitStatus::worst)
}
