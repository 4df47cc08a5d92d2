//! WSO2 Identity Server, the authentication endpoint webapp (wso2/identity-apps,
//! apps/authentication-portal/src/main/webapp) with basic authentication and an OAuth app
//! whose consent is not skipped. Reproduced from:
//! - basicauth.jsp, the revision of the IS 5.10/5.11 line that has `usernameUserInput` (the
//!   corpus index's copy): `<form class="ui large form" action="../commonauth" method="post"
//!   id="loginForm">` with the visible `usernameUserInput`, a hidden `username` rendered as
//!   `value="<%=username%>"` (the literal "null" when the request has none), `password`,
//!   `chkRemember`, the hidden `sessionDataKey`, a "Continue" submit with
//!   `onclick="submitCredentials(event)"`, "Create an account" as a `type=button`, and the
//!   jQuery submit handler that, before posting, writes `usernameUserInput + "@" +
//!   tenantDomain` into the hidden `username` (for `isSaaSApp=false`) and asks /logincontext
//!   first. The server's BasicAuthenticator reads `username`, so a form posted without running
//!   that script signs in the user "null" and fails;
//! - login.jsp of the same line: `authFailure=true&authFailureMsg=login.fail.message` shows
//!   "Login failed! Please recheck the username and password and try again.";
//! - oauth2_consent.jsp at 59ac4040 (the newest copy in the index): `<form class="ui large
//!   form" action="<oauth2AuthorizeURL>" method="post" id="profile" name="oauth2_authz">` with
//!   the requested scopes listed (no checkboxes), the `rememberApproval` checkbox, the hidden
//!   `sessionDataKeyConsent`, a hidden `consent` whose value is "deny" until a script changes
//!   it, "Deny" as `<input type="reset" onclick="deny(); return false;">` and "Allow" as
//!   `<input type="button" id="approve" name="approve" onclick="approved(); return false;">`.
//!   The page has no submit button at all: without script it cannot be approved, and any
//!   submission of it carries `consent=deny`. A browser runs `approved()`: `consent` becomes
//!   "approveAlways" when `rememberApproval` is ticked, else "approve", then the form submits.
//! - The server side (carbon-identity-framework / identity-inbound-auth-oauth, as documented
//!   for these versions): /oauth2/authorize answers 302 to
//!   `/authenticationendpoint/login.do?<the request's parameters>&commonAuthCallerPath=
//!   %2Foauth2%2Fauthorize&forceAuth=false&passiveAuth=false&tenantDomain=carbon.super
//!   &sessionDataKey=..&relyingParty=..&type=oidc&sp=..&isSaaSApp=false&authenticators=
//!   BasicAuthenticator%3ALOCAL`; /commonauth answers 302 back to
//!   `/oauth2/authorize?sessionDataKey=..` with the `commonAuthId` cookie, or to login.do with
//!   `authFailure=true`; the authorize endpoint then sends the browser to
//!   `/authenticationendpoint/oauth2_consent.do?loggedInUser=..&application=..&scope=..
//!   &sessionDataKeyConsent=..&spQueryParams=..`; the consent POST answers with the code, state
//!   and session_state, or `error=access_denied` ("User denied the consent").
//!
//! Served over plain HTTP, so the cookies lack the `Secure` flag the product sets. Left out:
//! the product header/footer markup, /logincontext, reCAPTCHA, the cookie-policy banner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::support::{self, Tally, enc, esc};

const CLIENT_ID: &str = "mF2Rb6ZcKq0Vx7Jt3sWn1yPl8dEa";
const APP_NAME: &str = "corpus-app";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
const USERNAME: &str = "alice";
const PASSWORD: &str = "Alice@123";

/// One authentication context (sessionDataKey).
#[derive(Clone, Default)]
struct AuthContext {
    /// The client's authorization request, in order.
    query: Vec<(String, String)>,
    user: Option<String>,
}

#[derive(Clone, Default)]
struct App {
    base: Arc<Mutex<String>>,
    contexts: Arc<Mutex<HashMap<String, AuthContext>>>,
    /// sessionDataKeyConsent -> sessionDataKey.
    consents: Arc<Mutex<HashMap<String, String>>>,
    /// `consent` values the consent POST received.
    decisions: Arc<Mutex<Vec<String>>>,
    tally: Tally,
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn error_page(message: &str) -> Response {
    support::html_status(
        StatusCode::BAD_REQUEST,
        format!(
            r##"<!doctype html><html><head><title>WSO2 Identity Server</title></head>
<body class="login-portal layout authentication-portal-layout"><div class="ui segment">
<h3 class="ui header">Error</h3><div class="ui visible negative message">{}</div></div></body></html>"##,
            esc(message)
        ),
    )
}

fn query_string(q: &[(String, String)]) -> String {
    q.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The login.do parameters for a context.
fn login_params(key: &str, ctx: &AuthContext) -> String {
    format!(
        "{}&commonAuthCallerPath=%2Foauth2%2Fauthorize&forceAuth=false&passiveAuth=false\
         &tenantDomain=carbon.super&sessionDataKey={key}&relyingParty={CLIENT_ID}&type=oidc\
         &sp={APP_NAME}&isSaaSApp=false&authenticators=BasicAuthenticator%3ALOCAL",
        query_string(&ctx.query)
    )
}

async fn authorize(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    // The return from /commonauth.
    if let Some(key) = param(&q, "sessionDataKey") {
        let ctx = app.contexts.lock().unwrap().get(key).cloned();
        let Some(ctx) = ctx else {
            return error_page(
                "Authentication Error! Something went wrong during the authentication process.",
            );
        };
        let Some(user) = ctx.user.clone() else {
            return support::redirect(&format!(
                "/authenticationendpoint/login.do?{}",
                login_params(key, &ctx)
            ));
        };
        if support::cookie(&headers, "commonAuthId").is_none() {
            return error_page(
                "Authentication Error! Something went wrong during the authentication process.",
            );
        }
        let consent_key = support::token();
        app.consents
            .lock()
            .unwrap()
            .insert(consent_key.clone(), key.to_string());
        let scope = param(&ctx.query, "scope").unwrap_or("");
        return support::redirect(&format!(
            "/authenticationendpoint/oauth2_consent.do?loggedInUser={}&application={APP_NAME}\
             &scope={}&sessionDataKeyConsent={consent_key}&spQueryParams={}",
            enc(&user),
            enc(scope),
            enc(&query_string(&ctx.query))
        ));
    }
    if param(&q, "client_id") != Some(CLIENT_ID) {
        return error_page("A valid OAuth client could not be found for client_id");
    }
    if param(&q, "redirect_uri") != Some(REDIRECT_URI) {
        return error_page("callback.not.match");
    }
    if param(&q, "response_type") != Some("code") {
        return support::to_client(
            REDIRECT_URI,
            &[
                ("error", "unsupported_response_type"),
                ("error_description", "Unsupported Response Type"),
                ("state", param(&q, "state").unwrap_or("")),
            ],
        );
    }
    let key = support::token();
    let ctx = AuthContext {
        query: q,
        user: None,
    };
    let location = format!(
        "/authenticationendpoint/login.do?{}",
        login_params(&key, &ctx)
    );
    app.contexts.lock().unwrap().insert(key, ctx);
    support::redirect(&location)
}

async fn login_do(State(app): State<App>, RawQuery(raw): RawQuery) -> Response {
    app.tally.hit("login page");
    let raw = raw.unwrap_or_default();
    let q: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let key = param(&q, "sessionDataKey").unwrap_or("");
    let failed = param(&q, "authFailure") == Some("true");
    let error = if failed {
        r##"<div class="ui visible negative message" id="error-msg">Login failed! Please recheck the username and password and try again.</div>"##
    } else {
        ""
    };
    let page = format!(
        r##"<!doctype html>
<html>
<head>
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link rel="icon" href="libs/theme/assets/images/favicon.ico" type="image/x-icon"/>
    <link href="libs/theme/wso2-default.min.css" rel="stylesheet">
    <title>WSO2 Identity Server</title>
    <script src="libs/jquery_3.4.1/jquery-3.4.1.js"></script>
</head>
<body class="login-portal layout authentication-portal-layout">
    <main class="center-segment">
        <div class="ui container medium center aligned middle aligned">
            <div class="product-title"><div class="theme-icon inline auto transparent product-logo portal-logo"><img src="libs/theme/assets/images/branding/logo.svg" alt="WSO2 logo" /></div></div>
            <div class="ui segment">
                <h3 class="ui header">Sign In</h3>
<script>
    function goBack() {{
        window.history.back();
    }}

    // Handle form submission preventing double submission.
    $(document).ready(function(){{
        $.fn.preventDoubleSubmission = function() {{
            $(this).on('submit',function(e){{
                var $form = $(this);
                if ($form.data('submitted') === true) {{
                    e.preventDefault();
                }} else {{
                    e.preventDefault();
                    var isEmailUsernameEnabled = JSON.parse("false");
                    var tenantName = getParameterByName("tenantDomain");
                    var userName = document.getElementById("username");
                    var usernameUserInput = document.getElementById("usernameUserInput");
                    if (usernameUserInput) {{
                        var usernameUserInputValue = usernameUserInput.value.trim();
                        if (getParameterByName("isSaaSApp") === "false") {{
                            if ((!isEmailUsernameEnabled) && (usernameUserInputValue.split("@").length > 1)) {{
                                userName.value = usernameUserInputValue;
                            }} else {{
                                userName.value = usernameUserInputValue + "@" + tenantName;
                            }}
                        }} else {{
                            userName.value = usernameUserInputValue;
                        }}
                    }}
                    if (userName.value) {{
                        $.ajax({{
                            type: "GET",
                            url: "/logincontext?sessionDataKey=" + getParameterByName("sessionDataKey") +
                                "&relyingParty=" + getParameterByName("relyingParty") + "&tenantDomain=" + tenantName,
                            success: function (data) {{
                                if (data && data.status == 'redirect' && data.redirectUrl && data.redirectUrl.length > 0) {{
                                    window.location.href = data.redirectUrl;
                                }} else {{
                                    $form.data('submitted', true);
                                    document.getElementById("loginForm").submit();
                                }}
                            }},
                            cache: false
                        }});
                    }}
                }}
            }});
            return this;
        }};
        $('#loginForm').preventDoubleSubmission();
    }});
</script>
<form class="ui large form" action="../commonauth" method="post" id="loginForm">
    {error}
        <div class="field">
            <div class="ui fluid left icon input">
                <input
                    type="text"
                    id="usernameUserInput"
                    value=""
                    name="usernameUserInput"
                    tabindex="1"
                    placeholder="Username"
                    required>
                <i aria-hidden="true" class="user icon"></i>
                <input id="username" name="username" type="hidden" value="null">
            </div>
        </div>
        <div class="field">
            <div class="ui fluid left icon input">
                <input
                    type="password"
                    id="password"
                    name="password"
                    value=""
                    autocomplete="off"
                    tabindex="2"
                    placeholder="Password">
                <i aria-hidden="true" class="lock icon"></i>
            </div>
        </div>
    <div class="buttons">
        <div class="field">
            Forgot
            <a id="passwordRecoverLink" tabindex="6" href="/accountrecoveryendpoint/recoveraccountrouter.do?{recover}&isUsernameRecovery=false">
                Password
            </a>
            ?
        </div>
    </div>
    <div class="ui divider hidden"></div>
    <div class="field">
        <div class="ui checkbox">
            <input tabindex="3" type="checkbox" id="chkRemember" name="chkRemember">
            <label>Remember me on this computer</label>
        </div>
    </div>
    <input type="hidden" name="sessionDataKey" value='{key}'/>
    <div class="ui divider hidden"></div>
    <div class="ui two column stackable grid">
        <div class="column mobile center aligned tablet left aligned computer left aligned buttons">
            <button
                type="button"
                onclick="window.location.href='/accountrecoveryendpoint/register.do?{recover}';"
                class="ui large button link-button"
                id="registerLink"
                tabindex="8"
                role="button">
                    Create an account
            </button>
        </div>
        <div class="column mobile center aligned tablet right aligned computer right aligned buttons">
            <button
                type="submit"
                onclick="submitCredentials(event)"
                class="ui primary large button"
                tabindex="4"
                role="button">
                    Continue
            </button>
        </div>
    </div>
</form>
            </div>
        </div>
    </main>
    <footer class="footer" style="text-align: center"><div class="container-fluid"><p>WSO2 Identity Server &copy; 2026</p></div></footer>
    <script>
        function getParameterByName(name, url) {{
            if (!url) url = window.location.href;
            name = name.replace(/[\[\]]/g, '\\$&');
            var regex = new RegExp('[?&]' + name + '(=([^&#]*)|&|#|$)'), results = regex.exec(url);
            if (!results) return null;
            if (!results[2]) return '';
            return decodeURIComponent(results[2].replace(/\+/g, ' '));
        }}
        function submitCredentials(e) {{ }}
    </script>
</body>
</html>"##,
        key = esc(key),
        recover = esc(&raw),
    );
    support::set_cookie(
        support::html(page),
        &format!(
            "JSESSIONID={}; Path=/authenticationendpoint; HttpOnly",
            support::token()
        ),
    )
}

async fn commonauth(State(app): State<App>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let Some(key) = param(&form, "sessionDataKey").map(str::to_string) else {
        return error_page(
            "Authentication Error! Something went wrong during the authentication process.",
        );
    };
    let Some(mut ctx) = app.contexts.lock().unwrap().get(&key).cloned() else {
        return error_page(
            "Authentication Error! Something went wrong during the authentication process.",
        );
    };
    app.tally.hit("commonauth");
    // BasicAuthenticator reads `username` (tenant-qualified by the page's script).
    let username = param(&form, "username").unwrap_or("");
    let username = username.strip_suffix("@carbon.super").unwrap_or(username);
    if username != USERNAME || param(&form, "password") != Some(PASSWORD) {
        return support::redirect(&format!(
            "/authenticationendpoint/login.do?{}&authFailure=true&authFailureMsg=login.fail.message",
            login_params(&key, &ctx)
        ));
    }
    ctx.user = Some(USERNAME.to_string());
    app.contexts.lock().unwrap().insert(key.clone(), ctx);
    let base = app.base.lock().unwrap().clone();
    let resp = support::redirect(&format!("{base}oauth2/authorize?sessionDataKey={key}"));
    support::set_cookie(
        resp,
        &format!("commonAuthId={}; Path=/; HttpOnly", support::token()),
    )
}

async fn consent_do(State(app): State<App>, Query(q): Query<Vec<(String, String)>>) -> Response {
    let consent_key = param(&q, "sessionDataKeyConsent").unwrap_or("");
    if !app.consents.lock().unwrap().contains_key(consent_key) {
        return error_page(
            "Authentication Error! Something went wrong during the authentication process.",
        );
    }
    app.tally.hit("consent page");
    let application = param(&q, "application").unwrap_or("");
    let scopes: String = param(&q, "scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("openid"))
        .map(|s| {
            format!(
                r##"<div class="item">
                                            <i class="check circle outline icon"></i>
                                            <div class="content">
                                                <div class="header">
                                                    {}
                                                </div>
                                            </div>
                                        </div>"##,
                esc(s)
            )
        })
        .collect();
    let base = app.base.lock().unwrap().clone();
    let page = format!(
        r##"<!doctype html>
<html>
<head>
    <meta http-equiv="X-UA-Compatible" content="IE=edge">
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <link href="libs/theme/wso2-default.min.css" rel="stylesheet">
    <title>WSO2 Identity Server</title>
    <script src="libs/jquery_3.4.1/jquery-3.4.1.js"></script>
</head>
<body class="login-portal layout authentication-portal-layout">
    <main class="center-segment">
        <div class="ui container medium center aligned middle aligned">
            <div class="product-title"><img src="libs/theme/assets/images/branding/logo.svg" alt="WSO2 logo" /></div>
            <div class="ui segment">
                <form class="ui large form" action="{action}" method="post" id="profile" name="oauth2_authz">
                    <h4>{app}
                        requests access to your profile information
                    </h4>
                    <div class="ui divider hidden"></div>
                    <div class="segment-form">
                        <div class="field">
                                <div class="ui segment" style="text-align: left;">
                                    <h5>Requested scopes:</h5>
                                    <div class="scopes-list ui list">
                                        {scopes}
                                    </div>
                                </div>
                                <div class="ui divider hidden"></div>
                                <div class="feild">
                                <div class="cookie-policy-message">
                                <h5>By approving, you agree to share your information with {app}</h5>
                                    By clicking Allow, you agree to share the above information with {app}, as described in its
                                <a href="privacy_policy.do" target="policy-pane">Privacy Policy</a>.
                                </div>
                                </div>
                                <div class="ui divider hidden"></div>
                                <div class="field">
                                    <div class="ui checkbox">
                                        <input
                                            tabindex="3"
                                            type="checkbox"
                                            id="rememberApproval"
                                            name="rememberApproval"
                                            data-testid="consent-page-remember-approval-checkbox"
                                        />
                                        <label>Remember my consent</label>
                                    </div>
                                </div>
                        </div>
                        <div class="ui divider hidden"></div>
                        <div class="align-right buttons">
                            <input type="hidden" name="sessionDataKeyConsent"
                                    value="{consent_key}"/>
                            <input type="hidden" name="consent" id="consent" value="deny"/>

                            <input class="ui large button secondary" type="reset"
                                onclick="deny(); return false;"
                                value="Deny" />
                            <input type="button" class="ui primary large button" id="approve" name="approve"
                                    onclick="approved(); return false;"
                                    value="Allow "/>
                        </div>
                    </div>
                </form>
            </div>
        </div>
    </main>
    <script type="text/javascript">
        function approved() {{
            var mandatoryClaimCBs = $(".mandatory-claim");
            var checkedMandatoryClaimCBs = $(".mandatory-claim:checked");
            var isApproveAlwaysChecked = $("#rememberApproval").is(':checked');
            if (isApproveAlwaysChecked) {{
                document.getElementById('consent').value = "approveAlways";
            }} else {{
                document.getElementById('consent').value = "approve";
            }}
            if (checkedMandatoryClaimCBs.length === mandatoryClaimCBs.length) {{
                document.getElementById("profile").submit();
            }} else {{
                $("#modal_claim_validation").modal("show");
            }}
        }}
        function deny() {{
            document.getElementById('consent').value = "deny";
            document.getElementById("profile").submit();
        }}
    </script>
</body>
</html>"##,
        action = esc(&format!("{base}oauth2/authorize")),
        app = esc(application),
        consent_key = esc(consent_key),
    );
    support::html(page)
}

async fn consent_post(State(app): State<App>, Form(form): Form<Vec<(String, String)>>) -> Response {
    let consent_key = param(&form, "sessionDataKeyConsent").unwrap_or("");
    let Some(key) = app.consents.lock().unwrap().remove(consent_key) else {
        return error_page(
            "Authentication Error! Something went wrong during the authentication process.",
        );
    };
    let Some(ctx) = app.contexts.lock().unwrap().remove(&key) else {
        return error_page(
            "Authentication Error! Something went wrong during the authentication process.",
        );
    };
    let decision = param(&form, "consent").unwrap_or("").to_string();
    app.decisions.lock().unwrap().push(decision.clone());
    let state = param(&ctx.query, "state").unwrap_or("");
    if decision == "approve" || decision == "approveAlways" {
        return support::to_client(
            REDIRECT_URI,
            &[
                ("code", &support::token()),
                ("state", state),
                (
                    "session_state",
                    &format!("{}.{}", support::token(), support::token()),
                ),
            ],
        );
    }
    support::to_client(
        REDIRECT_URI,
        &[
            ("error", "access_denied"),
            ("error_description", "User denied the consent"),
            ("state", state),
        ],
    )
}

async fn start_with(app: App) -> super::Fixture {
    let router = Router::new()
        .route("/oauth2/authorize", get(authorize).post(consent_post))
        .route("/authenticationendpoint/login.do", get(login_do))
        .route("/commonauth", axum::routing::post(commonauth))
        .route("/authenticationendpoint/oauth2_consent.do", get(consent_do))
        .with_state(app.clone());
    let (base, task) = support::serve(router).await;
    *app.base.lock().unwrap() = base.to_string();
    super::Fixture {
        reproduces: "WSO2 Identity Server authenticationendpoint: login.do (basicauth.jsp with usernameUserInput), oauth2_consent.do",
        authorize: base.join("/oauth2/authorize").expect("authorize url"),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        scope: "openid profile".into(),
        username: USERNAME.into(),
        password: PASSWORD.into(),
        login_origins: Vec::new(),
        can_deny: true,
        servers: vec![task],
    }
}

/// WSO2's pages work only with their scripts: the login form's submit handler copies the name
/// into the hidden `username` before posting, and the consent page has no submit button at all
/// (its Allow runs `approved()`). The form login runs no script, so it must not claim a code
/// here; it must say that the sign-in failed, with the page's own message, and point at the
/// browser login mode. Neither sign-in nor consent ever sends `consent=approve` without script.
#[tokio::test]
async fn wso2_identity_server_form_login_points_at_browser_mode() {
    let app = App::default();
    let fixture = start_with(app.clone()).await;
    let (_, outcome) = super::sign_in(
        &fixture,
        &fixture.password,
        oauthprobe::flow::authorize::Consent::Approve,
    )
    .await;
    match outcome {
        Err(oauthprobe::flow::authorize::FlowError::Login { why, page, .. }) => {
            assert!(
                why.contains("Login failed! Please recheck the username and password"),
                "the page's own message: {why}"
            );
            assert!(why.contains("mode = \"browser\""), "the advice: {why}");
            assert!(page.contains("usernameUserInput:text"), "the forms: {page}");
        }
        Err(other) => panic!("another error: {other}"),
        Ok(outcome) => panic!(
            "form login cannot pass WSO2's scripts: {}",
            outcome.describe()
        ),
    }
    assert!(
        app.decisions.lock().unwrap().is_empty(),
        "no consent decision is sent without its script"
    );
}
