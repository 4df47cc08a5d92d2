//! What the reference-server tests share: a server process that announces itself with one
//! "... listening on URL" line, a pinned virtualenv for the Python ones, and the judgement of a
//! scan against the table of every check's expected verdict.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use oauthprobe::catalog;
use oauthprobe::engine::{CheckResult, Report, Status};

/// The server process; killed (and reaped) when dropped, whatever the test did.
pub struct ReferenceServer {
    child: Child,
    /// The URL from its "listening on" line.
    pub url: String,
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` with stdin and stdout piped and stderr into `stderr_path`, and waits up to
/// `wait` for the line `{prefix}URL`; stdout is drained afterwards so the server never blocks.
pub fn start(
    mut cmd: Command,
    prefix: &'static str,
    stderr_path: &Path,
    wait: Duration,
) -> ReferenceServer {
    let stderr = std::fs::File::create(stderr_path).expect("create the server's stderr file");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut server = ReferenceServer {
        child,
        url: String::new(),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix(prefix) {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    match rx.recv_timeout(wait) {
        Ok(url) => server.url = url,
        Err(_) => {
            let status = server.child.try_wait().ok().flatten();
            let log = std::fs::read_to_string(stderr_path).unwrap_or_default();
            panic!(
                "{cmd:?} printed no \"{prefix}URL\" line within {} s (exit status: {status:?}); its stderr:\n{log}",
                wait.as_secs()
            );
        }
    }
    server
}

/// The python of `dir/.venv` when it has exactly the versions `dir/requirements.txt` pins for
/// `packages`, or why not.
pub fn pinned_venv_python(dir: &Path, packages: &[&str]) -> Result<PathBuf, String> {
    let python = dir.join(".venv/bin/python");
    let fix = format!(
        "python3 -m venv {0}/.venv && {0}/.venv/bin/pip install -r {0}/requirements.txt (scripts/test.sh does)",
        dir.display()
    );
    if !python.is_file() {
        return Err(format!("{} is missing: run {fix}", python.display()));
    }
    let requirements = std::fs::read_to_string(dir.join("requirements.txt"))
        .map_err(|e| format!("{}/requirements.txt: {e}", dir.display()))?;
    let script =
        format!("import importlib.metadata as m\nfor n in {packages:?}: print(m.version(n))");
    let out = Command::new(&python)
        .arg("-c")
        .arg(&script)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the virtualenv lacks {packages:?} ({}): run {fix}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let installed = String::from_utf8_lossy(&out.stdout).to_string();
    for (name, have) in packages.iter().zip(installed.lines()) {
        let want = requirements
            .lines()
            .filter_map(|l| l.trim().split_once("=="))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim());
        if want != Some(have.trim()) {
            return Err(format!(
                "the virtualenv has {name} {have}, requirements.txt pins {}: run {fix}",
                want.unwrap_or("nothing")
            ));
        }
    }
    Ok(python)
}

/// A verdict accepted besides the expected one, for a check whose verdict depends on how the
/// concurrent checks interleave: (check id, the other verdict, a text its message must contain).
pub type Alternative = (&'static str, Status, &'static str);

fn is_alternative(alternatives: &[Alternative], result: &CheckResult) -> bool {
    alternatives.iter().any(|(id, status, text)| {
        *id == result.meta.id && result.status == *status && result.message.contains(text)
    })
}

/// The scan agrees with `expected`: it lists every check of the catalog once; each verdict is
/// the expected one (or exactly one of `also_accepted`); every check that did not skip sent a
/// request; and the JSON report holds none of `secrets`. `log` explains a failure.
pub fn assert_verdicts(
    server: &str,
    report: &Report,
    expected: &[(&str, Status)],
    also_accepted: &[Alternative],
    secrets: &[&str],
    log: impl Fn() -> String,
) {
    assert!(
        report.preflight_error.is_none(),
        "pre-flight failed: {:?}\n{server}'s log:\n{}",
        report.preflight_error,
        log()
    );
    // The table covers the catalog exactly, so a new check must be judged here too.
    let mut listed: Vec<&str> = expected.iter().map(|(id, _)| *id).collect();
    let mut catalog_ids: Vec<&str> = catalog::catalog().iter().map(|c| c.id.as_str()).collect();
    listed.sort_unstable();
    catalog_ids.sort_unstable();
    assert_eq!(
        listed, catalog_ids,
        "EXPECTED must list every check of the catalog, once"
    );
    let mut wrong = Vec::new();
    for (id, want) in expected {
        let result = report
            .results
            .iter()
            .find(|r| r.meta.id == *id)
            .unwrap_or_else(|| panic!("no result for check {id}"));
        if result.status != *want && !is_alternative(also_accepted, result) {
            wrong.push(format!(
                "{id}: expected {want}, got {} ({})",
                result.status, result.message
            ));
        }
        assert!(
            result.requests > 0 || result.status == Status::Skip,
            "{id} sent no request"
        );
    }
    assert!(
        wrong.is_empty(),
        "verdicts against {server} changed:\n{}\n{server}'s log:\n{}",
        wrong.join("\n"),
        log()
    );
    // The report never carries the target's secrets, against a server we did not write either.
    let json = oauthprobe::report::json::render(report);
    for secret in secrets {
        assert!(
            !json.contains(secret),
            "a secret leaked into the JSON report"
        );
    }
}
