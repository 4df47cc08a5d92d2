//! A corpus of real login flows. Each fixture reproduces the HTML and the redirect behaviour of
//! a widely used server's default sign-in and consent pages, taken from that project's own
//! template files (each fixture names the files and the version it follows), on 127.0.0.1 at a
//! free port. The scanner's own form login, over its real HTTP client, must reach a code on
//! every one; a wrong password must be recognised as a failed sign-in; and where the page offers
//! a refusal, pressing it must bring `access_denied` back to the client.
//!
//! A fixture is a `start()` that returns a [`Fixture`], and a test that hands it to [`prove`].

mod support;

mod apereo_cas;
mod dex;
mod django_oauth_toolkit;
mod django_oidc_provider;
mod duende_identityserver;
mod flask_authlib;
mod gitea;
mod gitlab;
mod kanidm;
mod keycloak;
mod keycloak_identifier_first;
mod oidc_provider_dev_interactions;
mod ory_hydra;
mod rails_devise_doorkeeper;
mod simplesamlphp_autopost;
mod spring_authorization_server;
mod wso2_identity_server;
mod zitadel;

use std::path::Path;
use std::sync::Arc;

use oauthprobe::flow::authorize::{AuthOutcome, AuthRequest, Consent, FlowError};
use oauthprobe::flow::login::Navigator;
use oauthprobe::http::{Limits, Redactor, ScanClient};
use oauthprobe::target::Target;
use tokio::task::JoinHandle;
use url::Url;

/// One reproduced server, running.
pub struct Fixture {
    /// What it reproduces, e.g. "Keycloak 26.0 keycloak.v2 theme: login.ftl, login-oauth-grant.ftl".
    pub reproduces: &'static str,
    /// The authorization endpoint.
    pub authorize: Url,
    pub client_id: String,
    /// Registered for the client. The scanner never requests it; fixtures may count hits.
    pub redirect_uri: String,
    pub scope: String,
    pub username: String,
    pub password: String,
    /// Origins besides the authorization endpoint's where sign-in pages live (`[login] origins`).
    pub login_origins: Vec<Url>,
    /// Whether the consent (or sign-in) page offers a refusal that ends in `access_denied`.
    pub can_deny: bool,
    /// Keep the servers alive for the test.
    pub servers: Vec<JoinHandle<()>>,
}

/// A fixture's servers stop with it, not with the test's runtime only.
impl Drop for Fixture {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

impl Fixture {
    /// The target file a user would write for this server, with no `[login]` hints.
    fn target(&self, password: &str) -> Target {
        let origins = self
            .login_origins
            .iter()
            .map(|o| format!("{:?}", o.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            r#"name = "corpus"
issuer = "{issuer}"

[endpoints]
authorization = "{authorize}"
token = "{token}"

[client]
id = {client_id:?}
secret = "corpus-client-secret"
auth_method = "client_secret_basic"
redirect_uri = {redirect_uri:?}
scope = {scope:?}

[login]
mode = "form"
username = {username:?}
password = {password:?}
origins = [{origins}]
"#,
            issuer = self.authorize.origin().ascii_serialization(),
            authorize = self.authorize,
            token = self.authorize.join("/token").expect("token url"),
            client_id = self.client_id,
            redirect_uri = self.redirect_uri,
            scope = self.scope,
            username = self.username,
        );
        Target::parse(Path::new("corpus.toml"), &text, &|_| None)
            .unwrap_or_else(|e| panic!("fixture target file: {e}\n{text}"))
    }
}

/// One authorization request through the scanner's form login, in a fresh session.
pub async fn sign_in(
    fixture: &Fixture,
    password: &str,
    consent: Consent,
) -> (AuthRequest, Result<AuthOutcome, FlowError>) {
    let target = fixture.target(password);
    let mut origins = vec![fixture.authorize.origin()];
    origins.extend(target.login.extra_origins.iter().map(Url::origin));
    let redactor = Arc::new(Redactor::new(target.secrets()));
    let client = ScanClient::new(origins, Limits::default(), false, redactor).expect("client");
    let http = client.session();
    let navigator = Navigator::new(&target.login, Vec::new(), false);
    let request = AuthRequest::for_client(&target.client);
    let outcome = navigator
        .authorize(
            &http,
            "corpus sign-in",
            &fixture.authorize,
            &request,
            &target.client.redirect_url,
            consent,
        )
        .await;
    (request, outcome)
}

/// The corpus's three claims about one fixture.
pub async fn prove(fixture: Fixture) {
    let name = fixture.reproduces;

    // 1. The test user signs in, approves, and the code comes back with the request's state.
    let (request, outcome) = sign_in(&fixture, &fixture.password, Consent::Approve).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("{name}: sign-in failed: {e}"));
    let AuthOutcome::Redirect { location, params } = &outcome else {
        panic!(
            "{name}: no authorization response: the server {}",
            outcome.describe()
        );
    };
    assert!(
        location.as_str().starts_with(&fixture.redirect_uri),
        "{name}: the response went to {location}, not to the redirect_uri"
    );
    assert!(
        params.get("code").is_some_and(|c| !c.is_empty()),
        "{name}: no code in {location}"
    );
    assert_eq!(
        params.get("state").map(String::as_str),
        request.get("state"),
        "{name}: the state did not come back"
    );

    // 2. A wrong password is a failed sign-in that says so, never a code.
    let (_, outcome) = sign_in(&fixture, "not-the-password-0", Consent::Approve).await;
    match outcome {
        Err(FlowError::Login { why, .. }) => assert!(
            why.contains("password"),
            "{name}: the failed sign-in does not say why: {why}"
        ),
        Err(other) => panic!("{name}: a wrong password gave another error: {other}"),
        Ok(outcome) => panic!(
            "{name}: a wrong password was not recognised: the server {}",
            outcome.describe()
        ),
    }

    // 3. Where the page offers a refusal, pressing it brings access_denied to the client.
    if fixture.can_deny {
        let (_, outcome) = sign_in(&fixture, &fixture.password, Consent::Deny).await;
        let outcome = outcome.unwrap_or_else(|e| panic!("{name}: denial failed: {e}"));
        assert_eq!(
            outcome.param("error"),
            Some("access_denied"),
            "{name}: denying consent: the server {}",
            outcome.describe()
        );
        assert!(outcome.code().is_none(), "{name}: a denial returned a code");
    }
}
