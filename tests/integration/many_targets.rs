//! Many targets in one run (`scan --config DIR/`, `--config` repeated), shards of them as
//! separate processes (`--shard I/N`) and their merge (`oauthprobe report merge`), against
//! labs with different weaknesses, so that every target has verdicts of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oauthprobe::lab::{RunningLab, Weakness};
use serde_json::Value;

use crate::common::{oauthprobe, run, spawn_lab};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The lab's target file under another name.
fn write_target(dir: &Path, file: &str, name: &str, lab: &RunningLab) -> PathBuf {
    let text = lab
        .target_file()
        .replacen("name = \"lab\"", &format!("name = \"{name}\""), 1);
    assert!(text.contains(&format!("name = \"{name}\"")), "{text}");
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

fn json_scan(args: &[&str], output: &Path) -> Command {
    let mut cmd = oauthprobe();
    cmd.args(["scan", "--format", "json", "--output"])
        .arg(output)
        .args(args);
    cmd
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (target, check, status) for every result of a run's document, in order.
fn verdicts(run: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for report in run["reports"].as_array().unwrap() {
        for r in report["results"].as_array().unwrap() {
            out.push((
                report["target"]["name"].as_str().unwrap().to_string(),
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

fn status_of<'a>(report: &'a Value, id: &str) -> &'a str {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["status"].as_str())
        .unwrap_or_else(|| panic!("no result for {id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_of_targets_is_one_run_with_a_report_per_target() {
    let secure = spawn_lab(&[]).await;
    let reuse = spawn_lab(&[Weakness::CodeReuse]).await;
    let state = spawn_lab(&[Weakness::StateDropped]).await;
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets");
    std::fs::create_dir(&targets).unwrap();
    // File names in another order than the target names: reports follow the names.
    let charlie = write_target(&targets, "1.toml", "charlie", &state);
    write_target(&targets, "2.toml", "alpha", &secure);
    let bravo = write_target(&targets, "3.toml", "bravo", &reuse);
    std::fs::write(targets.join("notes.txt"), "not a target file").unwrap();

    let all = dir.path().join("all.json");
    let out = run(json_scan(&["--config", targets.to_str().unwrap()], &all)).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a target failed: {}",
        stderr(&out)
    );
    let doc = read_json(&all);
    assert_eq!(doc["schema_version"], 1);
    let reports = doc["reports"].as_array().unwrap();
    let names: Vec<_> = reports
        .iter()
        .map(|r| r["target"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "bravo", "charlie"]);
    assert_eq!(reports[0]["target"]["issuer"], secure.issuer());
    assert_eq!(
        reports[0]["summary"]["fail"], 0,
        "{}",
        reports[0]["summary"]
    );
    assert_eq!(status_of(&reports[1], "code-single-use"), "fail");
    assert_eq!(status_of(&reports[0], "code-single-use"), "pass");
    assert_eq!(status_of(&reports[2], "state-echoed"), "fail");
    assert_eq!(status_of(&reports[1], "state-echoed"), "pass");
    let summary = &doc["summary"];
    assert_eq!(summary["targets"], 3);
    for key in ["total", "pass", "fail", "warn", "skip", "error"] {
        let sum: u64 = reports
            .iter()
            .map(|r| r["summary"][key].as_u64().unwrap())
            .sum();
        assert_eq!(summary[key], sum, "{key}");
    }

    // Each target's verdicts are those of a scan of it alone, and a lone file keeps the
    // one-report shape.
    for (i, file) in [&bravo, &charlie].into_iter().enumerate() {
        let alone = dir.path().join(format!("alone{i}.json"));
        let out = run(json_scan(&["--config", file.to_str().unwrap()], &alone)).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let alone = read_json(&alone);
        assert!(alone.get("reports").is_none() && alone["results"].is_array());
        let in_run = &reports[i + 1];
        assert_eq!(alone["target"], in_run["target"]);
        let pairs = |r: &Value| -> Vec<(String, String)> {
            r["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| (x["id"].to_string(), x["status"].to_string()))
                .collect()
        };
        assert_eq!(pairs(&alone), pairs(in_run));
    }

    // `--config` repeated, a file named twice taken once, the table: a section per target,
    // then a row per target and the counts over all.
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--color", "never", "--config"])
            .arg(&charlie)
            .arg("--config")
            .arg(&targets);
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    for name in ["alpha", "bravo", "charlie"] {
        assert_eq!(
            table
                .matches(&format!(
                    "oauthprobe {} · {name} (",
                    env!("CARGO_PKG_VERSION")
                ))
                .count(),
            1,
            "one section for {name}:\n{table}"
        );
    }
    let checks = reports[0]["summary"]["total"].as_u64().unwrap() * 3;
    let last = table.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("3 targets, {checks} checks in "))
            && last.contains(&format!("{} fail", summary["fail"])),
        "{last}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.contains("│ bravo ") && l.contains(reuse.issuer())),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_cannot_be_scanned_leaves_the_others_and_the_run_is_incomplete() {
    let secure = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    write_target(dir.path(), "ok.toml", "reachable", &secure);
    // A loopback port nothing listens on: bound, then released.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = secure
        .target_file()
        .replace(secure.issuer(), &format!("http://127.0.0.1:{closed}"))
        .replacen("name = \"lab\"", "name = \"unreachable\"", 1);
    std::fs::write(dir.path().join("gone.toml"), text).unwrap();

    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--color", "never", "--config"])
            .arg(dir.path());
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("│ {name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
            .to_string()
    };
    assert!(row("unreachable").contains("could not be scanned"));
    assert!(!row("reachable").contains("could not be scanned"));
    assert!(
        table
            .lines()
            .last()
            .unwrap()
            .ends_with("· 1 could not be scanned"),
        "{table}"
    );
    assert!(
        stderr(&out).contains("error: the target `unreachable` could not be scanned"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_run_as_processes_merge_into_the_unsharded_run() {
    let weaknesses = [
        vec![],
        vec![Weakness::CodeReuse],
        vec![Weakness::StateDropped],
        vec![Weakness::PkceDowngrade],
        vec![Weakness::RedirectUriPrefix],
    ];
    let mut labs = Vec::new();
    for weak in &weaknesses {
        labs.push(spawn_lab(weak).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets");
    std::fs::create_dir(&targets).unwrap();
    for (i, lab) in labs.iter().enumerate() {
        write_target(&targets, &format!("t{i}.toml"), &format!("tenant-{i}"), lab);
    }
    let dir_arg = targets.to_str().unwrap().to_string();

    let whole = dir.path().join("whole.json");
    let unsharded = run(json_scan(&["--config", &dir_arg], &whole)).await;
    assert_eq!(unsharded.status.code(), Some(1), "{}", stderr(&unsharded));

    // Three shards as three processes at once, as three CI jobs would run them.
    let shard_files: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("shard-{i}.json")))
        .collect();
    let children: Vec<_> = shard_files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let shard = format!("{}/3", i + 1);
            json_scan(&["--config", &dir_arg, "--shard", &shard], file)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let mut held = Vec::new();
    for (i, out) in outputs.iter().enumerate() {
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "shard {}: {}",
            i + 1,
            stderr(out)
        );
        let doc = read_json(&shard_files[i]);
        assert_eq!(doc["shard"], format!("{}/3", i + 1));
        let names: Vec<String> = doc["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["target"]["name"].as_str().unwrap().to_string())
            .collect();
        assert!(
            (1..=2).contains(&names.len()),
            "5 targets over 3 shards: {names:?}"
        );
        held.extend(names);
    }
    held.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("tenant-{i}")).collect();
    assert_eq!(held, expected, "the shards never overlap and cover all");

    let merged = dir.path().join("merged.json");
    let mut merge = oauthprobe();
    merge
        .args(["report", "merge", "--output"])
        .arg(&merged)
        .args(shard_files.iter().rev());
    let out = run(merge).await;
    assert_eq!(
        out.status.code(),
        unsharded.status.code(),
        "the merge exits as the unsharded run: {}",
        stderr(&out)
    );
    let (merged, whole) = (read_json(&merged), read_json(&whole));
    assert_eq!(verdicts(&merged), verdicts(&whole));
    assert_eq!(merged["summary"], whole["summary"]);
    assert!(merged.get("shard").is_none());
    // Each weak lab fails something, the secure one nothing: the comparison has teeth.
    for i in 0..5 {
        let fails = verdicts(&whole)
            .iter()
            .filter(|(t, _, s)| *t == format!("tenant-{i}") && s == "fail")
            .count();
        assert_eq!(fails > 0, i > 0, "tenant-{i}: {fails} fails");
    }

    // A merge that would lose or double a target is refused, naming what is wrong.
    let refused = |files: Vec<&PathBuf>| {
        let mut cmd = oauthprobe();
        cmd.args(["report", "merge"]).args(files);
        cmd
    };
    let out = run(refused(vec![&shard_files[0], &shard_files[2]])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shard 2/3 is missing"),
        "{}",
        stderr(&out)
    );
    let out = run(refused(vec![
        &shard_files[0],
        &shard_files[1],
        &shard_files[2],
        &shard_files[1],
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shard 2/3 is given twice"),
        "{}",
        stderr(&out)
    );
    let whole_path = dir.path().join("whole.json");
    let out = run(refused(vec![&whole_path, &shard_files[0]])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not a shard's report"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_target_sets_are_usage_errors_that_name_the_files() {
    let lab = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let a = write_target(dir.path(), "a.toml", "same", &lab);
    let b = write_target(dir.path(), "b.toml", "same", &lab);
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--config"])
            .arg(&a)
            .arg("--config")
            .arg(&b);
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}: the target name `same`", b.display()))
            && err.contains(&a.display().to_string()),
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--config"]).arg(empty.path());
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("holds no target files"),
        "{}",
        stderr(&out)
    );

    for (shard, says) in [
        ("0/2", "JOB_COMPLETION_INDEX + 1"),
        ("3/2", "count from 1 to 2"),
        ("x", "I/N"),
    ] {
        let out = run({
            let mut cmd = oauthprobe();
            cmd.args(["scan", "--shard", shard, "--config"]).arg(&a);
            cmd
        })
        .await;
        assert_eq!(out.status.code(), Some(2), "{shard}");
        assert!(stderr(&out).contains(says), "{shard}: {}", stderr(&out));
    }

    // A broken file among good ones: nothing is scanned, and every broken file is named.
    std::fs::write(dir.path().join("b.toml"), "issuer = 3\n").unwrap();
    std::fs::write(dir.path().join("c.toml"), "name = \n").unwrap();
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "--config"]).arg(dir.path());
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("b.toml:1") && err.contains("c.toml:1"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing scanned");
}
