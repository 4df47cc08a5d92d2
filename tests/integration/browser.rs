//! End-to-end tests in headless Chromium: the lab's demo app, used the way a person would.
//!
//! Each test starts its own lab and browser. The final page's screenshot is written to the
//! test's temp dir and, when `OAUTHPROBE_SCREENSHOT_DIR` is set, to that directory as well.
//! When a step fails, the temp dir is kept, holding a screenshot and the page source of the
//! page where it failed, and the panic message names it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, ensure};
use oauthprobe::lab::{self, LabOptions, RunningLab, Weaknesses};
use url::Url;

use crate::webdriver::{self, Browser};

/// The scopes the demo app asks for and a person approves.
const DEMO_SCOPES: &[&str] = &["openid", "profile", "email"];

async fn start_lab() -> RunningLab {
    lab::start(LabOptions {
        port: 0,
        weaknesses: Weaknesses::none(),
        ..LabOptions::default()
    })
    .await
    .expect("the lab starts on 127.0.0.1")
}

/// A test's output files: its temp dir, plus `OAUTHPROBE_SCREENSHOT_DIR` when set.
struct Artifacts {
    test: &'static str,
    dir: tempfile::TempDir,
}

impl Artifacts {
    fn new(test: &'static str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("oauthprobe-{}-", test.replace("::", "-")))
            .tempdir()
            .expect("a temp dir for the test's screenshots");
        Artifacts { test, dir }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        if let Some(extra) = std::env::var_os("OAUTHPROBE_SCREENSHOT_DIR") {
            let extra = Path::new(&extra);
            std::fs::create_dir_all(extra)
                .with_context(|| format!("creating {}", extra.display()))?;
            let copy = extra.join(format!("{}-{name}", self.test.replace("::", "-")));
            std::fs::write(&copy, bytes).with_context(|| format!("writing {}", copy.display()))?;
            eprintln!("{}: saved {}", self.test, copy.display());
        }
        Ok(path)
    }

    async fn screenshot(&self, browser: &Browser, name: &str) -> anyhow::Result<PathBuf> {
        let png = browser.screenshot_png().await?;
        ensure!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let path = self.write(name, &png)?;
        if std::env::var_os("OAUTHPROBE_SCREENSHOT_DIR").is_none() {
            eprintln!(
                "{}: screenshot {} (the temp dir goes when the test passes; \
                 set OAUTHPROBE_SCREENSHOT_DIR to keep a copy)",
                self.test,
                path.display()
            );
        }
        Ok(path)
    }

    /// Ends the test: on failure keeps the temp dir with what the browser showed, and panics.
    async fn finish(self, browser: &Browser, result: anyhow::Result<()>) {
        let Err(error) = result else { return };
        let url = browser
            .current_url()
            .await
            .unwrap_or_else(|e| format!("(unknown: {e:#})"));
        let _ = self.screenshot(browser, "failure.png").await;
        if let Ok(source) = browser.page_source().await {
            let _ = self.write("failure.html", source.as_bytes());
        }
        let kept = self.dir.keep();
        panic!(
            "{} failed: {error:#}\n  browser at: {url}\n  screenshot and page source kept in {}",
            self.test,
            kept.display()
        );
    }
}

/// The text of the element `css`, trimmed.
async fn text_of(browser: &Browser, css: &str) -> anyhow::Result<String> {
    Ok(browser.find(css).await?.text().await?.trim().to_string())
}

async fn path_now(browser: &Browser) -> anyhow::Result<String> {
    let url = browser.current_url().await?;
    Ok(Url::parse(&url)
        .with_context(|| format!("current URL {url:?}"))?
        .path()
        .to_string())
}

/// From the demo app's home page through the login form to the consent page, checking what
/// each page shows on the way.
async fn sign_in_to_consent(browser: &Browser, lab: &RunningLab) -> anyhow::Result<()> {
    let app = lab.base_url().join("app")?;
    browser.goto(app.as_str()).await?;
    let sign_in = browser.find("a#sign-in").await?;
    let label = sign_in.text().await?;
    ensure!(
        label.contains("Sign in"),
        "the sign-in link says {label:?}, not \"Sign in\""
    );
    sign_in.click().await?;

    // The lab's login page: a form with username, a masked password, and a login button.
    browser
        .find("form#login-form")
        .await
        .context("after Sign in, expected the lab's login page")?;
    let path = path_now(browser).await?;
    ensure!(
        path == "/authorize",
        "the login page is served at {path}, expected /authorize"
    );
    let password = browser.find("form#login-form input#password").await?;
    let kind = password.attribute("type").await?;
    ensure!(
        kind.as_deref() == Some("password"),
        "the password field has type {kind:?}, expected \"password\" (masked)"
    );
    let user = lab.user();
    browser
        .find("form#login-form input#username")
        .await?
        .send_keys(&user.username)
        .await?;
    password.send_keys(&user.password).await?;
    browser
        .find("form#login-form button#login")
        .await?
        .click()
        .await?;

    // The consent page names the demo app and lists the scopes it asks for.
    let client = text_of(browser, "#consent-client")
        .await
        .context("after logging in, expected the consent page")?;
    let demo = lab
        .clients()
        .iter()
        .find(|c| c.redirect_uris.iter().any(|u| u.ends_with("/app/callback")))
        .ok_or_else(|| anyhow!("the lab has no client with an /app/callback redirect URI"))?;
    ensure!(
        client.contains(&demo.name),
        "the consent page names {client:?}, expected the demo client {:?}",
        demo.name
    );
    let scopes = text_of(browser, "#consent-scopes").await?;
    for scope in DEMO_SCOPES {
        ensure!(
            scopes.contains(scope),
            "the consent page's scopes {scopes:?} do not list {scope}"
        );
    }
    Ok(())
}

async fn approve_flow(
    browser: &Browser,
    lab: &RunningLab,
    artifacts: &Artifacts,
) -> anyhow::Result<()> {
    sign_in_to_consent(browser, lab).await?;
    browser.find("button#approve").await?.click().await?;

    // Back in the demo app, which redeemed the code and shows what it got.
    let name = text_of(browser, "#profile-name")
        .await
        .context("after Approve, expected the demo app's profile page")?;
    let path = path_now(browser).await?;
    ensure!(
        path == "/app/callback",
        "approving landed on {path}, expected /app/callback"
    );
    // The counter the login-mode tests rely on to prove the scanner never calls back.
    ensure!(
        lab.callback_hits() == 1,
        "the lab counted {} callback requests, expected 1",
        lab.callback_hits()
    );
    let user = lab.user();
    ensure!(
        name == user.name,
        "the profile shows name {name:?}, expected {:?}",
        user.name
    );
    let email = text_of(browser, "#profile-email").await?;
    ensure!(
        email == user.email,
        "the profile shows email {email:?}, expected {:?}",
        user.email
    );
    let granted = text_of(browser, "#granted-scopes").await?;
    let granted: BTreeSet<&str> = granted.split_whitespace().collect();
    let wanted: BTreeSet<&str> = DEMO_SCOPES.iter().copied().collect();
    ensure!(
        granted == wanted,
        "granted scopes {granted:?}, expected {wanted:?}"
    );
    let expires = text_of(browser, "#expires-in").await?;
    let seconds: u64 = expires
        .parse()
        .with_context(|| format!("#expires-in shows {expires:?}, not a number of seconds"))?;
    ensure!(seconds > 0, "the token expires in {seconds} s");

    artifacts.screenshot(browser, "final.png").await?;
    Ok(())
}

async fn deny_flow(
    browser: &Browser,
    lab: &RunningLab,
    artifacts: &Artifacts,
) -> anyhow::Result<()> {
    sign_in_to_consent(browser, lab).await?;
    browser.find("button#deny").await?.click().await?;

    let error = text_of(browser, "#error")
        .await
        .context("after Deny, expected the demo app's error page")?;
    let path = path_now(browser).await?;
    ensure!(
        path == "/app/callback",
        "denying landed on {path}, expected /app/callback"
    );
    ensure!(
        error.contains("access_denied"),
        "the error page says {error:?}, expected it to mention access_denied"
    );
    let source = browser.page_source().await?;
    ensure!(
        !source.contains("id=\"profile-name\""),
        "the error page also shows a profile"
    );

    artifacts.screenshot(browser, "final.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_and_approve_shows_profile() {
    const TEST: &str = "browser::sign_in_and_approve_shows_profile";
    if !webdriver::browser_or_skip(TEST) {
        return;
    }
    let lab = start_lab().await;
    let browser = Browser::start().await.expect("headless Chromium starts");
    let artifacts = Artifacts::new(TEST);
    let result = approve_flow(&browser, &lab, &artifacts).await;
    artifacts.finish(&browser, result).await;
    browser.quit().await.expect("the browser quits");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_shows_access_denied() {
    const TEST: &str = "browser::deny_shows_access_denied";
    if !webdriver::browser_or_skip(TEST) {
        return;
    }
    let lab = start_lab().await;
    let browser = Browser::start().await.expect("headless Chromium starts");
    let artifacts = Artifacts::new(TEST);
    let result = deny_flow(&browser, &lab, &artifacts).await;
    artifacts.finish(&browser, result).await;
    browser.quit().await.expect("the browser quits");
    lab.shutdown().await;
}
