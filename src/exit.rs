//! The process exit codes: the only place they are defined.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// No check failed at or above the `--fail-on` severity.
    Ok = 0,
    /// At least one check failed at or above the `--fail-on` severity.
    Failed = 1,
    /// The command line or the target file is wrong.
    Usage = 2,
    /// The target could not be scanned at all (unreachable, no metadata, login failed).
    Incomplete = 3,
}

impl ExitStatus {
    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code says, in the words of `--help` and the README's table (the reports'
    /// `exit_status.meaning`).
    pub fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Ok => "no check failed at or above --fail-on",
            ExitStatus::Failed => "at least one check failed at or above --fail-on",
            ExitStatus::Usage => "usage or configuration error",
            ExitStatus::Incomplete => {
                "the scan is incomplete: a target could not be scanned, or a check ended in error"
            }
        }
    }

    /// The status of a run over several targets from two of theirs: a usage error over a
    /// failed check over an incomplete scan over success (as one target's own status ranks them).
    pub fn worst(self, other: ExitStatus) -> ExitStatus {
        let rank = |s: ExitStatus| match s {
            ExitStatus::Ok => 0,
            ExitStatus::Incomplete => 1,
            ExitStatus::Failed => 2,
            ExitStatus::Usage => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}
