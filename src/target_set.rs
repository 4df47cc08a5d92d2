//! The targets of one run: target files and directories of them (`scan --config a.toml
//! --config dir/`), each target named once, in name order, and a shard's share of them
//! (`--shard I/N`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::target::Target;

/// `--shard I/N`: the I-th of N shares of the targets, I counted from 1 (as Playwright and
/// Jest count theirs; a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` is I - 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = "it is I/N: the I-th of N shares, I from 1 to N, e.g. 1/3";
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not a shard: {usage}"))?;
        let parse = |part: &str| part.trim().parse::<usize>().ok();
        let (Some(index), Some(count)) = (parse(i), parse(n)) else {
            return Err(format!("`{s}` is not a shard: {usage}"));
        };
        if count == 0 {
            return Err(format!("`{s}`: there must be at least one shard (N >= 1)"));
        }
        if index == 0 || index > count {
            return Err(format!(
                "`{s}`: shards count from 1 to {count} (in a Kubernetes Indexed Job, pass $((JOB_COMPLETION_INDEX + 1))/{count})"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the target at `position` in name order is this shard's: the targets are dealt
    /// out in turn, so shards differ in size by at most one, never overlap, and together hold
    /// every target, on every machine that reads the same files.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// A target and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub target: Target,
}

/// Every target file that `--config` names: a file as it is, a directory as the `*.toml`
/// files directly in it, in name order; a file named twice (`--config dir/ --config
/// dir/a.toml`) is taken once.
pub fn expand(configs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    for config in configs {
        if !config.is_dir() {
            files.push(config.clone());
            continue;
        }
        let entries = std::fs::read_dir(config)
            .map_err(|e| format!("{}: cannot read the directory: {e}", config.display()))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.is_dir())
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{}: the directory holds no target files (*.toml)",
                config.display()
            ));
        }
        found.sort();
        files.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

/// Loads every file, then orders the targets by name. Every file that cannot be used is
/// named, not just the first; two targets of one name are an error, because the name is what
/// reports, merges and shards know a target by.
pub fn load(files: &[PathBuf]) -> Result<Vec<Loaded>, Vec<String>> {
    let mut errors = Vec::new();
    let mut by_name: BTreeMap<String, Loaded> = BTreeMap::new();
    for path in files {
        match Target::load(path) {
            Ok(target) => {
                if let Some(first) = by_name.get(&target.name) {
                    errors.push(duplicate_name(&target.name, &first.path, path));
                    continue;
                }
                by_name.insert(
                    target.name.clone(),
                    Loaded {
                        path: path.clone(),
                        target,
                    },
                );
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(by_name.into_values().collect())
    } else {
        Err(errors)
    }
}

fn duplicate_name(name: &str, first: &Path, second: &Path) -> String {
    format!(
        "{}: the target name `{name}` is also the name of {}; give each target file its own `name`",
        second.display(),
        first.display()
    )
}

/// The shard's targets, from all of them in name order.
pub fn share(targets: Vec<Loaded>, shard: Option<Shard>) -> Vec<Loaded> {
    match shard {
        None => targets,
        Some(shard) => targets
            .into_iter()
            .enumerate()
            .filter(|(position, _)| shard.holds(*position))
            .map(|(_, t)| t)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_spelling() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "-1/3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!(
            "0/3"
                .parse::<Shard>()
                .unwrap_err()
                .contains("JOB_COMPLETION_INDEX + 1")
        );
    }

    #[test]
    fn shards_never_overlap_and_cover_every_target() {
        for count in 1..=7 {
            for targets in 0..=20 {
                let mut held = vec![0; targets];
                for index in 1..=count {
                    let shard = Shard { index, count };
                    let mine: Vec<_> = (0..targets).filter(|p| shard.holds(*p)).collect();
                    assert!(mine.len() <= targets.div_ceil(count));
                    assert!(mine.len() >= targets / count);
                    for p in mine {
                        held[p] += 1;
                    }
                }
                assert!(held.iter().all(|&n| n == 1), "{count} shards, {targets}");
            }
        }
    }
}
