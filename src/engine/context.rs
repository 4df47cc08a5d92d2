//! `Cx`: the only handle a probe gets. Every request goes through its session, so every
//! request is bounded, kept within the target's origins, recorded and redacted.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use url::Url;

use crate::flow::authorize::{AuthOutcome, AuthRequest, Consent, FlowError};
use crate::flow::discovery::Discovered;
use crate::flow::login::Navigator;
use crate::flow::token::{self, TokenResponse};
use crate::http::{HttpError, HttpSession, Request};
use crate::target::{Client, Target};

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Flow(#[from] FlowError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{0}")]
    Unexpected(String),
}

pub type ProbeResult = Result<super::Outcome, ProbeError>;

pub struct Cx {
    pub target: Arc<Target>,
    pub server: Arc<Discovered>,
    pub http: HttpSession,
    /// Carries authorization requests through login and consent, in the target's login mode.
    pub navigator: Arc<Navigator>,
    /// How long a slow check waits for a code to expire (`--code-wait`).
    pub code_wait: std::time::Duration,
    turn: Turn,
}

/// A check's place at the scan's gate, which every check holds shared while it runs and a
/// replay or a revocation holds alone ([`Cx::alone`]).
pub struct Turn {
    gate: Arc<RwLock<()>>,
    /// `None` while [`Cx::alone`] runs.
    held: std::sync::Mutex<Option<Held>>,
    went_alone: AtomicBool,
}

enum Held {
    /// A check that is not exclusive: the gate, shared.
    Shared(OwnedRwLockReadGuard<()>),
    /// An exclusive check holds no share (the engine runs exclusive checks one at a time, so
    /// no other replay can come between what it obtains and its own). It has asked for the gate
    /// alone ahead of time: the checks already waiting go in first, later ones wait until its
    /// replay is over, so the replay waits only for the checks that are running to end.
    Asked(Asked),
}

/// The gate asked for alone, in a task of its own so that the request keeps its place in the
/// queue while the check does its preparation; given up when dropped.
struct Asked(tokio::task::JoinHandle<OwnedRwLockWriteGuard<()>>);

impl Asked {
    fn new(gate: &Arc<RwLock<()>>) -> Self {
        Asked(tokio::spawn(gate.clone().write_owned()))
    }
}

impl Drop for Asked {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Turn {
    /// The turn of a check that holds `gate` shared (`shared` is its guard).
    pub fn shared(gate: Arc<RwLock<()>>, shared: OwnedRwLockReadGuard<()>) -> Self {
        Turn::with(gate, Held::Shared(shared))
    }

    /// The turn of an exclusive check, which the engine runs one at a time: it asks for the
    /// gate alone now.
    pub fn exclusive(gate: Arc<RwLock<()>>) -> Self {
        let asked = Asked::new(&gate);
        Turn::with(gate, Held::Asked(asked))
    }

    fn with(gate: Arc<RwLock<()>>, held: Held) -> Self {
        Turn {
            gate,
            held: std::sync::Mutex::new(Some(held)),
            went_alone: AtomicBool::new(false),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// RFC 6749 §4.1.2 recommends ten minutes at most; a code alive after this wait outlived it.
pub const DEFAULT_CODE_WAIT: std::time::Duration = std::time::Duration::from_secs(610);

/// A code obtained for a request, with the request that got it.
pub struct IssuedCode {
    pub code: String,
    pub request: AuthRequest,
}

impl IssuedCode {
    /// The token request's form that redeems this code as its request asked: the same
    /// redirect_uri, the matching verifier.
    pub fn redemption_form(&self) -> Vec<(String, String)> {
        let mut form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), self.code.clone()),
        ];
        if let Some(r) = self.request.redirect_uri() {
            form.push(("redirect_uri".into(), r.into()));
        }
        if let Some(v) = &self.request.verifier {
            form.push(("code_verifier".into(), v.clone()));
        }
        form
    }
}

impl Cx {
    pub fn new(
        target: Arc<Target>,
        server: Arc<Discovered>,
        http: HttpSession,
        navigator: Arc<Navigator>,
        turn: Turn,
    ) -> Self {
        Cx {
            target,
            server,
            http,
            navigator,
            code_wait: DEFAULT_CODE_WAIT,
            turn,
        }
    }

    /// Runs `work` while no other check of the scan runs: for the replay or revocation of an
    /// `exclusive` check and the observation of what it did, since a server may revoke whole
    /// grants then (on some, every code and token of the user and the client), and a code or
    /// token another check held at that moment would die with them. Waits for the checks
    /// running to end and holds the others back until `work` is done. The engine runs
    /// exclusive checks one at a time, so everything an exclusive check obtained before
    /// `alone` is still its own, untouched by another's replay, when `work` runs.
    /// Nested: runs `work` as it is (already alone).
    pub async fn alone<F: Future>(&self, work: F) -> F::Output {
        let Some(held) = self.turn.held().take() else {
            return work.await;
        };
        let was_shared = matches!(held, Held::Shared(_));
        let alone = match held {
            Held::Shared(shared) => {
                drop(shared);
                self.turn.gate.clone().write_owned().await
            }
            Held::Asked(mut asked) => match (&mut asked.0).await {
                Ok(alone) => alone,
                // The task was cancelled (the runtime is shutting down): ask again, here.
                Err(_) => self.turn.gate.clone().write_owned().await,
            },
        };
        self.turn.went_alone.store(true, Ordering::Relaxed);
        let out = work.await;
        // An exclusive check asks again at once, for a replay it may still make; any other
        // takes its share again.
        drop(alone);
        let again = if was_shared {
            Held::Shared(self.turn.gate.clone().read_owned().await)
        } else {
            Held::Asked(Asked::new(&self.turn.gate))
        };
        *self.turn.held() = Some(again);
        out
    }

    /// Whether the check has run anything [`alone`](Cx::alone).
    pub fn went_alone(&self) -> bool {
        self.turn.went_alone.load(Ordering::Relaxed)
    }

    pub fn client(&self) -> &Client {
        &self.target.client
    }

    pub fn request_for(&self, client: &Client) -> AuthRequest {
        let req = AuthRequest::for_client(client);
        if let Some(v) = &req.verifier {
            self.http.redactor().add(v);
        }
        req
    }

    /// Plays the user through login and consent for `request`, made for `client`.
    pub async fn authorize(
        &self,
        step: &str,
        client: &Client,
        request: &AuthRequest,
        consent: Consent,
    ) -> Result<AuthOutcome, ProbeError> {
        let outcome = self
            .navigator
            .authorize(
                &self.http,
                step,
                &self.server.endpoints.authorization,
                request,
                &client.redirect_url,
                consent,
            )
            .await?;
        if let Some(code) = outcome.code() {
            self.http.redactor().add(code);
        }
        Ok(outcome)
    }

    /// A fresh code for `request`, or an error saying what the server did instead.
    pub async fn obtain_code(
        &self,
        step: &str,
        client: &Client,
        request: AuthRequest,
    ) -> Result<IssuedCode, ProbeError> {
        let outcome = self
            .authorize(step, client, &request, Consent::Approve)
            .await?;
        match outcome.code() {
            Some(code) => Ok(IssuedCode {
                code: code.to_string(),
                request,
            }),
            None => Err(ProbeError::Unexpected(format!(
                "could not obtain a code for client `{}`: the server {}",
                client.id,
                outcome.describe()
            ))),
        }
    }

    /// A fresh code from a careful client's request (state, nonce, PKCE S256).
    pub async fn fresh_code(&self, client: &Client) -> Result<IssuedCode, ProbeError> {
        let request = self.request_for(client);
        self.obtain_code("obtain a fresh code", client, request)
            .await
    }

    pub fn token_request(&self, client: &Client, form: Vec<(String, String)>) -> Request {
        token::authenticated(client, self.server.endpoints.token.clone(), form)
    }

    pub async fn send_token(&self, step: &str, req: Request) -> Result<TokenResponse, ProbeError> {
        Ok(token::send(&self.http, step, req).await?)
    }

    /// Redeems `code` with the given redirect_uri and verifier (None: leave the parameter out).
    pub async fn redeem(
        &self,
        step: &str,
        client: &Client,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
    ) -> Result<TokenResponse, ProbeError> {
        let mut form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
        ];
        if let Some(r) = redirect_uri {
            form.push(("redirect_uri".into(), r.into()));
        }
        if let Some(v) = verifier {
            self.http.redactor().add(v);
            form.push(("code_verifier".into(), v.into()));
        }
        self.send_token(step, self.token_request(client, form))
            .await
    }

    /// Redeems a code the way its request asked for: same redirect_uri, matching verifier.
    pub async fn redeem_properly(
        &self,
        step: &str,
        client: &Client,
        issued: &IssuedCode,
    ) -> Result<TokenResponse, ProbeError> {
        self.redeem(
            step,
            client,
            &issued.code,
            issued.request.redirect_uri(),
            issued.request.verifier.as_deref(),
        )
        .await
    }

    /// Whether an access token is accepted at the userinfo endpoint (None: no endpoint to ask).
    pub async fn token_works(
        &self,
        step: &str,
        access_token: &str,
    ) -> Result<Option<bool>, ProbeError> {
        let Some(userinfo) = self.server.endpoints.userinfo.clone() else {
            return Ok(None);
        };
        let resp = self
            .http
            .send(step, Request::get(userinfo).bearer(access_token))
            .await?;
        Ok(Some(resp.status == 200))
    }

    pub fn authorization_endpoint(&self) -> &Url {
        &self.server.endpoints.authorization
    }
}

/// Token-level helpers shared by the token-endpoint, client-auth, refresh, oidc and tokens probes.
impl Cx {
    pub fn second_client(&self) -> Option<&Client> {
        self.target.second_client.as_ref()
    }

    pub fn public_client(&self) -> Option<&Client> {
        self.target.public_client.as_ref()
    }

    /// Tokens for `request`, redeemed properly: an error when the server issues none, since
    /// every later step of the calling probe depends on them.
    pub async fn tokens_for(
        &self,
        client: &Client,
        request: AuthRequest,
    ) -> Result<(IssuedCode, TokenResponse), ProbeError> {
        let issued = self
            .obtain_code("obtain a fresh code", client, request)
            .await?;
        let resp = self
            .redeem_properly("redeem the code", client, &issued)
            .await?;
        if !resp.issued() {
            return Err(ProbeError::Unexpected(format!(
                "a fresh code for client `{}` could not be redeemed: {}",
                client.id,
                resp.describe()
            )));
        }
        Ok((issued, resp))
    }

    /// Tokens from a careful client's request (state, nonce, PKCE S256).
    pub async fn fresh_tokens(&self, client: &Client) -> Result<TokenResponse, ProbeError> {
        let request = self.request_for(client);
        Ok(self.tokens_for(client, request).await?.1)
    }

    /// A refresh_token grant with the client's own authentication.
    pub async fn refresh(
        &self,
        step: &str,
        client: &Client,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, ProbeError> {
        self.send_token(
            step,
            self.token_request(client, refresh_form(refresh_token, scope)),
        )
        .await
    }

    /// RFC 7009 revocation with the client's own authentication (None: no revocation endpoint).
    pub async fn revoke(
        &self,
        step: &str,
        client: &Client,
        token: &str,
        hint: &str,
    ) -> Result<Option<TokenResponse>, ProbeError> {
        let Some(url) = self.server.endpoints.revocation.clone() else {
            return Ok(None);
        };
        let form = vec![
            ("token".to_string(), token.to_string()),
            ("token_type_hint".to_string(), hint.to_string()),
        ];
        let req = token::authenticated(client, url, form);
        Ok(Some(self.send_token(step, req).await?))
    }
}

pub fn refresh_form(refresh_token: &str, scope: Option<&str>) -> Vec<(String, String)> {
    let mut form = vec![
        ("grant_type".to_string(), "refresh_token".to_string()),
        ("refresh_token".to_string(), refresh_token.to_string()),
    ];
    if let Some(s) = scope {
        form.push(("scope".into(), s.into()));
    }
    form
}
