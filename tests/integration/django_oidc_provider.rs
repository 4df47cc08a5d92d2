//! The scanner against django-oidc-provider (the exact version pinned in
//! tests/django-oidc-provider/requirements.txt, on Django 5.2), an OpenID Provider for Django
//! written by others: a judge of our verdicts. tests/django-oidc-provider/server.py runs it on
//! 127.0.0.1 in its documented default set-up (Django's own login view and the package's
//! consent page), and writes the matching target file. The test asserts the verdict of every
//! check by id, so a change in the scanner or in the pinned server shows up here; each
//! non-pass is explained in reports/django-oidc-provider.md.
//!
//! Needs `tests/django-oidc-provider/.venv` with the pinned packages (scripts/test.sh makes it:
//! `python3 -m venv tests/django-oidc-provider/.venv && tests/django-oidc-provider/.venv/bin/pip
//! install -r tests/django-oidc-provider/requirements.txt`). When it is missing: with `CI=true`
//! the test panics; elsewhere it prints `skipping ...: <why>` and passes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use oauthprobe::engine::{self, ScanOptions, Status};
use oauthprobe::target::Target;

use crate::common::ci;
use crate::common::reference::{self, ReferenceServer};

const TEST: &str = "django_oidc_provider::scan_verdicts_match_the_reference_server";

/// The verdict oauthprobe must give for each check against django-oidc-provider as configured
/// by server.py. Every check of the catalog must be listed.
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
    ("redirect-uri-token-required", Status::Pass),
    ("redirect-uri-token-exact", Status::Pass),
    // The replay is refused (the code row is deleted at the first redemption), but the
    // access token from the first redemption still works: RFC 6749 §4.1.2 SHOULD revoke.
    ("code-single-use", Status::Warn),
    ("code-bound-to-client", Status::Pass),
    // A slow check: the default scan leaves it out (codes live OIDC_CODE_EXPIRE = 600 s).
    ("code-expires", Status::Skip),
    // Codes are uuid4().hex: 122 random bits, below RFC 6749 §10.10's 2^-128 (MUST).
    ("code-unguessable", Status::Fail),
    ("code-unknown-refused", Status::Pass),
    ("code-single-use-concurrent", Status::Pass),
    ("code-bound-to-public-client", Status::Pass),
    // oidc_provider/lib/errors.py appends `&state=` to error redirects unencoded, so the
    // scanner's state (with `&f=`) injects a parameter into the Location: RFC 6749 §4.1.2.1
    // requires the exact value back. See reports/django-oidc-provider.md.
    ("state-echoed", Status::Fail),
    // No PKCE requirement at all: the public client's code without state or PKCE is redeemed.
    ("state-missing", Status::Fail),
    ("state-long-echoed", Status::Pass),
    // server.py sets reuse_consent = False, so there is a consent page, and "Decline" is
    // answered with access_denied and the exact state.
    ("state-echoed-on-denial", Status::Pass),
    // No RFC 9207 iss in authorization responses, and the metadata claims no support.
    ("iss-present", Status::Warn),
    // No response carries iss, so there is nothing to compare: iss-present reports it.
    ("iss-matches-issuer", Status::Skip),
    // An unknown response_type is redirected to the client with unsupported_response_type.
    ("authz-error-redirected", Status::Pass),
    ("iss-advertised", Status::Pass),
    ("pkce-verifier-required", Status::Pass),
    ("pkce-verifier-checked", Status::Pass),
    // code_challenge_method=plain is accepted (AuthorizeEndpoint allows plain and S256).
    ("pkce-no-plain-downgrade", Status::Warn),
    // The public client gets and redeems a code without code_challenge (RFC 9700 §2.1.1).
    ("pkce-required-public-client", Status::Fail),
    // The verifier is checked only when the code has a challenge (RFC 9700 §2.1.1 MUST).
    ("pkce-verifier-without-challenge-refused", Status::Fail),
    // The metadata has no code_challenge_methods_supported (RFC 9700 §2.1.1 RECOMMENDED).
    ("pkce-s256-advertised", Status::Warn),
    ("pkce-unknown-method-refused", Status::Pass),
    ("pkce-default-method-not-plain", Status::Pass),
    ("pkce-verifier-bound-to-code", Status::Pass),
    ("pkce-verifier-required-public-client", Status::Pass),
    ("authz-unknown-param-ignored", Status::Pass),
    ("authz-response-type-checked", Status::Pass),
    ("authz-implicit-refused", Status::Pass),
    // A repeated state is accepted; Django's QueryDict.get returns the last one.
    ("authz-duplicate-param-refused", Status::Warn),
    // The unknown scope is stored with the code and token; the token response has no scope.
    ("authz-unknown-scope-not-granted", Status::Warn),
    ("authz-endpoint-no-fragment", Status::Pass),
    // Django's LoginView answers the sign-in POST with 302, not 303 (RFC 9700 §4.12 SHOULD).
    ("authz-login-not-307", Status::Warn),
    ("token-endpoint-rejects-get", Status::Pass),
    ("token-endpoint-no-store", Status::Pass),
    ("token-endpoint-error-response", Status::Pass),
    // A repeated code is redeemed: RFC 6749 §3.2 binds the client, the copies were equal and
    // nothing diverged, so the server only tolerates the breach: warn (see reports/django-oidc-provider.md).
    ("token-endpoint-rejects-duplicate-params", Status::Warn),
    ("token-endpoint-ignores-unknown-params", Status::Pass),
    ("token-endpoint-no-password-grant", Status::Pass),
    // server.py serves plain http: there is no TLS to require.
    ("token-endpoint-tls-only", Status::Skip),
    ("token-endpoint-response-format", Status::Pass),
    ("token-endpoint-rejects-json-body", Status::Pass),
    ("client-auth-required", Status::Pass),
    ("client-auth-secret-checked", Status::Pass),
    // invalid_client is HTTP 400 without WWW-Authenticate (RFC 6749 §5.2 MUST 401).
    ("client-auth-basic-challenge", Status::Fail),
    ("client-auth-secret-not-in-query", Status::Pass),
    // Valid Basic credentials win and a wrong client_secret in the body is ignored: RFC 6749
    // §2.3 binds the client and nothing was bypassed, so warn (see reports/django-oidc-provider.md).
    ("client-auth-single-method", Status::Warn),
    ("client-auth-public-client-id-required", Status::Pass),
    ("refresh-rotated-for-public-client", Status::Pass),
    // Rotation deletes the used token but keeps no record: the replay is refused and the
    // newest refresh token keeps working (RFC 9700 §4.14.2).
    ("refresh-replay-revokes-grant", Status::Fail),
    ("refresh-bound-to-client", Status::Pass),
    ("refresh-requires-client-auth", Status::Pass),
    ("refresh-no-store", Status::Pass),
    ("refresh-scope-not-widened", Status::Pass),
    ("tokens-tampered-access-token-refused", Status::Pass),
    ("tokens-userinfo-requires-token", Status::Pass),
    // django-oidc-provider has no revocation endpoint (RFC 7009).
    ("tokens-refresh-token-revocable", Status::Skip),
    // WWW-Authenticate carries error="invalid_token" without the Bearer scheme (RFC 6750 §3).
    ("tokens-userinfo-bearer-challenge", Status::Fail),
    // userinfo reads access_token from the query (RFC 6750 §2.3, §5.3 SHOULD NOT).
    ("tokens-userinfo-query-token-refused", Status::Warn),
    // No revocation endpoint (RFC 7009).
    ("tokens-access-token-revocable", Status::Skip),
    ("oidc-id-token-signature-valid", Status::Pass),
    ("oidc-id-token-issuer", Status::Pass),
    ("oidc-id-token-audience", Status::Pass),
    ("oidc-id-token-lifetime", Status::Pass),
    ("oidc-nonce-echoed", Status::Pass),
    ("oidc-userinfo-sub-matches", Status::Pass),
    ("oidc-id-token-subject", Status::Pass),
    // create_id_token (oidc_provider/lib/utils/token.py) stamps every ID token, refreshed ones
    // included, with `auth_time = user.last_login`: the user's latest sign-in from any browser,
    // not the original authentication (OpenID Connect Core §12.2 MUST). The probe sees it only
    // when another check signs the same user in between its code and its refresh, a second or
    // more later; otherwise the refreshed token carries the same, equally wrong, value: see TIMING.
    ("oidc-refresh-id-token-consistent", Status::Pass),
    ("oidc-userinfo-post-supported", Status::Pass),
    ("oidc-id-token-kid-when-several-keys", Status::Pass),
    ("oidc-max-age-auth-time", Status::Pass),
    ("oidc-prompt-none-shows-no-page", Status::Pass),
    ("metadata-issuer-matches", Status::Pass),
    ("metadata-required-fields", Status::Pass),
    ("metadata-endpoints-https", Status::Pass),
    ("metadata-jwks-public-keys-only", Status::Pass),
    ("metadata-oidc-required-fields", Status::Pass),
    ("metadata-json-content-type", Status::Pass),
    ("metadata-no-empty-members", Status::Pass),
    ("metadata-oidc-issuer-matches", Status::Pass),
    // Login and consent pages: X-Frame-Options: DENY (Django's XFrameOptionsMiddleware), no
    // CSP frame-ancestors (RFC 9700 §4.16 SHOULD).
    ("headers-anti-framing", Status::Warn),
    ("headers-authorization-no-cors", Status::Pass),
    ("headers-referrer-policy", Status::Pass),
    // Django's csrftoken cookie is not HttpOnly by design (CSRF_COOKIE_HTTPONLY = False);
    // sessionid is HttpOnly; SameSite=Lax.
    ("headers-session-cookie-flags", Status::Warn),
    // The page shows the client's name ("oauthprobe basic"); the client id is only in a
    // hidden input's value, which the user does not see. See the report.
    ("headers-consent-names-client", Status::Warn),
];

/// Checks whose verdict depends on how the concurrent checks interleave.
const TIMING: &[reference::Alternative] = &[
    // The flaw above, observed: seen in 1 run of 4 with both cores busy, and once in CI.
    (
        "oidc-refresh-id-token-consistent",
        Status::Fail,
        "an ID token whose auth_time",
    ),
];

/// The default concurrency: Django's threaded server handles the scanner's four flows at once
/// (SQLite with BEGIN IMMEDIATE serialises the writes; see the README).
const CONCURRENCY: usize = 4;

const BASIC_SECRET: &str = "djop-basic-secret-7c2e9a4f1b6d3e8a5c0f2b7d";
const POST_SECRET: &str = "djop-post-secret-4a9d2f7c1e8b5a3d6f0c2e9b";
const PASSWORD: &str = "djop-password-9e3b6d1a4f7c2e8b5d0a3f6c";

fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django-oidc-provider")
}

/// The virtualenv's python, with the pinned django-oidc-provider and Django installed, or why not.
fn prerequisites() -> Result<PathBuf, String> {
    reference::pinned_venv_python(&server_dir(), &["django-oidc-provider", "Django"])
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
        .env("OP_BASIC_SECRET", BASIC_SECRET)
        .env("OP_POST_SECRET", POST_SECRET)
        .env("OP_USERNAME", "scanner-test-user")
        .env("OP_PASSWORD", PASSWORD)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // server.py's temporary directory (the SQLite file) goes inside the test's, which is
        // removed even though the server is killed rather than left to clean up itself.
        .env("TMPDIR", dir);
    // Migrating a fresh database and making an RSA key take a few seconds on a busy machine.
    reference::start(
        cmd,
        "django-oidc-provider listening on ",
        &dir.join("server.stderr"),
        Duration::from_secs(120),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_verdicts_match_the_reference_server() {
    let python = match prerequisites() {
        Ok(python) => python,
        Err(why) if ci() => panic!(
            "django-oidc-provider reference server unavailable under CI=true: scripts/test.sh must create tests/django-oidc-provider/.venv from its requirements.txt ({TEST}: {why})"
        ),
        Err(why) => {
            eprintln!("skipping {TEST}: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let target_file = dir.path().join("django-oidc-provider.toml");
    let server = start_server(&python, dir.path(), &target_file);
    let target = Target::load(&target_file).expect("server.py writes a valid target file");
    // django-oidc-provider's issuer is the site URL plus the path its URLs are mounted on.
    assert_eq!(
        target.issuer.as_str().trim_end_matches('/'),
        format!("{}/openid", server.url)
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
    let server_log =
        || std::fs::read_to_string(dir.path().join("server.stderr")).unwrap_or_default();
    reference::assert_verdicts(
        "django-oidc-provider",
        &report,
        EXPECTED,
        TIMING,
        &[BASIC_SECRET, POST_SECRET, PASSWORD],
        server_log,
    );
    // No request may have ended in a server error: a 500 would be a broken set-up, not a verdict.
    let log = server_log();
    assert!(
        !log.contains("Internal Server Error"),
        "django-oidc-provider answered HTTP 500 during the scan:\n{log}"
    );
    assert_revocation_is_support_aware(&report);

    drop(server);
}

/// django-oidc-provider publishes no revocation endpoint (issue 13, item 3): the revocation
/// checks are n/a under a profile that leaves RFC 7009 optional, so they neither fail nor keep
/// it from being met, and they fail under one that requires revocation.
fn assert_revocation_is_support_aware(report: &oauthprobe::engine::Report) {
    use oauthprobe::engine::{Feature, Finding};
    let revocation = [
        "tokens-refresh-token-revocable",
        "tokens-access-token-revocable",
    ];
    let requiring = oauthprobe::profile::parse(
        "revocation-required",
        "name = \"revocation-required\"\ntitle = \"t\"\ndescription = \"RFC 9700 with revocation required, to test it\"\nstandards = [\"RFC 9700\", \"RFC 7009\"]\nrequires = [\"revocation\"]\n",
    )
    .expect("a valid profile");
    let rfc9700 = oauthprobe::profile::find("rfc9700").unwrap();
    for id in revocation {
        let r = report.results.iter().find(|r| r.meta.id == id).unwrap();
        assert_eq!(
            r.finding,
            Finding::Unsupported(Feature::Revocation),
            "{id}: {}",
            r.message
        );
        assert_eq!(rfc9700.judge(r.meta, &r.finding).0, Status::Skip, "{id}");
        let (status, note) = requiring.judge(r.meta, &r.finding);
        assert_eq!(status, Status::Fail, "{id}");
        assert!(note.unwrap().contains("requires revocation"));
    }
    let optional = oauthprobe::profile::summarize(rfc9700, report);
    let required = oauthprobe::profile::summarize(&requiring, report);
    for id in revocation {
        assert!(
            !optional.not_run.iter().any(|c| c == id),
            "{}",
            optional.line()
        );
        assert!(
            !optional.not_met.iter().any(|c| c == id),
            "{}",
            optional.line()
        );
        assert!(
            required.not_met.iter().any(|c| c == id),
            "{}",
            required.line()
        );
    }
}
