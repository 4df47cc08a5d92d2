//! The real binary: exit codes, messages, the lab's start, target file and clean stop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn oauthprobe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oauthprobe"));
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1");
    cmd
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clients.toml");
    std::fs::write(&path, "[user]\nusername = \"bob\"\n\n[[client]]\nid = \"x\"\nauth_method = \"magic\"\nredirect_uris = [\"http://127.0.0.1/cb\"]\n").unwrap();
    let out = oauthprobe()
        .args(["lab", "--port", "0", "--clients"])
        .arg(&path)
        .output()
        .unwrap();
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
