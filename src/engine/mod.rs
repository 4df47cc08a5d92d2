//! The engine: pre-flight (discovery and one login), then every selected check, concurrently
//! and isolated from each other, with results put back in catalog order.

pub mod context;
pub mod events;
pub mod outcome;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Semaphore;

pub use context::Cx;
pub use events::{EventReceiver, EventSender, ScanEvent};
pub use outcome::{CheckResult, Outcome, Severity, Status};

use crate::catalog::{self, CheckMeta, Requirement};
use crate::flow::authorize::{AuthRequest, Consent};
use crate::flow::discovery::{self, Discovered};
use crate::flow::login::Navigator;
use crate::http::{CaFile, Limits, Politeness, ProxySetting, Redactor, ScanClient, TlsConfig};
use crate::probes;
use crate::target::Target;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub concurrency: usize,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub limits: Limits,
    pub insecure_tls: bool,
    /// Roots trusted besides the built-in ones (`--ca-cert`); the target file's `[tls] ca_cert`
    /// is read and added by [`connect`].
    pub ca_files: Vec<CaFile>,
    /// `--proxy`: the proxy every request goes through; `None`: none.
    pub proxy: Option<ProxySetting>,
    /// A check still running after this is ended with an error.
    pub check_timeout: Duration,
    /// Run the slow checks too (they wait minutes on a real server).
    pub slow: bool,
    /// How long the code-expiry check waits before redeeming its code.
    pub code_wait: Duration,
    /// The whole scan ends by then: what is still running ends in error. `None`: scaled to
    /// the checks selected ([`default_deadline`]).
    pub deadline: Option<Duration>,
    /// At most this many requests a second to one origin, across the whole scan (`--rps`);
    /// `None`: no limit.
    pub rps: Option<std::num::NonZeroU32>,
    /// How many times a request answered 429 or 503 is sent again (`--retries`); 0: never.
    pub retries: u32,
    /// Signed-in sessions (cookie jars) the checks share out, at most `concurrency`; `None`:
    /// as many as `concurrency`. Only the form login keeps more than one.
    pub sessions: Option<usize>,
    /// Set when this target is one of several scanned in one run ([`scan_all`]): the run's
    /// one bound on checks in flight, which every check and pre-flight also takes.
    pub shared: Option<SharedPermits>,
    /// Told of each check as it starts and ends and of each request as it is made
    /// ([`ScanEvent`]); `None`: no one listens.
    pub events: Option<EventSender>,
}

/// The permits of a run over several targets: `concurrency` of them, shared by every target.
#[derive(Debug, Clone)]
pub struct SharedPermits {
    permits: Arc<Semaphore>,
    /// How many targets hold them at once: a check may wait behind the others' checks, so
    /// the default deadline grows by as much.
    targets_at_once: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            concurrency: 4,
            only: Vec::new(),
            skip: Vec::new(),
            limits: Limits::default(),
            insecure_tls: false,
            ca_files: Vec::new(),
            proxy: None,
            check_timeout: Duration::from_secs(120),
            slow: false,
            code_wait: context::DEFAULT_CODE_WAIT,
            deadline: None,
            rps: None,
            retries: crate::http::client::DEFAULT_RETRIES,
            sessions: None,
            shared: None,
            events: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub target_name: String,
    pub issuer: String,
    pub started_at: SystemTime,
    pub duration: Duration,
    /// Set when the target could not be scanned at all.
    pub preflight_error: Option<String>,
    /// Certificates were not verified (`--insecure`): every report says so.
    pub insecure_tls: bool,
    /// The files whose certificates were trusted besides the built-in roots.
    pub ca_files: Vec<String>,
    /// The proxy every request went through (`--proxy`), without its credentials.
    pub proxy: Option<String>,
    /// Requests sent again after a 429 or 503 (each one is in its check's evidence, marked).
    pub retries: usize,
    pub results: Vec<CheckResult>,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }
}

/// Checks chosen by `--only` / `--skip`, each a check id, a family (`pkce`) or a glob over the
/// ids (`'pkce-*'`, `*` and `?`). An unknown id or family, a glob that matches nothing, or a
/// selection that leaves no check is a usage error.
pub fn select(only: &[String], skip: &[String]) -> Result<Vec<&'static CheckMeta>, String> {
    let only = only
        .iter()
        .map(|p| pattern_matches(p, "--only"))
        .collect::<Result<Vec<_>, _>>()?;
    let skip = skip
        .iter()
        .map(|p| pattern_matches(p, "--skip"))
        .collect::<Result<Vec<_>, _>>()?;
    let chosen: Vec<&'static CheckMeta> = catalog::catalog()
        .iter()
        .filter(|c| only.is_empty() || only.iter().any(|m| m.contains(&c.id.as_str())))
        .filter(|c| !skip.iter().any(|m| m.contains(&c.id.as_str())))
        .collect();
    if chosen.is_empty() {
        return Err(
            "the selection is empty: --only and --skip leave no check to run (see `oauthprobe checks`)"
                .to_string(),
        );
    }
    Ok(chosen)
}

/// The ids one `--only`/`--skip` value names.
fn pattern_matches(pattern: &str, flag: &str) -> Result<Vec<&'static str>, String> {
    let all = catalog::catalog();
    if let Some(c) = catalog::find(pattern) {
        return Ok(vec![c.id.as_str()]);
    }
    let family: Vec<&str> = all
        .iter()
        .filter(|c| c.family == pattern)
        .map(|c| c.id.as_str())
        .collect();
    if !family.is_empty() {
        return Ok(family);
    }
    if crate::suggest::is_glob(pattern) {
        let matched: Vec<&str> = all
            .iter()
            .filter(|c| crate::suggest::glob_match(pattern, &c.id))
            .map(|c| c.id.as_str())
            .collect();
        if matched.is_empty() {
            return Err(format!(
                "{flag} `{pattern}`: the glob matches no check id (see `oauthprobe checks`)"
            ));
        }
        return Ok(matched);
    }
    let mut families: Vec<&str> = all.iter().map(|c| c.family.as_str()).collect();
    families.dedup();
    let names = all.iter().map(|c| c.id.as_str()).chain(families);
    Err(format!(
        "unknown check id `{pattern}` in {flag}{}: give a check id, a family or a glob such as 'pkce-*' (see `oauthprobe checks`)",
        crate::suggest::hint(pattern, names)
    ))
}

/// A minute for the pre-flight, two seconds per check (a real server answers most checks in
/// well under a second), the code-expiry wait when it runs, and an hour per check when a
/// person signs in by hand. A hostile server that dribbles bytes or never answers cannot hold
/// an unattended scan longer than this.
pub fn default_deadline(
    checks: usize,
    opts: &ScanOptions,
    per_check_floor: Option<Duration>,
) -> Duration {
    let per_check = per_check_floor.unwrap_or(Duration::from_secs(2));
    let sharing = opts.shared.as_ref().map_or(1, |s| s.targets_at_once.max(1));
    let slow = if opts.slow {
        opts.code_wait
    } else {
        Duration::ZERO
    };
    Duration::from_secs(60) + per_check * (checks * sharing) as u32 + slow
}

/// A check the deadline ended while it ran.
fn stopped_by(deadline: Duration) -> Outcome {
    Outcome::error(format!(
        "stopped: {}",
        deadline_passed(deadline, "while it ran")
    ))
}

/// How long past the deadline the engine waits for a check that is busy rather than waiting
/// (its timeout fires only when it next awaits).
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// "the scan's deadline (N s) passed" and how to raise it.
fn deadline_passed(deadline: Duration, when: &str) -> String {
    format!(
        "the scan's deadline ({} s) passed {when}; raise it with --deadline SECONDS if the server is only slow",
        deadline.as_secs()
    )
}

pub async fn scan(target: Target, opts: ScanOptions) -> Result<Report, String> {
    let selected = select(&opts.only, &opts.skip)?;
    // In a run over several targets the pre-flight counts as one check in flight; its clock
    // starts when it may run.
    let preflight_permit = match &opts.shared {
        Some(shared) => Some(shared.permits.clone().acquire_owned().await),
        None => None,
    };
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let (client, navigator) = connect(&target, &opts)?;
    let name: Arc<str> = Arc::from(target.name.as_str());
    events::emit(&opts.events, || ScanEvent::TargetStarted {
        target: name.clone(),
        checks: selected.len(),
    });
    if let Some(tx) = opts.events.clone() {
        let name = name.clone();
        client.observe(Box::new(move |x| {
            let _ = tx.send(ScanEvent::Request {
                target: name.clone(),
                method: x.request.method.clone(),
                url: x.request.url.clone(),
                status: x.response.as_ref().map(|r| r.status),
                error: x.error.clone(),
                via: x.via.clone(),
                elapsed_ms: x.elapsed_ms,
            });
        }));
    }
    let (insecure_tls, ca_files) = (client.tls().insecure, client.tls().ca_paths());
    let navigator = Arc::new(navigator);
    let check_timeout = navigator
        .check_timeout_floor()
        .map_or(opts.check_timeout, |floor| floor.max(opts.check_timeout));
    let deadline = opts.deadline.unwrap_or_else(|| {
        default_deadline(selected.len(), &opts, navigator.check_timeout_floor())
    });
    let ends_at = tokio::time::Instant::now() + deadline;
    client.set_deadline(ends_at);
    let target = Arc::new(target);
    let preflight =
        match tokio::time::timeout_at(ends_at, preflight(&client, &target, &navigator)).await {
            Ok(preflight) => preflight,
            Err(_) => Err(deadline_passed(deadline, "during the pre-flight")),
        };
    // Discovery failed: nothing can run. Sign-in failed: only the checks that need no user.
    let (discovered, login_session, preflight_error, signed_in, no_token_control) = match preflight
    {
        Ok(p) => (
            Some(Arc::new(p.discovered)),
            Some(p.session),
            p.sign_in_error.clone(),
            p.sign_in_error.is_none(),
            p.no_token_control,
        ),
        Err(e) => (None, None, Some(e), false, None),
    };
    let pool = match (&login_session, &discovered) {
        (Some(primary), Some(discovered)) if signed_in => {
            let wanted = pool_size(&opts, &target);
            let more = tokio::time::timeout_at(
                ends_at,
                sign_in_more(&client, &target, &navigator, discovered, wanted - 1),
            )
            .await
            .unwrap_or_default();
            Arc::new(SessionPool::new(primary.clone(), more))
        }
        (Some(primary), _) => Arc::new(SessionPool::new(primary.clone(), Vec::new())),
        _ => Arc::new(SessionPool::new(client.session(), Vec::new())),
    };
    drop(preflight_permit);
    let run_permits = opts.shared.as_ref().map(|s| s.permits.clone());

    let semaphore = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = Vec::new();
    for meta in selected {
        let (Some(discovered), Some(_)) = (&discovered, &login_session) else {
            tasks.push((meta, None));
            continue;
        };
        if meta.sign_in && !signed_in {
            tasks.push((meta, None));
            continue;
        }
        if let Some(reason) = missing_requirement(meta, &target) {
            tasks.push((
                meta,
                Some(tokio::spawn(async move {
                    (Outcome::skip(reason), 0, Vec::new(), 0)
                })),
            ));
            continue;
        }
        if meta.slow && !opts.slow {
            let reason = format!(
                "a slow check (it waits {} s for a code to expire): run with --slow to include it",
                opts.code_wait.as_secs()
            );
            tasks.push((
                meta,
                Some(tokio::spawn(async move {
                    (Outcome::skip(reason), 0, Vec::new(), 0)
                })),
            ));
            continue;
        }
        let (target, discovered, navigator, pool) = (
            target.clone(),
            discovered.clone(),
            navigator.clone(),
            pool.clone(),
        );
        let code_wait = opts.code_wait;
        let (events, name) = (opts.events.clone(), name.clone());
        let permit_source = semaphore.clone();
        let run_permits = run_permits.clone();
        let timeout = if meta.slow {
            check_timeout + opts.code_wait
        } else {
            check_timeout
        };
        // A check that makes the server revoke whole grants (a code replay) takes every permit,
        // so no other check's code dies with it.
        let permits = if meta.exclusive {
            opts.concurrency.max(1) as u32
        } else {
            1
        };
        let handle = tokio::spawn(async move {
            let Ok(Ok(_permit)) =
                tokio::time::timeout_at(ends_at, permit_source.acquire_many_owned(permits)).await
            else {
                let why = deadline_passed(deadline, "before this check could start");
                return (Outcome::error(format!("not run: {why}")), 0, Vec::new(), 0);
            };
            // Then one of the run's permits, shared with the other targets' checks.
            let _run_permit = match run_permits {
                Some(permits) => {
                    match tokio::time::timeout_at(ends_at, permits.acquire_owned()).await {
                        Ok(Ok(permit)) => Some(permit),
                        _ => {
                            let why = deadline_passed(deadline, "before this check could start");
                            return (Outcome::error(format!("not run: {why}")), 0, Vec::new(), 0);
                        }
                    }
                }
                None => None,
            };
            // A signed-in session of its own while it runs: flows on one cookie jar go one at a
            // time (servers rotate the session cookie), so checks sharing one would queue.
            let lease = pool.take();
            events::emit(&events, || ScanEvent::CheckStarted {
                target: name,
                id: &meta.id,
            });
            let mut cx = Cx::new(
                target,
                discovered,
                lease.session().with_fresh_transcript(),
                navigator,
            );
            cx.code_wait = code_wait;
            let start = Instant::now();
            let own_end = tokio::time::Instant::now() + timeout;
            let outcome =
                match tokio::time::timeout_at(own_end.min(ends_at), probes::run(&meta.id, &cx))
                    .await
                {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(e)) => Outcome::error(e.to_string()),
                    Err(_) if own_end <= ends_at => Outcome::error(format!(
                        "the check did not finish within {}s",
                        timeout.as_secs()
                    )),
                    Err(_) => stopped_by(deadline),
                };
            let requests = cx.http.request_count();
            (
                outcome,
                start.elapsed().as_millis() as u64,
                cx.http.take_transcript(),
                requests,
            )
        });
        tasks.push((meta, Some(handle)));
    }
    // Each result as its check ends (for the events), put back in catalog order after.
    let ending = Ending {
        ends_at,
        deadline,
        preflight_error: preflight_error.as_deref(),
        no_token_control: no_token_control.as_deref(),
        redactor: client.redactor(),
    };
    let count = tasks.len();
    let mut ending: futures::stream::FuturesUnordered<_> = tasks
        .into_iter()
        .enumerate()
        .map(|(at, (meta, task))| {
            let ending = &ending;
            async move { (at, ending.settle(meta, task).await) }
        })
        .collect();
    let mut slots: Vec<Option<CheckResult>> = vec![None; count];
    while let Some((at, result)) = futures::StreamExt::next(&mut ending).await {
        events::emit(&opts.events, || ScanEvent::CheckFinished {
            target: name.clone(),
            result: Box::new(result.clone()),
        });
        if let Some(slot) = slots.get_mut(at) {
            *slot = Some(result);
        }
    }
    drop(ending);
    let results: Vec<CheckResult> = slots.into_iter().flatten().collect();
    // A browser that does not close is not worth waiting for past the deadline.
    let _ = tokio::time::timeout_at(
        ends_at.max(tokio::time::Instant::now()) + Duration::from_secs(5),
        navigator.close(),
    )
    .await;
    Ok(Report {
        target_name: target.name.clone(),
        issuer: target.issuer.as_str().trim_end_matches('/').to_string(),
        started_at,
        duration: clock.elapsed(),
        preflight_error: preflight_error
            .map(|e| crate::report::terminal_safe(&client.redactor().redact(&e))),
        insecure_tls,
        ca_files,
        proxy: opts.proxy.as_ref().map(ProxySetting::shown),
        retries: client.retries(),
        results,
    })
}

/// What a check ran in its task gives back: its outcome, milliseconds, evidence, requests.
type Ran = (Outcome, u64, Vec<crate::http::Exchange>, usize);

/// How each check's task is waited for and its result made, once all are spawned.
struct Ending<'a> {
    ends_at: tokio::time::Instant,
    deadline: Duration,
    preflight_error: Option<&'a str>,
    no_token_control: Option<&'a str>,
    redactor: &'a Redactor,
}

impl Ending<'_> {
    /// The check's result when its task ends (`None`: it could not run).
    async fn settle(
        &self,
        meta: &'static CheckMeta,
        task: Option<tokio::task::JoinHandle<Ran>>,
    ) -> CheckResult {
        let (outcome, duration_ms, evidence, requests) = match task {
            None => (
                Outcome::error(format!(
                    "not run: {}",
                    self.preflight_error
                        .map(cause_only)
                        .unwrap_or("the pre-flight did not complete")
                )),
                0,
                Vec::new(),
                0,
            ),
            // A check that cannot be cancelled at its deadline (busy, not waiting) is left.
            Some(mut handle) => {
                match tokio::time::timeout_at(self.ends_at + DEADLINE_GRACE, &mut handle).await {
                    Err(_) => {
                        handle.abort();
                        (stopped_by(self.deadline), 0, Vec::new(), 0)
                    }
                    Ok(Ok(r)) => r,
                    // A panicking check is a bug in oauthprobe; the others carry on.
                    Ok(Err(e)) => (
                        Outcome::error(format!("the check crashed (a bug in oauthprobe): {e}")),
                        0,
                        Vec::new(),
                        0,
                    ),
                }
            }
        };
        // A refusal proves something only next to a server that issues tokens when asked right.
        let outcome = match self.no_token_control {
            Some(why) if meta.token_control && outcome.status == Status::Pass => {
                Outcome::error(format!(
                    "not counted as a pass: {}; but {why}, so a refusal proves nothing here",
                    outcome.message
                ))
            }
            _ => outcome,
        };
        CheckResult {
            meta,
            status: outcome.status,
            // A message quotes the server (a page title, an error_description): every writer
            // gets it without the server's control characters.
            message: crate::report::terminal_safe(&self.redactor.redact(&outcome.message)),
            duration_ms,
            requests,
            evidence,
            waiver: None,
        }
    }
}

/// Scans several targets in one run, concurrently, under one bound: at most `concurrency`
/// checks (a pre-flight counting as one) are in flight across all of them, and at most
/// `concurrency` targets are under way at once. Each target's report is as [`scan`] makes it,
/// in the order given; each target's deadline starts when its pre-flight may run.
pub async fn scan_all(targets: Vec<Target>, opts: ScanOptions) -> Vec<Result<Report, String>> {
    let concurrency = opts.concurrency.max(1);
    let targets_at_once = targets.len().clamp(1, concurrency);
    let shared = SharedPermits {
        permits: Arc::new(Semaphore::new(concurrency)),
        targets_at_once,
    };
    let slots = Arc::new(Semaphore::new(targets_at_once));
    let scans: Vec<_> = targets
        .into_iter()
        .map(|target| {
            let name = target.name.clone();
            let opts = ScanOptions {
                shared: Some(shared.clone()),
                ..opts.clone()
            };
            let slots = slots.clone();
            let handle = tokio::spawn(async move {
                let _slot = slots.acquire_owned().await;
                scan(target, opts).await
            });
            (name, handle)
        })
        .collect();
    let mut reports = Vec::with_capacity(scans.len());
    for (name, handle) in scans {
        reports.push(match handle.await {
            Ok(report) => report,
            Err(e) => Err(format!(
                "the scan of `{name}` crashed (a bug in oauthprobe): {e}"
            )),
        });
    }
    reports
}

/// How many signed-in sessions the checks share out: one per check running at once (bounded
/// by `--sessions` for servers that limit sessions per user), and one alone where a delegate
/// signs in (a browser, a command, a person) rather than the scanner's own cookie jars.
fn pool_size(opts: &ScanOptions, target: &Target) -> usize {
    if !matches!(target.login.mode, crate::target::LoginMode::Form) {
        return 1;
    }
    let concurrency = opts.concurrency.max(1);
    opts.sessions.unwrap_or(concurrency).clamp(1, concurrency)
}

/// Signs `count` more sessions in, concurrently, each with a cookie jar of its own. One that
/// fails is left out: the checks then share fewer sessions, which is slower, not wrong.
async fn sign_in_more(
    client: &ScanClient,
    target: &Target,
    navigator: &Navigator,
    discovered: &Discovered,
    count: usize,
) -> Vec<crate::http::HttpSession> {
    let sign_ins = (0..count).map(|n| async move {
        let session = client.session();
        let step = format!("pre-flight: sign in session {} of the pool", n + 2);
        let (_, outcome) = sign_in_flow(&session, &step, target, navigator, discovered).await;
        let outcome = outcome.ok()?;
        let code = outcome.code()?;
        session.redactor().add(code);
        Some(session)
    });
    futures::future::join_all(sign_ins)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Signed-in sessions handed to one check at a time. When all are out (fewer sessions than
/// checks at once), a check shares the first one, whose flows then take turns.
struct SessionPool {
    primary: crate::http::HttpSession,
    idle: std::sync::Mutex<Vec<crate::http::HttpSession>>,
}

struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<crate::http::HttpSession>,
}

impl SessionPool {
    fn new(primary: crate::http::HttpSession, more: Vec<crate::http::HttpSession>) -> Self {
        let mut idle = more;
        idle.push(primary.clone());
        SessionPool {
            primary,
            idle: std::sync::Mutex::new(idle),
        }
    }

    fn take(&self) -> Lease<'_> {
        let session = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Lease {
            pool: self,
            session,
        }
    }
}

impl Lease<'_> {
    fn session(&self) -> &crate::http::HttpSession {
        self.session.as_ref().unwrap_or(&self.pool.primary)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(session);
        }
    }
}

/// The pre-flight error without the page dump and the advice, which the report carries once.
fn cause_only(error: &str) -> &str {
    [" [the page held", "; the page held", ". what to try"]
        .iter()
        .filter_map(|cut| error.find(cut))
        .min()
        .map_or(error, |at| &error[..at])
}

/// The hosts of the origins (what the browser login mode may resolve).
fn host_names(origins: &[url::Origin]) -> Vec<String> {
    let mut hosts: Vec<String> = origins
        .iter()
        .filter_map(|o| match o {
            url::Origin::Tuple(_, host, _) => Some(host.to_string()),
            url::Origin::Opaque(_) => None,
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn missing_requirement(meta: &CheckMeta, target: &Target) -> Option<String> {
    meta.requires.iter().find_map(|r| {
        let present = match r {
            Requirement::PublicClient => target.public_client.is_some(),
            Requirement::SecondClient => target.second_client.is_some(),
        };
        (!present).then(|| r.missing_reason().to_string())
    })
}

/// The origins the target file puts in scope: the issuer's, its endpoints', `[login] origins`.
fn target_origins(target: &Target) -> Vec<url::Origin> {
    let mut origins = vec![target.issuer.origin()];
    let ep = &target.endpoints;
    for url in [
        &ep.authorization,
        &ep.token,
        &ep.userinfo,
        &ep.revocation,
        &ep.jwks,
    ]
    .into_iter()
    .flatten()
    .chain(&target.login.extra_origins)
    {
        origins.push(url.origin());
    }
    origins
}

/// The HTTP client scoped to the target's origins, and the login mode's navigator.
pub fn connect(target: &Target, opts: &ScanOptions) -> Result<(ScanClient, Navigator), String> {
    let redactor = Arc::new(Redactor::new(target.secrets()));
    let origins = target_origins(target);
    let mut tls = TlsConfig {
        insecure: opts.insecure_tls,
        ca_files: opts.ca_files.clone(),
        proxy: opts.proxy.clone(),
    };
    if let Some(proxy) = &opts.proxy {
        for secret in proxy.secrets() {
            redactor.add(&secret);
        }
        if matches!(target.login.mode, crate::target::LoginMode::Browser(_)) {
            return Err("[login] mode = \"browser\" does not go through --proxy: Chromium signs in directly; sign in with the form login to watch the whole scan in the proxy, or leave --proxy out".to_string());
        }
    }
    if let Some(ca) = &target.ca_cert {
        tls.ca_files.push(
            CaFile::load(&ca.path).map_err(|e| format!("{}: `tls.ca_cert`: {e}", ca.set_at))?,
        );
    }
    if matches!(target.login.mode, crate::target::LoginMode::Browser(_)) && !tls.ca_files.is_empty()
    {
        return Err("[login] mode = \"browser\" cannot use --ca-cert or [tls] ca_cert: Chromium keeps its own trust store (on Linux the NSS database: certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n scan-ca -i FILE); add the CA there and leave --ca-cert out, or sign in with the form login".to_string());
    }
    let navigator = Navigator::new(&target.login, host_names(&origins), tls.insecure);
    let politeness = Politeness {
        rps: opts.rps,
        retries: opts.retries,
    };
    let client = ScanClient::with_politeness(origins, opts.limits, tls, redactor, politeness)
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
    Ok((client, navigator))
}

/// Reads the metadata and holds its endpoints to the scope the target file set: the issuer's
/// origin and the origins the file names. An endpoint elsewhere would receive the clients'
/// secrets, codes and the test user's password, so the scan stops before anything is sent
/// there (RFC 8414 §3.3: metadata whose issuer is not the one asked for MUST NOT be used).
pub async fn discover(
    client: &ScanClient,
    session: &crate::http::HttpSession,
    target: &Target,
) -> Result<Discovered, String> {
    let discovered = discovery::discover(session, target).await?;
    let ep = &discovered.endpoints;
    let named = [
        ("authorization", Some(&ep.authorization)),
        ("token", Some(&ep.token)),
        ("userinfo", ep.userinfo.as_ref()),
        ("revocation", ep.revocation.as_ref()),
        ("jwks", ep.jwks.as_ref()),
    ];
    for (what, url) in named {
        let Some(url) = url else { continue };
        if client.is_allowed(url) {
            continue;
        }
        let from = discovered
            .metadata_url
            .as_ref()
            .map_or("the metadata".to_string(), |u| {
                format!("the metadata at {u}")
            });
        let issuer = discovered.metadata["issuer"]
            .as_str()
            .map(|i| format!(" (it names the issuer {i:?})"))
            .unwrap_or_default();
        return Err(format!(
            "{from}{issuer} puts the {what} endpoint at {}, on {}, which is neither the issuer's origin nor one the target file names; the scanner would send secrets there, so it stops before sending any. If that origin belongs to the server, name it in the target file: [endpoints] {what} = \"{url}\", or add it to [login] origins",
            crate::http::redact::redact_by_name(url.as_str()),
            url.origin().ascii_serialization(),
        ));
    }
    Ok(discovered)
}

/// What to try when the scanner could not sign in, after the page it stopped on, as a sentence
/// (empty when there is nothing to add). `oauthprobe login` itself is the walk step by step, so
/// it passes `suggest_login = false`.
pub fn sign_in_advice(target: &Target, suggest_login: bool) -> String {
    let mode = target.login.mode.name();
    let mut tips: Vec<String> = Vec::new();
    if suggest_login {
        tips.push("run `oauthprobe login --config FILE` to see each step".into());
    }
    if mode == "form" {
        tips.push("if the page is not the one you expect, name its parts in [login] (username_field, password_field, form_selector, approve_button)".into());
        tips.push("if the page is built by JavaScript, set [login] mode = \"browser\"".into());
        tips.push("for single sign-on or a second factor, set [login] mode = \"command\" (README: Login modes)".into());
    }
    if tips.is_empty() {
        return String::new();
    }
    format!(". what to try: {}", tips.join("; "))
}

/// Why an authorization request for the pre-flight got no code, in the words a user needs.
pub fn no_code_reason(
    target: &Target,
    outcome: &crate::flow::authorize::AuthOutcome,
    suggest_login: bool,
) -> String {
    use crate::flow::authorize::AuthOutcome;
    let mut out = format!(
        "the authorization request for client `{}` did not return a code: the server {}",
        target.client.id,
        outcome.describe()
    );
    if let AuthOutcome::Page {
        page: Some(page), ..
    } = outcome
    {
        if let Some(message) = &page.message {
            out.push_str(&format!("; the page says {message:?}"));
        }
        out.push_str(&format!("; the page held: {}", page.describe_forms()));
    }
    if let AuthOutcome::Redirect { location, .. } = outcome {
        let elsewhere = location.origin() != target.client.redirect_url.origin()
            && !target_origins(target).contains(&location.origin());
        if elsewhere {
            out.push_str(&format!(
                "; {} is none of the target's origins, so the scanner read the Location header and did not follow it (name it in [login] origins if the sign-in really continues there)",
                location.origin().ascii_serialization()
            ));
        }
    }
    out.push_str(&sign_in_advice(target, suggest_login));
    out
}

/// Reads the metadata and signs the test user in once, so that later checks reuse the session.
/// The error, when there is one, is the sign-in's: the metadata was read, so the checks that
/// need no signed-in user can still run.
async fn preflight(
    client: &ScanClient,
    target: &Target,
    navigator: &Navigator,
) -> Result<Preflight, String> {
    let session = client.session();
    let discovered = discover(client, &session, target).await?;
    let (sign_in_error, no_token_control) =
        match sign_in(&session, target, navigator, &discovered).await {
            Ok(control) => (None, control),
            // No code, no control: a refusal seen without one proves nothing either.
            Err(e) => (
                Some(e),
                Some(
                    "the test user could not sign in, so the scanner never saw this server issue a token"
                        .to_string(),
                ),
            ),
        };
    Ok(Preflight {
        discovered,
        session,
        sign_in_error,
        no_token_control,
    })
}

struct Preflight {
    discovered: Discovered,
    session: crate::http::HttpSession,
    sign_in_error: Option<String>,
    /// Why the pre-flight's correct redemption of its code issued no tokens, if it did not.
    no_token_control: Option<String>,
}

/// The test user signing in on `session` as every pre-flight session does: an authorization
/// request of the target's client, consent given; the request (its verifier) and where the
/// server sent the browser.
async fn sign_in_flow(
    session: &crate::http::HttpSession,
    step: &str,
    target: &Target,
    navigator: &Navigator,
    discovered: &Discovered,
) -> (
    AuthRequest,
    Result<crate::flow::authorize::AuthOutcome, crate::flow::authorize::FlowError>,
) {
    let request = AuthRequest::for_client(&target.client);
    let outcome = navigator
        .authorize(
            session,
            step,
            &discovered.endpoints.authorization,
            &request,
            &target.client.redirect_url,
            Consent::Approve,
        )
        .await;
    (request, outcome)
}

/// Signs the test user in once, so that later checks reuse the session, and redeems the code
/// correctly: the control that every refusal-based pass is measured against. `Ok(Some(why))`:
/// signed in, but the server issued no tokens to that correct request.
async fn sign_in(
    session: &crate::http::HttpSession,
    target: &Target,
    navigator: &Navigator,
    discovered: &Discovered,
) -> Result<Option<String>, String> {
    let ep = &discovered.endpoints;
    let (request, outcome) = sign_in_flow(
        session,
        "pre-flight: sign in and obtain a code",
        target,
        navigator,
        discovered,
    )
    .await;
    let outcome =
        outcome.map_err(|e| format!("pre-flight: sign-in: {e}{}", sign_in_advice(target, true)))?;
    if outcome.code().is_none() {
        return Err(format!(
            "pre-flight: {}",
            no_code_reason(target, &outcome, true)
        ));
    }
    let client = &target.client;
    let issued = context::IssuedCode {
        code: outcome.code().unwrap_or_default().to_string(),
        request,
    };
    session.redactor().add(&issued.code);
    if let Some(v) = &issued.request.verifier {
        session.redactor().add(v);
    }
    let form = issued.redemption_form();
    let req = crate::flow::token::authenticated(client, ep.token.clone(), form);
    let control = crate::flow::token::send(
        session,
        "pre-flight: redeem the code correctly (the control for every refusal)",
        req,
    )
    .await;
    Ok(match control {
        Ok(resp) if resp.issued() => None,
        Ok(resp) => Some(format!(
            "the pre-flight's correct redemption of its code for client `{}` got {}",
            client.id,
            resp.describe()
        )),
        Err(e) => Some(format!(
            "the pre-flight's correct redemption of its code got no answer ({e})"
        )),
    })
}
