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

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}
