//! The hostile-server suite: the lab with one fault per case wrapped around its routes, and a
//! canary on a second loopback origin that must receive nothing. Each case runs the binary as
//! a user would, with the whole catalog under a deadline, and asserts what the scanner
//! promises whatever the server does:
//! * it ends within its deadline (plus a margin for starting and writing the report);
//! * its peak RSS stays under 100 MB (GNU time's `%M`);
//! * the canary gets no request, so no secret, code or password went there;
//! * no secret of the target file appears in stdout, stderr or the report;
//! * no raw control character reaches any output, and no message carries one;
//! * no check that rests on a refusal passes unless the server issued a token when asked right;
//! * nothing panicked;
//!
//! and then what the case itself should show (the verdict, the reason named).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use oauthprobe::lab::{LabLayer, LabOptions};
use serde_json::Value;

use crate::common::{ci, spawn_lab_with};

const RSS_LIMIT_KB: u64 = 100 * 1024;
/// Time to start the process, close the flows and write the report, past the deadline.
const MARGIN: Duration = Duration::from_secs(20);
const ESCAPES: &str = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}[32mPASS\u{1b}[0m\u{9b}31m";

/// What a fault sees: the canary's URL.
#[derive(Clone)]
struct Ctx {
    canary: Arc<str>,
}

type Wrap = fn(Router, Ctx) -> Router;

struct Case {
    name: &'static str,
    fault: Wrap,
    /// Instead of the lab: a minimal server over TLS with this fixture certificate (tls.rs).
    tls_cert: Option<&'static str>,
    args: &'static [&'static str],
    deadline_secs: u64,
    /// The server hands out a token to a correct redemption (else no refusal may pass).
    issues_tokens: bool,
    expect: fn(&Run),
}

struct Run {
    report: Value,
    stdout: String,
    stderr: String,
    exit: Option<i32>,
}

impl Run {
    fn result(&self, id: &str) -> (&str, &str) {
        self.report["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["id"] == id))
            .map(|r| {
                (
                    r["status"].as_str().unwrap_or(""),
                    r["message"].as_str().unwrap_or(""),
                )
            })
            .unwrap_or_else(|| panic!("no result for {id}"))
    }

    fn count(&self, status: &str) -> usize {
        self.report["summary"][status].as_u64().unwrap_or(0) as usize
    }

    fn preflight_error(&self) -> &str {
        self.report["preflight_error"].as_str().unwrap_or("")
    }

    fn messages(&self) -> String {
        let mut all = self.preflight_error().to_string();
        for r in self.report["results"].as_array().into_iter().flatten() {
            all.push_str(r["message"].as_str().unwrap_or(""));
            all.push('\n');
        }
        all
    }
}

fn gnu_time() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/time");
    path.exists().then_some(path)
}

async fn run_case(case: &Case) {
    let Some(time) = gnu_time() else {
        assert!(
            !ci(),
            "GNU time (/usr/bin/time, Debian package time) is needed under CI"
        );
        eprintln!("skipping {}: /usr/bin/time is missing", case.name);
        return;
    };
    let (canary_url, canary_hits) = crate::common::counting_server("canary").await;
    let ctx = Ctx {
        canary: canary_url.as_str().into(),
    };
    let fault = case.fault;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("target.toml");
    let (lab, secrets) = if let Some(cert) = case.tls_cert {
        let issuer = crate::tls::tls_server(cert).await;
        let secrets = vec!["s3cret-value-tls".to_string(), "pw-value-tls".to_string()];
        std::fs::write(
            &config,
            format!(
                "issuer = \"{issuer}\"\n[client]\nid = \"c\"\nsecret = \"{}\"\nredirect_uri = \"{}/cb\"\n[login]\nusername = \"alice\"\npassword = \"{}\"\n",
                secrets[0], ctx.canary, secrets[1]
            ),
        )
        .unwrap();
        (None, secrets)
    } else {
        let lab = spawn_lab_with(LabOptions {
            layer: Some(LabLayer(Arc::new(move |router| fault(router, ctx.clone())))),
            ..LabOptions::default()
        })
        .await;
        let secrets: Vec<String> = std::iter::once(lab.user().password.clone())
            .chain(lab.clients().iter().filter_map(|c| c.secret.clone()))
            .collect();
        std::fs::write(&config, lab.target_file()).unwrap();
        (Some(lab), secrets)
    };
    let report_path = dir.path().join("report.json");
    let rss_path = dir.path().join("rss");
    let deadline = case.deadline_secs.to_string();
    let mut cmd = tokio::process::Command::new(time);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_path)
        .arg(env!("CARGO_BIN_EXE_oauthprobe"))
        .args(["scan", "--config"])
        .arg(&config)
        .args(["--format", "json", "--output"])
        .arg(&report_path)
        .args(["--deadline", &deadline])
        .args(case.args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    for name in crate::common::inherited_option_vars() {
        cmd.env_remove(name);
    }
    let started = Instant::now();
    let limit = Duration::from_secs(case.deadline_secs) + MARGIN;
    let output = tokio::time::timeout(limit, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{}: the scan did not end within {limit:?}", case.name))
        .expect("the binary runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report_bytes = std::fs::read(&report_path).unwrap_or_else(|e| {
        panic!(
            "{}: no report ({e}); exit {:?}, stderr:\n{stderr}",
            case.name, output.status
        )
    });
    let name = case.name;
    let rss_kb = peak_rss_kb(&rss_path);
    eprintln!(
        "{name}: {:.1} s, {} MB peak, exit {:?}, report {} KB",
        took.as_secs_f64(),
        rss_kb / 1024,
        output.status.code(),
        report_bytes.len() / 1024
    );
    assert!(rss_kb < RSS_LIMIT_KB, "{name}: peak RSS {rss_kb} KB");
    assert_eq!(
        canary_hits.load(Ordering::SeqCst),
        0,
        "{name}: the canary was reached"
    );
    for (what, bytes) in [
        ("stdout", output.stdout.as_slice()),
        ("stderr", output.stderr.as_slice()),
        ("report", report_bytes.as_slice()),
    ] {
        let text = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{name}: a secret in {what}"
            );
        }
        assert!(
            raw_controls(&text).is_empty(),
            "{name}: raw control characters in {what}"
        );
        assert!(
            !text.contains("panicked"),
            "{name}: a panic in {what}:\n{text}"
        );
    }
    let report: Value = serde_json::from_slice(&report_bytes).expect("the report is JSON");
    let run = Run {
        report,
        stdout,
        stderr,
        exit: output.status.code(),
    };
    assert!(
        raw_controls(&run.messages()).is_empty(),
        "{name}: a message carries a control character: {:?}",
        run.messages()
    );
    assert!(
        !run.messages().contains("crashed"),
        "{name}: {}",
        run.messages()
    );
    for r in run.report["results"].as_array().into_iter().flatten() {
        let id = r["id"].as_str().unwrap_or("");
        let meta = oauthprobe::catalog::find(id).expect("a catalog id");
        if meta.token_control && !case.issues_tokens {
            assert_ne!(
                r["status"], "pass",
                "{name}: {id} passed on a refusal, with no token ever issued: {}",
                r["message"]
            );
        }
    }
    eprintln!(
        "{name}: {} pass, {} fail, {} warn, {} skip, {} error; pre-flight: {}",
        run.count("pass"),
        run.count("fail"),
        run.count("warn"),
        run.count("skip"),
        run.count("error"),
        run.preflight_error().chars().take(300).collect::<String>()
    );
    for r in run.report["results"].as_array().into_iter().flatten() {
        if r["status"] == "fail" {
            eprintln!("{name}: FAIL {}: {}", r["id"], r["message"]);
        }
    }
    (case.expect)(&run);
    if let Some(lab) = lab {
        lab.shutdown().await;
    }
}

fn peak_rss_kb(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time wrote no figure: {text:?}"))
}

fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect()
}

// ---------- faults ----------

fn on(router: Router, ctx: Ctx, f: FaultFn) -> Router {
    router.layer(from_fn_with_state((ctx, f), apply))
}

type FaultFn = fn(Ctx, Request, Next) -> futures::future::BoxFuture<'static, Response>;

async fn apply(State((ctx, f)): State<(Ctx, FaultFn)>, req: Request, next: Next) -> Response {
    f(ctx, req, next).await
}

fn is(req: &Request, method: Method, path: &str) -> bool {
    req.method() == method && req.uri().path() == path
}

/// A body that sends `chunk` forever, one piece per `every`.
fn endless(chunk: &'static [u8], every: Duration) -> Body {
    let stream = futures::stream::unfold((), move |()| async move {
        if !every.is_zero() {
            tokio::time::sleep(every).await;
        }
        Some((
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(chunk)),
            (),
        ))
    });
    Body::from_stream(stream)
}

fn html(status: StatusCode, body: impl Into<Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

/// Rewrites the JSON body of the token endpoint's successful answers.
async fn rewrite_tokens(req: Request, next: Next, edit: fn(&mut Value)) -> Response {
    let token = is(&req, Method::POST, "/token");
    let resp = next.run(req).await;
    if !token || resp.status() != StatusCode::OK {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    edit(&mut json);
    let mut resp = Response::from_parts(parts, Body::from(json.to_string()));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}

// ---------- cases ----------

fn no_fault(r: Router, _: Ctx) -> Router {
    r
}

fn token_never_answers(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::POST, "/token") {
                std::future::pending::<()>().await;
            }
            next.run(req).await
        })
    })
}

fn authorize_dribbles(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                return html(StatusCode::OK, endless(b"<", Duration::from_millis(200)));
            }
            next.run(req).await
        })
    })
}

fn everything_slow(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            next.run(req).await
        })
    })
}

fn huge_login_page(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                // 200 MB and more, as fast as the scanner reads.
                return html(StatusCode::OK, endless(&[b'a'; 64 * 1024], Duration::ZERO));
            }
            next.run(req).await
        })
    })
}

fn huge_token_header(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            let token = is(&req, Method::POST, "/token");
            let mut resp = next.run(req).await;
            if token {
                let big = "x".repeat(1 << 20);
                resp.headers_mut()
                    .insert("x-big", HeaderValue::from_str(&big).unwrap());
            }
            resp
        })
    })
}

fn authorize_loops(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                let query = req.uri().query().unwrap_or("").to_string();
                let to = format!("/authorize?{query}&again=1");
                return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
            }
            next.run(req).await
        })
    })
}

fn authorize_redirects_to_canary(r: Router, c: Ctx) -> Router {
    on(r, c, |ctx, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                let query = req.uri().query().unwrap_or("").to_string();
                let to = format!("{}/login?{query}", ctx.canary);
                return (StatusCode::FOUND, [(header::LOCATION, to)]).into_response();
            }
            next.run(req).await
        })
    })
}

fn metadata_names_canary(r: Router, c: Ctx) -> Router {
    on(r, c, |ctx, req, next| {
        Box::pin(async move {
            let meta = req.uri().path().starts_with("/.well-known/");
            let resp = next.run(req).await;
            if !meta {
                return resp;
            }
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            let mut json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            for key in ["token_endpoint", "userinfo_endpoint", "revocation_endpoint"] {
                if json.get(key).is_some() {
                    json[key] = Value::String(format!("{}/{key}", ctx.canary));
                }
            }
            axum::Json(json).into_response()
        })
    })
}

fn login_form_posts_to_canary(r: Router, c: Ctx) -> Router {
    on(r, c, |ctx, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                let page = format!(
                    "<html><title>Sign in</title><form method=post action=\"{}/login\"><input name=username><input type=password name=password><button>Sign in</button></form></html>",
                    ctx.canary
                );
                return html(StatusCode::OK, page);
            }
            next.run(req).await
        })
    })
}

fn nested_login_page(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                let page = format!(
                    "<title>Sign in</title>{}<form method=post><input name=u><input type=password name=p></form>",
                    "<div>".repeat(100_000)
                );
                return html(StatusCode::OK, page);
            }
            next.run(req).await
        })
    })
}

fn garbage_pages(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                let mut soup: Vec<u8> = Vec::new();
                for i in 0..20_000u32 {
                    let piece: &[u8] = match i % 9 {
                        0 => b"<form",
                        1 => b"<input type=password name=\xff\xfe",
                        2 => b"</table><tr><td",
                        3 => b"\"'<!--",
                        4 => b"<select><option>\xc3",
                        5 => b"<button formaction=//[::1>",
                        6 => b"<base href=\"javascript:1\">",
                        7 => b"&#x0;&#1114112;&amp",
                        _ => b"<svg><foreignObject><math><mi>",
                    };
                    soup.extend_from_slice(piece);
                }
                return html(StatusCode::OK, soup);
            }
            next.run(req).await
        })
    })
}

fn token_json_malformed(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::POST, "/token") {
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"access_token\": \"abc\", \"token_type\": \"Bearer\",",
                )
                    .into_response();
            }
            next.run(req).await
        })
    })
}

fn token_gzip_bomb(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::POST, "/token") {
                return (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    gzip_bomb(),
                )
                    .into_response();
            }
            next.run(req).await
        })
    })
}

/// 100 MB of zeros, gzipped (about 100 KB), made once by the system's gzip.
fn gzip_bomb() -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        std::process::Command::new("sh")
            .args(["-c", "head -c 104857600 /dev/zero | gzip -c"])
            .output()
            .map(|o| o.stdout)
            .unwrap_or_default()
    })
    .clone()
}

fn metadata_invalid_utf8(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            let meta = req.uri().path().starts_with("/.well-known/");
            let resp = next.run(req).await;
            if !meta {
                return resp;
            }
            let (parts, body) = resp.into_parts();
            let mut bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default()
                .to_vec();
            // An invalid byte inside a string value ("scopes_supported": ["open\xffid" ...).
            if let Some(at) = bytes.windows(6).position(|w| w == b"openid") {
                bytes.insert(at + 4, 0xff);
            }
            let mut resp = Response::from_parts(parts, Body::from(bytes));
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            resp
        })
    })
}

fn cookie_flood(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            let mut resp = next.run(req).await;
            for n in 0..60 {
                let value = format!(
                    "flood{n}_{}=v{}; Path=/",
                    oauthprobe::crypto::random_token(6),
                    oauthprobe::crypto::random_token(30)
                );
                if let Ok(v) = HeaderValue::from_str(&value) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            resp
        })
    })
}

fn escape_sequences(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/authorize") {
                let page = format!(
                    "<html><head><title>Sign in {ESCAPES}</title></head><body><h1>{ESCAPES}</h1><div role=alert>{ESCAPES}</div></body></html>"
                );
                return html(StatusCode::OK, page);
            }
            if is(&req, Method::POST, "/token") {
                let body = serde_json::json!({
                    "error": format!("invalid_grant{ESCAPES}"),
                    "error_description": ESCAPES,
                });
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
            next.run(req).await
        })
    })
}

fn huge_access_token(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(rewrite_tokens(req, next, |json| {
            if json.get("access_token").is_some() {
                json["access_token"] = Value::String(oauthprobe::crypto::random_token(3 << 20));
            }
        }))
    })
}

fn jwks_nested(r: Router, c: Ctx) -> Router {
    on(r, c, |_, req, next| {
        Box::pin(async move {
            if is(&req, Method::GET, "/jwks") {
                let body = format!(
                    "{{\"keys\":{}{}}}",
                    "[".repeat(100_000),
                    "]".repeat(100_000)
                );
                return (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response();
            }
            next.run(req).await
        })
    })
}

// ---------- expectations ----------

fn sign_in_failed_with(run: &Run, words: &[&str]) {
    let why = run.preflight_error();
    assert!(
        words.iter().any(|w| why.contains(w)),
        "the sign-in error names {words:?}: {why:?}"
    );
    assert_eq!(run.exit, Some(3), "{}", run.stderr);
    // Checks that need no user still ran and passed.
    assert_eq!(run.result("metadata-issuer-matches").0, "pass");
}

/// A token endpoint that answers 200 with no usable JSON to everything: the only failure is
/// the one it shows (an invalid code gets no JSON error), and nothing rests on its refusals.
fn token_endpoint_broken(run: &Run) {
    let (status, why) = run.result("token-endpoint-error-response");
    assert_eq!(status, "fail", "{why}");
    assert!(why.contains("issued no token"), "{why}");
    assert_eq!(run.count("fail"), 1, "{}", run.messages());
    let (status, why) = run.result("code-single-use");
    assert_eq!(status, "error", "{why}");
}

/// A certificate refused: nothing is learned, nothing passes, and the reason is in plain words.
fn tls_refused(run: &Run, words: &str) {
    assert!(
        run.preflight_error().contains(words),
        "{}",
        run.preflight_error()
    );
    assert_eq!(run.count("pass"), 0);
    assert_eq!(run.exit, Some(3), "{}", run.stderr);
}

fn deadline_named(run: &Run) {
    assert!(
        run.messages().contains("deadline"),
        "the deadline is named: {}",
        run.messages()
    );
    assert_eq!(run.exit, Some(3), "{}", run.stderr);
}

macro_rules! hostile {
    ($($test:ident: $case:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $test() {
            run_case(&$case).await;
        }
    )*};
}

hostile! {
    token_endpoint_that_never_answers: Case {
        name: "token-never-answers",
        fault: token_never_answers,
        tls_cert: None,
        args: &["--timeout", "2"],
        deadline_secs: 20,
        issues_tokens: false,
        expect: |run| {
            assert!(run.count("pass") > 0, "checks that need no token still pass");
            let (status, why) = run.result("code-single-use");
            assert_eq!(status, "error", "{why}");
        },
    };
    authorization_page_dribbled_a_byte_at_a_time: Case {
        name: "authorize-dribbles",
        fault: authorize_dribbles,
        tls_cert: None,
        args: &["--timeout", "2"],
        deadline_secs: 20,
        issues_tokens: false,
        expect: |run| sign_in_failed_with(run, &["did not answer", "timed out", "within"]),
    };
    every_answer_slower_than_the_deadline_allows: Case {
        name: "everything-slow",
        fault: everything_slow,
        tls_cert: None,
        args: &[],
        deadline_secs: 6,
        issues_tokens: false,
        expect: deadline_named,
    };
    login_page_of_endless_size: Case {
        name: "huge-login-page",
        fault: huge_login_page,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| sign_in_failed_with(run, &["larger than", "limit", "bytes"]),
    };
    token_answer_with_a_megabyte_header: Case {
        name: "huge-token-header",
        fault: huge_token_header,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| assert_eq!(run.result("code-single-use").0, "error"),
    };
    authorization_redirect_loop: Case {
        name: "authorize-loops",
        fault: authorize_loops,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| sign_in_failed_with(run, &["went around in circles"]),
    };
    authorization_redirect_to_another_origin: Case {
        name: "authorize-redirects-to-canary",
        fault: authorize_redirects_to_canary,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        // Read from the Location header, not followed: the canary saw nothing.
        expect: |run| sign_in_failed_with(run, &["so the scanner read the Location header and did not follow it"]),
    };
    metadata_endpoints_on_another_origin: Case {
        name: "metadata-names-canary",
        fault: metadata_names_canary,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| {
            assert!(run.preflight_error().contains("stops before sending any"), "{}", run.preflight_error());
            assert_eq!(run.count("pass"), 0);
        },
    };
    login_form_posting_to_another_origin: Case {
        name: "login-form-posts-to-canary",
        fault: login_form_posts_to_canary,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| sign_in_failed_with(run, &["origin", "outside"]),
    };
    login_page_nested_a_hundred_thousand_deep: Case {
        name: "nested-login-page",
        fault: nested_login_page,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| sign_in_failed_with(run, &["deeper than 256"]),
    };
    login_page_of_tag_soup_and_invalid_utf8: Case {
        name: "garbage-pages",
        fault: garbage_pages,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| sign_in_failed_with(run, &["no forms"]),
    };
    token_answer_of_truncated_json: Case {
        name: "token-json-malformed",
        fault: token_json_malformed,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: token_endpoint_broken,
    };
    token_answer_that_is_a_gzip_bomb: Case {
        name: "token-gzip-bomb",
        fault: token_gzip_bomb,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: token_endpoint_broken,
    };
    metadata_with_invalid_utf8: Case {
        name: "metadata-invalid-utf8",
        fault: metadata_invalid_utf8,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: true,
        // JSON text is UTF-8 (RFC 8259 §8.1): such a document is not metadata, and says why.
        expect: |run| {
            assert!(run.preflight_error().contains("not a JSON object"), "{}", run.preflight_error());
            assert_eq!(run.count("pass"), 0);
        },
    };
    sixty_new_cookies_on_every_answer: Case {
        name: "cookie-flood",
        fault: cookie_flood,
        tls_cert: None,
        args: &[],
        deadline_secs: 60,
        issues_tokens: true,
        expect: |run| {
            assert_eq!(run.result("code-single-use").0, "pass", "{}", run.result("code-single-use").1);
            assert_eq!(run.count("fail"), 0, "{}", run.messages());
        },
    };
    escape_sequences_in_pages_and_errors: Case {
        name: "escape-sequences",
        fault: escape_sequences,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| {
            assert!(run.preflight_error().contains("Sign in"), "{}", run.preflight_error());
            assert!(!run.stdout.contains('\u{1b}'));
        },
    };
    access_tokens_of_five_megabytes: Case {
        name: "huge-access-token",
        fault: huge_access_token,
        tls_cert: None,
        // Megabytes of token to redact in every exchange: slow in a debug build on a loaded
        // machine, so the per-request timeout is raised; the memory is what this case is about.
        args: &["--max-body", "8388608", "--timeout", "30"],
        deadline_secs: 120,
        issues_tokens: true,
        // Tokens were issued and read whole (the control passed); a check that then sends one
        // as a 4 MB Authorization header may find the lab closing the connection on it.
        expect: |run| {
            assert_eq!(run.preflight_error(), "");
            assert_eq!(run.count("fail"), 0, "{}", run.messages());
            assert!(run.count("pass") >= 80, "{}", run.messages());
        },
    };
    self_signed_certificate: Case {
        name: "tls-self-signed",
        fault: no_fault,
        tls_cert: Some("self-signed.pem"),
        args: &[],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| tls_refused(run, "is not trusted"),
    };
    certificate_for_another_name: Case {
        name: "tls-wrong-name",
        fault: no_fault,
        tls_cert: Some("wrong-name.pem"),
        args: &["--ca-cert", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/fixtures/tls/ca.pem")],
        deadline_secs: 30,
        issues_tokens: false,
        expect: |run| tls_refused(run, "does not name 127.0.0.1"),
    };
    jwks_nested_a_hundred_thousand_deep: Case {
        name: "jwks-nested",
        fault: jwks_nested,
        tls_cert: None,
        args: &[],
        deadline_secs: 30,
        issues_tokens: true,
        expect: |run| assert_ne!(run.result("oidc-id-token-signature-valid").0, "pass"),
    };
}
