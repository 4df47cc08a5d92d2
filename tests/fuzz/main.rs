//! Property and fuzz tests on stable Rust: a seeded generator (`fastrand`), structure-aware
//! inputs, and one `#[test]` per target that keeps generating cases until its budget is spent.
//!
//! * `OAUTHPROBE_FUZZ_SECONDS`: how long each target generates cases (default 3; `0` runs only
//!   the minimum number of cases). A work budget, never a timing assertion.
//! * `OAUTHPROBE_FUZZ_SEED`: the base seed (decimal or `0x…`), else a fresh one, printed.
//! * `OAUTHPROBE_FUZZ_CASE`: replay one case seed (printed on failure), with the target's name
//!   as the test filter: `OAUTHPROBE_FUZZ_CASE=0x… cargo test --test fuzz redactor`.
//!
//! A failing case prints its case seed, the panic, and the input (also written whole to
//! `target/fuzz-failures/`). Each target prints how many cases it ran.

mod discovery;
mod forms;
mod input;
mod jwt;
mod redactor;
mod serve;
mod target_file;
mod token;
mod urls;

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

pub use input::Gen;

/// At least this many cases per target, whatever the budget.
const MIN_CASES: u64 = 24;

/// What a case writes down about its input, shown when it fails.
#[derive(Default)]
pub struct Notes {
    text: String,
}

impl Notes {
    /// Records one part of the input (its `Debug` form, so control characters are visible).
    pub fn note(&mut self, label: &str, value: &dyn std::fmt::Debug) {
        let _ = writeln!(self.text, "{label}: {value:?}");
    }
}

/// One generated case: its random source and the notes on its input.
pub struct Case {
    pub g: Gen,
    pub notes: Notes,
    /// What the case reached (e.g. "login page"), summed over the run and printed.
    reached: Vec<&'static str>,
}

impl Case {
    pub fn note(&mut self, label: &str, value: &dyn std::fmt::Debug) {
        self.notes.note(label, value);
    }

    /// Counts a branch the case reached, to show how the inputs spread.
    pub fn reached(&mut self, what: &'static str) {
        self.reached.push(what);
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    let raw = raw.trim();
    let parsed = match raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => raw.parse(),
    };
    match parsed {
        Ok(v) => Some(v),
        Err(_) => panic!("{name}={raw:?} is not a number"),
    }
}

fn budget() -> Duration {
    let raw = std::env::var("OAUTHPROBE_FUZZ_SECONDS").unwrap_or_else(|_| "3".into());
    let secs: f64 = raw
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("OAUTHPROBE_FUZZ_SECONDS={raw:?} is not a number of seconds"));
    Duration::from_secs_f64(secs.max(0.0))
}

/// SplitMix64: case seeds spread over the whole space from consecutive case numbers.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fresh_seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    mix(t ^ u64::from(std::process::id()).rotate_left(32))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}… [{} more bytes]", &s[..at], s.len() - at),
        None => s.to_string(),
    }
}

/// Runs `body` on generated cases until the budget is spent (at least [`MIN_CASES`]), or on the
/// one case `OAUTHPROBE_FUZZ_CASE` names. Panics, naming the case seed, on the first failure.
pub fn run<S>(target: &str, setup: impl FnOnce() -> S, mut body: impl FnMut(&mut S, &mut Case)) {
    let mut state = setup();
    let replay = env_u64("OAUTHPROBE_FUZZ_CASE");
    let base = env_u64("OAUTHPROBE_FUZZ_SEED").unwrap_or_else(fresh_seed);
    let budget = budget();
    let started = Instant::now();
    let mut cases: u64 = 0;
    let mut reached: std::collections::BTreeMap<&'static str, u64> = Default::default();
    loop {
        let seed = match replay {
            Some(seed) if cases == 0 => seed,
            Some(_) => break,
            None if cases >= MIN_CASES && started.elapsed() >= budget => break,
            None => mix(base.wrapping_add(cases)),
        };
        cases += 1;
        let mut case = Case {
            g: Gen::new(seed),
            notes: Notes::default(),
            reached: Vec::new(),
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&mut state, &mut case)));
        if let Err(payload) = outcome {
            let message = panic_message(&*payload);
            let saved = save_failure(target, seed, &message, &case.notes.text);
            panic!(
                "fuzz target `{target}` failed on case {cases} (case seed {seed:#018x}, base seed {base:#018x}): {message}\n\
                 input:\n{}\n\
                 whole input: {saved}\n\
                 reproduce: OAUTHPROBE_FUZZ_CASE={seed:#018x} cargo test --test fuzz {target}",
                clip(&case.notes.text, 4000),
            );
        }
        for what in case.reached {
            *reached.entry(what).or_default() += 1;
        }
    }
    let spread: Vec<String> = reached.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let seeds = match replay {
        Some(seed) => format!("replayed case seed {seed:#018x}"),
        None => format!("base seed {base:#018x}"),
    };
    println!(
        "fuzz target `{target}`: {cases} cases in {:.1} s ({seeds}){}{}",
        started.elapsed().as_secs_f64(),
        if spread.is_empty() { "" } else { "; reached: " },
        spread.join(", ")
    );
}

fn save_failure(target: &str, seed: u64, message: &str, notes: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let path = dir.join(format!("{target}-{seed:#018x}.txt"));
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            &path,
            format!("target: {target}\ncase seed: {seed:#018x}\npanic: {message}\n\n{notes}"),
        )
    });
    match written {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not saved: {e})"),
    }
}
