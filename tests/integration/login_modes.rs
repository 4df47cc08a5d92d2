//! Every login mode signs in for real: `command` through a small Python program, `manual` by
//! feeding the scanner's standard input what a person would paste, `browser` through headless
//! Chromium on a lab whose login form only exists once a script has built it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oauthprobe::engine::{self, Report, ScanOptions, Status};
use oauthprobe::lab::{LabOptions, Registry, RunningLab};
use oauthprobe::target::Target;
use serde_json::Value;

use crate::common::{ci, oauthprobe, spawn_lab, spawn_lab_with};
use crate::webdriver;

fn login_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/login-command/form_login.py")
}

/// Whether python3 runs; missing, the test is skipped (a failure under CI=true).
fn python_or_skip(test: &str) -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !ci(),
            "{test}: python3 is missing; scripts/test.sh installs it"
        );
        eprintln!("skipping {test}: python3 not found");
    }
    ok
}

/// The lab's target file with `extra` put at the top of its `[login]` table.
fn with_login(lab: &RunningLab, extra: &str) -> String {
    lab.target_file()
        .replace("[login]\n", &format!("[login]\n{extra}\n"))
}

fn parse(text: &str) -> Target {
    Target::parse(Path::new("lab.toml"), text, &|_| None).expect("target file parses")
}

fn verdicts(report: &Report) -> String {
    report
        .results
        .iter()
        .map(|r| format!("{}: {} ({})", r.meta.id, r.status, r.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_all_pass(report: &Report) {
    assert!(
        report.preflight_error.is_none(),
        "{:?}",
        report.preflight_error
    );
    for r in &report.results {
        assert!(
            matches!(r.status, Status::Pass | Status::Skip),
            "{}",
            verdicts(report)
        );
    }
    assert!(report.count(Status::Pass) > 0, "{}", verdicts(report));
}

fn delegated_steps(report: &Report, via: &str) -> usize {
    report
        .results
        .iter()
        .flat_map(|r| &r.evidence)
        .filter(|e| e.via.as_deref().is_some_and(|v| v.starts_with(via)))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn command_mode_signs_in_through_the_users_program() {
    if !python_or_skip("command_mode_signs_in_through_the_users_program") {
        return;
    }
    let lab = spawn_lab(&[]).await;
    let command = format!("command = \"python3 {}\"", login_script().display());
    let target = parse(&with_login(&lab, &format!("mode = \"command\"\n{command}")));
    let report = engine::scan(target, ScanOptions::default()).await.unwrap();
    assert_all_pass(&report);
    // Every authorization went through the program: none of the scanner's own requests
    // touched the login page.
    assert!(delegated_steps(&report, "login command (exit 0)") > 0);
    assert!(
        delegated_steps(&report, "login command (exit 3)") > 0,
        "the redirect_uri checks make the server stop on its own error page"
    );
    let own_logins = report
        .results
        .iter()
        .flat_map(|r| &r.evidence)
        .filter(|e| {
            e.via.is_none() && e.request.method == "POST" && e.request.url.contains("/login")
        })
        .count();
    assert_eq!(own_logins, 0);
    assert_eq!(lab.callback_hits(), 0, "the program stops at the redirect");
}

#[tokio::test(flavor = "multi_thread")]
async fn command_mode_reports_a_failed_login_with_the_programs_words() {
    let lab = spawn_lab(&[]).await;
    let target = parse(&with_login(
        &lab,
        "mode = \"command\"\ncommand = \"echo 'the second factor was refused' >&2; exit 1\"",
    ));
    let report = engine::scan(target, ScanOptions::default()).await.unwrap();
    let err = report.preflight_error.expect("the pre-flight fails");
    assert!(
        err.contains("login command")
            && err.contains("exit status 1")
            && err.contains("the second factor was refused"),
        "{err}"
    );
    // Sign-in failed: every check that needs a user is an error; the others still ran.
    assert!(
        report
            .results
            .iter()
            .filter(|r| r.meta.sign_in)
            .all(|r| r.status == Status::Error)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn command_mode_rejects_output_that_is_not_a_url() {
    let lab = spawn_lab(&[]).await;
    let target = parse(&with_login(
        &lab,
        "mode = \"command\"\ncommand = \"echo done\"",
    ));
    let report = engine::scan(target, ScanOptions::default()).await.unwrap();
    let err = report.preflight_error.expect("the pre-flight fails");
    assert!(err.contains("`done` is not a URL"), "{err}");
}

/// Runs the binary in manual mode; for each URL it prints, a "person" (the login program)
/// signs in and the URL the browser ended at is typed into the scanner's standard input.
#[test]
fn manual_mode_reads_the_pasted_urls_from_standard_input() {
    if !python_or_skip("manual_mode_reads_the_pasted_urls_from_standard_input") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(spawn_lab(&[]));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("manual.toml");
    std::fs::write(&config, with_login(&lab, "mode = \"manual\"")).unwrap();
    let report_path = dir.path().join("report.json");
    let user = lab.user();
    let mut child = oauthprobe()
        .args(["scan", "--format", "json", "--only"])
        .arg("state-echoed,redirect-uri-exact-match,pkce-verifier-checked")
        .arg("--config")
        .arg(&config)
        .arg("--output")
        .arg(&report_path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut consent = "approve".to_string();
    let mut pasted = 0;
    let mut transcript = String::new();
    for line in stderr.lines().map_while(Result::ok) {
        transcript.push_str(&line);
        transcript.push('\n');
        if line.contains("deny consent") {
            consent = "deny".into();
        } else if line.contains("approve consent") {
            consent = "approve".into();
        }
        let Some(url) = line.strip_prefix("    ").filter(|l| l.starts_with("http")) else {
            continue;
        };
        let person = Command::new("python3")
            .arg(login_script())
            .env("OAUTHPROBE_AUTHORIZE_URL", url)
            .env("OAUTHPROBE_USERNAME", &user.username)
            .env("OAUTHPROBE_PASSWORD", &user.password)
            .env("OAUTHPROBE_CONSENT", &consent)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&person.stdout);
        assert!(
            matches!(person.status.code(), Some(0 | 3)),
            "the login program failed for {url}: {}",
            String::from_utf8_lossy(&person.stderr)
        );
        // A person pastes the address bar: for a page, its URL without the title.
        let paste = said.split_whitespace().next().unwrap_or_default();
        writeln!(stdin, "{paste}").unwrap();
        pasted += 1;
    }
    drop(stdin);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{transcript}");
    assert!(pasted >= 4, "one paste per authorization request: {pasted}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let checks = report["results"].as_array().unwrap();
    assert_eq!(checks.len(), 3);
    for c in checks {
        assert_eq!(c["status"], "pass", "{c}");
    }
    let manual_steps = checks
        .iter()
        .flat_map(|c| c["evidence"].as_array().unwrap())
        .filter(|e| {
            e["via"]
                .as_str()
                .is_some_and(|v| v.starts_with("manual login"))
        })
        .count();
    assert!(manual_steps > 0);
    let text = report.to_string();
    assert!(
        !text.contains(&user.password),
        "the password stays out of the report"
    );
}

#[test]
fn manual_mode_says_when_standard_input_ends() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lab = rt.block_on(spawn_lab(&[]));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("manual.toml");
    std::fs::write(&config, with_login(&lab, "mode = \"manual\"")).unwrap();
    let out = oauthprobe()
        .args(["scan", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("manual login: standard input ended before a URL was pasted"),
        "{err}"
    );
}

async fn scripted_lab() -> RunningLab {
    spawn_lab_with(LabOptions {
        scripted_login: true,
        ..LabOptions::default()
    })
    .await
}

/// The scripted lab with its clients' redirect URIs on a host of their own, as the browser
/// mode asks: a name that resolves nowhere, so the browser cannot follow a redirect there.
async fn scripted_lab_with_client_host() -> RunningLab {
    let mut registry = Registry::generated();
    for client in &mut registry.clients {
        for uri in &mut client.redirect_uris {
            *uri = uri.replace("{base}", "http://client.oauthprobe.invalid");
        }
    }
    spawn_lab_with(LabOptions {
        scripted_login: true,
        registry: Some(registry),
        ..LabOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn form_mode_cannot_pass_a_login_form_built_by_script() {
    let lab = scripted_lab().await;
    let report = engine::scan(parse(&lab.target_file()), ScanOptions::default())
        .await
        .unwrap();
    let err = report.preflight_error.expect("the pre-flight fails");
    assert!(
        err.contains("showed its own page") && err.contains("Sign in - oauthprobe lab"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_mode_signs_in_on_a_login_form_built_by_script() {
    const TEST: &str = "browser_mode_signs_in_on_a_login_form_built_by_script";
    if !webdriver::browser_or_skip(TEST) {
        return;
    }
    let lab = scripted_lab_with_client_host().await;
    let target = parse(&with_login(&lab, "mode = \"browser\""));
    let report = engine::scan(target, ScanOptions::default()).await.unwrap();
    assert_all_pass(&report);
    assert!(delegated_steps(&report, "browser: redirected to") > 0);
    assert!(
        delegated_steps(&report, "browser: showed its own page") > 0,
        "the redirect_uri checks end on the server's own error page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn browser_mode_refuses_a_redirect_uri_it_could_reach() {
    const TEST: &str = "browser_mode_refuses_a_redirect_uri_it_could_reach";
    if !webdriver::browser_or_skip(TEST) {
        return;
    }
    // The default lab's redirect URIs are on the server's own host and port.
    let lab = scripted_lab().await;
    let target = parse(&with_login(&lab, "mode = \"browser\""));
    let report = engine::scan(target, ScanOptions::default()).await.unwrap();
    let err = report.preflight_error.expect("the pre-flight refuses");
    assert!(
        err.contains("will not open this request") && err.contains("IP address"),
        "{err}"
    );
    assert_eq!(
        lab.callback_hits(),
        0,
        "nothing reached the client's callback"
    );
}
