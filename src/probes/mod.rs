//! The probes: one module per check family, one async function per check. The check's
//! metadata lives in `checks/<id>.md`; this table links each id to its probe.

mod authz;
mod client_auth;
mod code;
mod headers;
mod iss;
mod metadata;
mod oidc;
mod pkce;
mod redirect_uri;
mod refresh;
mod state;
mod token_endpoint;
mod tokens;

use futures::future::BoxFuture;

use crate::engine::Cx;
use crate::engine::context::{ProbeError, ProbeResult};

type Probe = for<'a> fn(&'a Cx) -> BoxFuture<'a, ProbeResult>;

pub static PROBES: &[(&str, Probe)] = &[
    ("redirect-uri-exact-match", |cx| {
        Box::pin(redirect_uri::exact_match(cx))
    }),
    ("redirect-uri-token-binding", |cx| {
        Box::pin(redirect_uri::token_binding(cx))
    }),
    ("code-single-use", |cx| Box::pin(code::single_use(cx))),
    ("state-echoed", |cx| Box::pin(state::echoed(cx))),
    ("state-missing", |cx| Box::pin(state::missing(cx))),
    ("token-endpoint-rejects-get", |cx| {
        Box::pin(token_endpoint::rejects_get(cx))
    }),
    ("pkce-verifier-required", |cx| {
        Box::pin(pkce::verifier_required(cx))
    }),
    ("pkce-verifier-checked", |cx| {
        Box::pin(pkce::verifier_checked(cx))
    }),
    ("pkce-no-plain-downgrade", |cx| {
        Box::pin(pkce::no_plain_downgrade(cx))
    }),
    ("pkce-required-public-client", |cx| {
        Box::pin(pkce::required_public_client(cx))
    }),
    ("code-bound-to-client", |cx| {
        Box::pin(code::bound_to_client(cx))
    }),
    ("code-expires", |cx| Box::pin(code::expires(cx))),
    ("code-unguessable", |cx| Box::pin(code::unguessable(cx))),
    ("code-unknown-refused", |cx| {
        Box::pin(code::unknown_refused(cx))
    }),
    ("code-single-use-concurrent", |cx| {
        Box::pin(code::single_use_concurrent(cx))
    }),
    ("redirect-uri-unknown-client-not-redirected", |cx| {
        Box::pin(redirect_uri::unknown_client_not_redirected(cx))
    }),
    ("redirect-uri-error-not-redirected", |cx| {
        Box::pin(redirect_uri::error_not_redirected(cx))
    }),
    ("redirect-uri-fragment-refused", |cx| {
        Box::pin(redirect_uri::fragment_refused(cx))
    }),
    ("redirect-uri-duplicate-refused", |cx| {
        Box::pin(redirect_uri::duplicate_refused(cx))
    }),
    ("redirect-uri-not-normalised", |cx| {
        Box::pin(redirect_uri::not_normalised(cx))
    }),
    ("redirect-uri-query-exact", |cx| {
        Box::pin(redirect_uri::query_exact(cx))
    }),
    ("redirect-uri-path-exact", |cx| {
        Box::pin(redirect_uri::path_exact(cx))
    }),
    ("redirect-uri-subdomain-refused", |cx| {
        Box::pin(redirect_uri::subdomain_refused(cx))
    }),
    ("redirect-uri-userinfo-refused", |cx| {
        Box::pin(redirect_uri::userinfo_refused(cx))
    }),
    ("redirect-uri-required-when-several", |cx| {
        Box::pin(redirect_uri::required_when_several(cx))
    }),
    ("iss-present", |cx| Box::pin(iss::present(cx))),
    ("iss-matches-issuer", |cx| Box::pin(iss::matches_issuer(cx))),
    ("iss-advertised", |cx| {
        Box::pin(iss::advertised_when_sent(cx))
    }),
    ("authz-unknown-param-ignored", |cx| {
        Box::pin(authz::unknown_param_ignored(cx))
    }),
    ("authz-response-type-checked", |cx| {
        Box::pin(authz::response_type_checked(cx))
    }),
    ("authz-implicit-refused", |cx| {
        Box::pin(authz::implicit_refused(cx))
    }),
    ("authz-duplicate-param-refused", |cx| {
        Box::pin(authz::duplicate_param_refused(cx))
    }),
    ("authz-unknown-scope-not-granted", |cx| {
        Box::pin(authz::unknown_scope_not_granted(cx))
    }),
    ("state-long-echoed", |cx| Box::pin(state::long_echoed(cx))),
    ("state-echoed-on-denial", |cx| {
        Box::pin(state::echoed_on_denial(cx))
    }),
    ("pkce-verifier-without-challenge-refused", |cx| {
        Box::pin(pkce::verifier_without_challenge_refused(cx))
    }),
    ("pkce-s256-advertised", |cx| {
        Box::pin(pkce::s256_advertised(cx))
    }),
    ("pkce-unknown-method-refused", |cx| {
        Box::pin(pkce::unknown_method_refused(cx))
    }),
    ("pkce-default-method-not-plain", |cx| {
        Box::pin(pkce::default_method_not_plain(cx))
    }),
    ("redirect-uri-token-required", |cx| {
        Box::pin(redirect_uri::token_required(cx))
    }),
    ("authz-endpoint-no-fragment", |cx| {
        Box::pin(authz::endpoint_no_fragment(cx))
    }),
    ("authz-login-not-307", |cx| {
        Box::pin(authz::login_not_307(cx))
    }),
    ("pkce-verifier-bound-to-code", |cx| {
        Box::pin(pkce::verifier_bound_to_code(cx))
    }),
    ("code-bound-to-public-client", |cx| {
        Box::pin(code::bound_to_public_client(cx))
    }),
    ("redirect-uri-token-exact", |cx| {
        Box::pin(redirect_uri::token_exact(cx))
    }),
    ("pkce-verifier-required-public-client", |cx| {
        Box::pin(pkce::verifier_required_public_client(cx))
    }),
    ("token-endpoint-no-store", |cx| {
        Box::pin(token_endpoint::no_store(cx))
    }),
    ("token-endpoint-error-response", |cx| {
        Box::pin(token_endpoint::error_response(cx))
    }),
    ("token-endpoint-rejects-duplicate-params", |cx| {
        Box::pin(token_endpoint::rejects_duplicate_params(cx))
    }),
    ("token-endpoint-ignores-unknown-params", |cx| {
        Box::pin(token_endpoint::ignores_unknown_params(cx))
    }),
    ("token-endpoint-no-password-grant", |cx| {
        Box::pin(token_endpoint::no_password_grant(cx))
    }),
    ("client-auth-required", |cx| {
        Box::pin(client_auth::required(cx))
    }),
    ("client-auth-secret-checked", |cx| {
        Box::pin(client_auth::secret_checked(cx))
    }),
    ("client-auth-basic-challenge", |cx| {
        Box::pin(client_auth::basic_challenge(cx))
    }),
    ("client-auth-secret-not-in-query", |cx| {
        Box::pin(client_auth::secret_not_in_query(cx))
    }),
    ("refresh-rotated-for-public-client", |cx| {
        Box::pin(refresh::rotated_for_public_client(cx))
    }),
    ("refresh-replay-revokes-grant", |cx| {
        Box::pin(refresh::replay_revokes_grant(cx))
    }),
    ("refresh-bound-to-client", |cx| {
        Box::pin(refresh::bound_to_client(cx))
    }),
    ("refresh-requires-client-auth", |cx| {
        Box::pin(refresh::requires_client_auth(cx))
    }),
    ("refresh-no-store", |cx| Box::pin(refresh::no_store(cx))),
    ("refresh-scope-not-widened", |cx| {
        Box::pin(refresh::scope_not_widened(cx))
    }),
    ("oidc-id-token-signature-valid", |cx| {
        Box::pin(oidc::id_token_signature_valid(cx))
    }),
    ("oidc-id-token-issuer", |cx| {
        Box::pin(oidc::id_token_issuer(cx))
    }),
    ("oidc-id-token-audience", |cx| {
        Box::pin(oidc::id_token_audience(cx))
    }),
    ("oidc-id-token-lifetime", |cx| {
        Box::pin(oidc::id_token_lifetime(cx))
    }),
    ("oidc-nonce-echoed", |cx| Box::pin(oidc::nonce_echoed(cx))),
    ("oidc-userinfo-sub-matches", |cx| {
        Box::pin(oidc::userinfo_sub_matches(cx))
    }),
    ("metadata-issuer-matches", |cx| {
        Box::pin(metadata::issuer_matches(cx))
    }),
    ("metadata-required-fields", |cx| {
        Box::pin(metadata::required_fields(cx))
    }),
    ("metadata-endpoints-https", |cx| {
        Box::pin(metadata::endpoints_https(cx))
    }),
    ("metadata-jwks-public-keys-only", |cx| {
        Box::pin(metadata::jwks_public_keys_only(cx))
    }),
    ("tokens-tampered-access-token-refused", |cx| {
        Box::pin(tokens::tampered_access_token_refused(cx))
    }),
    ("tokens-userinfo-requires-token", |cx| {
        Box::pin(tokens::userinfo_requires_token(cx))
    }),
    ("tokens-refresh-token-revocable", |cx| {
        Box::pin(tokens::refresh_token_revocable(cx))
    }),
    ("headers-anti-framing", |cx| {
        Box::pin(headers::anti_framing(cx))
    }),
    ("headers-authorization-no-cors", |cx| {
        Box::pin(headers::authorization_no_cors(cx))
    }),
    ("client-auth-single-method", |cx| {
        Box::pin(client_auth::single_method(cx))
    }),
    ("token-endpoint-tls-only", |cx| {
        Box::pin(token_endpoint::tls_only(cx))
    }),
    ("token-endpoint-response-format", |cx| {
        Box::pin(token_endpoint::response_format(cx))
    }),
    ("client-auth-public-client-id-required", |cx| {
        Box::pin(client_auth::public_client_id_required(cx))
    }),
    ("oidc-id-token-subject", |cx| {
        Box::pin(oidc::id_token_subject(cx))
    }),
    ("metadata-oidc-required-fields", |cx| {
        Box::pin(metadata::oidc_required_fields(cx))
    }),
    ("oidc-refresh-id-token-consistent", |cx| {
        Box::pin(oidc::refresh_id_token_consistent(cx))
    }),
    ("tokens-userinfo-bearer-challenge", |cx| {
        Box::pin(tokens::userinfo_bearer_challenge(cx))
    }),
    ("metadata-json-content-type", |cx| {
        Box::pin(metadata::json_content_type(cx))
    }),
    ("oidc-userinfo-post-supported", |cx| {
        Box::pin(oidc::userinfo_post_supported(cx))
    }),
    ("metadata-no-empty-members", |cx| {
        Box::pin(metadata::no_empty_members(cx))
    }),
    ("metadata-oidc-issuer-matches", |cx| {
        Box::pin(metadata::oidc_issuer_matches(cx))
    }),
    ("oidc-id-token-kid-when-several-keys", |cx| {
        Box::pin(oidc::id_token_kid_when_several_keys(cx))
    }),
    ("oidc-max-age-auth-time", |cx| {
        Box::pin(oidc::max_age_auth_time(cx))
    }),
    ("oidc-prompt-none-shows-no-page", |cx| {
        Box::pin(oidc::prompt_none_shows_no_page(cx))
    }),
    ("tokens-userinfo-query-token-refused", |cx| {
        Box::pin(tokens::userinfo_query_token_refused(cx))
    }),
    ("tokens-access-token-revocable", |cx| {
        Box::pin(tokens::access_token_revocable(cx))
    }),
    ("headers-referrer-policy", |cx| {
        Box::pin(headers::referrer_policy_strict(cx))
    }),
    ("headers-session-cookie-flags", |cx| {
        Box::pin(headers::session_cookie_flags(cx))
    }),
    ("token-endpoint-rejects-json-body", |cx| {
        Box::pin(token_endpoint::rejects_json_body(cx))
    }),
    ("headers-consent-names-client", |cx| {
        Box::pin(headers::consent_names_client(cx))
    }),
    ("authz-error-redirected", |cx| {
        Box::pin(authz::error_redirected(cx))
    }),
];

/// Why an endpoint is unknown, naming only documents that exist: the metadata the scanner read
/// (when it read one) and the target file's `[endpoints]` table.
/// No refresh token for `client`. Refresh tokens are OPTIONAL (RFC 6749 §1.5): a server whose
/// metadata does not list the refresh_token grant does not offer them (the check is n/a unless
/// the profile requires them); one whose metadata lists it has not shown them to this client,
/// which is the target file's to fix (a skip, not run).
pub(crate) fn no_refresh_token(cx: &Cx, client: &crate::target::Client) -> crate::engine::Outcome {
    use crate::engine::{Feature, Outcome};
    let issued = format!(
        "the server issued no refresh token to client `{}` (scope `{}`)",
        client.id, client.scope
    );
    let hint = "if it issues them for a scope such as offline_access, add it to that client's scope in the target file";
    if cx
        .server
        .advertises("grant_types_supported", "refresh_token")
        == Some(true)
    {
        Outcome::skip(format!(
            "{issued}, though its metadata lists the refresh_token grant; {hint}"
        ))
    } else {
        Outcome::unsupported(
            Feature::RefreshTokens,
            format!("{issued}, and its metadata does not list the refresh_token grant; {hint}"),
        )
    }
}

pub(crate) fn no_endpoint(cx: &Cx, member: &str, key: &str) -> String {
    match &cx.server.metadata_url {
        Some(url) => format!(
            "the metadata at {url} names no {member}, and the target file sets no [endpoints] {key}; set it to run this check"
        ),
        None => format!(
            "the server publishes no metadata at the issuer's well-known URLs, and the target file sets no [endpoints] {key}; set it to run this check"
        ),
    }
}

/// One flaw, one check: when a value differs from the metadata's issuer only because the
/// metadata names another issuer than the target's (and the value is the target's issuer),
/// the reason to skip, pointing to `metadata-issuer-matches`.
pub(crate) fn metadata_issuer_is_the_cause(cx: &Cx, value: &str) -> Option<String> {
    let target = cx.target.issuer.as_str().trim_end_matches('/');
    let published = cx.server.endpoints.issuer.trim_end_matches('/');
    (cx.server.metadata_url.is_some()
        && published != target
        && value.trim_end_matches('/') == target)
        .then(|| {
            format!(
                "the value `{value}` is the target's issuer, and differs from the metadata's only because the metadata names the issuer `{}`: metadata-issuer-matches reports that flaw",
                cx.server.endpoints.issuer
            )
        })
}

pub async fn run(id: &str, cx: &Cx) -> ProbeResult {
    match PROBES.iter().find(|(probe_id, _)| *probe_id == id) {
        Some((_, probe)) => probe(cx).await,
        None => Err(ProbeError::Unexpected(format!(
            "no probe is registered for `{id}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_check_has_a_probe_and_every_probe_a_check() {
        let mut catalog: Vec<&str> = crate::catalog::catalog()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let mut probes: Vec<&str> = super::PROBES.iter().map(|(id, _)| *id).collect();
        catalog.sort_unstable();
        probes.sort_unstable();
        let before = probes.len();
        probes.dedup();
        assert_eq!(before, probes.len(), "a probe is registered twice");
        assert_eq!(catalog, probes, "the same ids");
    }

    /// Every probe's source, by module name.
    fn sources() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/probes");
        let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let path = e.ok()?.path();
                let name = path.file_stem()?.to_str()?.to_string();
                let text = std::fs::read_to_string(&path).ok()?;
                // The code, without its tests (these tests name what they look for).
                let code = text
                    .split("#[cfg(test)]\nmod tests")
                    .next()
                    .unwrap_or("")
                    .to_string();
                (path.extension()? == "rs").then_some((name, code))
            })
            .collect();
        out.sort();
        assert!(out.len() >= 13, "{}", out.len());
        out
    }

    /// A probe observes, the profile judges (issue 13): no probe names a verdict level.
    #[test]
    fn no_probe_writes_a_fail_or_a_warn() {
        for (module, text) in sources() {
            for (n, line) in text.lines().enumerate() {
                for verdict in [
                    "Status::Fail",
                    "Status::Warn",
                    "Outcome::fail",
                    "Outcome::warn",
                ] {
                    assert!(
                        !line.contains(verdict),
                        "src/probes/{module}.rs:{}: {verdict}: a probe reports what it saw (Outcome::not_met, not_met_of, best_practice_not_met), the profile decides the verdict",
                        n + 1
                    );
                }
            }
        }
    }

    /// `(module, function) -> check id`, read from the PROBES table's source.
    fn probe_functions(table: &str) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut rest = table;
        while let Some(at) = rest.find("(\"") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find('"') else { break };
            let id = rest[..end].to_string();
            let Some(pin) = rest.find("Box::pin(") else {
                break;
            };
            let call = &rest[pin + 9..];
            let path: String = call.chars().take_while(|c| *c != '(').collect();
            if let Some((module, function)) = path.split_once("::") {
                out.push((module.to_string(), function.to_string(), id));
            }
        }
        out
    }

    /// Each clause a probe names for a graded variant is one its check's document quotes, so
    /// that no profile ever judges a typo.
    #[test]
    fn every_clause_a_probe_names_is_quoted_by_its_check() {
        let sources = sources();
        let table = &sources.iter().find(|(m, _)| m == "mod").unwrap().1;
        let functions = probe_functions(table);
        assert_eq!(functions.len(), super::PROBES.len());
        let mut named = 0;
        for (module, text) in &sources {
            for (at, _) in text.match_indices("not_met_of(") {
                let line = text[..at].matches('\n').count() + 1;
                // The probe it is in: the last function declared before it.
                let function: String = text[..at]
                    .rmatch_indices("fn ")
                    .map(|(f, _)| &text[f + 3..at])
                    .find(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()))
                    .map(|rest| {
                        rest.chars()
                            .take_while(|c| *c != '(' && *c != '<')
                            .collect()
                    })
                    .unwrap_or_default();
                let list = &text[at..];
                let (open, close) = (list.find("&[").unwrap(), list.find(']').unwrap());
                let names: Vec<&str> = list[open + 2..close]
                    .split(',')
                    .map(|n| n.trim().trim_matches('"'))
                    .filter(|n| !n.is_empty())
                    .collect();
                let id = functions
                    .iter()
                    .find(|(m, f, _)| m == module && *f == function)
                    .map(|(_, _, id)| id.as_str())
                    .unwrap_or_else(|| {
                        panic!(
                            "src/probes/{module}.rs:{line}: not_met_of in `{function}`, which is no check's probe"
                        )
                    });
                let check = crate::catalog::find(id).unwrap();
                if let Err(e) = crate::profile::clauses_named(check, &names) {
                    panic!("src/probes/{module}.rs:{line}: {e}");
                }
                named += 1;
            }
        }
        assert!(named >= 7, "{named}");
    }
}
