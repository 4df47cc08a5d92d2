//! Polite to real servers: the lab behind a layer that answers the first request to each path,
//! and every tenth request, with 429 Too Many Requests (Retry-After: 0), in the middle of
//! sign-ins and token exchanges too. The scan retries each one, ends with the verdicts of a
//! clean lab, and counts exactly the 429s the server sent; `--rps` and
//! `--retries` reach the engine from the command line.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use oauthprobe::engine::{self, Report, ScanOptions, Status};
use oauthprobe::lab::{LabLayer, LabOptions};
use oauthprobe::report::table::View;
use oauthprobe::report::{self, Format};

use crate::common::{oauthprobe, spawn_lab, spawn_lab_with};
use crate::scan::target_of;

/// The paths already seen, the requests received and how many 429s were sent.
#[derive(Clone, Default)]
struct Busy {
    seen: Arc<Mutex<HashSet<String>>>,
    received: Arc<AtomicUsize>,
    sent: Arc<AtomicUsize>,
}

/// 429 before the lab sees the request (so it was not processed), or the lab's answer.
async fn busy_at_times(State(busy): State<Busy>, req: Request, next: Next) -> Response {
    let first = busy
        .seen
        .lock()
        .unwrap()
        .insert(req.uri().path().to_string());
    let tenth = busy.received.fetch_add(1, Ordering::SeqCst) % 10 == 9;
    if !first && !tenth {
        return next.run(req).await;
    }
    busy.sent.fetch_add(1, Ordering::SeqCst);
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("0"));
    resp
}

fn verdicts(report: &Report) -> BTreeMap<String, Status> {
    report
        .results
        .iter()
        .map(|r| (r.meta.id.clone(), r.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_answering_429_first_gets_each_request_again_and_the_same_verdicts() {
    let clean_lab = spawn_lab(&[]).await;
    let clean = engine::scan(target_of(&clean_lab), ScanOptions::default())
        .await
        .expect("scan runs");
    assert_eq!(clean.retries, 0);

    let busy = Busy::default();
    let layer = busy.clone();
    let lab = spawn_lab_with(LabOptions {
        layer: Some(LabLayer(Arc::new(move |router: Router| {
            router.layer(from_fn_with_state(layer.clone(), busy_at_times))
        }))),
        ..LabOptions::default()
    })
    .await;
    let report = engine::scan(target_of(&lab), ScanOptions::default())
        .await
        .expect("scan runs");
    assert!(
        report.preflight_error.is_none(),
        "{:?}",
        report.preflight_error
    );
    let sent = busy.sent.load(Ordering::SeqCst);
    let received = busy.received.load(Ordering::SeqCst);
    assert!(
        sent >= 5 + received / 10,
        "the layer answered {sent} of {received} requests with 429"
    );
    assert_eq!(report.retries, sent, "one retry per 429");

    // The same verdicts as the clean lab: every check passes but the slow ones and those the
    // lab cannot exercise (checks/README.md), which skip.
    assert_eq!(verdicts(&report), verdicts(&clean));
    for r in &report.results {
        let unprovable =
            r.meta.slow || (r.meta.lab_weaknesses.is_empty() && r.meta.lab_warnings.is_empty());
        assert!(
            r.status == Status::Pass || (unprovable && r.status == Status::Skip),
            "{}: {} ({})",
            r.meta.id,
            r.status,
            r.message
        );
    }

    // Each retry is in its check's evidence after the 429 it answers: the same request (a
    // check's concurrent requests may come between them).
    let mut marked = 0;
    for r in &report.results {
        for (i, e) in r.evidence.iter().enumerate() {
            let Some(retry) = &e.retry else {
                continue;
            };
            marked += 1;
            assert!(retry.number >= 1 && retry.after_status == 429, "{retry:?}");
            assert_eq!(retry.wait_from, "Retry-After: 0 s");
            let same = |x: &oauthprobe::http::Exchange| {
                (&x.request.method, &x.request.url, &x.request.body)
                    == (&e.request.method, &e.request.url, &e.request.body)
            };
            assert!(
                r.evidence[..i]
                    .iter()
                    .any(|x| same(x) && x.response.as_ref().map(|x| x.status) == Some(429)),
                "{}: a retry with no 429 before it",
                r.meta.id
            );
        }
        assert!(r.evidence.iter().all(|e| e.not_retried.is_none()));
    }
    eprintln!(
        "the layer sent {sent} 429s to {received} requests; {marked} retries are in the checks' evidence"
    );
    // The pre-flight's retries are not in any check's evidence; the checks' are.
    assert!(marked > 0 && marked <= sent, "{marked} of {sent}");

    let table = report::render(&report, Format::Table, &View::default());
    let summary = table.lines().last().unwrap_or_default();
    assert!(summary.ends_with(&format!(", {sent} retries")), "{summary}");
    let json: serde_json::Value =
        serde_json::from_str(&report::render(&report, Format::Json, &View::default())).unwrap();
    assert_eq!(json["summary"]["retries"], sent);
    let clean_table = report::render(&clean, Format::Table, &View::default());
    assert!(!clean_table.contains("retr"), "{clean_table}");
}

#[test]
fn rps_and_retries_are_scan_options_with_bounds() {
    let out = oauthprobe()
        .args([
            "demo",
            "--rps",
            "200",
            "--retries",
            "0",
            "--only",
            "metadata-required-fields,code-single-use",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["pass"], 2, "{json}");
    assert_eq!(json["summary"]["retries"], 0);
    for bad in ["--rps=0", "--retries=11", "--rps=-1", "--retries=few"] {
        let out = oauthprobe().args(["demo", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        let name = bad.split('=').next().unwrap_or_default();
        assert!(err.contains(name), "{bad}: {err}");
    }
}
