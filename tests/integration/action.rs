//! The GitHub Action's scan step (`scripts/action-scan.sh`, which `action.yml` runs) run as
//! the Action runs it: inputs in the environment, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.

use std::path::Path;
use std::process::Command;

use oauthprobe::lab::Weakness;

use crate::common::spawn_lab;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actions_scan_step_writes_its_reports_outputs_and_summary() {
    let lab = spawn_lab(&[Weakness::CodeReuse]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.toml");
    std::fs::write(&target, lab.target_file()).unwrap();
    let (output, summary) = (dir.path().join("output"), dir.path().join("summary.md"));
    let reports = dir.path().join("reports");
    let mut step = Command::new("bash");
    for name in crate::common::inherited_option_vars() {
        step.env_remove(name);
    }
    step.arg(repo().join("scripts/action-scan.sh"))
        .env("OAUTHPROBE_CONFIG", &target)
        .env("OAUTHPROBE_ARGS", "--only code-single-use,state-echoed -q")
        .env("OAUTHPROBE_FAIL_ON", "medium")
        .env("OAUTHPROBE_REPORT_DIR", &reports)
        .env("OAUTHPROBE_BIN", env!("CARGO_BIN_EXE_oauthprobe"))
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("NO_COLOR", "1");
    let out = tokio::task::spawn_blocking(move || step.output().unwrap())
        .await
        .unwrap();
    // The step itself succeeds: the gate is the Action's last step, after the SARIF upload.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    for (key, file) in [
        ("sarif", "oauthprobe.sarif"),
        ("json", "oauthprobe.json"),
        ("junit", "oauthprobe.xml"),
        ("markdown", "oauthprobe.md"),
    ] {
        let path = reports.join(file);
        assert!(
            outputs.contains(&format!("{key}={}\n", path.display())),
            "{outputs}"
        );
        assert!(std::fs::metadata(&path).unwrap().len() > 0, "{file}");
    }
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("oauthprobe.sarif")).unwrap())
            .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == "code-single-use"),
        "{results:?}"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(
        summary,
        std::fs::read_to_string(reports.join("oauthprobe.md")).unwrap()
    );
    assert!(summary.contains("code-single-use"), "{summary}");

    // action.yml runs this script and gates on its exit-code output after the upload.
    let action = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let upload = action.find("upload-sarif").unwrap();
    let gate = action.find("exit \"${CODE:-2}\"").unwrap();
    assert!(action.contains("scripts/action-scan.sh") && upload < gate);
    assert!(action.contains("CODE: ${{ steps.scan.outputs.exit-code }}"));
}
