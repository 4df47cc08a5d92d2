//! Keycloak 26.x, an identifier-first browser flow (a copy of "browser" whose forms subflow is
//! "Username Form" then "Password Form", the set-up the Keycloak server administration guide
//! describes), default login theme `keycloak.v2`, no consent. Reproduced from keycloak/keycloak
//! (26.x line; files read at the commits the corpus index holds):
//! - themes/src/main/resources/theme/keycloak.v2/login/login-username.ftl (49821669): the first
//!   page, `<form id="kc-form-login" ... action="${url.loginAction}" method="post">` with
//!   `username`, the `rememberMe` checkbox and the valueless `login` button, the register link
//!   and an identity-provider link;
//! - .../keycloak.v2/login/login-password.ftl (5ffdbd9b): the second page, a form of the same id
//!   with only `password` (show-password `type=button`, "Forgot Password?") and `login`;
//! - .../keycloak.v2/login/template.ftl (1683a2e0): on the password page `auth.showUsername()`
//!   puts the attempted username read-only (an `<input>` with no name) and a "Restart login"
//!   `type=button` above the form;
//! - services/.../authenticators/browser/UsernameForm.java (2cf6483c), PasswordForm.java
//!   (4dd62263), AbstractUsernameFormAuthenticator.java (02c8ca0a): the username POST is answered
//!   with the password page itself, HTTP 200, at the same URL (the flow moves on inside one
//!   request; the form's action carries the next `execution` and a fresh `session_code`); a wrong
//!   password re-renders login-password.ftl with "Invalid password." under the field; an unknown
//!   user re-renders login-username.ftl with "Invalid username or email.";
//! - AuthenticationProcessor `authenticationComplete`: with no required action and no consent,
//!   the password POST answers 302 to the redirect_uri with state, session_state, iss, code.
//!
//! The page skeleton, cookies and URL helpers are those of the `keycloak` fixture. Left out: the
//! same things as there (styling, passkeys conditional UI, page-expired page, brute force).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use super::keycloak::{
    self as kc, AuthSession, CLIENT_ID, LOGIN_BUTTON, PASSWORD, REDIRECT_URI, Store, USERNAME,
    realm_path,
};
use super::support::{self, esc};

/// Execution ids of the two steps of the copied flow.
const EXEC_USERNAME: &str = "3f0e2b6c-6a44-4f54-9b8a-0f4fd6a3c812";
const EXEC_PASSWORD: &str = "c1d7a0f2-9e15-4b7e-a0c4-52a1e3d7b964";

fn login_username_page(s: &AuthSession, username: &str, error: Option<&str>) -> Response {
    let form = format!(
        r#"<div id="kc-form">
            <div id="kc-form-wrapper">
                    <form id="kc-form-login" class="pf-v5-c-form" onsubmit="login.disabled = true; return true;" action="{action}"
                          method="post">
                            <div class="pf-v5-c-form__group">
                                {username}
                            </div>

                        <div class="pf-v5-c-form__group">
                                <div class="pf-v5-c-check">
                                  <label for="rememberMe" class="pf-v5-c-check">
                                    <input class="pf-v5-c-check__input" type="checkbox" id="rememberMe" name="rememberMe" />
                                    <span class="pf-v5-c-check__label">Remember me</span>
                                  </label>
                                </div>
                        </div>

                        {button}
                    </form>
            </div>
        </div>"#,
        action = esc(&kc::login_action(s, EXEC_USERNAME)),
        username = kc::username_field(username, error),
        button = LOGIN_BUTTON,
    );
    support::html(kc::registration_layout(kc::Layout {
        page_id: "login-username",
        header: "Sign in to your account",
        message: None,
        attempted_username: None,
        form,
        social: kc::social_providers(s),
        info: kc::registration_info(s),
        locale_url: format!(
            "{}?{}&execution={EXEC_USERNAME}",
            realm_path("login-actions/authenticate"),
            kc::base_query(s)
        ),
        session: s,
    }))
}

fn login_password_page(s: &AuthSession, error: Option<&str>) -> Response {
    let form = format!(
        r#"<div id="kc-form">
            <div id="kc-form-wrapper">
                <form id="kc-form-login" class="pf-v5-c-form" onsubmit="login.disabled = true; return true;" action="{action}" method="post">
                    {password}
                    {button}
                </form>
            </div>
        </div>"#,
        action = esc(&kc::login_action(s, EXEC_PASSWORD)),
        password = kc::password_field(error, false, true),
        button = LOGIN_BUTTON,
    );
    support::html(kc::registration_layout(kc::Layout {
        page_id: "login-password",
        header: "Sign In",
        message: None, // displayMessage=!messagesPerField.existsError('password')
        attempted_username: s.user.as_deref(),
        form,
        social: String::new(),
        info: String::new(),
        locale_url: format!(
            "{}?{}&execution={EXEC_PASSWORD}",
            realm_path("login-actions/authenticate"),
            kc::base_query(s)
        ),
        session: s,
    }))
}

#[derive(Clone)]
struct App {
    store: Store,
    base: Arc<Mutex<String>>,
}

async fn authorize(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Err(resp) = kc::check_request(&q) {
        return *resp;
    }
    let (root, s) = kc::new_session(&app.store, q);
    kc::with_session_cookies(login_username_page(&s, "", None), &root)
}

async fn authenticate(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let Some((root, mut s)) = kc::session_of(&app.store, &headers, &q) else {
        return kc::error_page(
            StatusCode::BAD_REQUEST,
            "Cookie not found. Please make sure cookies are enabled in your browser.",
        );
    };
    // The execution in the URL must be the step the session is at.
    let expected = if s.user.is_some() {
        EXEC_PASSWORD
    } else {
        EXEC_USERNAME
    };
    if q.get("session_code") != Some(&s.session_code)
        || q.get("execution").map(String::as_str) != Some(expected)
    {
        return kc::error_page(StatusCode::BAD_REQUEST, "Page has expired.");
    }
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    s.session_code = support::token();
    if s.user.is_none() {
        let username = get("username").trim().to_string();
        if username != USERNAME {
            kc::save(&app.store, &root, &s);
            return login_username_page(&s, &username, Some("Invalid username or email."));
        }
        s.user = Some(username);
        kc::save(&app.store, &root, &s);
        return login_password_page(&s, None);
    }
    if get("password") != PASSWORD {
        kc::save(&app.store, &root, &s);
        return login_password_page(&s, Some("Invalid password."));
    }
    app.store.lock().unwrap().remove(&root);
    let base = app.base.lock().unwrap().clone();
    kc::code_response(&base, &s)
}

pub async fn start() -> super::Fixture {
    let app = App {
        store: Store::default(),
        base: Arc::default(),
    };
    let router = Router::new()
        .route(&realm_path("protocol/openid-connect/auth"), get(authorize))
        .route(
            &realm_path("login-actions/authenticate"),
            post(authenticate),
        )
        .with_state(app.clone());
    let (base, task) = support::serve(router).await;
    *app.base.lock().unwrap() = base.to_string();
    super::Fixture {
        reproduces: "Keycloak 26.x keycloak.v2 theme, identifier-first flow: login-username.ftl then login-password.ftl",
        authorize: base
            .join(&realm_path("protocol/openid-connect/auth"))
            .expect("authorize url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: "openid profile".into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: false,
        servers: vec![task],
    }
}

#[tokio::test]
async fn keycloak_identifier_first_reaches_a_code() {
    super::prove(start().await).await
}
