//! The terminal: the table at a given width, what the default view shows, the progress and
//! `-v`/`-q` on stderr, JSON Lines as each check ends, the selection's families, globs and
//! suggestions, the exit codes in `--help`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use oauthprobe::catalog;
use oauthprobe::engine::{self, ScanEvent, ScanOptions, Status};
use oauthprobe::lab::{LabLayer, LabOptions, RunningLab, Weakness};
use oauthprobe::report::term;

use crate::common::{oauthprobe, run, spawn_lab, spawn_lab_with};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lab's target file in a temp dir (kept alive by the returned guard).
fn target_file(lab: &RunningLab) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, lab.target_file()).unwrap();
    (dir, path)
}

/// `oauthprobe demo ARGS` with stdout a pipe and `COLUMNS` as given.
fn demo(columns: &str, args: &[&str]) -> Output {
    oauthprobe()
        .env("COLUMNS", columns)
        .args(["demo", "--color", "never"])
        .args(args)
        .output()
        .unwrap()
}

/// The rows of a table: the first cell of each line that starts one (`│ id │ ...`), the
/// header left out.
fn row_ids(table: &str) -> Vec<String> {
    table
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .filter_map(|rest| rest.split('│').next())
        .map(|cell| cell.trim().to_string())
        .filter(|cell| !cell.is_empty() && cell != "CHECK")
        .collect()
}

fn assert_fits(out: &str, width: usize) {
    assert!(out.lines().count() > 3, "{out}");
    for line in out.lines() {
        assert!(
            term::width(line) <= width,
            "a line of {} columns at {width}:\n{line}\n\n{out}",
            term::width(line)
        );
    }
}

#[test]
fn the_demos_default_table_fits_80_columns_and_leads_with_the_failures() {
    // Weaknesses whose messages are long (URLs, lists): the widest rows the demo makes.
    let weak = "state-dropped,code-reuse,token-cacheable,pkce-plain,redirect-uri-prefix,session-cookie-flags-missing,referrer-policy-missing";
    let out = demo("80", &["--weak", weak]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}{}", text(&out.stderr));
    assert_fits(&table, 80);
    let ids = row_ids(&table);
    let statuses: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .filter_map(|rest| rest.split('│').nth(1))
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "STATUS")
        .collect();
    assert!(!statuses.is_empty(), "{table}");
    // Failures first, then warnings; no pass or skip row.
    let rank = |s: &str| ["FAIL", "WARN", "ERROR"].iter().position(|x| *x == s);
    let ranks: Vec<usize> = statuses
        .iter()
        .map(|s| rank(s).unwrap_or_else(|| panic!("a {s} row in the default view:\n{table}")))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{table}");
    // The passes are counted, and the failing ids named before the summary.
    let pass = catalog::catalog().len() - ids.len();
    assert!(
        table.contains("pass and") && table.contains("not shown (--all shows every row)"),
        "{table}"
    );
    let failed: String = table
        .lines()
        .skip_while(|l| !l.starts_with("failed: "))
        .take_while(|l| !l.contains(" checks in "))
        .collect::<Vec<_>>()
        .join(" ");
    for id in ["state-echoed", "code-single-use", "token-endpoint-no-store"] {
        assert!(failed.contains(id), "{id} not named in {failed:?}\n{table}");
    }
    assert!(pass > 0);
    assert!(
        table.lines().last().unwrap().contains(" checks in "),
        "the counts stay the last line:\n{table}"
    );

    // The clean lab at 80: no row at all, the counts say why.
    let out = demo("80", &[]);
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{table}");
    assert_fits(&table, 80);
    assert!(row_ids(&table).is_empty(), "{table}");
    assert!(
        table.contains("no failure, warning or error to show"),
        "{table}"
    );
}

#[test]
fn all_shows_every_row_in_catalog_order_within_the_width() {
    let out = demo("100", &["--all", "--weak", "state-dropped"]);
    let table = text(&out.stdout);
    assert_fits(&table, 100);
    // An id longer than its column is wrapped onto two lines: join the pieces back.
    let catalog_ids: Vec<&str> = catalog::catalog().iter().map(|c| c.id.as_str()).collect();
    let mut ids: Vec<String> = Vec::new();
    for cell in row_ids(&table) {
        match ids.last_mut() {
            Some(last) if !catalog_ids.contains(&last.as_str()) => last.push_str(&cell),
            _ => ids.push(cell),
        }
    }
    assert_eq!(ids, catalog_ids, "{table}");
    assert!(!table.contains("not shown"), "{table}");
}

#[test]
fn min_severity_hides_rows_below_it_but_not_from_the_gate() {
    // token-cacheable fails token-endpoint-no-store, a medium check.
    let out = demo(
        "120",
        &["--weak", "token-cacheable", "--min-severity", "high"],
    );
    let table = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the gate still counts it:\n{table}"
    );
    assert!(
        !row_ids(&table).contains(&"token-endpoint-no-store".to_string()),
        "{table}"
    );
    assert!(table.contains("below --min-severity high"), "{table}");
    assert!(
        table.contains("failed: token-endpoint-no-store") && table.contains("1 fail"),
        "{table}"
    );
    let out = demo(
        "120",
        &["--weak", "token-cacheable", "--min-severity", "medium"],
    );
    assert!(
        row_ids(&text(&out.stdout)).contains(&"token-endpoint-no-store".to_string()),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_selection_takes_families_and_globs_and_refuses_an_empty_one() {
    let pkce: BTreeSet<String> = catalog::catalog()
        .iter()
        .filter(|c| c.family == "pkce")
        .map(|c| c.id.clone())
        .collect();
    assert!(pkce.len() > 3);
    let ids_of = |out: &Output| -> BTreeSet<String> {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let family = demo("100", &["-q", "-f", "json", "--only", "pkce"]);
    assert_eq!(ids_of(&family), pkce);
    let glob = demo("100", &["-q", "-f", "json", "--only", "pkce-*"]);
    let starts: BTreeSet<String> = catalog::catalog()
        .iter()
        .filter(|c| c.id.starts_with("pkce-"))
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(ids_of(&glob), starts);
    // A family less a glob.
    let less = demo(
        "100",
        &[
            "-q",
            "-f",
            "json",
            "--only",
            "pkce",
            "--skip",
            "pkce-verifier-*",
        ],
    );
    let left = ids_of(&less);
    assert!(!left.is_empty() && left.iter().all(|id| pkce.contains(id)));
    assert!(left.iter().all(|id| !id.starts_with("pkce-verifier-")));

    let empty = demo("100", &["--only", "state-echoed", "--skip", "state-echoed"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        text(&empty.stderr).contains("the selection is empty"),
        "{}",
        text(&empty.stderr)
    );
    let nothing = demo("100", &["--only", "nope-*"]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(text(&nothing.stderr).contains("matches no check id"));

    let typo = demo("100", &["--only", "pkce-verifer-required"]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        text(&typo.stderr).contains("did you mean `pkce-verifier-required`?"),
        "{}",
        text(&typo.stderr)
    );
    let typo = demo("100", &["--skip", "pcke"]);
    assert!(
        text(&typo.stderr).contains("did you mean `pkce`?"),
        "{}",
        text(&typo.stderr)
    );
}

#[test]
fn a_mistyped_weakness_gets_a_suggestion_and_the_names_one_a_line() {
    let out = demo("100", &["--weak", "state-droped"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("did you mean `state-dropped`?"), "{err}");
    for w in Weakness::ALL {
        assert!(
            err.lines().any(|l| l.trim() == w.name()),
            "{} not on a line of its own:\n{err}",
            w.name()
        );
    }
}

#[test]
fn help_lists_the_exit_codes_and_the_readme_holds_the_same_table() {
    for command in ["scan", "demo"] {
        let out = oauthprobe().args([command, "--help"]).output().unwrap();
        let help = text(&out.stdout);
        assert!(help.contains("Exit codes:"), "{help}");
        for (status, meaning) in oauthprobe::exit::ExitStatus::TABLE {
            let line = format!("  {}  {}", status.code(), meaning.replace('`', ""));
            assert!(
                help.contains(&line),
                "{command} --help lacks {line:?}:\n{help}"
            );
        }
        for flag in [
            "-o, --output",
            "-f, --format",
            "-q, --quiet",
            "-v, --verbose",
        ] {
            assert!(help.contains(flag), "{flag}:\n{help}");
        }
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&oauthprobe::exit::markdown_table()),
        "README's exit code table differs from exit.rs:\n{}",
        oauthprobe::exit::markdown_table()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stderr_logs_a_line_per_check_verbose_adds_requests_without_secrets_quiet_is_silent() {
    let lab = spawn_lab(&[]).await;
    let (_dir, file) = target_file(&lab);
    let mut cmd = oauthprobe();
    cmd.args(["scan", "-v", "--color", "never", "-c"])
        .arg(&file);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let n = catalog::catalog().len();
    for c in catalog::catalog() {
        assert!(
            err.lines().any(|l| l.starts_with('[')
                && l.contains(&format!("/{n}] {} ", c.id))
                && l.ends_with(" ms")),
            "no line for {}:\n{err}",
            c.id
        );
    }
    let base = lab.issuer().trim_end_matches('/');
    for request in [
        format!("GET {base}/.well-known/"),
        format!("GET {base}/authorize?"),
        format!("POST {base}/token -> 200"),
        format!("POST {base}/login -> "),
    ] {
        assert!(err.contains(&request), "no {request:?} in -v:\n{err}");
    }
    let mut secrets: Vec<String> = lab
        .clients()
        .iter()
        .filter_map(|c| c.secret.clone())
        .collect();
    secrets.push(lab.user().password.clone());
    assert!(secrets.len() >= 2);
    // The requests that carry a secret in their URL are there, the secret replaced.
    assert!(
        err.contains("client_secret=«redacted»") && err.contains("access_token=«redacted»"),
        "{err}"
    );
    for secret in &secrets {
        assert!(
            !err.contains(secret.as_str()) && !text(&out.stdout).contains(secret.as_str()),
            "a secret in the -v output"
        );
    }
    // Not a single escape sequence: stderr is not a terminal, so there is no live line.
    assert!(!err.contains('\x1b'), "{err:?}");

    let mut cmd = oauthprobe();
    cmd.args(["scan", "-q", "-c"]).arg(&file);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "", "-q says nothing but errors");
    assert!(text(&out.stdout).contains(" checks in "));
}

/// Holds every request to /userinfo until `release` is notified, saying on `arrived` that one came.
#[derive(Clone)]
struct Gate {
    arrived: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Semaphore>,
}

async fn gate_userinfo(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/userinfo" {
        gate.arrived.notify_one();
        let _ = gate.release.acquire().await;
    }
    next.run(req).await
}

fn gated_lab_options(gate: &Gate) -> LabOptions {
    let layer = gate.clone();
    LabOptions {
        layer: Some(LabLayer(Arc::new(move |router: Router| {
            router.layer(from_fn_with_state(layer.clone(), gate_userinfo))
        }))),
        ..LabOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_writes_each_line_as_its_check_ends() {
    let gate = Gate {
        arrived: Arc::new(tokio::sync::Notify::new()),
        release: Arc::new(tokio::sync::Semaphore::new(0)),
    };
    let lab = spawn_lab_with(gated_lab_options(&gate)).await;
    let (_dir, file) = target_file(&lab);
    // One check that never asks /userinfo, one that waits there until released.
    let mut child = oauthprobe()
        .args([
            "scan",
            "-q",
            "-f",
            "jsonl",
            "--only",
            "metadata-required-fields,tokens-userinfo-requires-token",
            "-c",
        ])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    // Bounds, not timing: a scan that never gets there fails the test instead of hanging it.
    let bound = std::time::Duration::from_secs(120);
    tokio::time::timeout(bound, gate.arrived.notified())
        .await
        .expect("the userinfo check reaches the lab");
    // The userinfo check is held in the server: the other check's line is out already.
    let first = tokio::time::timeout(bound, lines.recv())
        .await
        .expect("a line while the other check is held")
        .expect("the scan writes a line");
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["id"], "metadata-required-fields");
    assert_eq!(first["target"], "lab");
    assert_eq!(first["status"], "pass");
    for key in [
        "severity",
        "message",
        "references",
        "evidence",
        "duration_ms",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    gate.release.add_permits(1000);
    let second: serde_json::Value = serde_json::from_str(&lines.recv().await.unwrap()).unwrap();
    assert_eq!(second["id"], "tokens-userinfo-requires-token");
    assert!(lines.recv().await.is_none(), "one line per check");
    reader.join().unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn events_come_as_checks_run_and_name_their_target_in_a_run_over_several() {
    let gate = Gate {
        arrived: Arc::new(tokio::sync::Notify::new()),
        release: Arc::new(tokio::sync::Semaphore::new(0)),
    };
    let gated = spawn_lab_with(gated_lab_options(&gate)).await;
    let other = spawn_lab(&[Weakness::StateDropped]).await;
    let rename = |lab: &RunningLab, name: &str| {
        let text = lab
            .target_file()
            .replacen("name = \"lab\"", &format!("name = \"{name}\""), 1);
        oauthprobe::target::Target::parse(std::path::Path::new("t.toml"), &text, &|_| None).unwrap()
    };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let only = vec![
        "state-echoed".to_string(),
        "tokens-userinfo-requires-token".to_string(),
    ];
    let opts = ScanOptions {
        only,
        events: Some(tx),
        ..ScanOptions::default()
    };
    let scan = tokio::spawn(engine::scan_all(
        vec![rename(&gated, "gated"), rename(&other, "other")],
        opts,
    ));
    // Until the gated target's userinfo check is released, "other" finishes both its checks:
    // their events come while the run is still under way.
    let mut finished: Vec<(String, String, Status)> = Vec::new();
    let mut started: BTreeSet<(String, String)> = BTreeSet::new();
    let mut targets_started = BTreeSet::new();
    let mut requests = 0;
    while finished.iter().filter(|f| f.0 == "other").count() < 2 {
        match events.recv().await.expect("the run is still under way") {
            ScanEvent::TargetStarted { target, checks } => {
                assert_eq!(checks, 2);
                targets_started.insert(target.to_string());
            }
            ScanEvent::CheckStarted { target, id } => {
                started.insert((target.to_string(), id.to_string()));
            }
            ScanEvent::CheckFinished { target, result } => {
                let key = (target.to_string(), result.meta.id.clone());
                // Checks that ran started first.
                if result.duration_ms > 0 || result.requests > 0 {
                    assert!(started.contains(&key), "{key:?} ended before it started");
                }
                finished.push((key.0, key.1, result.status));
            }
            ScanEvent::Request { target, url, .. } => {
                requests += 1;
                assert!(
                    url.starts_with(&format!("{}/", gated.issuer().trim_end_matches('/')))
                        == (&*target == "gated"),
                    "{target}: {url}"
                );
            }
        }
    }
    assert!(!scan.is_finished(), "the gated check is still held");
    assert!(requests > 0);
    assert!(
        finished
            .iter()
            .any(|f| f.0 == "other" && f.1 == "state-echoed" && f.2 == Status::Fail),
        "{finished:?}"
    );
    gate.release.add_permits(1000);
    let reports = scan.await.unwrap();
    while let Ok(event) = events.try_recv() {
        if let ScanEvent::CheckFinished { target, result } = event {
            finished.push((target.to_string(), result.meta.id.clone(), result.status));
        }
    }
    assert_eq!(
        targets_started,
        BTreeSet::from(["gated".to_string(), "other".to_string()])
    );
    // One event per check of each target, with the verdict its report holds.
    let mut from_reports: Vec<(String, String, Status)> = reports
        .iter()
        .flat_map(|r| {
            let r = r.as_ref().unwrap();
            r.results
                .iter()
                .map(|c| (r.target_name.clone(), c.meta.id.clone(), c.status))
        })
        .collect();
    from_reports.sort();
    finished.sort();
    assert_eq!(finished, from_reports);
    assert_eq!(finished.len(), 4);
}
