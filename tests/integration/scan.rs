//! The scanner against the lab: the clean lab passes everything, and each weakness fails
//! exactly the checks the catalog says it trips (`lab_weaknesses` in checks/<id>.md).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use oauthprobe::catalog;
use oauthprobe::engine::{self, Report, ScanOptions, Status};
use oauthprobe::lab::{LabOptions, RunningLab, Weakness, Weaknesses};
use oauthprobe::target::Target;

use crate::common::{spawn_lab, spawn_lab_with};

pub fn target_of(lab: &RunningLab) -> Target {
    Target::parse(Path::new("lab.toml"), &lab.target_file(), &|_| None)
        .expect("the lab's target file parses")
}

/// The slow checks run against a lab whose codes live `LAB_CODE_LIFETIME`, and wait a little
/// longer than that: the same verdicts as a ten-minute wait on a real server, in seconds.
const LAB_CODE_LIFETIME: Duration = Duration::from_secs(4);
const SLOW_CODE_WAIT: Duration = Duration::from_millis(4500);

/// Scans a lab with `weak` switched on; `slow` also runs the slow checks.
async fn scan_with(weak: &[Weakness], slow: bool) -> Report {
    let lab = spawn_lab_with(LabOptions {
        weaknesses: weak.iter().copied().collect::<Weaknesses>(),
        code_lifetime: slow.then_some(LAB_CODE_LIFETIME),
        ..LabOptions::default()
    })
    .await;
    let opts = ScanOptions {
        slow,
        code_wait: SLOW_CODE_WAIT,
        ..ScanOptions::default()
    };
    engine::scan(target_of(&lab), opts)
        .await
        .expect("scan runs")
}

fn with_status(report: &Report, status: Status) -> BTreeSet<String> {
    report
        .results
        .iter()
        .filter(|r| r.status == status)
        .map(|r| r.meta.id.clone())
        .collect()
}

fn ids(list: Vec<&str>) -> BTreeSet<String> {
    list.into_iter().map(str::to_string).collect()
}

/// Checks whose failure is a redirect or a response parameter, not tokens issued.
const FAIL_WITHOUT_TOKENS: &[&str] = &[
    "redirect-uri-exact-match",
    "state-echoed",
    "code-unguessable",
    "redirect-uri-unknown-client-not-redirected",
    "redirect-uri-error-not-redirected",
    "redirect-uri-fragment-refused",
    "redirect-uri-duplicate-refused",
    "redirect-uri-not-normalised",
    "redirect-uri-query-exact",
    "redirect-uri-path-exact",
    "redirect-uri-subdomain-refused",
    "redirect-uri-userinfo-refused",
    "iss-present",
    "iss-matches-issuer",
    "iss-advertised",
    "authz-unknown-param-ignored",
    "authz-response-type-checked",
    "state-long-echoed",
    "state-echoed-on-denial",
    "pkce-unknown-method-refused",
    "authz-endpoint-no-fragment",
    "authz-login-not-307",
    "token-endpoint-error-response",
    "client-auth-basic-challenge",
    "metadata-issuer-matches",
    "metadata-required-fields",
    "metadata-endpoints-https",
    "metadata-jwks-public-keys-only",
    "tokens-userinfo-requires-token",
    "headers-anti-framing",
    "headers-authorization-no-cors",
    "metadata-oidc-required-fields",
    "tokens-userinfo-bearer-challenge",
    "metadata-json-content-type",
    "metadata-no-empty-members",
    "metadata-oidc-issuer-matches",
    "oidc-prompt-none-shows-no-page",
    "authz-error-redirected",
];

/// One flaw, one check: under these weaknesses, the listed checks cannot observe what they
/// read (the flaw took it away) and skip, naming the check that reports the flaw.
const DEFERS: &[(&str, &[(&str, &str)])] = &[
    (
        "denial-json",
        &[("state-echoed-on-denial", "authz-error-redirected")],
    ),
    (
        "iss-not-supported",
        &[("iss-matches-issuer", "iss-present")],
    ),
    (
        "state-dropped",
        &[
            ("state-echoed-on-denial", "state-echoed"),
            ("state-long-echoed", "state-echoed"),
        ],
    ),
    (
        "metadata-issuer-mismatch",
        &[
            ("iss-matches-issuer", "metadata-issuer-matches"),
            ("oidc-id-token-issuer", "metadata-issuer-matches"),
        ],
    ),
    (
        "refresh-no-rotation",
        &[(
            "refresh-replay-revokes-grant",
            "refresh-rotated-for-public-client",
        )],
    ),
    (
        "pkce-verifier-unchecked",
        &[
            ("pkce-no-plain-downgrade", "pkce-verifier-checked"),
            ("pkce-verifier-bound-to-code", "pkce-verifier-checked"),
        ],
    ),
    (
        "redirect-uri-token-unchecked",
        &[
            ("redirect-uri-token-exact", "redirect-uri-token-binding"),
            ("redirect-uri-token-required", "redirect-uri-token-binding"),
        ],
    ),
    (
        "id-token-no-sub",
        &[("oidc-userinfo-sub-matches", "oidc-id-token-subject")],
    ),
];

fn deferred(weakness: &str, check: &str) -> Option<&'static str> {
    DEFERS
        .iter()
        .find(|(w, _)| *w == weakness)
        .and_then(|(_, list)| list.iter().find(|(c, _)| *c == check))
        .map(|(_, to)| *to)
}

fn summary(report: &Report) -> String {
    report
        .results
        .iter()
        .map(|r| format!("{}: {} ({})", r.meta.id, r.status, r.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_lab_passes_every_check() {
    let report = scan_with(&[], true).await;
    assert!(
        report.preflight_error.is_none(),
        "{:?}",
        report.preflight_error
    );
    assert_eq!(report.results.len(), catalog::catalog().len());
    for r in &report.results {
        // A check the lab cannot exercise (checks/README.md lists them, with the reason) may skip.
        let unprovable = r.meta.lab_weaknesses.is_empty()
            && r.meta.lab_warnings.is_empty()
            && r.status == Status::Skip;
        assert!(
            r.status == Status::Pass || unprovable,
            "{}: {} ({})",
            r.meta.id,
            r.status,
            r.message
        );
        assert!(
            unprovable || (r.requests > 0 && !r.evidence.is_empty()),
            "{} recorded its exchanges",
            r.meta.id
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_weakness_fails_exactly_its_checks() {
    for &w in Weakness::ALL {
        let expected = ids(catalog::tripped_by(w));
        let warned = ids(catalog::warned_by(w));
        assert!(
            !expected.is_empty() || !warned.is_empty(),
            "weakness {w} is the lab_weakness or lab_warning of no check: nothing proves it"
        );
        // Slow checks run only for the weaknesses that concern them, so the matrix stays fast.
        let slow = expected
            .iter()
            .chain(&warned)
            .any(|id| catalog::find(id).is_some_and(|c| c.slow));
        let report = scan_with(&[w], slow).await;
        assert_eq!(
            with_status(&report, Status::Fail),
            expected,
            "weakness {w}:\n{}",
            summary(&report)
        );
        assert_eq!(
            with_status(&report, Status::Warn),
            warned,
            "weakness {w} warns:\n{}",
            summary(&report)
        );
        assert_eq!(
            oauthprobe::report::exit_status(&report, oauthprobe::engine::Severity::Low),
            if expected.is_empty() {
                oauthprobe::exit::ExitStatus::Ok
            } else {
                oauthprobe::exit::ExitStatus::Failed
            },
            "weakness {w}: exit status"
        );
        for r in report
            .results
            .iter()
            .filter(|r| !expected.contains(&r.meta.id) && !warned.contains(&r.meta.id))
        {
            if let Some(to) = deferred(w.name(), &r.meta.id) {
                assert!(
                    r.status == Status::Skip && r.message.contains(to),
                    "weakness {w}: {} must skip and point to {to}: {} ({})",
                    r.meta.id,
                    r.status,
                    r.message
                );
                continue;
            }
            let skipped_slow = !slow && r.meta.slow && r.status == Status::Skip;
            let unprovable = r.meta.lab_weaknesses.is_empty()
                && r.meta.lab_warnings.is_empty()
                && r.status == Status::Skip;
            assert!(
                r.status == Status::Pass || skipped_slow || unprovable,
                "weakness {w} must leave {} alone: {} ({})",
                r.meta.id,
                r.status,
                r.message
            );
        }
        for r in report
            .results
            .iter()
            .filter(|r| expected.contains(&r.meta.id))
        {
            // Two signals for a token-issuing flaw: a 200 and an access_token in that response.
            let tokens_issued = r.evidence.iter().any(|e| {
                e.response.as_ref().is_some_and(|resp| {
                    resp.status == 200 && resp.body.contains("\"access_token\"")
                })
            });
            let issues_tokens = !FAIL_WITHOUT_TOKENS.contains(&r.meta.id.as_str());
            assert!(
                !issues_tokens || tokens_issued,
                "{} fails with the issued tokens in its evidence",
                r.meta.id
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_check_is_proven_both_ways() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/checks/README.md"))
        .expect("checks/README.md");
    let without = readme
        .split("## Checks without a lab weakness")
        .nth(1)
        .map(|rest| rest.split("\n## ").next().unwrap_or(""))
        .unwrap_or("");
    for meta in catalog::catalog() {
        assert!(
            !meta.lab_weaknesses.is_empty()
                || !meta.lab_warnings.is_empty()
                || without.contains(&format!("`{}`", meta.id)),
            "{} has no lab weakness that makes it fail or warn, and checks/README.md does not say why",
            meta.id
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_never_contains_a_secret() {
    let lab = spawn_lab(&[Weakness::CodeReuse]).await;
    let report = engine::scan(target_of(&lab), ScanOptions::default())
        .await
        .unwrap();
    let json = oauthprobe::report::json::render(&report);
    let table =
        oauthprobe::report::table::render(&report, &oauthprobe::report::table::View::default());
    let mut secrets: Vec<String> = lab
        .clients()
        .iter()
        .filter_map(|c| c.secret.clone())
        .collect();
    secrets.push(lab.user().password.clone());
    for secret in &secrets {
        assert!(
            !json.contains(secret.as_str()) && !table.contains(secret.as_str()),
            "a secret leaked into the report"
        );
    }
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut tokens_seen = 0;
    for result in parsed["results"].as_array().unwrap() {
        for ex in result["evidence"].as_array().unwrap() {
            let body = ex["response"]["body"].as_str().unwrap_or("");
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(body) {
                for key in ["access_token", "refresh_token", "id_token"] {
                    if let Some(t) = v[key].as_str() {
                        tokens_seen += 1;
                        assert_eq!(t, "«redacted»", "{key} in evidence");
                    }
                }
            }
            for (name, value) in ex["request"]["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
            {
                if name.eq_ignore_ascii_case("authorization") {
                    assert!(value.ends_with("«redacted»"), "{value}");
                }
            }
        }
    }
    assert!(
        tokens_seen > 0,
        "the evidence does show token responses (redacted)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_and_skip_select_checks_and_requirements_skip() {
    let lab = spawn_lab(&[]).await;
    let opts = ScanOptions {
        only: vec![
            "code-single-use".into(),
            "pkce-required-public-client".into(),
        ],
        ..ScanOptions::default()
    };
    let mut target = target_of(&lab);
    target.public_client = None;
    let report = engine::scan(target, opts).await.unwrap();
    let got: Vec<(&str, Status)> = report
        .results
        .iter()
        .map(|r| (r.meta.id.as_str(), r.status))
        .collect();
    assert_eq!(
        got,
        [
            ("code-single-use", Status::Pass),
            ("pkce-required-public-client", Status::Skip)
        ]
    );
    assert!(report.results[1].message.contains("[public_client]"));
    assert!(
        engine::select(&["nope".into()], &[])
            .unwrap_err()
            .contains("unknown check id `nope`")
    );
    let skipped = engine::select(&[], &["code-single-use".into()]).unwrap();
    assert_eq!(skipped.len(), catalog::catalog().len() - 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_is_a_preflight_error_naming_the_page() {
    let lab = spawn_lab(&[]).await;
    let text = lab.target_file().replace(
        &format!("password = \"{}\"", lab.user().password),
        "password = \"not-the-password\"",
    );
    let target = Target::parse(Path::new("lab.toml"), &text, &|_| None).unwrap();
    let report = engine::scan(target, ScanOptions::default()).await.unwrap();
    let err = report.preflight_error.clone().expect("pre-flight fails");
    assert!(
        err.contains("login failed at") && err.contains("/login") && err.contains("HTTP 401"),
        "{err}"
    );
    // What the page said, what it held, and what to try.
    assert!(err.contains("\"Wrong username or password.\""), "{err}");
    assert!(
        err.contains("username:text, password:password") && err.contains("\"Sign in\""),
        "{err}"
    );
    assert!(
        err.contains("what to try") && err.contains("oauthprobe login"),
        "{err}"
    );
    assert!(
        !err.contains("not-the-password"),
        "the password is never shown: {err}"
    );
    // The checks that need no signed-in user still ran; the rest are errors with the one cause.
    let ran: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.status != Status::Error)
        .map(|r| r.meta.id.as_str())
        .collect();
    for r in &report.results {
        if r.meta.sign_in {
            assert_eq!(
                r.status,
                Status::Error,
                "{} needs a user: {}",
                r.meta.id,
                r.message
            );
            // The cause is said once, in the report's pre-flight error, not in every row.
            assert_eq!(
                r.message,
                oauthprobe::engine::NOT_RUN_AFTER_PREFLIGHT,
                "{}",
                r.meta.id
            );
            assert!(
                report
                    .preflight_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("pre-flight: sign-in: login failed at")),
                "{:?}",
                report.preflight_error
            );
        } else if r.meta.token_control {
            // A refusal with no token ever seen proves nothing: no sign-in, no control.
            assert_eq!(r.status, Status::Error, "{}: {}", r.meta.id, r.message);
            assert!(
                r.message.contains("could not sign in") && r.message.contains("proves nothing"),
                "{}: {}",
                r.meta.id,
                r.message
            );
        } else {
            assert!(
                matches!(r.status, Status::Pass | Status::Skip),
                "{} needs no user and ran on the clean lab: {:?} {}",
                r.meta.id,
                r.status,
                r.message
            );
        }
    }
    assert!(ran.len() >= 15, "checks that need no sign-in ran: {ran:?}");
    assert_eq!(
        oauthprobe::report::exit_status(&report, oauthprobe::engine::Severity::Low),
        oauthprobe::exit::ExitStatus::Incomplete
    );
}
