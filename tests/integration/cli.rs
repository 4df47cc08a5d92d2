//! The real binary: exit codes, messages, the lab's start, target file and clean stop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::oauthprobe;

/// Runs `oauthprobe ARGS FILE`, FILE being `name` in a fresh temp dir holding `contents`.
fn run_with_file(args: &[&str], name: &str, contents: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    oauthprobe().args(args).arg(&path).output().unwrap()
}

#[test]
fn unknown_weakness_is_a_usage_error() {
    let out = oauthprobe()
        .args(["lab", "--port", "0", "--weak", "code-reuse,nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown weakness `nope`") && err.contains("--list-weak"),
        "{err}"
    );
}

#[test]
fn list_weak_names_every_weakness() {
    let out = oauthprobe().args(["lab", "--list-weak"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for w in oauthprobe::lab::Weakness::ALL {
        assert!(
            text.lines()
                .any(|l| l.starts_with(w.name()) && l.contains(w.description())),
            "{w}"
        );
    }
}

#[test]
fn bad_clients_file_names_the_file_and_line() {
    let out = run_with_file(
        &["lab", "--port", "0", "--clients"],
        "clients.toml",
        "[user]\nusername = \"bob\"\n\n[[client]]\nid = \"x\"\nauth_method = \"magic\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("clients.toml:4") && err.contains("magic"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn lab_serves_writes_its_target_file_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("target.toml");
    let mut child = oauthprobe()
        .args([
            "lab",
            "--port",
            "0",
            "--weak",
            "state-dropped",
            "--write-config",
        ])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("oauthprobe lab listening on ")
        .expect(&first)
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // Read until the file is announced: the lab writes it before saying so.
    for line in lines.by_ref() {
        if line.unwrap().contains("target file written") {
            break;
        }
    }
    let target = oauthprobe::target::Target::load(&config).expect("the written target file parses");
    assert_eq!(target.issuer.as_str().trim_end_matches('/'), url);
    assert!(target.second_client.is_some() && target.public_client.is_some());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let meta: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{url}/.well-known/oauth-authorization-server"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(meta["issuer"], url);

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a clean stop on SIGTERM");
}

#[test]
fn demo_on_the_clean_lab_passes_and_exits_zero() {
    let out = oauthprobe().args(["demo"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let n = oauthprobe::catalog::catalog().len();
    // Slow checks skip without --slow; checks the lab cannot exercise (no lab weakness, see
    // checks/README.md) skip there.
    let skipped = oauthprobe::catalog::catalog()
        .iter()
        .filter(|c| c.slow || (c.lab_weaknesses.is_empty() && c.lab_warnings.is_empty()))
        .count();
    assert!(
        text.contains(&format!("{n} checks in"))
            && text.contains(&format!(
                "{} pass, 0 fail, 0 warn, {skipped} skip",
                n - skipped
            )),
        "{text}"
    );
    assert!(
        !text.contains("\x1b["),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn demo_with_a_weakness_fails_and_exits_one() {
    let out = oauthprobe()
        .args(["demo", "--weak", "token-cacheable", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["tool"]["name"], "oauthprobe");
    assert_eq!(report["summary"]["fail"], 1);
    let failed: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["token-endpoint-no-store"]);
    for key in [
        "id",
        "title",
        "severity",
        "status",
        "message",
        "references",
        "duration_ms",
        "requests",
        "evidence",
    ] {
        assert!(report["results"][0].get(key).is_some(), "results[].{key}");
    }
    // --fail-on above the failing check's severity (medium) exits 0.
    let out = oauthprobe()
        .args(["demo", "--weak", "token-cacheable", "--fail-on", "high"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn scan_config_errors_name_the_file_and_line_and_exit_two() {
    let out = run_with_file(
        &["scan", "--config"],
        "target.toml",
        "issuer = \"http://127.0.0.1:1\"\n[client]\nid = \"c\"\nsecret = \"s\"\nredirect_uri = \"::nope\"\n[login]\nusername = \"a\"\npassword = \"b\"\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("target.toml:5") && err.contains("client.redirect_uri"),
        "{err}"
    );
    let out = oauthprobe()
        .args(["scan", "--config", "/nonexistent/t.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = oauthprobe()
        .args(["demo", "--only", "no-such-check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check id `no-such-check`"));
}

#[test]
fn scan_of_an_unreachable_target_exits_three() {
    // Bind then drop a listener: nothing serves that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run_with_file(
        &["scan", "--config"],
        "target.toml",
        &format!(
            "issuer = \"http://127.0.0.1:{port}\"\n[client]\nid = \"c\"\nsecret = \"s\"\nredirect_uri = \"http://127.0.0.1:{port}/cb\"\n[login]\nusername = \"a\"\npassword = \"b\"\n"
        ),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not be scanned"));
}

#[test]
fn checks_lists_the_catalog_and_explains_a_check() {
    let out = oauthprobe().args(["checks"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for c in oauthprobe::catalog::catalog() {
        assert!(text.contains(c.id.as_str()), "{}", c.id);
    }
    let out = oauthprobe()
        .args(["checks", "--format", "json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        oauthprobe::catalog::catalog().len()
    );
    assert!(list[0]["references"][0]["section"].is_string());
    let out = oauthprobe()
        .args(["checks", "explain", "code-single-use"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("# code-single-use"));
    assert_eq!(
        oauthprobe()
            .args(["checks", "explain", "nope"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn readme_lists_every_check_and_weakness() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    // The README's table is the catalog's own rendering: regenerate it with
    // `oauthprobe checks --format markdown` when a check changes.
    let out = oauthprobe()
        .args(["checks", "--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table, oauthprobe::catalog::markdown_table());
    assert!(
        readme.contains(&table),
        "README's catalog table differs from `oauthprobe checks --format markdown`"
    );
    for c in oauthprobe::catalog::catalog() {
        assert!(
            readme.contains(&format!("| `{}` |", c.id)),
            "README's catalog table lacks {}",
            c.id
        );
        for w in c.lab_weaknesses.iter().chain(&c.lab_warnings) {
            assert!(
                readme.contains(&format!("`{}`", w.name())),
                "README lacks weakness {w}"
            );
        }
    }
}

/// `oauthprobe checks | head`: a reader that goes away early ends the output quietly, with no
/// panic, whatever the listing.
#[test]
fn a_closed_standard_output_ends_quietly() {
    use std::process::Stdio;
    for args in [
        &["checks"][..],
        &["checks", "--format", "json"],
        &["checks", "--format", "markdown"],
        &["checks", "explain", "code-single-use"],
        &["lab", "--list-weak"],
    ] {
        let mut child = oauthprobe()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn oauthprobe");
        // Close the reading end before the program writes: every write then fails with EPIPE.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// `oauthprobe login` walks one authorization and prints each step, redacted, ending with the
/// code; with a wrong password it stops at the sign-in page and says what the page said.
#[tokio::test(flavor = "multi_thread")]
async fn login_walks_one_authorization_step_by_step() {
    let lab = crate::common::spawn_lab(&[]).await;
    let text = lab.target_file();
    let password = lab.user().password.clone();
    let good = tokio::task::spawn_blocking({
        let text = text.clone();
        move || run_with_file(&["login", "--config"], "lab.toml", &text)
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&good.stdout);
    assert_eq!(good.status.code(), Some(0), "{out}");
    for step in [
        "sign-in page",
        "fill password, username; press \"Sign in\"",
        "consent page",
        "press \"Approve\"",
        "(the authorization response: not followed)",
        "reached a code (43 characters, «redacted»)",
        "state came back unchanged",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
    assert!(!out.contains(&password), "the password is never printed");
    assert_eq!(
        lab.callback_hits(),
        0,
        "the redirect_uri is never requested"
    );

    let wrong = text.replace(
        &format!("password = \"{password}\""),
        "password = \"not-the-password\"",
    );
    let bad = tokio::task::spawn_blocking(move || {
        run_with_file(&["login", "--config"], "lab.toml", &wrong)
    })
    .await
    .unwrap();
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(3), "{out}");
    assert!(
        out.contains("stopped: login failed at")
            && out.contains("The page says: \"Wrong username or password.\"")
            && out.contains("what to try"),
        "{out}"
    );
    lab.shutdown().await;
}
