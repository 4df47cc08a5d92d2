//! The browser tests' policy, around the library's WebDriver client.
//!
//! Call [`browser_or_skip`] first. When Chromium or chromedriver is missing it panics under
//! `CI=true` and otherwise prints `skipping <test>: <why>` and tells the test to return.

pub use oauthprobe::flow::browser::webdriver::{Browser, browser_available};

use crate::common::ci;

/// The policy of every browser test; returns whether the test should go on.
///
/// Browser present: `true`. Missing with `CI=true`: panics, since CI must run these tests.
/// Missing elsewhere: prints `skipping <test>: <why>` to stderr and returns `false`.
#[must_use]
pub fn browser_or_skip(test: &str) -> bool {
    match browser_available() {
        Ok(()) => true,
        Err(why) if ci() => panic!(
            "chromium/chromedriver missing: run scripts/test.sh, which installs them ({test}: {why})"
        ),
        Err(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}
