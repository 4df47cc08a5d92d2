//! The probes: one module per check family, one async function per check. The check's
//! metadata lives in `checks/<id>.md`; this table links each id to its probe.

mod authz;
mod code;
mod iss;
mod pkce;
mod redirect_uri;
mod state;
mod token_endpoint;

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
