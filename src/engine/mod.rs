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
pub use outcome::{Breaks, CheckResult, Feature, Finding, Outcome, Severity, Status};

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
    /// The profiles `--profile` named: the verdicts are judged under the first (none:
    /// `default`), and a check outside every one of them is not run.
    pub profiles: Vec<&'static crate::profile::Profile>,
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
            profiles: Vec::new(),
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
    /// The pre-flight error is a mistake in the target file (a refused secret, an unknown
    /// client, a redirect_uri the server does not know): the scan exits 2, as for any
    /// configuration error.
    pub preflight_in_target_file: bool,
    /// Certificates were not verified (`--insecure`): every report says so.
    pub insecure_tls: bool,
    /// The files whose certificates were trusted besides the built-in roots.
    pub ca_files: Vec<String>,
    /// The proxy every request went through (`--proxy`), without its credentials.
    pub proxy: Option<String>,
    /// Requests sent again after a 429 or 503 (each one is in its check's evidence, marked).
    pub retries: usize,
    /// The profile the results' verdicts are judged under.
    pub profile: &'static crate::profile::Profile,
    pub results: Vec<CheckResult>,
}

impl Report {
    /// Fails the baseline waives: still fails, but they do not fail the gate.
    pub fn waived(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.status == Status::Fail && !r.gates())
            .count()
    }

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

/// The message of a check the pre-flight's failure kept from running: the report says the
/// cause once, as its pre-flight error, and the table folds these rows into one line.
pub const NOT_RUN_AFTER_PREFLIGHT: &str =
    "not run: the pre-flight did not get this far (see the pre-flight error)";

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
    let mut in_target_file = false;
    let mut control_done = None;
    let (discovered, login_session, preflight_error, control_code) = match preflight {
        Ok(p) => {
            let (error, code) = match (p.signed_in, p.target_file_error) {
                // A mistake in the target file ends the scan here: every check would only
                // repeat it.
                (_, Some(mistake)) => {
                    in_target_file = true;
                    (Some(mistake), None)
                }
                (Ok(code), None) => (None, Some(code)),
                (Err(e), None) => (Some(e), None),
            };
            control_done = p.control;
            let discovered = (!in_target_file).then(|| Arc::new(p.discovered));
            (discovered, Some(p.session), error, code)
        }
        Err(e) => (None, None, Some(e), None),
    };
    let signed_in = control_code.is_some();
    // The rest of the pre-flight (the control, the pool) runs beside the checks, which take
    // the run's permits themselves.
    drop(preflight_permit);
    let primary = login_session.clone().unwrap_or_else(|| client.session());

    // What becomes of each check, in catalog order (the results keep it).
    let plans: Vec<(&'static CheckMeta, Plan)> = selected
        .into_iter()
        .map(|meta| {
            (
                meta,
                plan(meta, &target, &opts, discovered.is_some(), signed_in),
            )
        })
        .collect();
    let running = plans.iter().filter(|(_, p)| matches!(p, Plan::Run)).count();
    let exclusive = plans
        .iter()
        .filter(|(meta, p)| meta.exclusive && matches!(p, Plan::Run))
        .count();
    // More sessions than checks to run would be sign-ins for nothing.
    let more_sessions = match &discovered {
        Some(_) if signed_in => pool_size(&opts, &target).min(running).saturating_sub(1),
        _ => 0,
    };
    let turns = Turns::new(opts.concurrency.max(1), exclusive);
    let pool = Arc::new(SessionPool::new(primary, more_sessions > 0));
    // The control redemption and the pool's sign-ins run while the checks start, holding the
    // gate shared like a check: no replay happens before the control's code is redeemed or
    // while a session is still being signed in.
    let preflight_turn = turns.gate.clone().read_owned().await;

    let mut jobs: Vec<Job> = plans
        .iter()
        .map(|(_, p)| match p {
            Plan::NotRun => Job::NotRun,
            Plan::Skip(reason) => Job::Done((Outcome::skip(reason.clone()), 0, Vec::new(), 0)),
            // Replaced by its task below (a check to run implies the metadata was read).
            Plan::Run => Job::NotRun,
        })
        .collect();
    if let Some(discovered) = &discovered {
        let env = Arc::new(CheckEnv {
            target: target.clone(),
            discovered: discovered.clone(),
            navigator: navigator.clone(),
            pool: pool.clone(),
            code_wait: opts.code_wait,
            check_timeout,
            ends_at,
            deadline,
            run_permits: opts.shared.as_ref().map(|s| s.permits.clone()),
            events: opts.events.clone(),
            name: name.clone(),
        });
        // The exclusive checks first: they go one after another, so theirs is the longest chain.
        let mut order: Vec<usize> = (0..plans.len())
            .filter(|&i| matches!(plans[i].1, Plan::Run))
            .collect();
        order.sort_by_key(|&i| (!plans[i].0.exclusive, !plans[i].0.sign_in));
        for i in order {
            let meta = plans[i].0;
            let (env, turns) = (env.clone(), turns.clone());
            let ticket = meta.exclusive.then(|| turns.lane_ticket());
            jobs[i] = Job::Spawned(tokio::spawn(async move {
                let ran = run_check(meta, &env, &turns).await;
                drop(ticket);
                ran
            }));
        }
    }

    // Why the control redemption issued no token, once it is known (`None`: it did).
    let control_verdict = Verdict::default();
    let rest_of_preflight = async {
        let control = async {
            match (&discovered, &control_code) {
                // Redeemed already, in the pre-flight, to tell a refused secret apart.
                (Some(_), Some(_)) if control_done.is_some() => control_done.clone().flatten(),
                (Some(discovered), Some(code)) => {
                    let control = redeem_control(&pool.primary, &target, discovered, code);
                    tokio::time::timeout_at(ends_at, control)
                        .await
                        .map(|(why, _)| why)
                        .unwrap_or_else(|_| {
                            Some(deadline_passed(
                                deadline,
                                "before the control redemption ended",
                            ))
                        })
                }
                (Some(_), None) => Some(NO_SIGN_IN_NO_CONTROL.to_string()),
                (None, _) => None,
            }
        };
        let fill = async {
            if let (Some(discovered), true) = (&discovered, more_sessions > 0) {
                let sign_ins = sign_in_more(
                    &client,
                    &target,
                    &navigator,
                    discovered,
                    &pool,
                    more_sessions,
                );
                let _ = tokio::time::timeout_at(ends_at, sign_ins).await;
            }
            pool.filled();
        };
        let (no_token_control, ()) = tokio::join!(control, fill);
        drop(preflight_turn);
        // Told to the checks' results as soon as it is known.
        let _ = control_verdict.set(no_token_control);
    };
    let redactor = client.redactor();
    let profile = opts
        .profiles
        .first()
        .copied()
        .unwrap_or_else(crate::profile::default_profile);
    let finish = |meta: &'static CheckMeta, ran: Ran, no_token_control: Option<&str>| {
        let (outcome, duration_ms, evidence, requests) = ran;
        // A refusal proves something only next to a server that issues tokens when asked right.
        let outcome = match no_token_control {
            Some(why) if meta.token_control && outcome.finding == Finding::Met => {
                Outcome::error(format!(
                    "not counted as a pass: {}; but {why}, so a refusal proves nothing here",
                    outcome.message
                ))
            }
            _ => outcome,
        };
        let (status, note) = profile.judge(meta, &outcome.finding);
        // A message quotes the server (a page title, an error_description): every writer gets
        // it without the server's control characters.
        let message = crate::report::terminal_safe(&redactor.redact(&outcome.message));
        CheckResult {
            meta,
            finding: outcome.finding,
            status,
            message: match note {
                Some(note) => format!("{note}: {message}"),
                None => message,
            },
            duration_ms,
            requests,
            evidence,
            waiver: None,
        }
    };
    // Each result as its check ends (for the events), put back in catalog order after.
    let collect = async {
        let count = plans.len();
        let mut ending: futures::stream::FuturesUnordered<_> = plans
            .iter()
            .zip(jobs)
            .enumerate()
            .map(|(at, ((meta, _), job))| {
                let (control_verdict, preflight_error, finish) =
                    (&control_verdict, preflight_error.as_deref(), &finish);
                async move {
                    let ran = match job {
                        // The cause is the report's pre-flight error, said once there.
                        Job::NotRun => (
                            Outcome::error(if preflight_error.is_some() {
                                NOT_RUN_AFTER_PREFLIGHT.to_string()
                            } else {
                                "not run: the pre-flight did not complete".to_string()
                            }),
                            0,
                            Vec::new(),
                            0,
                        ),
                        Job::Done(ran) => ran,
                        // A check that cannot be cancelled at its deadline (busy, not waiting)
                        // is left.
                        Job::Spawned(mut handle) => {
                            match tokio::time::timeout_at(ends_at + DEADLINE_GRACE, &mut handle)
                                .await
                            {
                                Err(_) => {
                                    handle.abort();
                                    (stopped_by(deadline), 0, Vec::new(), 0)
                                }
                                Ok(Ok(r)) => r,
                                // A panicking check is a bug in oauthprobe; the others carry on.
                                Ok(Err(e)) => (
                                    Outcome::error(format!(
                                        "the check crashed (a bug in oauthprobe): {e}"
                                    )),
                                    0,
                                    Vec::new(),
                                    0,
                                ),
                            }
                        }
                    };
                    // Only a pass of a token-control check waits for the control's verdict.
                    let verdict = if meta.token_control && ran.0.finding == Finding::Met {
                        control_verdict.wait().await.as_deref()
                    } else {
                        None
                    };
                    (at, finish(meta, ran, verdict))
                }
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
        slots.into_iter().flatten().collect::<Vec<CheckResult>>()
    };
    let ((), results) = tokio::join!(rest_of_preflight, collect);
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
        preflight_in_target_file: in_target_file,
        insecure_tls,
        ca_files,
        proxy: opts.proxy.as_ref().map(ProxySetting::shown),
        retries: client.retries(),
        profile,
        results,
    })
}

/// What the engine does with a selected check.
enum Plan {
    /// Not run: the pre-flight did not get as far as the check needs.
    NotRun,
    /// Skipped without a request, for this reason.
    Skip(String),
    Run,
}

fn plan(
    meta: &CheckMeta,
    target: &Target,
    opts: &ScanOptions,
    discovered: bool,
    signed_in: bool,
) -> Plan {
    use crate::profile::Level;
    if !opts.profiles.is_empty()
        && opts
            .profiles
            .iter()
            .all(|p| p.level(meta) == Level::NotApplicable)
    {
        let names: Vec<&str> = opts.profiles.iter().map(|p| p.name.as_str()).collect();
        return Plan::Skip(format!(
            "not run, being outside every profile named ({})",
            names.join(", ")
        ));
    }
    if !discovered || (meta.sign_in && !signed_in) {
        return Plan::NotRun;
    }
    if let Some(reason) = missing_requirement(meta, target) {
        return Plan::Skip(reason);
    }
    if meta.slow && !opts.slow {
        return Plan::Skip(format!(
            "a slow check (it waits {} s for a code to expire): run with --slow to include it",
            opts.code_wait.as_secs()
        ));
    }
    Plan::Run
}

/// A check's outcome, how long it ran (ms), its evidence and its request count.
type Ran = (Outcome, u64, Vec<crate::http::Exchange>, usize);

enum Job {
    NotRun,
    Done(Ran),
    Spawned(tokio::task::JoinHandle<Ran>),
}

/// What every check of one scan shares.
struct CheckEnv {
    target: Arc<Target>,
    discovered: Arc<Discovered>,
    navigator: Arc<Navigator>,
    pool: Arc<SessionPool>,
    code_wait: Duration,
    check_timeout: Duration,
    ends_at: tokio::time::Instant,
    deadline: Duration,
    /// In a run over several targets, the run's permits (one per check in flight).
    run_permits: Option<Arc<Semaphore>>,
    events: Option<EventSender>,
    /// The target's name, for the events.
    name: Arc<str>,
}

/// Runs one check on its turn, on a signed-in session of its own.
async fn run_check(meta: &'static CheckMeta, env: &CheckEnv, turns: &Turns) -> Ran {
    let not_run = || {
        let why = deadline_passed(env.deadline, "before this check could start");
        (Outcome::error(format!("not run: {why}")), 0, Vec::new(), 0)
    };
    // Its turn, in this order (see `Turns`): a slot, a session, the gate.
    let Ok(slot) = tokio::time::timeout_at(env.ends_at, turns.slot(meta.exclusive)).await else {
        return not_run();
    };
    // Then one of the run's permits, shared with the other targets' checks: after the slot
    // and before the gate, so that no check holds the gate while it waits for a permit.
    let _run_permit = match &env.run_permits {
        Some(permits) => {
            match tokio::time::timeout_at(env.ends_at, permits.clone().acquire_owned()).await {
                Ok(Ok(permit)) => Some(permit),
                _ => return not_run(),
            }
        }
        None => None,
    };
    // A signed-in session of its own while it runs: flows on one cookie jar go one at a
    // time (servers rotate the session cookie), so checks sharing one would queue.
    let Ok(lease) = tokio::time::timeout_at(env.ends_at, env.pool.take()).await else {
        return not_run();
    };
    events::emit(&env.events, || ScanEvent::CheckStarted {
        target: env.name.clone(),
        id: &meta.id,
    });
    let turn = if meta.exclusive {
        context::Turn::exclusive(turns.gate.clone())
    } else {
        let shared = turns.gate.clone().read_owned();
        let Ok(shared) = tokio::time::timeout_at(env.ends_at, shared).await else {
            return not_run();
        };
        context::Turn::shared(turns.gate.clone(), shared)
    };
    let timeout = if meta.slow {
        env.check_timeout + env.code_wait
    } else {
        env.check_timeout
    };
    let mut cx = Cx::new(
        env.target.clone(),
        env.discovered.clone(),
        lease.session().with_fresh_transcript(),
        env.navigator.clone(),
        turn,
    );
    cx.code_wait = env.code_wait;
    let start = Instant::now();
    let own_end = tokio::time::Instant::now() + timeout;
    let outcome =
        match tokio::time::timeout_at(own_end.min(env.ends_at), probes::run(&meta.id, &cx)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) => Outcome::error(e.to_string()),
            Err(_) if own_end <= env.ends_at => Outcome::error(format!(
                "the check did not finish within {}s",
                timeout.as_secs()
            )),
            Err(_) => stopped_by(env.deadline),
        };
    // An exclusive check's verdict rests on its replay or revocation, which must run alone.
    let outcome = match outcome.finding {
        Finding::Met | Finding::NotMet(_) if meta.exclusive && !cx.went_alone() => {
            Outcome::error(format!(
                "not counted: the check reached a verdict without running its replay or revocation alone (a bug in oauthprobe): {}",
                outcome.message
            ))
        }
        _ => outcome,
    };
    drop(slot);
    let requests = cx.http.request_count();
    (
        outcome,
        start.elapsed().as_millis() as u64,
        cx.http.take_transcript(),
        requests,
    )
}

/// Who runs when, on one target. A check takes, in this order and never the other way round,
/// its slot (one of `--concurrency` permits; the exclusive checks share one, taking turns in
/// their lane), then the gate, shared. [`Cx::alone`] trades the shared gate for the gate
/// alone and back, keeping the slot: nobody waits for the gate while holding it alone or
/// waits for a slot while holding the gate, so the waits cannot go round in a circle.
///
/// Why the lane: a check that replays a code or a refresh token, or revokes one, can make the
/// server revoke whole grants, so while it does and looks at what followed, no other check
/// may hold a code or token there; it runs that part alone. And what it obtains before that
/// part must not die in another exclusive check's replay: the exclusive checks run one at a
/// time, from their first request to their last.
#[derive(Clone)]
struct Turns {
    permits: Arc<Semaphore>,
    lane: Arc<Lane>,
    gate: Arc<tokio::sync::RwLock<()>>,
}

struct Lane {
    turn: Arc<tokio::sync::Mutex<()>>,
    /// Exclusive checks not ended yet; when none is left, the lane's permit goes back to the
    /// other checks.
    left: std::sync::atomic::AtomicUsize,
    permits: Arc<Semaphore>,
}

/// An exclusive check's place in the lane; dropped when the check ends (or is dropped).
struct LaneTicket(Arc<Lane>);

impl Drop for LaneTicket {
    fn drop(&mut self) {
        if self
            .0
            .left
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            == 1
        {
            self.0.permits.add_permits(1);
        }
    }
}

enum Slot {
    Permit(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit),
    Lane(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
}

impl Turns {
    /// `concurrency` checks at once; with exclusive checks, one of the permits is the lane's
    /// until the last of them ends.
    fn new(concurrency: usize, exclusive: usize) -> Self {
        let lane_permit = usize::from(exclusive > 0);
        let permits = Arc::new(Semaphore::new(concurrency.saturating_sub(lane_permit)));
        Turns {
            lane: Arc::new(Lane {
                turn: Arc::new(tokio::sync::Mutex::new(())),
                left: std::sync::atomic::AtomicUsize::new(exclusive),
                permits: permits.clone(),
            }),
            permits,
            gate: Arc::new(tokio::sync::RwLock::new(())),
        }
    }

    fn lane_ticket(&self) -> LaneTicket {
        LaneTicket(self.lane.clone())
    }

    /// Waits for a check's slot: a permit, or for an exclusive check its turn in the lane.
    async fn slot(&self, exclusive: bool) -> Slot {
        if exclusive {
            return Slot::Lane(self.lane.turn.clone().lock_owned().await);
        }
        match self.permits.clone().acquire_owned().await {
            Ok(permit) => Slot::Permit(permit),
            // The semaphore is never closed.
            Err(_) => std::future::pending().await,
        }
    }
}

/// A value set once and awaited by many (the control's verdict).
#[derive(Default)]
struct Verdict {
    value: std::sync::OnceLock<Option<String>>,
    set: tokio::sync::Notify,
}

impl Verdict {
    fn set(&self, value: Option<String>) -> Result<(), Option<String>> {
        let result = self.value.set(value);
        self.set.notify_waiters();
        result
    }

    async fn wait(&self) -> &Option<String> {
        loop {
            let notified = self.set.notified();
            if let Some(value) = self.value.get() {
                return value;
            }
            notified.await;
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

/// Signs `count` more sessions in, concurrently, each with a cookie jar of its own, and puts
/// each in the pool as soon as it is signed in. One that fails is left out: the checks then
/// share fewer sessions, which is slower, not wrong.
async fn sign_in_more(
    client: &ScanClient,
    target: &Target,
    navigator: &Navigator,
    discovered: &Discovered,
    pool: &SessionPool,
    count: usize,
) {
    let sign_ins = (0..count).map(|n| async move {
        let session = client.session();
        let step = format!("pre-flight: sign in session {} of the pool", n + 2);
        let (_, outcome) = sign_in_flow(&session, &step, target, navigator, discovered).await;
        let Some(code) = outcome.as_ref().ok().and_then(|o| o.code()) else {
            return;
        };
        session.redactor().add(code);
        pool.add(session);
    });
    futures::future::join_all(sign_ins).await;
}

/// Signed-in sessions handed to one check at a time. While the pool is still signing sessions
/// in, a check waits for one; when all are out (fewer sessions than checks at once), a check
/// shares the first one, whose flows then take turns.
struct SessionPool {
    primary: crate::http::HttpSession,
    idle: std::sync::Mutex<Vec<crate::http::HttpSession>>,
    /// More sessions are being signed in.
    filling: std::sync::atomic::AtomicBool,
    changed: tokio::sync::Notify,
}

struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<crate::http::HttpSession>,
}

impl SessionPool {
    fn new(primary: crate::http::HttpSession, filling: bool) -> Self {
        SessionPool {
            idle: std::sync::Mutex::new(vec![primary.clone()]),
            primary,
            filling: std::sync::atomic::AtomicBool::new(filling),
            changed: tokio::sync::Notify::new(),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<crate::http::HttpSession>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, session: crate::http::HttpSession) {
        self.idle().push(session);
        self.changed.notify_waiters();
    }

    /// No more sessions are coming.
    fn filled(&self) {
        self.filling
            .store(false, std::sync::atomic::Ordering::Release);
        self.changed.notify_waiters();
    }

    async fn take(&self) -> Lease<'_> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(session) = self.idle().pop() {
                return Lease {
                    pool: self,
                    session: Some(session),
                };
            }
            if !self.filling.load(std::sync::atomic::Ordering::Acquire) {
                return Lease {
                    pool: self,
                    session: None,
                };
            }
            changed.await;
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
            self.pool.add(session);
        }
    }
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
        match (&page.message, page.text.is_empty()) {
            (Some(message), _) => out.push_str(&format!("; the page says {message:?}")),
            // No message box: the start of what the page shows, in its own words (an error
            // page's title alone is often "something went wrong").
            (None, false) => {
                let text: String = page.text.chars().take(300).collect();
                out.push_str(&format!("; the page reads {text:?}"));
            }
            (None, true) => {}
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
/// need no signed-in user can still run. The code the sign-in got is redeemed later, as the
/// control ([`redeem_control`]), while the checks start.
async fn preflight(
    client: &ScanClient,
    target: &Target,
    navigator: &Navigator,
) -> Result<Preflight, String> {
    let session = client.session();
    let discovered = discover(client, &session, target).await?;
    // Each client's credentials tried once, beside the sign-in: a mistake in the target file
    // is said before any check runs, naming the key to fix.
    let (signed_in, credentials) = tokio::join!(
        sign_in(&session, target, navigator, &discovered),
        try_credentials(client, target, &discovered)
    );
    let mut target_file_error = match &signed_in {
        Err(SignInError::TargetFile(mistake)) => Some(mistake.clone()),
        _ => None,
    };
    let mut control = None;
    match credentials {
        Credentials::Refused(mistake) => target_file_error = target_file_error.or(Some(mistake)),
        // The server answers invalid_client even to the target's own client: only a real
        // code can tell a wrong secret from a server that says so of any bad code.
        Credentials::PrimaryDoubtful if target_file_error.is_none() => {
            if let Ok(code) = &signed_in {
                let (verdict, refused) = redeem_control(&session, target, &discovered, code).await;
                control = Some(verdict);
                if refused {
                    target_file_error = Some(refused_secret(
                        "client",
                        &target.client,
                        "the redemption of the code it was just issued",
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(Preflight {
        discovered,
        session,
        signed_in: signed_in.map_err(SignInError::into_message),
        target_file_error,
        control,
    })
}

struct Preflight {
    discovered: Discovered,
    session: crate::http::HttpSession,
    /// The code the sign-in obtained, or why it got none.
    signed_in: Result<context::IssuedCode, String>,
    /// A mistake in the target file the pre-flight proved: the scan stops there.
    target_file_error: Option<String>,
    /// The control redemption, when the pre-flight already made it (`Some(None)`: tokens).
    control: Option<Option<String>>,
}

/// Why the sign-in got no code.
enum SignInError {
    /// The server's answer names a mistake in the target file.
    TargetFile(String),
    Other(String),
}

impl SignInError {
    fn into_message(self) -> String {
        match self {
            SignInError::TargetFile(m) | SignInError::Other(m) => m,
        }
    }
}

/// What trying each client's credentials on the token endpoint showed.
enum Credentials {
    /// Nothing against the target file (or nothing could be told).
    Fine,
    /// The target's own client was refused too: see the control redemption.
    PrimaryDoubtful,
    /// Another client's credentials or id were refused where the target's own were not.
    Refused(String),
}

/// Sends each client of the target file a token request with a code that was never issued.
/// A server authenticates the client before it looks at the grant (RFC 6749 §3.2.1, §5.2:
/// `invalid_client` is "client authentication failed"), so an `invalid_client` to one client
/// where another gets `invalid_grant` is that client's credentials refused; the code is no
/// secret and redeems nothing.
async fn try_credentials(
    client: &ScanClient,
    target: &Target,
    discovered: &Discovered,
) -> Credentials {
    let url = &discovered.endpoints.token;
    let ask = |c: &crate::target::Client, public: bool| {
        let session = client.session();
        let form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            (
                "code".to_string(),
                format!("oauthprobe-never-issued-{}", crate::crypto::random_token(8)),
            ),
            ("redirect_uri".to_string(), c.redirect_url.to_string()),
        ];
        let req = if public {
            crate::flow::token::client_id_only(c, url.clone(), form)
        } else {
            crate::flow::token::authenticated(c, url.clone(), form)
        };
        async move {
            let step = "pre-flight: try the client's credentials with a code never issued";
            match crate::flow::token::send(&session, step, req).await {
                Ok(resp) => Some((resp.error() == Some("invalid_client"), resp.describe())),
                Err(_) => None,
            }
        }
    };
    let others: Vec<(&str, &crate::target::Client, bool)> = [
        ("second_client", target.second_client.as_ref(), false),
        ("public_client", target.public_client.as_ref(), true),
    ]
    .into_iter()
    .filter_map(|(table, c, public)| c.map(|c| (table, c, public)))
    .collect();
    let (primary, answers) = tokio::join!(
        ask(&target.client, false),
        futures::future::join_all(others.iter().map(|(_, c, public)| ask(c, *public)))
    );
    match primary {
        Some((false, _)) => {}
        Some((true, _)) => return Credentials::PrimaryDoubtful,
        None => return Credentials::Fine,
    }
    for ((table, c, public), answer) in others.iter().zip(answers) {
        if let Some((true, described)) = answer {
            let why = format!(
                "a token request, where `[client]` got past client authentication ({described})"
            );
            return Credentials::Refused(if *public {
                format!(
                    "the target file: `[{table}]` id `{}`: the server does not know it as a public client (invalid_client to {why}); check `[{table}] id` and that the client is registered with no secret (token_endpoint_auth_method none)",
                    c.id
                )
            } else {
                refused_secret(table, c, &why)
            });
        }
    }
    Credentials::Fine
}

/// "the target file: `[client]` id `X`: the server refused its credentials ...".
fn refused_secret(table: &str, c: &crate::target::Client, during: &str) -> String {
    format!(
        "the target file: `[{table}]` id `{}`: the server refused its credentials (invalid_client) to {during}; check `[{table}] secret` (or `secret_env`) and `[{table}] auth_method` (now {}), and that the id is the one registered",
        c.id,
        c.auth_method.as_str()
    )
}

/// Why a refusal proves nothing on this server when the sign-in failed: no code, no control.
const NO_SIGN_IN_NO_CONTROL: &str =
    "the test user could not sign in, so the scanner never saw this server issue a token";

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

/// Signs the test user in once, so that later checks reuse the session: the code it got.
async fn sign_in(
    session: &crate::http::HttpSession,
    target: &Target,
    navigator: &Navigator,
    discovered: &Discovered,
) -> Result<context::IssuedCode, SignInError> {
    let (request, outcome) = sign_in_flow(
        session,
        "pre-flight: sign in and obtain a code",
        target,
        navigator,
        discovered,
    )
    .await;
    let outcome = outcome.map_err(|e| {
        SignInError::Other(format!(
            "pre-flight: sign-in: {e}{}",
            sign_in_advice(target, true)
        ))
    })?;
    let Some(code) = outcome.code() else {
        if let Some(mistake) = target_file_mistake(target, &outcome) {
            return Err(SignInError::TargetFile(mistake));
        }
        return Err(SignInError::Other(format!(
            "pre-flight: {}",
            no_code_reason(target, &outcome, true)
        )));
    };
    let issued = context::IssuedCode {
        code: code.to_string(),
        request,
    };
    session.redactor().add(&issued.code);
    if let Some(v) = &issued.request.verifier {
        session.redactor().add(v);
    }
    Ok(issued)
}

/// The mistake in the target file that the authorization endpoint's answer names: an unknown
/// client or a redirect_uri it does not know (said on a page, RFC 6749 §4.1.2.1), or an
/// error redirect that only the registration can cause.
fn target_file_mistake(
    target: &Target,
    outcome: &crate::flow::authorize::AuthOutcome,
) -> Option<String> {
    use crate::flow::authorize::AuthOutcome;
    use crate::flow::error_page::{Misconfiguration, misconfiguration};
    let client = &target.client;
    let (found, said) = match outcome {
        AuthOutcome::Page { title, page, .. } => {
            let (message, text) = page
                .as_ref()
                .map_or((None, ""), |p| (p.message.as_deref(), p.text.as_str()));
            let said = message
                .map(str::to_string)
                .or_else(|| (!text.is_empty()).then(|| text.to_string()))
                .or_else(|| title.clone())
                .unwrap_or_default();
            (misconfiguration(title.as_deref(), message, text), said)
        }
        AuthOutcome::Redirect { params, .. } => {
            let error = params.get("error").map(String::as_str).unwrap_or("");
            let description = params
                .get("error_description")
                .map(String::as_str)
                .unwrap_or("");
            let said = format!("error={error} {description}").trim().to_string();
            match error {
                "unauthorized_client" => {
                    return Some(format!(
                        "the target file: `[client]` id `{}`: the server does not let this client use the authorization code flow (error=unauthorized_client{}); register the client for the `code` response type and the authorization_code grant, or name one that is",
                        client.id,
                        if description.is_empty() {
                            String::new()
                        } else {
                            format!(": {description}")
                        }
                    ));
                }
                "invalid_scope" => {
                    return Some(format!(
                        "the target file: `[client] scope` (`{}`): the server refused it (error=invalid_scope{}); give scopes the client is registered for",
                        client.scope,
                        if description.is_empty() {
                            String::new()
                        } else {
                            format!(": {description}")
                        }
                    ));
                }
                _ => (
                    misconfiguration(None, None, &format!("{error} {description}")),
                    said,
                ),
            }
        }
    };
    let said = crate::report::terminal_line(&said);
    let said: String = said.chars().take(200).collect();
    match found? {
        Misconfiguration::UnknownClient => Some(format!(
            "the target file: `[client] id`: the server does not know the client `{}` (it says: {said:?}); give the id the server registered",
            client.id
        )),
        Misconfiguration::RedirectUriRejected => Some(format!(
            "the target file: `[client] redirect_uris`: the server refused `{}` for the client `{}` (it says: {said:?}); the first of redirect_uris is the one sent, and it must be registered exactly",
            client.redirect_url, client.id
        )),
    }
}

/// Redeems the sign-in's code correctly: the control that every refusal-based pass is measured
/// against. `Some(why)`: the server issued no tokens to that correct request; `true` beside it
/// when it answered `invalid_client`, which for a code just issued to this client is its
/// credentials refused.
async fn redeem_control(
    session: &crate::http::HttpSession,
    target: &Target,
    discovered: &Discovered,
    issued: &context::IssuedCode,
) -> (Option<String>, bool) {
    let client = &target.client;
    let form = issued.redemption_form();
    let req = crate::flow::token::authenticated(client, discovered.endpoints.token.clone(), form);
    let control = crate::flow::token::send(
        session,
        "pre-flight: redeem the code correctly (the control for every refusal)",
        req,
    )
    .await;
    match control {
        Ok(resp) if resp.issued() => (None, false),
        Ok(resp) => (
            Some(format!(
                "the pre-flight's correct redemption of its code for client `{}` got {}",
                client.id,
                resp.describe()
            )),
            resp.error() == Some("invalid_client"),
        ),
        Err(e) => (
            Some(format!(
                "the pre-flight's correct redemption of its code got no answer ({e})"
            )),
            false,
        ),
    }
}
