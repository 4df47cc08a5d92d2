//! JSON Lines: one JSON object per check, on a line of its own, written as each check ends
//! (`--format jsonl`). Each object is the check's entry in the JSON report's `results[]`, with
//! `target` (the target's name) first, so the lines of a run over several targets can be told
//! apart. Lines come in the order the checks end, not catalog order.

use std::io::Write;

use serde::Serialize;

use super::json;
use crate::engine::{CheckResult, Report, ScanEvent};

#[derive(Serialize)]
struct Line<'a> {
    target: &'a str,
    #[serde(flatten)]
    result: json::JsonResult<'a>,
}

/// One check's line, newline included.
pub fn line(target: &str, result: &CheckResult) -> String {
    let value = Line {
        target,
        result: json::result(result),
    };
    // Serialising plain structs of strings and numbers cannot fail.
    let mut out = json::escape_c1_controls(&serde_json::to_string(&value).unwrap_or_default());
    out.push('\n');
    out
}

/// Every result of a finished report, a line each, in catalog order.
pub fn render(report: &Report) -> String {
    report
        .results
        .iter()
        .map(|r| line(&report.target_name, r))
        .collect()
}

/// Writes a line per [`ScanEvent::CheckFinished`] as it comes, flushed at once, so a reader
/// (`tail -f`, `jq --seq`, a CI log) sees each result when its check ends.
pub struct Writer {
    out: Box<dyn Write + Send>,
    lines: usize,
    /// The first write that failed (a closed pipe, a full disk); nothing more is written.
    error: Option<std::io::Error>,
}

impl Writer {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Writer {
            out,
            lines: 0,
            error: None,
        }
    }

    pub fn event(&mut self, event: &ScanEvent) {
        let ScanEvent::CheckFinished { target, result } = event else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let text = line(target, result);
        match self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
        {
            Ok(()) => self.lines += 1,
            Err(e) => self.error = Some(e),
        }
    }

    /// How many lines were written, or the write error that stopped them.
    pub fn finish(mut self) -> Result<usize, std::io::Error> {
        let _ = self.out.flush();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.lines),
        }
    }
}
