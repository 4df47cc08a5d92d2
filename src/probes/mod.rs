//! The probes: one module per check family, one async function per check. The check's
//! metadata lives in `checks/<id>.md`; this table links each id to its probe.

mod client_auth;
mod code;
mod headers;
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
];

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
        let catalog: Vec<&str> = crate::catalog::catalog()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let probes: Vec<&str> = super::PROBES.iter().map(|(id, _)| *id).collect();
        assert_eq!(catalog, probes, "same ids, same order");
    }
}
