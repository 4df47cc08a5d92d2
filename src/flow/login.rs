//! One entry point for every login mode: the engine asks the `Navigator` to carry an
//! authorization request through the server's login and consent, whoever does the walking.

use std::time::Duration;

use url::Url;

use super::authorize::{
    AuthOutcome, AuthRequest, Consent, FlowError, UserAgent, leaves_the_server,
};
use super::browser::BrowserLogin;
use super::{command, manual};
use crate::http::HttpSession;
use crate::target::{Login, LoginMode};

pub struct Navigator {
    login: Login,
    /// Started at the first browser login and kept, so the browser's session carries over.
    browser: Option<BrowserLogin>,
}

impl Navigator {
    /// `hosts`: the host names the browser may resolve (the target's origins).
    /// `insecure_tls`: the user asked not to verify certificates, which the browser then
    /// does not either.
    pub fn new(login: &Login, hosts: Vec<String>, insecure_tls: bool) -> Self {
        let browser = match &login.mode {
            LoginMode::Browser(settings) => {
                Some(BrowserLogin::new(settings.clone(), hosts, insecure_tls))
            }
            _ => None,
        };
        Navigator {
            login: login.clone(),
            browser,
        }
    }

    pub fn mode(&self) -> &LoginMode {
        &self.login.mode
    }

    /// Sends `request` to the authorization endpoint and plays (or has someone play) the user,
    /// up to the point where the server sends the browser away or shows a page of its own.
    pub async fn authorize(
        &self,
        http: &HttpSession,
        step: &str,
        endpoint: &Url,
        request: &AuthRequest,
        registered: &Url,
        consent: Consent,
    ) -> Result<AuthOutcome, FlowError> {
        let walk = Walk {
            http,
            step,
            url: request.url(endpoint),
            endpoint,
            request,
            registered,
            consent,
        };
        match &self.login.mode {
            LoginMode::Form => {
                UserAgent {
                    http,
                    login: &self.login,
                    trace: None,
                }
                .authorize(step, endpoint, request, registered, consent)
                .await
            }
            LoginMode::Command(program) => {
                let _one_at_a_time = http.navigation_lock().await;
                command::authorize(program, &self.login, &walk).await
            }
            LoginMode::Manual => {
                let _one_at_a_time = http.navigation_lock().await;
                manual::authorize(&walk).await
            }
            LoginMode::Browser(_) => {
                let browser = self.browser.as_ref().ok_or(FlowError::Delegated {
                    via: "browser",
                    why: "the browser was not set up".into(),
                })?;
                browser.authorize(&self.login, &walk).await
            }
        }
    }

    /// Ends what the mode started (the browser).
    pub async fn close(&self) {
        if let Some(browser) = &self.browser {
            browser.close().await;
        }
    }

    /// Manual logins wait for a person; the engine gives each check that long.
    pub fn check_timeout_floor(&self) -> Option<Duration> {
        matches!(self.login.mode, LoginMode::Manual).then(|| Duration::from_secs(3600))
    }
}

/// One authorization request handed to a delegate (command, browser, user).
pub(crate) struct Walk<'a> {
    pub http: &'a HttpSession,
    pub step: &'a str,
    /// The full authorization URL.
    pub url: Url,
    /// The authorization endpoint, without the request's parameters.
    pub endpoint: &'a Url,
    pub request: &'a AuthRequest,
    pub registered: &'a Url,
    pub consent: Consent,
}

impl Walk<'_> {
    /// Where the browser would go next if it followed the server: to the redirect_uri (or off
    /// the server's origins), or nowhere because the server showed a page.
    pub fn outcome_at(&self, url: Url, title: Option<String>, status: Option<u16>) -> AuthOutcome {
        if leaves_the_server(
            self.http,
            &url,
            self.request,
            self.registered,
            self.endpoint,
        ) {
            AuthOutcome::redirect_to(url)
        } else {
            AuthOutcome::Page {
                status,
                url,
                title,
                page: None,
            }
        }
    }

    pub fn consent_word(&self) -> &'static str {
        match self.consent {
            Consent::Approve => "approve",
            Consent::Deny => "deny",
        }
    }
}
