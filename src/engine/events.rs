//! What a scan reports while it runs, for the progress line, `-v` and the JSON Lines writer:
//! [`ScanOptions::events`](super::ScanOptions::events) receives them as they happen. Every
//! event names its target, so the targets of one run ([`super::scan_all`]) can share a channel.

use std::sync::Arc;

use super::CheckResult;

pub type EventSender = tokio::sync::mpsc::UnboundedSender<ScanEvent>;
pub type EventReceiver = tokio::sync::mpsc::UnboundedReceiver<ScanEvent>;

#[derive(Debug, Clone)]
pub enum ScanEvent {
    /// The target's pre-flight begins (`checks`: how many checks are selected for it).
    TargetStarted { target: Arc<str>, checks: usize },
    /// A check got its turn and begins.
    CheckStarted { target: Arc<str>, id: &'static str },
    /// A check ended, with its result as the report holds it (message redacted, evidence
    /// recorded redacted). Sent once per selected check, checks that never ran included.
    CheckFinished {
        target: Arc<str>,
        result: Box<CheckResult>,
    },
    /// A request was answered (or failed), as recorded in the evidence: redacted.
    Request {
        target: Arc<str>,
        method: String,
        url: String,
        /// The HTTP status, or `None` when no answer came (`error` says why).
        status: Option<u16>,
        error: Option<String>,
        /// Who sent it, when not the scanner (a browser, a login command).
        via: Option<String>,
        elapsed_ms: u64,
    },
}

impl ScanEvent {
    pub fn target(&self) -> &str {
        match self {
            ScanEvent::TargetStarted { target, .. }
            | ScanEvent::CheckStarted { target, .. }
            | ScanEvent::CheckFinished { target, .. }
            | ScanEvent::Request { target, .. } => target,
        }
    }
}

/// Sends `event` when someone listens; a listener gone is not the scan's concern.
pub(crate) fn emit(events: &Option<EventSender>, event: impl FnOnce() -> ScanEvent) {
    if let Some(tx) = events {
        let _ = tx.send(event());
    }
}
