//! The process exit codes: the only place they are defined. `--help` (scan, demo) and the
//! README's table are made from [`ExitStatus::TABLE`] (a test holds the README to it).

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
    /// Every exit code with what it means, in the words `--help` and the README use.
    pub const TABLE: [(ExitStatus, &'static str); 4] = [
        (ExitStatus::Ok, "no check failed at or above `--fail-on`"),
        (
            ExitStatus::Failed,
            "at least one check failed at or above `--fail-on`",
        ),
        (
            ExitStatus::Usage,
            "usage or configuration error (the message names the file, line and key)",
        ),
        (
            ExitStatus::Incomplete,
            "the scan is incomplete: the target could not be scanned at all (unreachable, no metadata, login failed), or a check ended in `error`",
        ),
    ];

    /// The number the process exits with.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the code says, in the words of `--help` and the README's table (the reports'
    /// `exit_status.meaning`).
    pub fn meaning(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(status, _)| *status == self)
            .map_or("", |(_, meaning)| meaning)
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

/// The `Exit codes:` block after `oauthprobe scan --help` and `oauthprobe demo --help`.
pub fn help_text() -> String {
    let mut out = String::from("Exit codes:\n");
    for (status, meaning) in ExitStatus::TABLE {
        out.push_str(&format!(
            "  {}  {}\n",
            status.code(),
            meaning.replace('`', "")
        ));
    }
    out.push_str("  A failure outranks an incomplete scan: 1 wins over 3.\n");
    out
}

/// The README's `### Exit codes` table rows, `| code | meaning |`.
pub fn markdown_table() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for (status, meaning) in ExitStatus::TABLE {
        out.push_str(&format!("| {} | {meaning} |\n", status.code()));
    }
    out
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_every_status_once_in_code_order() {
        let codes: Vec<u8> = ExitStatus::TABLE.iter().map(|(s, _)| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        let help = help_text();
        for (status, _) in ExitStatus::TABLE {
            assert!(help.contains(&format!("  {}  ", status.code())), "{help}");
        }
    }
}
