//! Options from `OAUTHPROBE_*` environment variables (the command line wins over them), and
//! `oauthprobe completions SHELL`.

use std::process::{Command, Output};

use crate::common::{oauthprobe, run, spawn_lab};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The ids of the results of a JSON report on stdout.
fn result_ids(out: &Output) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    });
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_environment_sets_the_selection_and_the_format_and_the_command_line_wins() {
    let lab = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.toml");
    std::fs::write(&target, lab.target_file()).unwrap();

    // --config, --only and --format all from the environment.
    let mut cmd = oauthprobe();
    cmd.arg("scan")
        .env("OAUTHPROBE_CONFIG", &target)
        .env("OAUTHPROBE_ONLY", "state-echoed")
        .env("OAUTHPROBE_FORMAT", "json")
        .env("OAUTHPROBE_QUIET", "true");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(result_ids(&out), ["state-echoed"]);
    // -q from the environment: nothing on stderr.
    assert_eq!(stderr(&out), "");

    // The command line's --only and --format win; the environment's --concurrency still holds.
    let mut cmd = oauthprobe();
    cmd.args(["scan", "--config"])
        .arg(&target)
        .args([
            "--only",
            "code-single-use,pkce-s256-advertised",
            "--format",
            "json",
        ])
        .env("OAUTHPROBE_ONLY", "state-echoed")
        .env("OAUTHPROBE_FORMAT", "table")
        .env("OAUTHPROBE_CONCURRENCY", "1")
        .env("OAUTHPROBE_QUIET", "1");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut ids = result_ids(&out);
    ids.sort();
    assert_eq!(ids, ["code-single-use", "pkce-s256-advertised"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["options"]["concurrency"], 1, "{}", doc["options"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flag_on_the_command_line_wins_over_its_opposite_from_the_environment() {
    // OAUTHPROBE_QUIET against -v: -v wins, every request is logged.
    let mut cmd = oauthprobe();
    cmd.args(["demo", "--only", "state-echoed", "-v"])
        .env("OAUTHPROBE_QUIET", "yes");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("GET http://127.0.0.1:"),
        "{}",
        stderr(&out)
    );

    // Both on the command line is still refused.
    let out = oauthprobe().args(["demo", "-q", "-v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--verbose cannot be used with --quiet"));

    // A false flag from the environment is no flag: -v with OAUTHPROBE_QUIET=0 and
    // OAUTHPROBE_STRICT_BASELINE=false (which would need --baseline) runs.
    let mut cmd = oauthprobe();
    cmd.args(["demo", "--only", "state-echoed", "-v"])
        .env("OAUTHPROBE_QUIET", "0")
        .env("OAUTHPROBE_STRICT_BASELINE", "false");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A true one that needs another option says which variable set it.
    let out = oauthprobe()
        .args(["demo", "--only", "state-echoed"])
        .env("OAUTHPROBE_STRICT_BASELINE", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("OAUTHPROBE_STRICT_BASELINE") && stderr(&out).contains("--baseline"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_value_from_the_environment_is_a_usage_error_naming_the_variable() {
    for (name, value, option) in [
        ("OAUTHPROBE_FAIL_ON", "severe", "--fail-on"),
        ("OAUTHPROBE_CONCURRENCY", "many", "--concurrency"),
        ("OAUTHPROBE_INSECURE", "perhaps", "--insecure"),
        ("OAUTHPROBE_REPORT", "pdf=out.pdf", "--report"),
    ] {
        let out = oauthprobe().arg("demo").env(name, value).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}={value}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.starts_with("error: invalid value")
                && err.contains(value)
                && err.contains(option)
                && err.contains(&format!("from the environment variable {name}")),
            "{name}={value}: {err}"
        );
    }
    // The same bad value given on the command line is not blamed on the environment.
    let out = oauthprobe()
        .args(["demo", "--fail-on", "severe"])
        .env("OAUTHPROBE_FAIL_ON", "severe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stderr(&out).contains("environment variable"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_from_the_environment_still_warns_even_when_quiet() {
    let mut cmd = oauthprobe();
    cmd.args(["demo", "--only", "state-echoed", "--format", "json"])
        .env("OAUTHPROBE_INSECURE", "true")
        .env("OAUTHPROBE_QUIET", "true");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("warning: --insecure: TLS certificates are not verified")
            && err.contains("OAUTHPROBE_INSECURE"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["options"]["insecure"], true);

    // Off in the environment: no warning, and the report says so.
    let mut cmd = oauthprobe();
    cmd.args(["demo", "--only", "state-echoed", "--format", "json", "-q"])
        .env("OAUTHPROBE_INSECURE", "off");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("--insecure"), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["options"]["insecure"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn oauthprobe_report_takes_several_reports_and_paths_with_commas() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("a,b.sarif");
    let junit = dir.path().join("c.xml");
    let mut cmd = oauthprobe();
    cmd.args(["demo", "--only", "state-echoed", "-q"]).env(
        "OAUTHPROBE_REPORT",
        format!("sarif={},junit={}", sarif.display(), junit.display()),
    );
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_variable_counts_as_unset() {
    // As a CI system passes an input left empty.
    let mut cmd = oauthprobe();
    cmd.args(["demo", "--only", "state-echoed", "-q"])
        .env("OAUTHPROBE_FORMAT", "")
        .env("OAUTHPROBE_FAIL_ON", "")
        .env("OAUTHPROBE_INSECURE", "");
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The default format, the table, with its summary.
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("1 checks in") && table.contains("1 pass"),
        "{table}"
    );
    assert!(!stderr(&out).contains("--insecure"), "{}", stderr(&out));
}

#[test]
fn help_names_the_variables_but_never_their_values() {
    let out = oauthprobe()
        .args(["scan", "--help"])
        .env("OAUTHPROBE_PROXY", "http://user:hunter2@127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for name in [
        "OAUTHPROBE_FAIL_ON",
        "OAUTHPROBE_CONCURRENCY",
        "OAUTHPROBE_REPORT",
        "OAUTHPROBE_PROXY",
        "OAUTHPROBE_CONFIG",
        "OAUTHPROBE_SHARD",
        "OAUTHPROBE_INSECURE",
    ] {
        assert!(help.contains(&format!("[env: {name}]")), "{name}: {help}");
    }
    assert!(!help.contains("hunter2"), "{help}");
    // login and init share the connection options, not init's --output.
    let out = oauthprobe().args(["init", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[env: OAUTHPROBE_PROXY]"), "{help}");
    assert!(!help.contains("OAUTHPROBE_OUTPUT"), "{help}");
}

#[test]
fn completions_for_bash_parse_and_name_the_subcommands() {
    let out = oauthprobe().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = String::from_utf8(out.stdout).unwrap();
    for sub in ["scan", "demo", "report", "baseline", "diff", "completions"] {
        assert!(script.contains(sub), "{sub}");
    }
    assert!(script.contains("--fail-on") && script.contains("--report"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oauthprobe.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "{}", stderr(&check));

    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = oauthprobe().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("scan") && script.contains("--fail-on"),
            "{shell}: {script}"
        );
    }
    let out = oauthprobe().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
