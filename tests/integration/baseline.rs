//! `--baseline`: waived, expired, stale and unknown entries, `--strict-baseline`, a baseline
//! written from a report (`oauthprobe baseline --from`), and `oauthprobe diff` over two real
//! scans (a regression exits 1, a fix does not).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oauthprobe::lab::Weakness;
use serde_json::Value;

use crate::common::{oauthprobe, run, spawn_lab};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn day(offset_days: i64) -> String {
    let now = std::time::SystemTime::now();
    let shift = std::time::Duration::from_secs(offset_days.unsigned_abs() * 86_400);
    let t = if offset_days >= 0 {
        now + shift
    } else {
        now - shift
    };
    oauthprobe::baseline::date_of(t)
}

fn scan(target: &Path, extra: &[&str], json: &Path) -> Command {
    let mut cmd = oauthprobe();
    cmd.args(["scan", "--format", "json", "--output"])
        .arg(json)
        .arg("--config")
        .arg(target)
        .args(extra);
    cmd
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn failing(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn waiver(check: &str, expires: &str) -> String {
    format!(
        "[[waiver]]\ncheck = \"{check}\"\nreason = \"accepted in the test\"\nexpires = \"{expires}\"\nowner = \"tests\"\n\n"
    )
}

fn state_of<'a>(report: &'a Value, id: &str) -> &'a Value {
    &report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()["waiver"]["state"]
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    target: PathBuf,
    fails: Vec<String>,
}

async fn weak_lab_scanned(lab: &oauthprobe::lab::RunningLab) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let target = path.join("lab.toml");
    std::fs::write(&target, lab.target_file()).unwrap();
    let first = path.join("first.json");
    let out = run(scan(&target, &[], &first)).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let fails = failing(&read(&first));
    assert!(fails.contains(&"code-single-use".to_string()), "{fails:?}");
    Setup {
        _dir: dir,
        dir: path,
        target,
        fails,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn waived_expired_and_stale_entries() {
    let lab = spawn_lab(&[Weakness::CodeReuse]).await;
    let s = weak_lab_scanned(&lab).await;
    let in_date: String = s.fails.iter().map(|id| waiver(id, &day(30))).collect();

    // Every fail waived: the gate passes, and the report says which were waived and why.
    let baseline = s.dir.join("baseline.toml");
    std::fs::write(&baseline, &in_date).unwrap();
    let json = s.dir.join("waived.json");
    let out = run(scan(
        &s.target,
        &["--baseline", baseline.to_str().unwrap()],
        &json,
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read(&json);
    assert_eq!(failing(&report), s.fails, "a waived fail is still a fail");
    assert_eq!(state_of(&report, "code-single-use"), "waived");
    assert_eq!(report["summary"]["waived"], s.fails.len());
    let w = &report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "code-single-use")
        .unwrap()["waiver"];
    assert_eq!(w["reason"], "accepted in the test");
    assert_eq!(w["owner"], "tests");
    assert!(
        w["baseline"].as_str().unwrap().ends_with("baseline.toml:1"),
        "{w}"
    );

    // The table shows it too.
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--color", "never", "--config"])
            .arg(&s.target)
            .arg("--baseline")
            .arg(&baseline);
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("FAIL (waived)"), "{table}");
    assert!(
        table.contains(&format!("({} waived by the baseline)", s.fails.len())),
        "{table}"
    );

    // One waiver past its date: that finding fails the gate again, and stderr says so.
    let mut expired = s
        .fails
        .iter()
        .filter(|id| *id != "code-single-use")
        .map(|id| waiver(id, &day(30)))
        .collect::<String>();
    expired.push_str(&waiver("code-single-use", &day(0)));
    std::fs::write(&baseline, &expired).unwrap();
    let json = s.dir.join("expired.json");
    let out = run(scan(
        &s.target,
        &["--baseline", baseline.to_str().unwrap()],
        &json,
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(state_of(&read(&json), "code-single-use"), "expired");
    assert!(
        stderr(&out).contains(&format!("(code-single-use) expired on {}", day(0))),
        "{}",
        stderr(&out)
    );

    // A waiver for a check that passes is stale: said, and a failure with --strict-baseline.
    let mut stale = in_date.clone();
    stale.push_str(&waiver("state-echoed", &day(30)));
    std::fs::write(&baseline, &stale).unwrap();
    let json = s.dir.join("stale.json");
    let out = run(scan(
        &s.target,
        &["--baseline", baseline.to_str().unwrap()],
        &json,
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(state-echoed) is stale"),
        "{}",
        stderr(&out)
    );
    assert_eq!(state_of(&read(&json), "state-echoed"), "stale");
    let out = run(scan(
        &s.target,
        &[
            "--baseline",
            baseline.to_str().unwrap(),
            "--strict-baseline",
        ],
        &json,
    ))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // An unknown id is a configuration error, before anything is sent.
    std::fs::write(
        &baseline,
        format!("{in_date}{}", waiver("code-single-usee", &day(30))),
    )
    .unwrap();
    let out = run(scan(
        &s.target,
        &["--baseline", baseline.to_str().unwrap()],
        &json,
    ))
    .await;
    assert_eq!(out.status.code(), Some(2));
    let line = in_date.lines().count() + 2;
    assert!(
        stderr(&out).contains(&format!("baseline.toml:{line}"))
            && stderr(&out).contains("did you mean `code-single-use`?"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_baseline_written_from_a_report_accepts_its_findings() {
    let lab = spawn_lab(&[Weakness::CodeReuse]).await;
    let s = weak_lab_scanned(&lab).await;
    let baseline = s.dir.join("written.toml");
    let mut cmd = oauthprobe();
    cmd.args(["baseline", "--from"])
        .arg(s.dir.join("first.json"))
        .args([
            "--reason",
            "known at adoption (SEC-1)",
            "--owner",
            "identity",
            "--output",
        ])
        .arg(&baseline);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&baseline).unwrap();
    assert_eq!(text.matches("[[waiver]]").count(), s.fails.len(), "{text}");
    assert!(
        text.contains(&format!("expires = \"{}\"", day(90))),
        "{text}"
    );
    let json = s.dir.join("with-written.json");
    let out = run(scan(
        &s.target,
        &["--baseline", baseline.to_str().unwrap()],
        &json,
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read(&json)["summary"]["waived"], s.fails.len());
    // An existing file is kept.
    let mut again = oauthprobe();
    again
        .args(["baseline", "--from"])
        .arg(s.dir.join("first.json"))
        .arg("--output")
        .arg(&baseline);
    let out = run(again).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_reports_regressions_and_fixes() {
    let secure = spawn_lab(&[]).await;
    let weak = spawn_lab(&[Weakness::CodeReuse]).await;
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = (
        dir.path().join("before.json"),
        dir.path().join("after.json"),
    );
    // The same target name (`lab`) in both: a server that lost its code replay protection.
    for (lab, json, code) in [(&secure, &before, 0), (&weak, &after, 1)] {
        let target = dir.path().join("t.toml");
        std::fs::write(&target, lab.target_file()).unwrap();
        let out = run(scan(&target, &[], json)).await;
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    }
    let fails = failing(&read(&after));

    let diff = |old: &Path, new: &Path, format: &str| {
        let mut cmd = oauthprobe();
        cmd.args(["diff", "--format", format]).arg(old).arg(new);
        cmd
    };
    let out = run(diff(&before, &after, "text")).await;
    assert_eq!(out.status.code(), Some(1), "a regression: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("new failures ({}):", fails.len())),
        "{text}"
    );
    assert!(
        text.contains("  code-single-use  high  pass -> fail"),
        "{text}"
    );
    assert!(text.contains("fixed (0):"), "{text}");

    let out = run(diff(&after, &before, "json")).await;
    assert_eq!(out.status.code(), Some(0), "a fix is not a regression");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new_failures"].as_array().unwrap().len(), 0);
    let mut fixed: Vec<String> = doc["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap().to_string())
        .collect();
    let mut expected = fails.clone();
    fixed.sort();
    expected.sort();
    assert_eq!(fixed, expected);
    assert!(doc["unchanged"].as_u64().unwrap() > 80, "{doc}");

    // Below the --fail-on threshold, a new failure is listed but does not fail.
    let out = run({
        let mut cmd = diff(&before, &after, "text");
        cmd.args(["--fail-on", "critical"]);
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(0));
}
