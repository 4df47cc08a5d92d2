//! `[login] mode = "manual"`: for one-off audits, the person at the terminal opens each
//! authorization URL in their own browser and pastes back the URL the browser ended at.

use std::sync::OnceLock;
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};
use tokio::sync::Mutex;
use url::Url;

use super::authorize::{AuthOutcome, FlowError};
use super::login::Walk;

const VIA: &str = "manual login";

fn stdin_lines() -> &'static Mutex<Lines<BufReader<Stdin>>> {
    static LINES: OnceLock<Mutex<Lines<BufReader<Stdin>>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(BufReader::new(tokio::io::stdin()).lines()))
}

fn failed(why: impl Into<String>) -> FlowError {
    FlowError::Delegated {
        via: VIA,
        why: why.into(),
    }
}

pub(crate) async fn authorize(walk: &Walk<'_>) -> Result<AuthOutcome, FlowError> {
    let mut lines = stdin_lines().lock().await;
    let started = Instant::now();
    let consent = walk.consent_word();
    eprintln!(
        "\n[oauthprobe] {step}\n\
         Open this URL in a browser, sign in as the test user and {consent} consent if asked:\n\
         \n    {url}\n\n\
         Then paste the URL the browser ended at (its address bar): the redirect back to the client,\n\
         or the server's own page if it stopped there.\n\
         URL> ",
        step = walk.step,
        url = walk.url,
    );
    let line = lines
        .next_line()
        .await
        .map_err(|e| failed(format!("cannot read standard input: {e}")))?
        .ok_or_else(|| failed("standard input ended before a URL was pasted"))?;
    let line = line.trim();
    if line.is_empty() {
        return Err(failed("an empty line was pasted instead of a URL"));
    }
    let url = Url::parse(line).map_err(|e| {
        failed(format!(
            "`{}` is not a URL ({e})",
            walk.http.redactor().redact(line)
        ))
    })?;
    let outcome = walk.outcome_at(url, None, None);
    walk.http.record_delegated(
        walk.step,
        &walk.url,
        &format!("{VIA}: {}", outcome.describe()),
        started.elapsed().as_millis() as u64,
    );
    Ok(outcome)
}
