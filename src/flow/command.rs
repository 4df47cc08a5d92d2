//! `[login] mode = "command"`: the user's program signs in (SSO, a second factor, a Playwright
//! script, a JSON login API) and reports where the server finally sent the browser.
//!
//! Protocol: the program gets the authorization URL in `OAUTHPROBE_AUTHORIZE_URL` and the
//! request's redirect_uri in `OAUTHPROBE_REDIRECT_URI`; it exits 0 and prints the URL the
//! server redirected to, or exits 3 and prints `URL TITLE` for the page where the server
//! stopped; any other exit means the login itself failed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use url::Url;

use super::authorize::{AuthOutcome, FlowError};
use super::login::Walk;
use crate::target::Login;

/// The exit status that means "the server showed its own page".
pub const EXIT_SERVER_PAGE: i32 = 3;
/// Bounds on the program: its run time and how much of its output is read.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
const OUTPUT_LIMIT: u64 = 64 * 1024;

const VIA: &str = "login command";

fn failed(why: impl Into<String>) -> FlowError {
    FlowError::Delegated {
        via: VIA,
        why: why.into(),
    }
}

async fn read_capped(stream: Option<impl AsyncRead + Unpin>) -> String {
    let mut out = Vec::new();
    if let Some(stream) = stream {
        let _ = stream.take(OUTPUT_LIMIT).read_to_end(&mut out).await;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|l| !l.is_empty())
}

pub(crate) async fn authorize(
    program: &str,
    login: &Login,
    walk: &Walk<'_>,
) -> Result<AuthOutcome, FlowError> {
    let started = Instant::now();
    let redirect_uri = walk
        .request
        .redirect_uri()
        .unwrap_or(walk.registered.as_str());
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(program)
        .env("OAUTHPROBE_AUTHORIZE_URL", walk.url.as_str())
        .env("OAUTHPROBE_REDIRECT_URI", redirect_uri)
        .env("OAUTHPROBE_CONSENT", walk.consent_word())
        .env("OAUTHPROBE_USERNAME", &login.username)
        .env("OAUTHPROBE_STEP", walk.step)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if !login.password.expose().is_empty() {
        command.env("OAUTHPROBE_PASSWORD", login.password.expose());
    }
    let mut child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start `sh -c {program}`: {e}")))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let run = async {
        let (out, err) = tokio::join!(read_capped(stdout), read_capped(stderr));
        let status = child.wait().await;
        (out, err, status)
    };
    let (out, err, status) = tokio::time::timeout(COMMAND_TIMEOUT, run)
        .await
        .map_err(|_| {
            failed(format!(
                "did not finish within {}s (it was killed)",
                COMMAND_TIMEOUT.as_secs()
            ))
        })?;
    let status = status.map_err(|e| failed(format!("waiting for it failed: {e}")))?;
    let redactor = walk.http.redactor();
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let code = status.code();
    let record = |what: &str| {
        walk.http.record_delegated(
            walk.step,
            &walk.url,
            &format!("{VIA} (exit {}): {what}", code.unwrap_or(-1)),
            elapsed_ms,
        )
    };
    let printed = last_line(&out);
    match code {
        Some(0) => {
            let Some(line) = printed else {
                record("printed nothing");
                return Err(failed(
                    "exited 0 but printed no URL on standard output (it must print the URL the server redirected to)",
                ));
            };
            let location = Url::parse(line).map_err(|e| {
                failed(format!(
                    "exited 0 but its last line `{}` is not a URL ({e})",
                    redactor.redact(line)
                ))
            })?;
            let outcome = AuthOutcome::redirect_to(location);
            record(&outcome.describe());
            Ok(outcome)
        }
        Some(EXIT_SERVER_PAGE) => {
            let Some(line) = printed else {
                record("printed nothing");
                return Err(failed(
                    "exited 3 but printed no line naming the page (expected `URL TITLE`)",
                ));
            };
            let (url, title) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let url = Url::parse(url).map_err(|e| {
                failed(format!(
                    "exited 3 but `{}` is not a URL ({e}); expected `URL TITLE`",
                    redactor.redact(url)
                ))
            })?;
            let title = Some(title.trim().to_string()).filter(|t| !t.is_empty());
            let outcome = AuthOutcome::Page {
                status: None,
                url,
                title,
                page: None,
            };
            record(&outcome.describe());
            Ok(outcome)
        }
        other => {
            let why = match other {
                Some(n) => format!("exit status {n}"),
                None => "killed by a signal".to_string(),
            };
            let said = last_line(&err)
                .or(printed)
                .map(|l| format!(": {}", redactor.redact(l)))
                .unwrap_or_default();
            record(&format!("the login failed ({why})"));
            Err(failed(format!("the login failed ({why}){said}")))
        }
    }
}
