//! `oauthprobe diff OLD.json NEW.json`: what changed between two scans, by target and check:
//! new failures (the regressions the exit code reports), fixed ones, and every other change
//! of verdict, including checks or targets found in only one of the two.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::terminal_line;
use crate::engine::Severity;

#[derive(Debug, Serialize)]
pub struct Change {
    pub target: String,
    pub check: String,
    pub severity: &'static str,
    /// `None`: the check (or the target) is not in that report.
    pub before: Option<String>,
    pub after: Option<String>,
    /// The later message (the earlier one when the check is gone).
    pub message: String,
    /// The later result is a fail the baseline waives.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub waived: bool,
}

#[derive(Debug)]
pub struct Diff {
    pub old: String,
    pub new: String,
    pub several_targets: bool,
    pub changes: Vec<Change>,
    pub unchanged: usize,
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    old: &'a str,
    new: &'a str,
    new_failures: Vec<&'a Change>,
    fixed: Vec<&'a Change>,
    changed: Vec<&'a Change>,
    unchanged: usize,
}

impl Change {
    fn is_new_failure(&self) -> bool {
        self.after.as_deref() == Some("fail") && self.before.as_deref() != Some("fail")
    }

    fn is_fixed(&self) -> bool {
        self.before.as_deref() == Some("fail") && self.after.as_deref() == Some("pass")
    }

    fn severity(&self) -> Severity {
        Severity::parse(self.severity).unwrap_or(Severity::Critical)
    }
}

impl Diff {
    /// A check that fails now, did not before, is at or above `fail_on` and is not waived.
    pub fn regressions(&self, fail_on: Severity) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(move |c| c.is_new_failure() && !c.waived && c.severity() >= fail_on)
    }
}

type Key = (String, String);

fn results(reports: &[Value]) -> BTreeMap<Key, &Value> {
    let mut out = BTreeMap::new();
    for report in reports {
        let target = super::json::target_name(report).to_string();
        for r in report["results"].as_array().into_iter().flatten() {
            let id = r["id"].as_str().unwrap_or("").to_string();
            out.insert((target.clone(), id), r);
        }
    }
    out
}

pub fn diff(old_path: &Path, new_path: &Path) -> Result<Diff, String> {
    let old_reports = super::merge::reports_in(old_path)?;
    let new_reports = super::merge::reports_in(new_path)?;
    let (old, new) = (results(&old_reports), results(&new_reports));
    let mut keys: Vec<&Key> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let status = |r: Option<&&Value>| r.and_then(|r| r["status"].as_str()).map(str::to_string);
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        let (b, a) = (status(before), status(after));
        if b == a {
            unchanged += 1;
            continue;
        }
        let latest = after.or(before);
        changes.push(Change {
            target: key.0.clone(),
            check: key.1.clone(),
            severity: latest
                .and_then(|r| r["severity"].as_str())
                .and_then(Severity::parse)
                .map_or("critical", Severity::as_str),
            before: b,
            after: a,
            message: latest
                .and_then(|r| r["message"].as_str())
                .unwrap_or("")
                .to_string(),
            waived: after.is_some_and(|r| r["waiver"]["state"] == "waived"),
        });
    }
    let targets = |reports: &[Value]| {
        reports
            .iter()
            .map(|r| super::json::target_name(r).to_string())
            .collect::<Vec<_>>()
    };
    let (mut all, more) = (targets(&old_reports), targets(&new_reports));
    all.extend(more);
    all.sort();
    all.dedup();
    Ok(Diff {
        old: old_path.display().to_string(),
        new: new_path.display().to_string(),
        several_targets: all.len() > 1,
        changes,
        unchanged,
    })
}

pub fn render_text(diff: &Diff, fail_on: Severity) -> String {
    let mut out = format!(
        "oauthprobe diff {} -> {}\n",
        terminal_line(&diff.old),
        terminal_line(&diff.new)
    );
    let line = |c: &Change| {
        let verdict = |v: &Option<String>| v.clone().unwrap_or_else(|| "absent".to_string());
        let target = if diff.several_targets {
            format!("{}  ", terminal_line(&c.target))
        } else {
            String::new()
        };
        format!(
            "  {target}{}  {}  {} -> {}{}  {}\n",
            terminal_line(&c.check),
            c.severity,
            verdict(&c.before),
            verdict(&c.after),
            if c.waived { " (waived)" } else { "" },
            terminal_line(&c.message)
        )
    };
    let new_failures: Vec<&Change> = diff.changes.iter().filter(|c| c.is_new_failure()).collect();
    let fixed: Vec<&Change> = diff.changes.iter().filter(|c| c.is_fixed()).collect();
    let other: Vec<&Change> = diff
        .changes
        .iter()
        .filter(|c| !c.is_new_failure() && !c.is_fixed())
        .collect();
    for (title, group) in [
        ("new failures", &new_failures),
        ("fixed", &fixed),
        ("other changes", &other),
    ] {
        out.push_str(&format!("{title} ({}):\n", group.len()));
        for c in group.iter() {
            out.push_str(&line(c));
        }
    }
    let regressions = diff.regressions(fail_on).count();
    out.push_str(&format!(
        "{} unchanged; {regressions} regression{} at or above {}\n",
        diff.unchanged,
        if regressions == 1 { "" } else { "s" },
        fail_on.as_str()
    ));
    out
}

pub fn render_json(diff: &Diff) -> String {
    let doc = JsonDiff {
        old: &diff.old,
        new: &diff.new,
        new_failures: diff.changes.iter().filter(|c| c.is_new_failure()).collect(),
        fixed: diff.changes.iter().filter(|c| c.is_fixed()).collect(),
        changed: diff
            .changes
            .iter()
            .filter(|c| !c.is_new_failure() && !c.is_fixed())
            .collect(),
        unchanged: diff.unchanged,
    };
    let mut out =
        super::json::escape_c1_controls(&serde_json::to_string_pretty(&doc).unwrap_or_default());
    out.push('\n');
    out
}
