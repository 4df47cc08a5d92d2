//! Conformance profiles (issue 13): `profiles`, `checks --profile`, the verdicts each profile
//! gives the same findings, the per-profile summary of `demo`/`scan --profile`, and the exit
//! code over every profile named.

use serde_json::Value;

use crate::common::{oauthprobe, spawn_lab};

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn profile<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["profiles"]
        .as_array()
        .expect("a profiles array")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no profile {name} in {}", report["profiles"]))
}

fn ids(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect()
}

#[test]
fn the_secure_lab_meets_every_rfc9700_must_that_ran_and_code_reuse_breaks_one() {
    let out = oauthprobe()
        .args(["demo", "-q", "--profile", "rfc9700", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out);
    assert_eq!(report["schema_version"], 1);
    let p = profile(&report, "rfc9700");
    // Nothing failed or warned; but the lab serves plain http and code expiry needs --slow,
    // so two MUST-level checks did not run, and a profile is never met over checks not run.
    assert_eq!(ids(&p["not_met"]), Vec::<&str>::new(), "{p}");
    assert_eq!(
        ids(&p["not_run"]),
        ["code-expires", "token-endpoint-tls-only"],
        "{p}"
    );
    assert_eq!(p["met"], false, "{p}");
    assert_eq!(p["skipped"], 2);
    assert_eq!(p["errors"], 0);
    let must = p["must"]["total"].as_u64().unwrap();
    assert!(must >= 50, "{p}");
    assert_eq!(p["must"]["met"].as_u64().unwrap(), must - 2, "{p}");
    assert_eq!(p["should"]["met"], p["should"]["total"], "{p}");
    assert!(p["should"]["total"].as_u64().unwrap() >= 1);
    let na = p["not_applicable"].as_u64().unwrap();
    assert!(na >= 1, "the OIDC checks are outside RFC 9700: {p}");
    assert_eq!(
        must + p["should"]["total"].as_u64().unwrap() + na,
        report["summary"]["total"].as_u64().unwrap(),
        "every check is MUST, SHOULD or n/a under rfc9700"
    );

    let out = oauthprobe()
        .args([
            "demo",
            "-q",
            "--weak",
            "code-reuse",
            "--profile",
            "rfc9700",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let report = json_of(&out);
    let weak = profile(&report, "rfc9700");
    assert_eq!(weak["met"], false);
    assert!(ids(&weak["not_met"]).contains(&"code-single-use"), "{weak}");
    assert!(weak["must"]["met"].as_u64().unwrap() < p["must"]["met"].as_u64().unwrap());
    // The same exit code as without --profile: the failure is a MUST under both.
    let without = oauthprobe()
        .args(["demo", "-q", "--weak", "code-reuse", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), without.status.code());
    assert!(
        json_of(&without).get("profiles").is_none(),
        "no --profile, no profiles"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_profile_met_on_what_ran_and_a_table_line_per_profile() {
    let lab = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lab.toml");
    std::fs::write(&target, lab.target_file()).unwrap();
    let scan = |format: &str| {
        oauthprobe()
            .arg("scan")
            .arg("-c")
            .arg(&target)
            .args(["-q", "--only", "metadata", "--profile", "oidcc-config"])
            .args(["--profile", "default", "-f", format])
            .output()
            .unwrap()
    };
    let json = scan("json");
    let report = json_of(&json);
    let config = profile(&report, "oidcc-config");
    // Every metadata check passes on the lab, but --only left out checks oidcc-config holds
    // (token-endpoint-*, tokens-userinfo-*): not met, and they are named.
    assert_eq!(config["not_met"].as_array().unwrap().len(), 0, "{config}");
    assert!(
        ids(&config["not_run"]).contains(&"token-endpoint-error-response"),
        "{config}"
    );
    assert_eq!(config["met"], false);
    assert_eq!(report["profiles"].as_array().unwrap().len(), 2);
    let table = scan("table");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("profile oidcc-config: not met · MUST met "),
        "{text}"
    );
    assert!(
        text.contains("profile default: not met · MUST met "),
        "{text}"
    );
    // The Markdown for job summaries has a row per profile, naming a check left out.
    let markdown = scan("markdown");
    let text = String::from_utf8_lossy(&markdown.stdout);
    let row = text
        .lines()
        .find(|l| l.starts_with("| oidcc-config | "))
        .unwrap_or_else(|| panic!("no oidcc-config row:\n{text}"));
    assert!(row.contains("not met"), "{row}");
    assert!(row.contains("token-endpoint-error-response"), "{row}");
    assert!(
        text.lines().any(|l| l.starts_with("| default | ")),
        "{text}"
    );
    lab.shutdown().await;
}

#[test]
fn profiles_lists_all_six_and_checks_shows_levels() {
    let out = oauthprobe().arg("profiles").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "default",
        "rfc9700",
        "oauth2.1",
        "oidcc-basic",
        "oidcc-config",
        "fapi2-sp",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("│ {name} "))),
            "{name} missing:\n{text}"
        );
    }

    let out = oauthprobe()
        .args(["checks", "--profile", "oidcc-config", "--format", "json"])
        .output()
        .unwrap();
    let checks = json_of(&out);
    let level = |id: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["level"]
            .clone()
    };
    // A check that needs the test user signed in: outside the Config OP profile.
    assert_eq!(level("code-single-use"), "n/a");
    assert_eq!(level("metadata-oidc-required-fields"), "MUST");

    let out = oauthprobe()
        .args(["checks", "--profile", "oidcc-config"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("│ LEVEL │"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("│ code-single-use "))
        .unwrap();
    assert!(row.contains("│ n/a "), "{row}");

    let out = oauthprobe()
        .args(["checks", "--profile", "fapi2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown profile `fapi2`; did you mean `fapi2-sp`?"),
        "{err}"
    );
    let out = oauthprobe()
        .args(["demo", "--profile", "rfc9701"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `rfc9700`?"));
}

/// The verdict a profile gave a check, from a report's `results[].verdicts`.
fn verdict<'a>(report: &'a Value, check: &str, profile: &str) -> &'a str {
    let result = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == check)
        .unwrap_or_else(|| panic!("no result for {check}"));
    result["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["profile"] == profile)
        .and_then(|v| v["status"].as_str())
        .unwrap_or_else(|| panic!("no verdict under {profile}: {result}"))
}

fn demo(args: &[&str]) -> (Option<i32>, Value) {
    let out = oauthprobe()
        .args(["demo", "-q", "-f", "json"])
        .args(args)
        .output()
        .unwrap();
    (out.status.code(), json_of(&out))
}

#[test]
fn plain_pkce_warns_under_rfc9700_and_fails_under_fapi2() {
    // The lab applies plain to a challenge sent without a method: RFC 9700 §2.1.1 advises the
    // client (SHOULD) to use S256; FAPI 2.0 §5.3.2.2 requires the server to require it.
    let (code, report) = demo(&["--weak", "pkce-plain", "--profile", "rfc9700,fapi2-sp"]);
    let check = "pkce-default-method-not-plain";
    assert_eq!(verdict(&report, check, "rfc9700"), "warn");
    assert_eq!(verdict(&report, check, "fapi2-sp"), "fail");
    // The results are judged under the first profile named.
    assert_eq!(report["profile"], "rfc9700");
    let result = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == check)
        .unwrap();
    assert_eq!(result["status"], "warn", "{result}");
    // The clause the variant seen breaks, by which each profile judges it.
    assert_eq!(
        result["breaks"],
        serde_json::json!(["RFC 9700 §2.1.1 SHOULD"]),
        "{result}"
    );
    // A SHOULD under rfc9700: counted there, not a MUST.
    let rfc9700 = profile(&report, "rfc9700");
    assert!(ids(&rfc9700["not_met"]).contains(&check), "{rfc9700}");
    assert_eq!(
        rfc9700["should"]["met"].as_u64().unwrap() + 1,
        rfc9700["should"]["total"].as_u64().unwrap(),
        "{rfc9700}"
    );
    // The explicit plain method with the challenge taken as verifier is RFC 7636's MUST: a
    // fail under both, and the exit code says so.
    assert_eq!(
        verdict(&report, "pkce-no-plain-downgrade", "rfc9700"),
        "fail"
    );
    assert_eq!(
        verdict(&report, "pkce-no-plain-downgrade", "fapi2-sp"),
        "fail"
    );
    assert_eq!(code, Some(1));

    // The exit code follows every profile named: alone, the warning passes the gate; with
    // fapi2-sp it fails it, whichever profile comes first.
    let only = ["--weak", "pkce-plain", "--only", check];
    let gate = |profiles: &str| {
        let mut args = only.to_vec();
        args.extend(["--profile", profiles]);
        let (code, report) = demo(&args);
        assert_eq!(report["summary"]["total"], 1, "{}", report["summary"]);
        code
    };
    assert_eq!(gate("rfc9700"), Some(0));
    assert_eq!(gate("fapi2-sp"), Some(1));
    assert_eq!(gate("rfc9700,fapi2-sp"), Some(1));
    let (code, report) = demo(&only);
    assert_eq!(code, Some(0), "no --profile: default, a warning");
    assert_eq!(report["profile"], "default");
    assert!(report["results"][0].get("verdicts").is_none());
}

#[test]
fn a_public_client_without_pkce_fails_under_oauth21() {
    let (code, report) = demo(&[
        "--weak",
        "pkce-not-required",
        "--profile",
        "oauth2.1,rfc9700,fapi2-sp",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(
        verdict(&report, "pkce-required-public-client", "oauth2.1"),
        "fail"
    );
    let oauth21 = profile(&report, "oauth2.1");
    assert_eq!(oauth21["met"], false);
    assert!(
        ids(&oauth21["not_met"]).contains(&"pkce-required-public-client"),
        "{oauth21}"
    );
    // The state-missing probe sees the same request (no state, no PKCE) succeed: the OAuth 2.1
    // draft binds the server to refuse it (fail); RFC 9700 binds only the client (warn).
    assert_eq!(verdict(&report, "state-missing", "oauth2.1"), "fail");
    assert_eq!(verdict(&report, "state-missing", "rfc9700"), "warn");
    // FAPI 2.0 has no public clients: n/a, never failed.
    assert_eq!(
        verdict(&report, "pkce-required-public-client", "fapi2-sp"),
        "skip"
    );
    assert!(
        !ids(&profile(&report, "fapi2-sp")["not_met"]).contains(&"pkce-required-public-client")
    );
}

#[test]
fn a_check_outside_every_profile_named_is_not_run() {
    let (code, report) = demo(&["--profile", "oidcc-config"]);
    let results = report["results"].as_array().unwrap();
    let nonce = results
        .iter()
        .find(|r| r["id"] == "oidc-nonce-echoed")
        .unwrap();
    assert_eq!(nonce["status"], "skip", "{nonce}");
    assert_eq!(nonce["requests"], 0, "{nonce}");
    assert!(
        nonce["message"]
            .as_str()
            .unwrap()
            .contains("outside every profile named (oidcc-config)"),
        "{nonce}"
    );
    // What oidcc-config holds ran and passed on the secure lab.
    let config = profile(&report, "oidcc-config");
    assert_eq!(config["not_met"].as_array().unwrap().len(), 0, "{config}");
    let ran = results
        .iter()
        .filter(|r| r["requests"].as_u64() > Some(0))
        .count();
    assert_eq!(
        ran as u64,
        config["must"]["total"].as_u64().unwrap() + config["should"]["total"].as_u64().unwrap()
            - config["skipped"].as_u64().unwrap(),
        "{config}"
    );
    assert_eq!(code, Some(0), "{config}");
}
