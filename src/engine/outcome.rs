//! Verdicts: severity belongs to the check, the verdict to one run of it.

use std::fmt;

use serde::Serialize;

use crate::http::transcript::Exchange;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `fail`: a MUST violated, shown by the evidence. `warn`: a SHOULD or best practice not met.
/// `skip`: the check does not apply, with the reason. `error`: the scanner could not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Skip,
    Error,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Skip,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check's probe concluded.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    /// One sentence naming the observed fact.
    pub message: String,
}

impl Outcome {
    pub fn pass(message: impl Into<String>) -> Self {
        Self {
            status: Status::Pass,
            message: message.into(),
        }
    }
    pub fn fail(message: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            message: message.into(),
        }
    }
    pub fn warn(message: impl Into<String>) -> Self {
        Self {
            status: Status::Warn,
            message: message.into(),
        }
    }
    pub fn skip(message: impl Into<String>) -> Self {
        Self {
            status: Status::Skip,
            message: message.into(),
        }
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            status: Status::Error,
            message: message.into(),
        }
    }
}

/// One check's result in a report.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub meta: &'static crate::catalog::CheckMeta,
    pub status: Status,
    pub message: String,
    pub duration_ms: u64,
    pub requests: usize,
    pub evidence: Vec<Exchange>,
    /// What the baseline (`--baseline`) said of this result, if it names the check.
    pub waiver: Option<crate::baseline::Applied>,
}

impl CheckResult {
    /// A fail that fails the gate: not waived by a baseline entry still in date.
    pub fn gates(&self) -> bool {
        self.status == Status::Fail
            && !self
                .waiver
                .as_ref()
                .is_some_and(|w| w.state == crate::baseline::WaiverState::Waived)
    }
}
