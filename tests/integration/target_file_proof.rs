//! The pre-flight proves the target file before any check runs: a refused secret, an unknown
//! client or a redirect_uri the server does not know ends the scan with exit 2 and a message
//! naming the client and the key to fix, instead of 97 errors and a warning that blames the
//! server. Against the lab here; against oidc-provider in `oidc_provider.rs`.

use crate::common::{oauthprobe, run, spawn_lab};

/// Scans the lab with its target file changed by `edit`: exit code, stderr, JSON report.
async fn scan_edited(edit: impl Fn(&str) -> String) -> (Option<i32>, String, serde_json::Value) {
    let lab = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let original = lab.target_file();
    let edited = edit(&original);
    assert_ne!(edited, original, "the edit changed nothing");
    let path = dir.path().join("target.toml");
    std::fs::write(&path, edited).unwrap();
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["scan", "-q", "-f", "json", "-c"]).arg(&path);
        cmd
    })
    .await;
    let report = serde_json::from_slice(&out.stdout).unwrap_or_default();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
    )
}

/// The value of `key` in the `[table]` of a target file, and the file with it replaced.
fn replace_in_table(text: &str, table: &str, key: &str, value: &str) -> String {
    let mut out = String::new();
    let mut current = String::new();
    let mut done = false;
    for line in text.lines() {
        if line.starts_with('[') {
            current = line.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        if !done && current == table && line.starts_with(&format!("{key} = ")) {
            out.push_str(&format!("{key} = {value}\n"));
            done = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(done, "no `{key}` in [{table}]:\n{text}");
    out
}

fn assert_stops_on_the_target_file(
    (code, stderr, report): (Option<i32>, String, serde_json::Value),
    names: &[&str],
) {
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(report["preflight_in_target_file"], true, "{report}");
    let error = report["preflight_error"].as_str().unwrap_or_default();
    for name in names {
        assert!(error.contains(name), "{name} in {error}");
        assert!(stderr.contains(name), "{name} in {stderr}");
    }
    // No check ran: the one error is said once.
    let results = report["results"].as_array().unwrap();
    assert!(
        results.iter().all(|r| r["status"] == "error"
            && r["message"] == oauthprobe::engine::NOT_RUN_AFTER_PREFLIGHT
            && r["requests"] == 0),
        "{results:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_client_secret_is_a_configuration_error_naming_the_client() {
    let found =
        scan_edited(|t| replace_in_table(t, "client", "secret", "\"not-the-secret\"")).await;
    assert_stops_on_the_target_file(found, &["`[client]` id `lab-basic`", "`[client] secret`"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_of_the_second_client_names_that_client() {
    let found =
        scan_edited(|t| replace_in_table(t, "second_client", "secret", "\"not-the-secret\"")).await;
    assert_stops_on_the_target_file(found, &["`[second_client]`", "`[second_client] secret`"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_client_id_and_an_unregistered_redirect_uri_name_their_keys() {
    let found = scan_edited(|t| replace_in_table(t, "client", "id", "\"no-such-client\"")).await;
    assert_stops_on_the_target_file(found, &["`[client] id`", "no-such-client"]);
    let found = scan_edited(|t| {
        replace_in_table(
            t,
            "client",
            "redirect_uris",
            "[\"http://127.0.0.1:9/not-registered\"]",
        )
    })
    .await;
    assert_stops_on_the_target_file(
        found,
        &[
            "`[client] redirect_uris`",
            "http://127.0.0.1:9/not-registered",
        ],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_right_target_file_is_not_flagged() {
    // The same edit machinery, a harmless change: the scan runs, exit 0, no flag.
    let (code, stderr, report) =
        scan_edited(|t| t.replacen("name = \"lab\"", "name = \"lab-proof\"", 1)).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(report.get("preflight_in_target_file").is_none(), "{report}");
    assert_eq!(report["summary"]["fail"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_and_an_issuer_without_scheme_are_said_in_plain_words() {
    // A loopback port nothing listens on: bound, then released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, stderr, _) = scan_edited(|t| {
        // The lab's origin, wherever the file names it.
        let at = t.find("http://127.0.0.1:").unwrap();
        let origin: String = t[at..]
            .chars()
            .take_while(|c| *c != '"' && *c != '/' || t[at..].starts_with("http://"))
            .collect::<String>();
        let digits = origin["http://127.0.0.1:".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>();
        t.replace(
            &format!("http://127.0.0.1:{digits}"),
            &format!("http://127.0.0.1:{port}"),
        )
    })
    .await;
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "connection refused: nothing listens on 127.0.0.1:{port}"
        )) && stderr.contains("check `issuer` in the target file")
            && !stderr.contains("[endpoints]"),
        "{stderr}"
    );
    let out = run({
        let mut cmd = oauthprobe();
        cmd.args(["init", "--issuer", &format!("127.0.0.1:{port}")]);
        cmd
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("e.g. https://127.0.0.1:{port}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
