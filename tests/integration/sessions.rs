//! The pool of signed-in sessions: with the form login, the pre-flight signs in one session per
//! check running at once, each with a cookie jar of its own, and every check's flows use one of
//! them; `--sessions` bounds the pool for servers that limit sessions per user. The lab counts
//! the signed-in session cookies the authorization endpoint sees.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use oauthprobe::engine::{self, ScanOptions, Status};
use oauthprobe::lab::{LabLayer, LabOptions};

use crate::common::spawn_lab_with;
use crate::scan::target_of;

type Seen = Arc<Mutex<HashSet<String>>>;

/// Records the `lab_session` cookie of every authorization request that carries one.
async fn record_sessions(State(seen): State<Seen>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/authorize" {
        let cookies = req
            .headers()
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix("lab_session="))
            .map(str::to_string)
            .collect::<Vec<_>>();
        seen.lock().unwrap().extend(cookies);
    }
    next.run(req).await
}

/// Scans the whole catalog with `concurrency` and `sessions`; returns how many signed-in
/// sessions the authorization endpoint saw.
async fn sessions_seen(concurrency: usize, sessions: Option<usize>) -> usize {
    let seen: Seen = Arc::default();
    let recorder = seen.clone();
    let lab = spawn_lab_with(LabOptions {
        layer: Some(LabLayer(Arc::new(move |router| {
            router.layer(from_fn_with_state(recorder.clone(), record_sessions))
        }))),
        ..LabOptions::default()
    })
    .await;
    let report = engine::scan(
        target_of(&lab),
        ScanOptions {
            concurrency,
            sessions,
            ..ScanOptions::default()
        },
    )
    .await
    .unwrap();
    // The same verdicts whatever the pool: all pass but the two usual skips.
    for r in &report.results {
        assert!(
            matches!(r.status, Status::Pass | Status::Skip),
            "{}: {:?} {}",
            r.meta.id,
            r.status,
            r.message
        );
    }
    assert_eq!(report.count(Status::Skip), 2);
    seen.lock().unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_check_running_at_once_has_a_signed_in_session_of_its_own() {
    // Checks that sign in from a fresh jar on purpose add sessions of their own; the pool's
    // are the difference between a pool of one and a pool of four.
    let alone = sessions_seen(4, Some(1)).await;
    let pooled = sessions_seen(4, None).await;
    assert_eq!(
        pooled,
        alone + 3,
        "a pool of 4 adds 3 sessions ({alone} -> {pooled})"
    );
    let bounded = sessions_seen(4, Some(2)).await;
    assert_eq!(
        bounded,
        alone + 1,
        "--sessions 2 adds one ({alone} -> {bounded})"
    );
}
