//! `oauthprobe init`: a starter target file from the server's metadata, which scans once the
//! placeholders are filled in.

use std::path::Path;
use std::process::Command;

use crate::common::{oauthprobe, run, spawn_lab};

pub fn init_command(issuer: &str, output: &Path) -> Command {
    let mut cmd = oauthprobe();
    cmd.args(["init", "--issuer", issuer, "--output"])
        .arg(output);
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_the_labs_endpoints_and_the_file_scans_once_filled_in() {
    let lab = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    let out = run(init_command(lab.issuer(), &file)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let issuer = lab.issuer();
    for expected in [
        format!("issuer = \"{issuer}\""),
        format!("authorization = \"{issuer}/authorize\""),
        format!("token = \"{issuer}/token\""),
        format!("jwks = \"{issuer}/jwks\""),
        "#   code_challenge_methods_supported: S256".to_string(),
        "#   grant_types_supported: authorization_code, refresh_token".to_string(),
        "secret_env = \"OAUTHPROBE_CLIENT_SECRET\"".to_string(),
        "password_env = \"OAUTHPROBE_PASSWORD\"".to_string(),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }

    // What a user does next: put in the registered client and the test user, export secrets.
    let client = lab.client("lab-basic").unwrap();
    let filled = text
        .replace("\"oauthprobe-confidential\"", &format!("\"{}\"", client.id))
        .replace(
            "\"http://127.0.0.1/oauthprobe/callback\"",
            &format!("\"{}\"", client.redirect_uris[0]),
        )
        .replace("\"CHANGE-ME\"", &format!("\"{}\"", lab.user().username));
    std::fs::write(&file, filled).unwrap();
    let mut scan = oauthprobe();
    scan.args(["scan", "--format", "json", "--config"])
        .arg(&file)
        .env("OAUTHPROBE_CLIENT_SECRET", client.secret.clone().unwrap())
        .env("OAUTHPROBE_PASSWORD", &lab.user().password);
    let out = run(scan).await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a JSON report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["fail"], 0, "{report:#}");
    assert_eq!(report["summary"]["error"], 0, "{report:#}");
    assert!(report["summary"]["pass"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_keeps_an_existing_file_unless_forced() {
    let lab = spawn_lab(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    std::fs::write(&file, "# mine\n").unwrap();
    let out = run(init_command(lab.issuer(), &file)).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    let mut forced = init_command(lab.issuer(), &file);
    forced.arg("--force");
    assert_eq!(run(forced).await.status.code(), Some(0));
    assert!(std::fs::read_to_string(&file).unwrap().contains("[client]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn init_without_metadata_names_the_urls_tried_and_exits_three() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("target.toml");
    let issuer = format!("http://127.0.0.1:{port}");
    let out = run(init_command(&issuer, &file)).await;
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no metadata found")
            && err.contains(".well-known/oauth-authorization-server")
            && err.contains(".well-known/openid-configuration"),
        "{err}"
    );
    assert!(!file.exists());

    let out = run({
        let mut c = oauthprobe();
        c.args(["init", "--issuer", "ftp://as.example"]);
        c
    })
    .await;
    assert_eq!(out.status.code(), Some(2));
}
