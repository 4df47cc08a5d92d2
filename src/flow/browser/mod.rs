//! `[login] mode = "browser"`: headless Chromium, driven through chromedriver, signs in on
//! pages that only a browser can use (forms built by JavaScript, script-driven redirects).
//!
//! The browser never reaches the redirect_uri: only the target's own hosts resolve inside this
//! browser (`--host-resolver-rules`), so a redirect to the client, or to any other host, fails
//! at name resolution before a connection is made. The network log says where it was going.
//! That is why this mode needs every redirect_uri on a host name of its own (not the server's
//! host, not an IP address, not localhost): see [`containment_problem`].

pub mod webdriver;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::authorize::{AuthOutcome, FlowError, LoginProgress, base, leaves_the_server};
use super::forms::{self, Button, PageKind};
use super::login::Walk;
use crate::flow::authorize::Consent;
use crate::target::{BrowserSettings, Login, LoginHints};
use webdriver::{Browser, Element};

const VIA: &str = "browser";
const MAX_STEPS: usize = 16;
/// A page counts as settled when its DOM stays the same this long after loading
/// (scripts that build the login form run after the load event).
const SETTLE: Duration = Duration::from_millis(400);
/// How long a page may keep changing before the scanner takes it as it is.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);

fn failed(why: impl Into<String>) -> FlowError {
    FlowError::Delegated {
        via: VIA,
        why: why.into(),
    }
}

fn wd(e: anyhow::Error) -> FlowError {
    failed(format!("{e:#}"))
}

pub struct BrowserLogin {
    settings: BrowserSettings,
    hosts: std::sync::Mutex<Vec<String>>,
    browser: Mutex<Option<Browser>>,
    insecure_tls: bool,
}

impl BrowserLogin {
    pub fn new(settings: BrowserSettings, hosts: Vec<String>, insecure_tls: bool) -> Self {
        BrowserLogin {
            settings,
            hosts: std::sync::Mutex::new(hosts),
            browser: Mutex::new(None),
            insecure_tls,
        }
    }

    fn chromium_args(&self) -> Vec<String> {
        // Only the target's hosts resolve: a page cannot send the browser anywhere else.
        let mut rules = vec!["MAP * ~NOTFOUND".to_string()];
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        rules.extend(hosts.iter().map(|h| format!("EXCLUDE {h}")));
        let mut args = vec![format!("--host-resolver-rules={}", rules.join(", "))];
        if self.insecure_tls {
            args.push("--ignore-certificate-errors".to_string());
        }
        args
    }

    pub(crate) async fn authorize(
        &self,
        login: &Login,
        walk: &Walk<'_>,
    ) -> Result<AuthOutcome, FlowError> {
        let mut slot = self.browser.lock().await;
        if slot.is_none() {
            let browser = Browser::start_with(
                self.settings.chromium.as_deref(),
                self.settings.chromedriver.as_deref(),
                &self.chromium_args(),
                true,
            )
            .await
            .map_err(|e| failed(format!("cannot start headless Chromium: {e:#}")))?;
            *slot = Some(browser);
        }
        let browser = slot.as_ref().expect("started above");
        let started = Instant::now();
        let result = match self.uncontained(walk) {
            Some(why) => Err(failed(why)),
            None => drive(browser, login, walk).await,
        };
        let what = match &result {
            Ok(outcome) => outcome.describe(),
            Err(e) => format!("failed: {e}"),
        };
        walk.http.record_delegated(
            walk.step,
            &walk.url,
            &format!("{VIA}: {what}"),
            started.elapsed().as_millis() as u64,
        );
        result
    }

    /// Why this request must not be opened in the browser, if it must not.
    fn uncontained(&self, walk: &Walk<'_>) -> Option<String> {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let requested = walk.request.redirect_uri().and_then(|r| Url::parse(r).ok());
        [requested.as_ref(), Some(walk.registered)]
            .into_iter()
            .flatten()
            .find_map(|uri| {
                containment_problem(uri, &hosts).map(|why| {
                    format!(
                        "will not open this request: the browser could reach its redirect_uri {uri} ({why}); \
                         register redirect URIs on a host name of their own that does not resolve, \
                         such as http://oauthprobe.invalid/callback"
                    )
                })
            })
    }

    pub async fn close(&self) {
        if let Some(browser) = self.browser.lock().await.take() {
            let _ = browser.quit().await;
        }
    }
}

/// Why the browser could reach `redirect_uri` despite the resolver rules, if it could: its host
/// is one the browser must resolve (the server's), or one it reaches without resolving.
pub fn containment_problem(redirect_uri: &Url, target_hosts: &[String]) -> Option<String> {
    let host = match redirect_uri.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(_) => {
            return Some(
                "its host is an IP address, which the browser reaches without name resolution"
                    .to_string(),
            );
        }
        None => return Some("it has no host".into()),
    };
    if host == "localhost" || host.ends_with(".localhost") {
        return Some("localhost always resolves inside the browser".into());
    }
    target_hosts
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&host))
        .then(|| format!("its host {host} is also the server's, which the browser must reach"))
}

/// `https://client.example/cb?x#y` → `https://client.example/cb*`: a pattern over its URLs.
fn block_pattern(url: &str) -> Option<String> {
    Some(format!("{}*", base(&Url::parse(url).ok()?)))
}

/// The blocked request the server sent the browser to, if any: a redirect to the client.
async fn blocked_redirect(browser: &Browser, blocked: &[String]) -> Result<Option<Url>, FlowError> {
    let events = browser.network_events().await.map_err(wd)?;
    let matches = |url: &str| {
        blocked
            .iter()
            .any(|p| url.starts_with(p.trim_end_matches('*')))
    };
    Ok(events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .rfind(|u| matches(u))
        .and_then(|u| Url::parse(u).ok()))
}

/// Where the browser is: its URL, or the URL it failed to load (a blocked redirect_uri).
async fn location(browser: &Browser) -> Result<Url, FlowError> {
    let history = browser
        .cdp("Page.getNavigationHistory", json!({}))
        .await
        .map_err(wd)?;
    let from_history = history
        .get("currentIndex")
        .and_then(Value::as_u64)
        .and_then(|i| history.get("entries")?.get(i as usize))
        .and_then(|e| e.get("url"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let url = match from_history {
        Some(u) => u,
        None => browser.current_url().await.map_err(wd)?,
    };
    Url::parse(&url).map_err(|e| failed(format!("the browser is at `{url}`, not a URL ({e})")))
}

/// The page's DOM once scripts have stopped changing it.
async fn settled_source(browser: &Browser, hints: &LoginHints) -> Result<String, FlowError> {
    let started = Instant::now();
    let mut last = String::new();
    let mut stable_since = Instant::now();
    loop {
        let ready = browser
            .execute("return document.readyState", vec![])
            .await
            .map_err(wd)?;
        let source = browser.page_source().await.map_err(wd)?;
        if source != last || ready != "complete" {
            last = source;
            stable_since = Instant::now();
        } else if stable_since.elapsed() >= SETTLE
            || matches!(
                forms::classify(&last, hints),
                PageKind::Login(_) | PageKind::Consent(_)
            )
        {
            return Ok(last);
        }
        if started.elapsed() >= SETTLE_LIMIT {
            return Ok(last);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The HTTP status of the page's main document, when the browser knows it.
async fn status(browser: &Browser) -> Option<u16> {
    let v = browser
        .execute(
            "const n = performance.getEntriesByType('navigation')[0]; return n && n.responseStatus ? n.responseStatus : null;",
            vec![],
        )
        .await
        .ok()?;
    v.as_u64().and_then(|s| u16::try_from(s).ok())
}

const FIND_FIELD: &str = "const [name, scope] = arguments;\
 const root = (scope && document.querySelector(scope)) || document;\
 return root.querySelector('[name=\"' + CSS.escape(name) + '\"]');";

/// The button the form classifier chose, in the live page: by id, by name and value, or by label.
const FIND_BUTTON: &str = "const [field, id, name, value, label] = arguments;\
 let root = document;\
 if (field) { const f = document.querySelector('[name=\"' + CSS.escape(field) + '\"]'); if (f && f.form) root = f.form; }\
 const all = Array.from(root.querySelectorAll('button, input[type=submit], input[type=image]'));\
 const text = b => (b.textContent || b.value || '').trim();\
 return all.find(b => id && b.id === id)\
   || all.find(b => name && b.name === name && (value === null || b.value === value))\
   || all.find(b => label && text(b) === label)\
   || (field ? all[0] : null) || null;";

async fn find_field(
    browser: &Browser,
    name: &str,
    scope: Option<&str>,
) -> Result<Element, FlowError> {
    browser
        .element_from_script(FIND_FIELD, vec![json!(name), json!(scope)])
        .await
        .map_err(wd)?
        .ok_or_else(|| failed(format!("the field `{name}` is not in the live page")))
}

async fn find_button(
    browser: &Browser,
    near_field: Option<&str>,
    button: Option<&Button>,
) -> Result<Element, FlowError> {
    let args = vec![
        json!(near_field),
        json!(button.and_then(|b| b.id.clone())),
        json!(button.and_then(|b| b.name.clone())),
        json!(button.and_then(|b| b.value.clone())),
        json!(button.map(|b| b.label.trim().to_string())),
    ];
    browser
        .element_from_script(FIND_BUTTON, args)
        .await
        .map_err(wd)?
        .ok_or_else(|| failed("the button to press is not in the live page"))
}

enum Action<'a> {
    Open(&'a Url),
    Click(&'a Element),
}

/// How long one navigation may take, from the action to the next page's load.
const NAVIGATION_LIMIT: Duration = Duration::from_secs(30);
const MARK: &str = "window.__oauthprobe_page = true;";
const MARKED: &str = "return window.__oauthprobe_page === true ? 'old' : document.readyState;";

/// Does `action` and waits until a new document has loaded, or until the browser was held at
/// the redirect_uri (returned: where the server sent it).
async fn navigate(
    browser: &Browser,
    blocked: &[String],
    action: Action<'_>,
) -> Result<Option<Url>, FlowError> {
    browser.execute(MARK, vec![]).await.map_err(wd)?;
    match action {
        Action::Open(url) => browser.goto(url.as_str()).await.map_err(wd)?,
        Action::Click(button) => button.click().await.map_err(wd)?,
    }
    let started = Instant::now();
    loop {
        if let Some(to_client) = blocked_redirect(browser, blocked).await? {
            return Ok(Some(to_client));
        }
        // "complete" without the mark: the old document is gone and the new one has loaded.
        // While a navigation is under way, scripts may fail to run; that is waiting too.
        if let Ok(state) = browser.execute(MARKED, vec![]).await
            && state == "complete"
        {
            return Ok(None);
        }
        if started.elapsed() >= NAVIGATION_LIMIT {
            return Err(failed(format!(
                "the page did not load within {}s",
                NAVIGATION_LIMIT.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn drive(
    browser: &Browser,
    login: &Login,
    walk: &Walk<'_>,
) -> Result<AuthOutcome, FlowError> {
    let blocked: Vec<String> = [walk.request.redirect_uri(), Some(walk.registered.as_str())]
        .into_iter()
        .flatten()
        .filter_map(block_pattern)
        .collect();
    // Events of earlier flows are not this flow's.
    browser.network_events().await.map_err(wd)?;
    if let Some(to_client) = navigate(browser, &blocked, Action::Open(&walk.url)).await? {
        return Ok(walk.outcome_at(to_client, None, None));
    }
    let mut progress = LoginProgress::default();
    let hints = &login.hints;
    let sent_away = |here: &Url| {
        leaves_the_server(
            walk.http,
            here,
            walk.request,
            walk.registered,
            walk.endpoint,
        )
    };
    for _ in 0..MAX_STEPS {
        let here = location(browser).await?;
        if sent_away(&here) {
            return Ok(walk.outcome_at(here, None, None));
        }
        let html = settled_source(browser, hints).await?;
        if let Some(to_client) = blocked_redirect(browser, &blocked).await? {
            return Ok(walk.outcome_at(to_client, None, None));
        }
        let here = location(browser).await?;
        if sent_away(&here) {
            return Ok(walk.outcome_at(here, None, None));
        }
        let title = browser.title().await.ok().filter(|t| !t.is_empty());
        let stuck = |why: &str| {
            failed(format!(
                "login failed at {}{}: {why}",
                walk.http.redactor().redact_url(&here),
                title
                    .as_deref()
                    .map(|t| format!(" (\"{t}\")"))
                    .unwrap_or_default()
            ))
        };
        match forms::classify(&html, hints) {
            PageKind::Login(form) => {
                let scope = hints.form_selector.as_deref();
                for (name, value) in progress.fills(&form, login).map_err(stuck)? {
                    let field = find_field(browser, name, scope).await?;
                    field.clear().await.map_err(wd)?;
                    field.send_keys(value).await.map_err(wd)?;
                }
                let near = form
                    .password_field
                    .as_deref()
                    .or(form.username_field.as_deref());
                let button = find_button(browser, near, form.form.buttons.first()).await?;
                if let Some(to_client) = navigate(browser, &blocked, Action::Click(&button)).await?
                {
                    return Ok(walk.outcome_at(to_client, None, None));
                }
            }
            PageKind::Consent(consent_form) => {
                let button = match walk.consent {
                    Consent::Approve => Some(consent_form.approve.clone()),
                    Consent::Deny => consent_form.deny.clone().map(|(_, button)| button),
                };
                let Some(button) = button else {
                    return Ok(AuthOutcome::Page {
                        status: status(browser).await,
                        url: here,
                        title,
                        page: None,
                    });
                };
                let button = find_button(browser, None, Some(&button)).await?;
                if let Some(to_client) = navigate(browser, &blocked, Action::Click(&button)).await?
                {
                    return Ok(walk.outcome_at(to_client, None, None));
                }
            }
            PageKind::Interstitial(forms::Interstitial::Link(href)) => {
                let Ok(to) = here.join(&href) else {
                    return Ok(walk.outcome_at(here, title, status(browser).await));
                };
                if sent_away(&to) {
                    return Ok(walk.outcome_at(to, None, None));
                }
                if let Some(to_client) = navigate(browser, &blocked, Action::Open(&to)).await? {
                    return Ok(walk.outcome_at(to_client, None, None));
                }
            }
            // Chromium refreshes and runs the page's own submit: wait for where it goes.
            PageKind::Interstitial(_) => {
                if let Some(to_client) = blocked_redirect(browser, &blocked).await? {
                    return Ok(walk.outcome_at(to_client, None, None));
                }
            }
            PageKind::Other => {
                return Ok(AuthOutcome::Page {
                    status: status(browser).await,
                    url: here,
                    title,
                    page: None,
                });
            }
        }
    }
    Err(FlowError::TooManySteps(MAX_STEPS))
}

#[cfg(test)]
mod tests {
    use super::block_pattern;

    #[test]
    fn block_patterns_cover_the_redirect_uri_with_any_query() {
        assert_eq!(
            block_pattern("http://127.0.0.1:9/app/callback?x=1#f").as_deref(),
            Some("http://127.0.0.1:9/app/callback*")
        );
        assert_eq!(block_pattern("not a url"), None);
    }
}
