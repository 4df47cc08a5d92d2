//! SARIF 2.1.0 (OASIS), as GitHub code scanning reads it.
//!
//! One `run` for the whole scan, whatever the number of targets: since July 2025 code scanning
//! refuses an upload holding two runs of one tool in one category, and `upload-sarif`'s
//! `category` input is written into every run alike, so a run per target would be refused.
//! Each result names its target instead (`properties.target`, `properties.issuer`, a logical
//! location), and its physical location is the target file it was read from: code scanning
//! accepts only files of the repository as locations (a result located at the server's URL is
//! refused), and the target file is the file to change (or to open) when a check fails.
//! Without a target file (`demo`, the library) a result carries no physical location.
//!
//! The rules are the whole catalog, in catalog order (a rule's index never depends on the
//! selection): title, first paragraph, the check's document as help, the references with their
//! quotes, the remediation, and `security-severity` from the check's severity. A `fail` is a
//! result of level `error`, a `warn` of level `warning`, with the evidence (the exchanges as
//! recorded, redacted) in the result's properties. An `error` verdict, or a target that could
//! not be scanned, is a tool execution notification, and the invocation then says
//! `executionSuccessful: false`.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Context, Subject};
use crate::catalog::{self, CheckMeta, Level};
use crate::engine::{Report, Severity, Status};

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn write(subject: Subject<'_>, ctx: &Context<'_>) -> String {
    let doc = document(subject, ctx);
    let out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let mut out = super::json::escape_c1_controls(&out);
    out.push('\n');
    out
}

pub fn document(subject: Subject<'_>, ctx: &Context<'_>) -> Value {
    let reports = subject.reports();
    let several = matches!(subject, Subject::Run(_));
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for report in reports {
        if let Some(e) = &report.preflight_error {
            notifications.push(json!({
                "level": "error",
                "message": { "text": plain(&format!("{}: the target could not be scanned: {e}", report.target_name)) },
                "locations": locations(report, ctx),
                "properties": { "target": report.target_name, "issuer": report.issuer },
            }));
        }
        for r in &report.results {
            let index = rule_index(&r.meta.id);
            match r.status {
                Status::Fail | Status::Warn => results.push(result(report, r, index, several, ctx)),
                Status::Error => notifications.push(json!({
                    "level": "error",
                    "message": { "text": plain(&prefixed(report, several, &r.message)) },
                    "associatedRule": { "id": r.meta.id, "index": index },
                    "locations": locations(report, ctx),
                    "properties": { "target": report.target_name, "issuer": report.issuer },
                })),
                Status::Pass | Status::Skip => {}
            }
        }
    }
    let end = subject.started_at() + subject.duration();
    let mut invocation = json!({
        "executionSuccessful": notifications.is_empty(),
        "startTimeUtc": super::rfc3339(subject.started_at()),
        "endTimeUtc": super::rfc3339(end),
        "toolExecutionNotifications": notifications,
        "properties": {
            "targets": reports.iter().map(|r| {
                let mut t = json!({
                    "name": r.target_name,
                    "issuer": r.issuer,
                    "tls_verification": super::tls_verification(r.insecure_tls),
                    "summary": summary(r),
                    "profile": r.profile.name,
                });
                let profiles = ctx.profile_summaries(r);
                if !profiles.is_empty() {
                    t["profiles"] = json!(profiles);
                }
                if let Some(e) = &r.preflight_error {
                    t["preflight_error"] = json!(e);
                }
                t
            }).collect::<Vec<_>>(),
        },
    });
    if let Some(status) = ctx.exit_status {
        invocation["exitCode"] = json!(status.code());
        invocation["exitCodeDescription"] = json!(status.meaning());
    }
    if let Some(options) = ctx.options {
        invocation["properties"]["options"] = json!(options);
    }
    if let Some(selection) = ctx.selection {
        invocation["properties"]["selection"] = json!(selection);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "oauthprobe",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": catalog::catalog().iter().map(rule).collect::<Vec<_>>(),
                },
            },
            "invocations": [invocation],
            "results": results,
        }],
    })
}

fn summary(report: &Report) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("total".into(), json!(report.results.len()));
    for s in Status::ALL {
        m.insert(s.as_str().into(), json!(report.count(s)));
    }
    Value::Object(m)
}

fn rule_index(id: &str) -> usize {
    catalog::catalog()
        .iter()
        .position(|c| c.id == id)
        .unwrap_or(0)
}

/// GitHub's reading of `security-severity`: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9
/// medium, 0.1 to 3.9 low.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rule(meta: &CheckMeta) -> Value {
    let level = if meta.verdicts.contains(&Level::Fail) {
        "error"
    } else if meta.verdicts.contains(&Level::Warn) {
        "warning"
    } else {
        "note"
    };
    let mut help = format!("{}\n\nRemediation: {}\n", meta.title, meta.remediation);
    for s in &meta.spec {
        help.push_str(&format!(
            "\n{} §{} ({}, binds the {}): \"{}\"",
            s.doc,
            s.section,
            s.level,
            s.binds.name(),
            s.quote
        ));
    }
    json!({
        "id": meta.id,
        "name": meta.id,
        "shortDescription": { "text": meta.title },
        "fullDescription": { "text": first_paragraph(meta.body).unwrap_or(&meta.title) },
        "help": { "text": help, "markdown": meta.body.trim() },
        "defaultConfiguration": { "level": level },
        "properties": {
            "tags": ["security", "oauth", meta.family],
            "security-severity": security_severity(meta.severity),
            "severity": meta.severity.as_str(),
            "family": meta.family,
            "levels": meta.verdicts,
            "references": meta.spec,
            "remediation": meta.remediation,
        },
    })
}

/// The first paragraph of a check's document, after its `# id` heading.
fn first_paragraph(body: &str) -> Option<&str> {
    body.split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#'))
}

fn prefixed(report: &Report, several: bool, message: &str) -> String {
    if several {
        format!("{}: {message}", report.target_name)
    } else {
        message.to_string()
    }
}

fn result(
    report: &Report,
    r: &crate::engine::outcome::CheckResult,
    index: usize,
    several: bool,
    ctx: &Context<'_>,
) -> Value {
    let level = if r.status == Status::Fail {
        "error"
    } else {
        "warning"
    };
    let fingerprint = Sha256::digest(format!("{}\0{}", report.target_name, r.meta.id));
    let fingerprint: String = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
    json!({
        "ruleId": r.meta.id,
        "ruleIndex": index,
        "level": level,
        "message": { "text": plain(&prefixed(report, several, &r.message)) },
        "locations": locations(report, ctx),
        "partialFingerprints": { "oauthprobeTargetCheck/v1": fingerprint },
        "properties": {
            "target": report.target_name,
            "issuer": report.issuer,
            "status": r.status.as_str(),
            "severity": r.meta.severity.as_str(),
            "family": r.meta.family,
            "duration_ms": r.duration_ms,
            "requests": r.requests,
            "evidence": r.evidence,
        },
    })
}

/// The target file (a file of the repository, relative as it was named) and the target as a
/// logical location.
fn locations(report: &Report, ctx: &Context<'_>) -> Value {
    let mut location = json!({
        "logicalLocations": [{
            "name": report.target_name,
            "fullyQualifiedName": report.issuer,
            "kind": "resource",
        }],
    });
    if let Some(path) = ctx.target_file(&report.target_name) {
        location["physicalLocation"] = json!({
            "artifactLocation": { "uri": file_uri(path) },
            "region": { "startLine": 1 },
        });
    }
    json!([location])
}

/// A path as a URI reference: relative paths stay relative (code scanning reads them from the
/// repository's root), absolute ones become `file://` URIs (which `upload-sarif` makes relative
/// to the checkout). Characters a URI cannot hold are percent-encoded.
pub fn file_uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.strip_prefix("./").unwrap_or(&text);
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if path.is_absolute() {
        format!("file://{out}")
    } else {
        out
    }
}

/// Message text as SARIF plain text: `[text](target)` is an embedded link there (§3.11.6), so
/// brackets (and the backslash that escapes them) from the server are escaped.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_from_the_server_make_no_link() {
        assert_eq!(
            plain("see [here](https://x) \\o/"),
            "see \\[here\\](https://x) \\\\o/"
        );
    }

    #[test]
    fn target_files_are_uri_references() {
        assert_eq!(
            file_uri(std::path::Path::new("./targets/my lab.toml")),
            "targets/my%20lab.toml"
        );
        assert_eq!(
            file_uri(std::path::Path::new("/srv/ci/targets/a.toml")),
            "file:///srv/ci/targets/a.toml"
        );
    }

    #[test]
    fn every_rule_has_a_description_and_a_severity() {
        for meta in catalog::catalog() {
            let rule = rule(meta);
            assert!(
                rule["fullDescription"]["text"]
                    .as_str()
                    .is_some_and(|t| t.len() > 20),
                "{}",
                meta.id
            );
            let score: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&score));
        }
    }
}
