//! The baseline: findings a team has accepted, each with a reason and an expiry date
//! (`scan --baseline FILE`). A waived fail does not fail the gate; a waiver past its date
//! waives nothing; a waiver whose check now passes is stale (and fails the gate with
//! `--strict-baseline`, as the OpenID Foundation suite treats expected failures that did not
//! happen). `oauthprobe baseline --from report.json` writes one from a report.
//!
//! ```toml
//! [[waiver]]
//! check = "pkce-s256-only"          # a check id
//! target = "staging"                # optional: only this target (its `name`); default every target
//! reason = "the legacy app sends plain until it is retired (SEC-142)"
//! expires = "2027-03-01"            # the first day it no longer holds
//! owner = "identity-team"           # optional
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::catalog;
use crate::engine::{Report, Status};
use crate::target::ConfigError;

#[derive(Debug, Clone)]
pub struct Baseline {
    pub path: PathBuf,
    pub waivers: Vec<Waiver>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub check: String,
    pub target: Option<String>,
    pub reason: String,
    /// `YYYY-MM-DD`: the first day on which the waiver no longer holds.
    pub expires: String,
    pub owner: Option<String>,
    /// `file:line` of its `[[waiver]]`, for the reports.
    pub set_at: String,
}

/// What a waiver did to one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaiverState {
    /// A fail or warn accepted: a fail then does not fail the gate.
    Waived,
    /// A fail or warn whose waiver is past its date: it counts as if there were no waiver.
    Expired,
    /// The check passes: the waiver is no longer needed.
    Stale,
}

impl WaiverState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverState::Waived => "waived",
            WaiverState::Expired => "expired",
            WaiverState::Stale => "stale",
        }
    }
}

/// A waiver as it applied to a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub state: WaiverState,
    pub waiver: Waiver,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    #[serde(default)]
    waiver: Vec<Spanned<WaiverEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverEntry {
    check: Spanned<String>,
    target: Option<String>,
    reason: Spanned<String>,
    expires: Spanned<String>,
    owner: Option<String>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: None,
            message: format!("cannot read the baseline: {e}"),
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Baseline, ConfigError> {
        let at = |offset: usize, message: String| ConfigError {
            path: path.to_path_buf(),
            line: Some(crate::target::line_of(text, offset)),
            message,
        };
        let file: BaselineFile = toml::from_str(text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            line: e.span().map(|s| crate::target::line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        let mut waivers = Vec::new();
        for entry in file.waiver {
            let line = crate::target::line_of(text, entry.span().start);
            let entry = entry.into_inner();
            let check = entry.check.get_ref();
            if catalog::find(check).is_none() {
                let hint =
                    crate::suggest::hint(check, catalog::catalog().iter().map(|c| c.id.as_str()));
                return Err(at(
                    entry.check.span().start,
                    format!("`check`: unknown check id `{check}` (see `oauthprobe checks`){hint}"),
                ));
            }
            if entry.reason.get_ref().trim().is_empty() {
                return Err(at(
                    entry.reason.span().start,
                    "`reason` is empty: say why the finding is accepted".to_string(),
                ));
            }
            let expires = entry.expires.get_ref();
            if !is_date(expires) {
                return Err(at(
                    entry.expires.span().start,
                    format!("`expires`: `{expires}` is not a date YYYY-MM-DD"),
                ));
            }
            waivers.push(Waiver {
                check: check.clone(),
                target: entry.target,
                reason: entry.reason.into_inner(),
                expires: expires.clone(),
                owner: entry.owner,
                set_at: format!("{}:{line}", path.display()),
            });
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            waivers,
        })
    }

    /// Marks the results the waivers speak of, in every report of a run, as of `today`
    /// (`YYYY-MM-DD`). Returns the waivers that are stale over the whole run: they matched a
    /// result, and every result they matched passed.
    pub fn apply(&self, reports: &mut [Report], today: &str) -> Vec<Waiver> {
        let mut stale = Vec::new();
        for waiver in &self.waivers {
            let (mut matched, mut needed) = (false, false);
            for report in reports.iter_mut() {
                if waiver
                    .target
                    .as_ref()
                    .is_some_and(|t| *t != report.target_name)
                {
                    continue;
                }
                for result in report
                    .results
                    .iter_mut()
                    .filter(|r| r.meta.id == waiver.check)
                {
                    let state = match result.status {
                        Status::Fail | Status::Warn if waiver.expires.as_str() <= today => {
                            WaiverState::Expired
                        }
                        Status::Fail | Status::Warn => WaiverState::Waived,
                        Status::Pass => WaiverState::Stale,
                        // Not run, or undecided: the waiver is neither used nor disproved.
                        Status::Skip | Status::Error => continue,
                    };
                    matched = true;
                    needed |= state != WaiverState::Stale;
                    result.waiver = Some(Applied {
                        state,
                        waiver: waiver.clone(),
                    });
                }
            }
            if matched && !needed {
                stale.push(waiver.clone());
            }
        }
        stale
    }
}

/// `YYYY-MM-DD`, a real day of the Gregorian calendar.
fn is_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Today in UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    date_of(std::time::SystemTime::now())
}

pub fn date_of(t: std::time::SystemTime) -> String {
    crate::report::rfc3339(t).chars().take(10).collect()
}

/// A baseline accepting every fail and warn of a JSON report (one target's, or a run's), for
/// a team adopting the scanner on a server with known findings. Every entry carries the same
/// reason and expiry; the finding's own message is a comment above it.
pub fn from_report(
    report: &serde_json::Value,
    source: &str,
    reason: &str,
    expires: &str,
    owner: Option<&str>,
) -> Result<String, String> {
    let reports: Vec<&serde_json::Value> = match report.get("reports") {
        Some(serde_json::Value::Array(all)) => all.iter().collect(),
        _ if report["results"].is_array() => vec![report],
        _ => {
            return Err(format!(
                "{source}: neither `results` (one target's report) nor `reports` (a run's document): write it with --format json"
            ));
        }
    };
    if !is_date(expires) {
        return Err(format!("--expires {expires}: not a date YYYY-MM-DD"));
    }
    let several = reports.len() > 1 || report.get("reports").is_some();
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut out = format!(
        "# oauthprobe baseline, from {} on {}: every fail and warn of that report, accepted.\n# Review each entry: give it its own reason, owner and date, or fix the finding and delete it.\n",
        crate::report::terminal_line(source),
        today()
    );
    let mut count = 0;
    for r in reports {
        let target = r["target"]["name"].as_str().unwrap_or("");
        for result in r["results"].as_array().into_iter().flatten() {
            let status = result["status"].as_str().unwrap_or("");
            if status != "fail" && status != "warn" {
                continue;
            }
            let id = result["id"].as_str().unwrap_or("");
            if catalog::find(id).is_none() {
                continue;
            }
            count += 1;
            out.push_str(&format!(
                "\n# {status}, {}: {}\n[[waiver]]\ncheck = {}\n",
                result["severity"].as_str().unwrap_or(""),
                crate::report::terminal_line(result["message"].as_str().unwrap_or("")),
                quote(id)
            ));
            if several {
                out.push_str(&format!("target = {}\n", quote(target)));
            }
            out.push_str(&format!(
                "reason = {}\nexpires = {}\n",
                quote(reason),
                quote(expires)
            ));
            if let Some(owner) = owner {
                out.push_str(&format!("owner = {}\n", quote(owner)));
            }
        }
    }
    if count == 0 {
        out.push_str("\n# The report has no fail and no warn: nothing to accept.\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        for good in ["2026-12-02", "2028-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2026-13-01",
            "2027-02-29",
            "1900-02-29",
            "2026-1-01",
            "26-12-02",
            "x",
            "",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        assert_eq!(
            date_of(std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)),
            "2000-02-29"
        );
    }

    #[test]
    fn unknown_ids_and_missing_fields_name_the_line() {
        let e = Baseline::parse(
            Path::new("b.toml"),
            "[[waiver]]\ncheck = \"code-single-use\"\nreason = \"r\"\nexpires = \"2030-01-01\"\n\n[[waiver]]\ncheck = \"code-single-usee\"\nreason = \"r\"\nexpires = \"2030-01-01\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("b.toml:7:") && e.contains("did you mean `code-single-use`?"),
            "{e}"
        );
        let e = Baseline::parse(
            Path::new("b.toml"),
            "[[waiver]]\ncheck = \"code-single-use\"\nexpires = \"2030-01-01\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("reason"), "{e}");
        let e = Baseline::parse(
            Path::new("b.toml"),
            "[[waiver]]\ncheck = \"code-single-use\"\nreason = \"r\"\nexpires = \"2030-02-30\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("b.toml:4:") && e.contains("not a date"),
            "{e}"
        );
    }
}
