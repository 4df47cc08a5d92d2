//! The scanner against django-oauth-toolkit (DOT), the OAuth 2.0 / OpenID Connect provider for
//! Django, in the versions pinned in tests/django-oauth-toolkit/requirements.txt: a server written
//! by others, as a judge of our verdicts. tests/django-oauth-toolkit/server.py runs a Django
//! project set up as DOT's tutorial and OpenID Connect page describe it (DOT's defaults
//! otherwise: PKCE required, consent shown every time, Django's own login page) on 127.0.0.1,
//! and writes the matching target file. The test asserts the verdict of every check by id, so a
//! change in the scanner or in the pinned server shows up here; reports/django-oauth-toolkit.md
//! explains every verdict that is not a pass.
//!
//! Needs tests/django-oauth-toolkit/.venv (scripts/test.sh creates it from requirements.txt).
//! When it is missing: with `CI=true` the test panics; elsewhere it prints `skipping ...: <why>`
//! and passes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use oauthprobe::engine::{self, ScanOptions, Status};
use oauthprobe::target::Target;

use crate::common::ci;
use crate::common::reference::{self, ReferenceServer};

const TEST: &str = "django_oauth_toolkit::scan_verdicts_match_the_reference_server";

/// The verdict oauthprobe must give for each check against django-oauth-toolkit as configured by
/// server.py. Every check of the catalog must be listed; reports/django-oauth-toolkit.md gives
/// the evidence and the RFC text for each comment.
const EXPECTED: &[(&str, Status)] = &[
    ("redirect-uri-exact-match", Status::Pass),
    ("redirect-uri-token-binding", Status::Pass),
    ("redirect-uri-unknown-client-not-redirected", Status::Pass),
    ("redirect-uri-error-not-redirected", Status::Pass),
    ("redirect-uri-fragment-refused", Status::Pass),
    ("redirect-uri-duplicate-refused", Status::Pass),
    ("redirect-uri-not-normalised", Status::Pass),
    ("redirect-uri-query-exact", Status::Pass),
    ("redirect-uri-path-exact", Status::Pass),
    ("redirect-uri-subdomain-refused", Status::Pass),
    ("redirect-uri-userinfo-refused", Status::Pass),
    ("redirect-uri-required-when-several", Status::Pass),
    // oauthlib fills in the client's default redirect URI when the token request omits
    // it, against RFC 6749 §4.1.3 (reports/django-oauth-toolkit.md).
    ("redirect-uri-token-required", Status::Fail),
    ("redirect-uri-token-exact", Status::Pass),
    // The replay is refused, but the first access token keeps working: DOT deletes the
    // grant at the first redemption and keeps no link from code to tokens (RFC 6749 §4.1.2 SHOULD).
    ("code-single-use", Status::Warn),
    ("code-bound-to-client", Status::Pass),
    // A slow check: the default scan leaves it out.
    ("code-expires", Status::Skip),
    ("code-unguessable", Status::Pass),
    ("code-unknown-refused", Status::Pass),
    ("code-single-use-concurrent", Status::Pass),
    ("code-bound-to-public-client", Status::Pass),
    ("state-echoed", Status::Pass),
    ("state-missing", Status::Pass),
    ("state-long-echoed", Status::Pass),
    // REQUEST_APPROVAL_PROMPT "force" shows consent every time, so denial is tested.
    ("state-echoed-on-denial", Status::Pass),
    // No iss in authorization responses: COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS defaults to
    // False, and the metadata does not claim RFC 9207 support.
    ("iss-present", Status::Warn),
    // No response carries iss, so there is nothing to compare: iss-present reports it.
    ("iss-matches-issuer", Status::Skip),
    // An unknown response_type is redirected to the client with unsupported_response_type.
    ("authz-error-redirected", Status::Pass),
    ("iss-advertised", Status::Pass),
    ("pkce-verifier-required", Status::Pass),
    ("pkce-verifier-checked", Status::Pass),
    // code_challenge_method=plain is accepted (COMPLIANT_BCP_RFC9700_PKCE_METHOD defaults
    // to False); S256 is still enforced when asked for.
    ("pkce-no-plain-downgrade", Status::Warn),
    ("pkce-required-public-client", Status::Pass),
    ("pkce-verifier-without-challenge-refused", Status::Pass),
    ("pkce-s256-advertised", Status::Pass),
    ("pkce-unknown-method-refused", Status::Pass),
    // No method means plain (RFC 7636 §4.3 allows it; RFC 9700 advises against).
    ("pkce-default-method-not-plain", Status::Warn),
    ("pkce-verifier-bound-to-code", Status::Pass),
    ("pkce-verifier-required-public-client", Status::Pass),
    ("authz-unknown-param-ignored", Status::Pass),
    ("authz-response-type-checked", Status::Pass),
    ("authz-implicit-refused", Status::Pass),
    ("authz-duplicate-param-refused", Status::Pass),
    ("authz-unknown-scope-not-granted", Status::Pass),
    ("authz-endpoint-no-fragment", Status::Pass),
    // Django's LoginView answers the sign-in POST with 302, not 303 (RFC 9700 §4.12 SHOULD).
    ("authz-login-not-307", Status::Warn),
    ("token-endpoint-rejects-get", Status::Pass),
    ("token-endpoint-no-store", Status::Pass),
    ("token-endpoint-error-response", Status::Pass),
    // A repeated code is redeemed: RFC 6749 §3.2 binds the client, the copies were equal and
    // nothing diverged, so the server only tolerates the breach: warn (see reports/django-oauth-toolkit.md).
    ("token-endpoint-rejects-duplicate-params", Status::Warn),
    ("token-endpoint-ignores-unknown-params", Status::Pass),
    ("token-endpoint-no-password-grant", Status::Pass),
    // server.py serves plain http: there is no TLS to require.
    ("token-endpoint-tls-only", Status::Skip),
    ("token-endpoint-response-format", Status::Pass),
    ("token-endpoint-rejects-json-body", Status::Pass),
    ("client-auth-required", Status::Pass),
    ("client-auth-secret-checked", Status::Pass),
    // oauthlib answers a failed Basic authentication with 401 and a Bearer challenge,
    // against RFC 6749 §5.2 ("matching the authentication scheme used by the client").
    ("client-auth-basic-challenge", Status::Fail),
    ("client-auth-secret-not-in-query", Status::Pass),
    // Valid Basic credentials win and a wrong client_secret in the body is ignored: RFC 6749
    // §2.3 binds the client and nothing was bypassed, so warn (see reports/django-oauth-toolkit.md).
    ("client-auth-single-method", Status::Warn),
    ("client-auth-public-client-id-required", Status::Pass),
    ("refresh-rotated-for-public-client", Status::Pass),
    // REFRESH_TOKEN_REUSE_PROTECTION defaults to False: a replayed refresh token is
    // refused but the newest one survives (RFC 9700 §4.14.2 MUST for public clients).
    ("refresh-replay-revokes-grant", Status::Fail),
    ("refresh-bound-to-client", Status::Pass),
    ("refresh-requires-client-auth", Status::Pass),
    ("refresh-no-store", Status::Pass),
    ("refresh-scope-not-widened", Status::Pass),
    ("tokens-tampered-access-token-refused", Status::Pass),
    ("tokens-userinfo-requires-token", Status::Pass),
    ("tokens-refresh-token-revocable", Status::Pass),
    ("tokens-userinfo-bearer-challenge", Status::Pass),
    // The access_token query parameter is accepted
    // (COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT defaults to False; RFC 6750 SHOULD NOT).
    ("tokens-userinfo-query-token-refused", Status::Warn),
    ("tokens-access-token-revocable", Status::Pass),
    ("oidc-id-token-signature-valid", Status::Pass),
    ("oidc-id-token-issuer", Status::Pass),
    ("oidc-id-token-audience", Status::Pass),
    ("oidc-id-token-lifetime", Status::Pass),
    ("oidc-nonce-echoed", Status::Pass),
    ("oidc-userinfo-sub-matches", Status::Pass),
    ("oidc-id-token-subject", Status::Pass),
    // DOT stamps every ID token, refreshed ones included, with the user's latest sign-in
    // (`auth_time = request.user.last_login`), not the original authentication (OpenID Connect
    // Core §12.2 MUST). The probe sees it only when another check signs the same user in from a
    // new cookie jar between its code and its refresh; otherwise it passes: see TIMING below.
    ("oidc-refresh-id-token-consistent", Status::Fail),
    ("oidc-userinfo-post-supported", Status::Pass),
    ("oidc-id-token-kid-when-several-keys", Status::Pass),
    ("oidc-max-age-auth-time", Status::Pass),
    // An HTTP 500 page: without a session, DOT's prompt=none path calls oauthlib's
    // validate_silent_login, which DOT's validator does not implement (NotImplementedError), so
    // login_required never reaches the client (OIDC Core §3.1.2.6: SHOULD). See the report.
    ("oidc-prompt-none-shows-no-page", Status::Warn),
    ("metadata-issuer-matches", Status::Pass),
    ("metadata-required-fields", Status::Pass),
    ("metadata-endpoints-https", Status::Pass),
    ("metadata-jwks-public-keys-only", Status::Pass),
    ("metadata-oidc-required-fields", Status::Pass),
    ("metadata-json-content-type", Status::Pass),
    ("metadata-no-empty-members", Status::Pass),
    ("metadata-oidc-issuer-matches", Status::Pass),
    // XFrameOptionsMiddleware sends X-Frame-Options: DENY, but nothing sends CSP
    // frame-ancestors (RFC 9700 §4.16 SHOULD).
    ("headers-anti-framing", Status::Warn),
    ("headers-authorization-no-cors", Status::Pass),
    ("headers-referrer-policy", Status::Pass),
    // Django's csrftoken cookie is not HttpOnly (CSRF_COOKIE_HTTPONLY defaults to False,
    // on purpose: it is a double-submit token, not a session credential; sessionid is HttpOnly).
    ("headers-session-cookie-flags", Status::Warn),
    // DOT's consent page shows the application's name ("Authorize oauthprobe basic?"); the
    // client id is only in a hidden input, which the user does not see. See the report.
    ("headers-consent-names-client", Status::Warn),
];

/// Checks whose verdict depends on how the concurrent checks interleave.
const TIMING: &[reference::Alternative] = &[
    // The DOT flaw above is real in every run; the probe observes it only when a sign-in of
    // another check falls between its code and its refresh (seen in 1 run of 3 at concurrency
    // 4). Otherwise the refreshed ID token carries the same, equally wrong, last_login.
    (
        "oidc-refresh-id-token-consistent",
        Status::Pass,
        "keeps the original iss, sub, aud, azp and auth_time",
    ),
];

/// The default concurrency: four flows at once against Django's threaded server and SQLite.
const CONCURRENCY: usize = 4;

const BASIC_SECRET: &str = "dot-basic-secret-7c1e9a4f2b8d3e6a0f5c9b2d";
const POST_SECRET: &str = "dot-post-secret-4a8f2c6e1d9b7a3f0e5c8d2b";
const PASSWORD: &str = "dot-password-9e3b7d1a5c8f2e6b0d4a7c9f";

fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django-oauth-toolkit")
}

/// The virtualenv's python, with the pinned Django and django-oauth-toolkit installed, or why not.
fn prerequisites() -> Result<PathBuf, String> {
    reference::pinned_venv_python(&server_dir(), &["Django", "django-oauth-toolkit"])
}

fn start_server(python: &Path, dir: &Path, target_file: &Path) -> ReferenceServer {
    let mut cmd = Command::new(python);
    cmd.current_dir(server_dir())
        .arg("server.py")
        .arg("0")
        .arg("--write-config")
        .arg(target_file)
        // Ends the server if this test process dies without running Drop.
        .arg("--exit-with-stdin")
        .env("DOT_BASIC_SECRET", BASIC_SECRET)
        .env("DOT_POST_SECRET", POST_SECRET)
        .env("DOT_USERNAME", "scanner-test-user")
        .env("DOT_PASSWORD", PASSWORD)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    // Migrations and an RSA key come first: allow a loaded machine some time.
    reference::start(
        cmd,
        "django-oauth-toolkit listening on ",
        &dir.join("server.stderr"),
        Duration::from_secs(120),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_verdicts_match_the_reference_server() {
    let python = match prerequisites() {
        Ok(python) => python,
        Err(why) if ci() => panic!(
            "django-oauth-toolkit reference server unavailable under CI=true: scripts/test.sh must create tests/django-oauth-toolkit/.venv from its requirements.txt ({TEST}: {why})"
        ),
        Err(why) => {
            eprintln!("skipping {TEST}: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let target_file = dir.path().join("django-oauth-toolkit.toml");
    let server = start_server(&python, dir.path(), &target_file);
    let target = Target::load(&target_file).expect("server.py writes a valid target file");
    // DOT's issuer is the discovery URL without its well-known suffix: the /o/ mount.
    assert_eq!(
        target.issuer.as_str().trim_end_matches('/'),
        format!("{}/o", server.url)
    );
    assert!(target.second_client.is_some() && target.public_client.is_some());

    let report = engine::scan(
        target,
        ScanOptions {
            concurrency: CONCURRENCY,
            ..ScanOptions::default()
        },
    )
    .await
    .expect("the scan runs");
    let server_log = || {
        // The request log is long; the errors (with tracebacks) are what explains a change.
        let log = std::fs::read_to_string(dir.path().join("server.stderr")).unwrap_or_default();
        let errors: Vec<&str> = log.lines().filter(|l| !l.starts_with('[')).collect();
        errors.join("\n")
    };
    reference::assert_verdicts(
        "django-oauth-toolkit",
        &report,
        EXPECTED,
        TIMING,
        &[BASIC_SECRET, POST_SECRET, PASSWORD],
        server_log,
    );
    drop(server);
}
