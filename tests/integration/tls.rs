//! TLS over real connections on 127.0.0.1: a private CA trusted with `--ca-cert` (or `[tls]
//! ca_cert`), every refused certificate said in plain words with the URL and what to do, and
//! `--insecure` said in every report. The certificates are fixtures made by
//! `fixtures/tls/make.sh` (openssl CLI): a test CA, server certificates it signed for 127.0.0.1,
//! for another name and long expired, and a self-signed one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::common::oauthprobe;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/fixtures/tls")
        .join(name)
}

/// Accepts TLS with one certificate; a failed handshake (the scanner refusing the
/// certificate) is skipped, as a server would.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn acceptor(cert: &str) -> TlsAcceptor {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture(cert))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("leaf.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// A minimal authorization server over TLS with the certificate `cert`: metadata, an
/// authorization endpoint that sends the code straight back, and a token endpoint that issues
/// a token. Returns its issuer, `https://127.0.0.1:PORT`.
pub(crate) async fn tls_server(cert: &str) -> String {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", tcp.local_addr().unwrap());
    let meta = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
    });
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { axum::Json(meta) }),
        )
        .route(
            "/authorize",
            get(
                |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let back = format!(
                        "{}?code=tls-test-code&state={}",
                        q.get("redirect_uri").cloned().unwrap_or_default(),
                        q.get("state").cloned().unwrap_or_default()
                    );
                    (StatusCode::FOUND, [(header::LOCATION, back)]).into_response()
                },
            ),
        )
        .route(
            "/token",
            post(|| async {
                axum::Json(
                    serde_json::json!({"access_token": "tls-test-token", "token_type": "Bearer"}),
                )
            }),
        );
    let listener = TlsListener {
        tcp,
        acceptor: acceptor(cert),
    };
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    base
}

/// A target file for `issuer` in a fresh directory (kept alive by the returned guard), with
/// `extra` appended.
fn target_file(issuer: &str, extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("target.toml");
    std::fs::write(
        &path,
        format!(
            "issuer = \"{issuer}\"\n[client]\nid = \"c\"\nsecret = \"s3cret-value\"\nredirect_uri = \"https://client.invalid/cb\"\nscope = \"profile\"\n[login]\nusername = \"alice\"\npassword = \"pw-value\"\n{extra}"
        ),
    )
    .unwrap();
    (dir, path)
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `oauthprobe ARGS` while this test's runtime keeps serving.
async fn run(args: &[&str]) -> Run {
    // A table wide enough that no line is wrapped: the assertions read whole sentences.
    let out = tokio::process::Command::from(oauthprobe())
        .env("COLUMNS", "1000")
        .args(args)
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The one check the scans below run: it needs the metadata only.
const CHECK: &str = "metadata-issuer-matches";

async fn scan(config: &Path, extra: &[&str]) -> Run {
    let config = config.to_str().unwrap();
    let mut args = vec!["scan", "-c", config, "--only", CHECK];
    args.extend_from_slice(extra);
    run(&args).await
}

const UNTRUSTED: &str = "the server's certificate is not trusted (self-signed or from an unknown CA); pass --ca-cert FILE (or set [tls] ca_cert in the target file) for a private CA, or --insecure to skip verification (never for a real audit)";

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_from_an_unknown_ca_or_self_signed_is_refused_in_plain_words() {
    for cert in ["self-signed.pem", "localhost.pem"] {
        let issuer = tls_server(cert).await;
        let (_dir, config) = target_file(&issuer, "");
        let out = scan(&config, &[]).await;
        // As for an unreachable server: the target could not be scanned.
        assert_eq!(out.code, Some(3), "{cert}: {}", out.stderr);
        let said = format!("GET {issuer}/.well-known/oauth-authorization-server: {UNTRUSTED}");
        assert!(out.stderr.contains(&said), "{cert}: {}", out.stderr);
        assert!(
            out.stdout.contains(&said),
            "the report says it too: {}",
            out.stdout
        );
        assert!(!out.stderr.contains("UnknownIssuer"), "{}", out.stderr);
        // Said once: the other well-known URL has the same certificate.
        assert_eq!(out.stderr.matches(UNTRUSTED).count(), 1, "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_given_with_ca_cert_is_trusted() {
    let issuer = tls_server("localhost.pem").await;
    let (_dir, config) = target_file(&issuer, "");
    let ca = fixture("ca.pem");
    let out = scan(
        &config,
        &["--ca-cert", ca.to_str().unwrap(), "--format", "json"],
    )
    .await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stderr, out.stdout);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["tls_verification"], "enabled");
    assert_eq!(
        report["ca_files"],
        serde_json::json!([ca.to_str().unwrap()])
    );
    assert!(report.get("preflight_error").is_none(), "{report:#}");
    assert_eq!(report["results"][0]["id"], CHECK);
    assert_eq!(report["results"][0]["status"], "pass", "{report:#}");
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);

    // The table names the file it trusted.
    let out = scan(&config, &["--ca-cert", ca.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.lines().nth(1).is_some_and(|l| l
            == format!(
                "TLS: certificates verified against the built-in roots and the CA certificates in {}",
                ca.display()
            )),
        "{}",
        out.stdout
    );

    // The CA as one DER certificate works too.
    let dir = tempfile::tempdir().unwrap();
    let der = dir.path().join("ca.der");
    std::fs::write(&der, CertificateDer::from_pem_file(&ca).unwrap()).unwrap();
    let out = scan(&config, &["--ca-cert", der.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);

    // `init` reads the metadata through the same CA.
    let out = run(&[
        "init",
        "--issuer",
        &issuer,
        "--ca-cert",
        ca.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!("{issuer}/token")),
        "{}",
        out.stdout
    );
    let out = run(&["init", "--issuer", &issuer]).await;
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains(UNTRUSTED), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_target_file_can_name_the_ca_relative_to_itself() {
    let issuer = tls_server("localhost.pem").await;
    let (dir, config) = target_file(&issuer, "[tls]\nca_cert = \"certs/ca.pem\"\n");
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::copy(fixture("ca.pem"), dir.path().join("certs/ca.pem")).unwrap();
    let out = scan(&config, &["--format", "json"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["results"][0]["status"], "pass", "{report:#}");
    let files = report["ca_files"].as_array().unwrap();
    assert!(
        files.len() == 1 && files[0].as_str().unwrap().ends_with("certs/ca.pem"),
        "{files:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_certificate_can_be_its_own_ca_cert() {
    let issuer = tls_server("self-signed.pem").await;
    let (_dir, config) = target_file(&issuer, "");
    let own = fixture("self-signed.pem");
    let out = scan(&config, &["--ca-cert", own.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stderr, out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_is_said_plainly() {
    let issuer = tls_server("wrong-name.pem").await;
    let (_dir, config) = target_file(&issuer, "");
    let ca = fixture("ca.pem");
    let out = scan(&config, &["--ca-cert", ca.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let said = format!(
        "GET {issuer}/.well-known/oauth-authorization-server: the certificate does not name 127.0.0.1 (it names wrong.example); connect by a name it holds, or --insecure skips verification (never for a real audit)"
    );
    assert!(out.stderr.contains(&said), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_is_said_plainly() {
    let issuer = tls_server("expired.pem").await;
    let (_dir, config) = target_file(&issuer, "");
    let ca = fixture("ca.pem");
    let out = scan(&config, &["--ca-cert", ca.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "GET {issuer}/.well-known/oauth-authorization-server: the server's certificate has expired (valid until 2001-01-01T00:00:00.000Z)"
        )),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_is_said_on_stderr_in_the_table_and_in_the_json() {
    let issuer = tls_server("self-signed.pem").await;
    let (_dir, config) = target_file(&issuer, "");
    let out = scan(&config, &["--insecure"]).await;
    assert_eq!(out.code, Some(0), "{}\n{}", out.stderr, out.stdout);
    assert!(
        out.stderr
            .starts_with("warning: --insecure: TLS certificates are not verified"),
        "{}",
        out.stderr
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[1].starts_with("TLS certificate verification DISABLED (--insecure)"),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with(" · TLS verification disabled (--insecure)")),
        "{}",
        out.stdout
    );

    let out = scan(&config, &["--insecure", "--format", "json"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["tls_verification"], "disabled");
    assert_eq!(report["results"][0]["status"], "pass", "{report:#}");

    // `login` says it in its walk, `init` on stderr.
    let out = run(&["login", "-c", config.to_str().unwrap(), "--insecure"]).await;
    assert!(out.stderr.contains("warning: --insecure"), "{}", out.stderr);
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("TLS certificate verification DISABLED")),
        "{}",
        out.stdout
    );
    let out = run(&["init", "--issuer", &issuer, "--insecure"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("warning: --insecure"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_on_an_https_url_is_said_plainly() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(tcp, Router::new()).await.ok() });
    let (_dir, config) = target_file(&format!("https://{addr}"), "");
    let out = scan(&config, &[]).await;
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr.contains("the server did not answer in TLS")
            && out.stderr.contains("is it plain http on this port?"),
        "{}",
        out.stderr
    );
}

/// A CA file that cannot be used stops the command before anything is sent: exit 2, the file
/// named, the problem said.
#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_ca_file_is_a_usage_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let key_only = std::fs::read(fixture("leaf.key")).unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            dir.path().join("missing.pem"),
            "cannot read the CA certificate file",
        ),
        (
            write("empty.pem", b""),
            "holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
        ),
        (write("key.pem", &key_only), "holds no certificate"),
        (
            write("cut.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n"),
            "not a valid PEM file: a PEM section has no END line",
        ),
        (
            write(
                "junk.pem",
                b"-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
            ),
            "certificate 1 of the file is not a usable X.509 certificate",
        ),
    ];
    // A server that counts connections: none may arrive.
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("https://{}", tcp.local_addr().unwrap());
    let (_t, config) = target_file(&issuer, "");
    for (path, problem) in &cases {
        let out = scan(&config, &["--ca-cert", path.to_str().unwrap()]).await;
        assert_eq!(out.code, Some(2), "{}: {}", path.display(), out.stderr);
        let expected = format!("error: --ca-cert {}: {problem}", path.display());
        assert!(
            out.stderr.starts_with(&expected),
            "{expected}\n{}",
            out.stderr
        );
    }
    // The same from the target file: its line, then the CA file.
    let (t, config) = target_file(&issuer, "[tls]\nca_cert = \"junk.pem\"\n");
    std::fs::copy(dir.path().join("junk.pem"), t.path().join("junk.pem")).unwrap();
    let out = scan(&config, &[]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: {}:11: `tls.ca_cert`: {}: certificate 1 of the file is not a usable X.509 certificate",
            config.display(),
            t.path().join("junk.pem").display()
        )),
        "{}",
        out.stderr
    );
    let nothing = tokio::time::timeout(std::time::Duration::ZERO, tcp.accept()).await;
    assert!(nothing.is_err(), "no connection reached the server");
}

/// Chromium keeps its own trust store: the browser login mode cannot take `--ca-cert`, and
/// says so before anything is sent, instead of failing in the browser with a TLS error page.
#[tokio::test(flavor = "multi_thread")]
async fn the_browser_login_mode_refuses_a_ca_cert_it_could_not_use() {
    let issuer = tls_server("localhost.pem").await;
    let (_dir, config) = target_file(&issuer, "mode = \"browser\"\n");
    let ca = fixture("ca.pem");
    let out = scan(&config, &["--ca-cert", ca.to_str().unwrap()]).await;
    assert_eq!(out.code, Some(2), "{}\n{}", out.stderr, out.stdout);
    assert!(
        out.stderr.contains("cannot use --ca-cert") && out.stderr.contains("trust store"),
        "{}",
        out.stderr
    );
}
