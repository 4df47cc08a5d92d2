//! What a scan says on stderr while it runs, from its events ([`ScanEvent`]):
//! * on a terminal, one line redrawn in place (checks done / running / total and the names of
//!   those running), cleared when the scan ends, so only the report stays;
//! * elsewhere (a CI log, a pipe, a file), a plain line per finished check: id, status, ms;
//! * with `-v`, also a line per request as it is answered: method, URL, status, ms, as
//!   redacted as the evidence (the events carry nothing else: no header, no body);
//! * with `-q`, nothing.

use std::io::Write;
use std::sync::Arc;

use crate::engine::ScanEvent;
use crate::report::{term, terminal_line};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Nothing (`-q`).
    Quiet,
    /// One line redrawn in place: stderr is a terminal.
    Live,
    /// A line per finished check: stderr is not a terminal.
    Log,
}

impl Mode {
    /// `Quiet` under `-q`, else `Live` when stderr is a terminal, else `Log`.
    pub fn detect(quiet: bool) -> Mode {
        use std::io::IsTerminal;
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Live
        } else {
            Mode::Log
        }
    }
}

pub struct Progress<W: Write> {
    mode: Mode,
    verbose: bool,
    /// Name the target before each check: the run scans several.
    several_targets: bool,
    total: usize,
    done: usize,
    /// Checks under way, in the order they started.
    running: Vec<(Arc<str>, &'static str)>,
    /// Targets whose pre-flight runs (started, no check begun yet).
    preflight: Vec<Arc<str>>,
    /// The live line is on screen and must be cleared before anything else is written.
    drawn: bool,
    width: usize,
    out: W,
}

impl<W: Write> Progress<W> {
    /// `total`: the checks the run will finish (over all its targets).
    pub fn new(out: W, mode: Mode, verbose: bool, total: usize, several_targets: bool) -> Self {
        Progress {
            mode,
            verbose,
            several_targets,
            total,
            done: 0,
            running: Vec::new(),
            preflight: Vec::new(),
            drawn: false,
            width: term::terminal_width(term::Stream::Stderr)
                .or_else(term::columns_env)
                .unwrap_or(term::DEFAULT_WIDTH),
            out,
        }
    }

    /// The width the live line is cut to (the terminal's, found at the start).
    pub fn with_width(mut self, width: usize) -> Self {
        self.width = width.max(1);
        self
    }

    pub fn event(&mut self, event: &ScanEvent) {
        if self.mode == Mode::Quiet {
            return;
        }
        match event {
            ScanEvent::TargetStarted { target, .. } => {
                self.preflight.push(target.clone());
            }
            ScanEvent::CheckStarted { target, id } => {
                self.preflight.retain(|t| t != target);
                self.running.push((target.clone(), id));
            }
            ScanEvent::CheckFinished { target, result } => {
                self.preflight.retain(|t| t != target);
                let id = result.meta.id.as_str();
                if let Some(at) = self
                    .running
                    .iter()
                    .position(|(t, i)| t == target && *i == id)
                {
                    self.running.remove(at);
                }
                self.done += 1;
                if self.mode == Mode::Log {
                    let line = format!(
                        "[{}/{}] {}{id} {} {} ms",
                        self.done,
                        self.total,
                        self.prefix(target),
                        result.status.as_str(),
                        result.duration_ms
                    );
                    self.say(&line);
                }
            }
            ScanEvent::Request {
                target,
                method,
                url,
                status,
                error,
                via,
                elapsed_ms,
            } => {
                if !self.verbose {
                    return;
                }
                let answer = match (status, error, via) {
                    (_, _, Some(via)) => format!("via {via}"),
                    (Some(status), _, None) => status.to_string(),
                    (None, Some(error), None) => format!("no answer: {error}"),
                    (None, None, None) => "no answer".to_string(),
                };
                let line = format!(
                    "{}{method} {url} -> {answer} ({elapsed_ms} ms)",
                    self.prefix(target)
                );
                self.say(&line);
            }
        }
        if self.mode == Mode::Live {
            self.draw();
        }
    }

    fn prefix(&self, target: &str) -> String {
        if self.several_targets {
            format!("{}: ", terminal_line(target))
        } else {
            String::new()
        }
    }

    /// A line of its own, above the live line (which is drawn again after).
    fn say(&mut self, line: &str) {
        self.clear();
        // Server text (a URL, an error) is shown, never obeyed; one event, one line.
        let _ = writeln!(self.out, "{}", terminal_line(line));
        let _ = self.out.flush();
    }

    fn draw(&mut self) {
        let mut line = format!(
            "{}/{} checks done, {} running",
            self.done,
            self.total,
            self.running.len()
        );
        if !self.running.is_empty() {
            let names: Vec<String> = self
                .running
                .iter()
                .map(|(t, id)| format!("{}{id}", self.prefix(t)))
                .collect();
            line.push_str(": ");
            line.push_str(&names.join(", "));
        } else if !self.preflight.is_empty() {
            let names: Vec<String> = self.preflight.iter().map(|t| terminal_line(t)).collect();
            line.push_str(&format!(
                " (pre-flight: discovery and sign-in of {})",
                names.join(", ")
            ));
        }
        // One column spare: a line that fills the terminal exactly wraps on some of them.
        let line = term::truncate(&terminal_line(&line), self.width.saturating_sub(1));
        let _ = write!(self.out, "\r\x1b[2K{line}");
        let _ = self.out.flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(self.out, "\r\x1b[2K");
            self.drawn = false;
        }
    }

    /// The scan is over: the live line goes, so only the report stays.
    pub fn finish(&mut self) {
        self.clear();
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{CheckResult, Status};

    fn finished(id: &str, status: Status, ms: u64) -> ScanEvent {
        let meta = crate::catalog::find(id).unwrap();
        ScanEvent::CheckFinished {
            target: Arc::from("lab"),
            result: Box::new(CheckResult {
                meta,
                finding: crate::engine::Finding::judged(status),
                status,
                message: String::new(),
                duration_ms: ms,
                requests: 0,
                evidence: Vec::new(),
                waiver: None,
            }),
        }
    }

    fn started(id: &'static str) -> ScanEvent {
        ScanEvent::CheckStarted {
            target: Arc::from("lab"),
            id,
        }
    }

    #[test]
    fn log_mode_writes_a_line_per_finished_check() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, Mode::Log, false, 2, false);
        p.event(&started("pkce-verifier-required"));
        p.event(&finished("pkce-verifier-required", Status::Pass, 12));
        p.event(&finished("state-echoed", Status::Fail, 3));
        p.finish();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "[1/2] pkce-verifier-required pass 12 ms\n[2/2] state-echoed fail 3 ms\n"
        );
    }

    #[test]
    fn live_mode_redraws_one_line_cut_to_the_width_and_clears_it() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, Mode::Live, false, 3, false).with_width(40);
        p.event(&started("pkce-verifier-required"));
        p.event(&started("state-echoed"));
        p.event(&finished("pkce-verifier-required", Status::Pass, 12));
        p.finish();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains('\n'), "{text:?}");
        let frames: Vec<&str> = text.split("\r\x1b[2K").filter(|f| !f.is_empty()).collect();
        assert_eq!(
            frames.last(),
            Some(&"1/3 checks done, 1 running: state-echo…")
        );
        for f in &frames {
            assert!(term::width(f) < 40, "{f:?}");
        }
        assert!(text.ends_with("\r\x1b[2K"), "cleared at the end: {text:?}");
    }

    #[test]
    fn quiet_writes_nothing_and_verbose_adds_requests() {
        let request = ScanEvent::Request {
            target: Arc::from("lab"),
            method: "POST".into(),
            url: "http://127.0.0.1:1/token".into(),
            status: Some(400),
            error: None,
            via: None,
            elapsed_ms: 4,
        };
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, Mode::Quiet, true, 1, false);
        p.event(&request);
        p.event(&finished("pkce-verifier-required", Status::Pass, 1));
        p.finish();
        assert!(out.is_empty());
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, Mode::Log, true, 1, true);
        p.event(&request);
        p.finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "lab: POST http://127.0.0.1:1/token -> 400 (4 ms)\n"
        );
    }
}
