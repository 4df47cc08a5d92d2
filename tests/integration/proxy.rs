//! `--proxy`: a scan watched through an intercepting proxy (as in Burp or ZAP) gives the same
//! verdicts, every request goes through the proxy, the proxy variables of the environment are
//! ignored unless `--proxy env` asks for them, and the scope is unchanged.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use serde_json::Value;

use crate::common::{oauthprobe, run, spawn_lab};

/// A forward proxy on 127.0.0.1:0 for plain-http URLs (requests in absolute form), counting
/// what it carries and to which host; it relays answers as they are, redirects included.
async fn forward_proxy() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let carried = Arc::new(AtomicUsize::new(0));
    let hosts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let upstream = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (count, seen) = (carried.clone(), hosts.clone());
    let app = axum::Router::new().fallback(move |request: Request| {
        let (count, seen, upstream) = (count.clone(), seen.clone(), upstream.clone());
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            seen.lock().unwrap().push(
                parts
                    .uri
                    .authority()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            );
            let body = axum::body::to_bytes(body, 1 << 24).await.unwrap();
            let mut forwarded = upstream.request(parts.method, &url).body(body);
            for (name, value) in &parts.headers {
                if !matches!(name.as_str(), "host" | "proxy-connection" | "connection") {
                    forwarded = forwarded.header(name, value);
                }
            }
            let answer = match forwarded.send().await {
                Ok(answer) => answer,
                Err(_) => {
                    return Response::builder()
                        .status(502)
                        .body(Body::from("upstream unreachable"))
                        .unwrap();
                }
            };
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if !matches!(name.as_str(), "transfer-encoding" | "connection") {
                    response = response.header(name, value);
                }
            }
            response
                .body(Body::from(answer.bytes().await.unwrap_or_default()))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (base, carried, hosts)
}

fn without_proxy_variables(cmd: &mut Command) -> &mut Command {
    for name in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"] {
        cmd.env_remove(name).env_remove(name.to_lowercase());
    }
    cmd
}

fn requests_made(report: &Value) -> u64 {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requests"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_through_a_proxy_keeps_its_verdicts_and_sends_everything_through_it() {
    let lab = spawn_lab(&[]).await;
    let (proxy, carried, hosts) = forward_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lab.toml");
    std::fs::write(&target, lab.target_file()).unwrap();

    let scan = |extra: &[&str], env: &[(&str, &str)], out: &str| {
        let mut cmd = oauthprobe();
        without_proxy_variables(&mut cmd);
        cmd.args(["scan", "--format", "json", "--output"])
            .arg(dir.path().join(out))
            .arg("--config")
            .arg(&target)
            .args(extra)
            .envs(env.iter().copied());
        cmd
    };
    let direct = run(scan(&[], &[], "direct.json")).await;
    assert_eq!(
        direct.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    assert_eq!(carried.load(Ordering::SeqCst), 0);

    let via = run(scan(&["--proxy", &proxy], &[], "via.json")).await;
    assert_eq!(
        via.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&via.stderr)
    );
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(f)).unwrap()).unwrap()
    };
    let (direct, via) = (read("direct.json"), read("via.json"));
    let verdicts = |r: &Value| -> Vec<(String, String)> {
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["id"].to_string(), x["status"].to_string()))
            .collect()
    };
    assert_eq!(verdicts(&direct), verdicts(&via));
    assert_eq!(via["proxy"], proxy.as_str());
    assert!(direct.get("proxy").is_none());
    // Every check's requests, and the pre-flight's besides, went through the proxy, and only
    // to the lab.
    let through = carried.load(Ordering::SeqCst) as u64;
    assert!(
        through > requests_made(&via),
        "{through} carried, {} made by the checks",
        requests_made(&via)
    );
    let lab_authority = lab.issuer().trim_start_matches("http://").to_string();
    assert!(
        hosts.lock().unwrap().iter().all(|h| *h == lab_authority),
        "{:?}",
        hosts.lock().unwrap()
    );

    // The environment's proxy is not used unless asked for, and then NO_PROXY holds.
    let before = carried.load(Ordering::SeqCst);
    let env_only = [
        ("HTTP_PROXY", proxy.as_str()),
        ("http_proxy", proxy.as_str()),
    ];
    let out = run(scan(
        &["--only", "state-echoed"],
        &env_only,
        "env-ignored.json",
    ))
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        carried.load(Ordering::SeqCst),
        before,
        "HTTP_PROXY alone is ignored"
    );
    let out = run(scan(
        &["--only", "state-echoed", "--proxy", "env"],
        &env_only,
        "env.json",
    ))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after_env = carried.load(Ordering::SeqCst);
    assert!(after_env > before, "--proxy env uses HTTP_PROXY");
    let bypass = [("HTTP_PROXY", proxy.as_str()), ("NO_PROXY", "127.0.0.1")];
    let out = run(scan(
        &["--only", "state-echoed", "--proxy", "env"],
        &bypass,
        "bypass.json",
    ))
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(carried.load(Ordering::SeqCst), after_env, "NO_PROXY holds");
}

#[tokio::test(flavor = "multi_thread")]
async fn proxy_credentials_stay_out_of_the_report_and_bad_proxies_are_usage_errors() {
    let lab = spawn_lab(&[]).await;
    let (proxy, carried, _) = forward_proxy().await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lab.toml");
    std::fs::write(&target, lab.target_file()).unwrap();
    let secret = "proxy-pass-7f3a9c";
    let with_credentials = proxy.replace("http://", &format!("http://watcher:{secret}@"));
    let out = run({
        let mut cmd = oauthprobe();
        without_proxy_variables(&mut cmd);
        cmd.args([
            "scan",
            "--only",
            "state-echoed",
            "--format",
            "json",
            "--proxy",
        ])
        .arg(&with_credentials)
        .arg("--config")
        .arg(&target);
        cmd
    })
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(carried.load(Ordering::SeqCst) > 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(secret), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["proxy"], proxy.as_str());

    for (bad, says) in [
        ("socks5://127.0.0.1:1080", "not supported"),
        ("127.0.0.1:8080", "not a proxy URL"),
    ] {
        let out = run({
            let mut cmd = oauthprobe();
            cmd.args(["scan", "--proxy", bad, "--config"]).arg(&target);
            cmd
        })
        .await;
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--proxy") && err.contains(says),
            "{bad}: {err}"
        );
    }
}
