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

/// What a probe saw, never a verdict: the check's requirement met, not met (naming what it
/// breaks), not applicable, or could not tell. The verdict comes from the check's clauses and
/// the profile it is judged under ([`crate::profile::Profile::judge`]): not met under a MUST
/// of the profile is a fail, under a SHOULD a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Met,
    NotMet(Breaks),
    /// The check does not apply (skip), with the reason in the message.
    NotApplicable,
    /// The server neither advertises nor demonstrates a feature the check tests: n/a under a
    /// profile that leaves the feature optional, a fail under one that requires it.
    Unsupported(Feature),
    /// The scanner could not tell (error).
    Unknown,
}

#[cfg(test)]
impl Finding {
    /// A finding that `default` judges `status` (for tests that build results by hand).
    pub fn judged(status: Status) -> Finding {
        match status {
            Status::Pass => Finding::Met,
            Status::Fail => Finding::NotMet(Breaks::Check),
            Status::Warn => Finding::NotMet(Breaks::BestPractice),
            Status::Skip => Finding::NotApplicable,
            Status::Error => Finding::Unknown,
        }
    }
}

/// An optional feature of a server: a check of it counts only where the server advertises or
/// demonstrates it, unless the profile requires it (OAuch's rule: a standard counts when the
/// server supports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// Token revocation (RFC 7009): a revocation endpoint.
    Revocation,
    /// A userinfo endpoint (OpenID Connect Core §5.3).
    Userinfo,
    /// Refresh tokens (RFC 6749 §1.5, OPTIONAL for the server to issue).
    RefreshTokens,
}

impl Feature {
    pub const ALL: [Feature; 3] = [
        Feature::Revocation,
        Feature::Userinfo,
        Feature::RefreshTokens,
    ];

    /// Its name in a profile's `requires`.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Revocation => "revocation",
            Feature::Userinfo => "userinfo",
            Feature::RefreshTokens => "refresh-tokens",
        }
    }

    pub fn parse(name: &str) -> Option<Feature> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What a finding of "not met" breaks, so that a check with grades (some variants a MUST,
/// some a SHOULD) is judged by the clause each variant breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breaks {
    /// The check's requirement as a whole: every clause its document quotes.
    Check,
    /// Only these of the clauses its document quotes, each written `doc §section`, with the
    /// keyword after it where the document quotes the same section twice
    /// (`"RFC 9700 §2.1.1 RECOMMENDED"`).
    Clauses(&'static [&'static str]),
    /// No clause: a best practice the check's document describes. A warning at most.
    BestPractice,
}

/// What a check's probe concluded: a finding and one sentence naming the observed fact.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub finding: Finding,
    pub message: String,
}

impl Outcome {
    /// The requirement met.
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Finding::Met, message)
    }
    /// The requirement not met, shown by the evidence: every clause the check quotes broken.
    pub fn not_met(message: impl Into<String>) -> Self {
        Self::new(Finding::NotMet(Breaks::Check), message)
    }
    /// Not met, breaking only `clauses` of those the check quotes (see [`Breaks::Clauses`]).
    pub fn not_met_of(clauses: &'static [&'static str], message: impl Into<String>) -> Self {
        Self::new(Finding::NotMet(Breaks::Clauses(clauses)), message)
    }
    /// A best practice the check describes not followed, breaking no clause it quotes.
    pub fn best_practice_not_met(message: impl Into<String>) -> Self {
        Self::new(Finding::NotMet(Breaks::BestPractice), message)
    }
    /// The server neither advertises nor demonstrates `feature` (see [`Finding::Unsupported`]).
    pub fn unsupported(feature: Feature, message: impl Into<String>) -> Self {
        Self::new(Finding::Unsupported(feature), message)
    }
    pub fn skip(message: impl Into<String>) -> Self {
        Self::new(Finding::NotApplicable, message)
    }
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Finding::Unknown, message)
    }
    fn new(finding: Finding, message: impl Into<String>) -> Self {
        Self {
            finding,
            message: message.into(),
        }
    }
    /// Whether the probe reached a conclusion on the server (met or not).
    pub fn concluded(&self) -> bool {
        matches!(self.finding, Finding::Met | Finding::NotMet(_))
    }
}

/// One check's result in a report.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub meta: &'static crate::catalog::CheckMeta,
    /// What the probe saw; every profile judges it ([`crate::profile::Profile::judge`]).
    pub finding: Finding,
    /// The verdict under the report's profile ([`crate::engine::Report::profile`]).
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
        self.status == Status::Fail && !self.waived()
    }

    /// A baseline entry still in date accepts this check's finding.
    pub fn waived(&self) -> bool {
        self.waiver
            .as_ref()
            .is_some_and(|w| w.state == crate::baseline::WaiverState::Waived)
    }
}
