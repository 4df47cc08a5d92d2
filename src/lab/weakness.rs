//! The lab's switchable flaws: each turns exactly one secure default into a known weakness.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

macro_rules! weaknesses {
    ($( $variant:ident => $name:literal : $doc:literal, )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Weakness { $( #[doc = $doc] $variant, )* }

        impl Weakness {
            pub const ALL: &'static [Weakness] = &[ $( Weakness::$variant, )* ];

            pub fn name(self) -> &'static str {
                match self { $( Weakness::$variant => $name, )* }
            }

            pub fn description(self) -> &'static str {
                match self { $( Weakness::$variant => $doc, )* }
            }
        }
    };
}

weaknesses! {
    CodeReuse => "code-reuse":
        "an authorization code can be redeemed more than once",
    RedirectUriPrefix => "redirect-uri-prefix":
        "any redirect_uri that starts with a registered one is accepted and redirected to",
    RedirectUriAny => "redirect-uri-any":
        "any redirect_uri at all is accepted and redirected to",
    RedirectUriTokenUnchecked => "redirect-uri-token-unchecked":
        "the token endpoint does not compare redirect_uri with the one in the authorization request",
    StateDropped => "state-dropped":
        "the state parameter is not returned in authorization responses",
    TokenGet => "token-get":
        "the token endpoint also issues tokens for GET requests with query parameters",
    PkceOptional => "pkce-optional":
        "a code issued with a PKCE challenge is redeemed without a code_verifier",
    PkceVerifierUnchecked => "pkce-verifier-unchecked":
        "any well-formed code_verifier redeems a code issued with a PKCE challenge",
    PkcePlain => "pkce-plain":
        "code_challenge_method=plain is accepted, and an S256 challenge is also satisfied by the challenge itself",
    PkceNotRequired => "pkce-not-required":
        "codes are issued without a PKCE challenge, to confidential and public clients alike",
    CodeClientUnbound => "code-client-unbound":
        "the token endpoint redeems a code for any authenticated client, not only the one it was issued to",
    CodeNeverExpires => "code-never-expires":
        "authorization codes never expire",
    CodeLowEntropy => "code-low-entropy":
        "authorization codes carry 48 random bits",
    CodePrefixMatch => "code-prefix-match":
        "a code is looked up by its first 16 characters, so an altered code still matches",
    CodeRace => "code-race":
        "a code is marked as used only after its tokens are made, so parallel redemptions all succeed",
    UnknownClientRedirects => "unknown-client-redirects":
        "an unknown client_id is answered with an error redirect to the redirect_uri of the request",
    RedirectUriCheckedLate => "redirect-uri-checked-late":
        "response_type and scope are checked before the redirect_uri, and their errors redirected to it unchecked",
    RedirectUriFragmentIgnored => "redirect-uri-fragment-ignored":
        "a redirect_uri is compared without its fragment, and redirected to with it",
    RedirectUriDuplicateLast => "redirect-uri-duplicate-last":
        "a repeated redirect_uri is allowed: the first is checked, the last is redirected to",
    RedirectUriNormalised => "redirect-uri-normalised":
        "a redirect_uri is percent-decoded and its dot segments removed before the comparison, and redirected to as sent",
    RedirectUriQueryIgnored => "redirect-uri-query-ignored":
        "a redirect_uri is compared without its query",
    RedirectUriCaseInsensitive => "redirect-uri-case-insensitive":
        "a redirect_uri is compared ignoring upper and lower case",
    RedirectUriHostPrefix => "redirect-uri-host-prefix":
        "a redirect_uri host that extends the registered host by a label (before or after it) is accepted",
    RedirectUriUserinfo => "redirect-uri-userinfo":
        "a redirect_uri is accepted when its text starts with the registered scheme, host and port and its path matches",
    RedirectUriDefaultLast => "redirect-uri-default-last":
        "a request without redirect_uri from a client with several registered is sent to the last one",
    IssMissingOnError => "iss-missing-on-error":
        "error responses from the authorization endpoint carry no iss, though the metadata says they do",
    IssNotSupported => "iss-not-supported":
        "authorization responses carry no iss, and the metadata does not claim RFC 9207 support",
    IssMismatch => "iss-mismatch":
        "the iss of authorization responses is the issuer with a trailing slash",
    IssUnadvertised => "iss-unadvertised":
        "authorization responses carry iss, but the metadata does not set authorization_response_iss_parameter_supported",
    UnknownParamRefused => "unknown-param-refused":
        "an authorization request with a parameter the lab does not know is refused with invalid_request",
    ResponseTypeUnchecked => "response-type-unchecked":
        "any response_type, or none, is answered with a code",
    ImplicitGrant => "implicit-grant":
        "response_type=token returns an access token in the redirect's fragment",
    DuplicateParamsAccepted => "duplicate-params-accepted":
        "repeated authorization request parameters (other than client_id and redirect_uri) are accepted, the first one used",
    ScopeUnchecked => "scope-unchecked":
        "unknown scopes are accepted and granted",
    StateTruncated => "state-truncated":
        "the state is cut to 1024 characters in authorization responses",
    StateDroppedOnDenial => "state-dropped-on-denial":
        "the state is left out when the user denies consent",
    PkceDowngrade => "pkce-downgrade":
        "confidential clients get codes without a PKCE challenge, and the token endpoint then accepts any code_verifier",
    PkceMetadataMissing => "pkce-metadata-missing":
        "the metadata has no code_challenge_methods_supported",
    PkceMethodUnchecked => "pkce-method-unchecked":
        "an unknown code_challenge_method is accepted and treated as S256",
    RedirectUriTokenOptional => "redirect-uri-token-optional":
        "the token endpoint redeems a code without redirect_uri even when the authorization request had one",
    AuthzEndpointFragment => "authz-endpoint-fragment":
        "the metadata's authorization_endpoint has a fragment",
    PkceVerifierAnyChallenge => "pkce-verifier-any-challenge":
        "a code_verifier is accepted when it matches the challenge of any code not yet redeemed, not only its own code's",
    PublicClientCodeUnbound => "public-client-code-unbound":
        "a public client (no client authentication) can redeem a code issued to any client",
    RedirectUriTokenQueryIgnored => "redirect-uri-token-query-ignored":
        "the token endpoint compares redirect_uri with the authorization request's without the query",
    PkceOptionalPublic => "pkce-optional-public":
        "a public client's code issued with a PKCE challenge is redeemed without a code_verifier",
    Login307 => "login-307":
        "the sign-in form's POST is answered with a 307 redirect, which makes browsers post the password again",
    TokenCacheable => "token-cacheable":
        "token responses to a code exchange carry no Cache-Control: no-store",
    TokenErrorUnstructured => "token-error-unstructured":
        "an unknown authorization code is answered with a plain-text error instead of a JSON error object",
    TokenDuplicateParams => "token-duplicate-params":
        "the token endpoint ignores repeated parameters and uses the first value",
    TokenUnknownParamRefused => "token-unknown-param-refused":
        "the token endpoint refuses a request that carries a parameter it does not know",
    PasswordGrant => "password-grant":
        "the token endpoint issues tokens for the resource owner password credentials grant",
    ClientAuthOptional => "client-auth-optional":
        "a confidential client redeems a code with its client_id alone, without its secret",
    ClientSecretUnchecked => "client-secret-unchecked":
        "any client secret is accepted for a registered client",
    BasicAuthNoChallenge => "basic-auth-no-challenge":
        "a failed Basic client authentication is answered 400 without a WWW-Authenticate challenge",
    ClientSecretInQuery => "client-secret-in-query":
        "client credentials in the token request's URL query are accepted",
    RefreshNoRotation => "refresh-no-rotation":
        "a used refresh token stays valid: refresh tokens are not rotated",
    RefreshReplayUndetected => "refresh-replay-undetected":
        "a replayed refresh token is refused, but the grant's newest refresh token keeps working",
    RefreshNotBoundToClient => "refresh-not-bound-to-client":
        "a refresh token issued to one client is accepted from another authenticated client",
    RefreshAuthOptional => "refresh-auth-optional":
        "a confidential client refreshes with its client_id alone, without its secret",
    RefreshCacheable => "refresh-cacheable":
        "refresh responses carry no Cache-Control: no-store",
    RefreshScopeWidening => "refresh-scope-widening":
        "a refresh may ask for scopes the user never granted, and gets them",
    IdTokenAlgNone => "id-token-alg-none":
        "ID tokens are unsigned JWTs with alg none",
    IdTokenBadSignature => "id-token-bad-signature":
        "ID tokens carry a signature that does not verify with the published key",
    IdTokenWrongIssuer => "id-token-wrong-issuer":
        "ID tokens name an issuer other than the server's issuer identifier",
    IdTokenWrongAudience => "id-token-wrong-audience":
        "ID tokens are addressed to an audience that is not the client",
    IdTokenExpired => "id-token-expired":
        "ID tokens are issued already expired",
    NonceDropped => "nonce-dropped":
        "the nonce of the authentication request is left out of the ID token",
    UserinfoSubMismatch => "userinfo-sub-mismatch":
        "the userinfo endpoint answers with a sub other than the ID token's",
    MetadataIssuerMismatch => "metadata-issuer-mismatch":
        "the metadata names an issuer other than the URL it is published under",
    MetadataIncomplete => "metadata-incomplete":
        "the metadata leaves out the REQUIRED response_types_supported",
    MetadataHttpEndpoint => "metadata-http-endpoint":
        "the metadata advertises an endpoint on plain http off the loopback interface",
    JwksPrivateKey => "jwks-private-key":
        "the JWKS publishes a private-key member (d) with the signing key",
    UserinfoTokenPrefixMatch => "userinfo-token-prefix-match":
        "userinfo accepts a token that matches a live access token in all but its last character",
    UserinfoOpen => "userinfo-open":
        "userinfo answers a request without an access token with the test user's claims",
    RevocationIgnored => "revocation-ignored":
        "the revocation endpoint answers 200 and revokes nothing",
    PagesFrameable => "pages-frameable":
        "the login and consent pages carry neither X-Frame-Options nor CSP frame-ancestors",
    AuthorizeCors => "authorize-cors":
        "the authorization endpoint answers CORS requests from any origin",
    ClientAuthMixedMethods => "client-auth-mixed-methods":
        "a request with HTTP Basic credentials and a client_secret in the body is accepted on the Basic ones",
    TokenTypeMissing => "token-type-missing":
        "token responses leave out the REQUIRED token_type",
    PublicClientIdOptional => "public-client-id-optional":
        "a public client's code is redeemed by a request that names no client at all",
    IdTokenNoSub => "id-token-no-sub":
        "ID tokens carry no sub claim",
    OidcMetadataIncomplete => "oidc-metadata-incomplete":
        "the OpenID Provider metadata leaves out the REQUIRED subject_types_supported",
    RefreshIdTokenNewAuthTime => "refresh-id-token-new-auth-time":
        "an ID token issued on refresh claims a new authentication time",
    UserinfoNoChallenge => "userinfo-no-challenge":
        "userinfo refuses requests without a WWW-Authenticate challenge",
    MetadataTextPlain => "metadata-text-plain":
        "the metadata document is served as text/plain",
    UserinfoGetOnly => "userinfo-get-only":
        "userinfo refuses POST requests",
    MetadataEmptyArray => "metadata-empty-array":
        "the metadata carries a member with an empty array instead of leaving it out",
    OidcMetadataIssuerMismatch => "oidc-metadata-issuer-mismatch":
        "the OpenID Provider metadata (openid-configuration) names another issuer than the RFC 8414 metadata",
    JwksSeveralKeysNoKid => "jwks-several-keys-no-kid":
        "the JWKS publishes two signing keys, and ID tokens name neither with a kid",
    AuthTimeDropped => "auth-time-dropped":
        "ID tokens carry no auth_time, even when the request had max_age",
    PromptNoneIgnored => "prompt-none-ignored":
        "an authentication request with prompt=none is shown the login page",
    UserinfoQueryToken => "userinfo-query-token":
        "userinfo accepts an access token in the URL query",
    AccessTokenRevocationIgnored => "access-token-revocation-ignored":
        "the revocation endpoint answers 200 to an access token and leaves it working",
    ReferrerPolicyMissing => "referrer-policy-missing":
        "pages and redirects carry no Referrer-Policy header",
    SessionCookieFlagsMissing => "session-cookie-flags-missing":
        "the session cookie is set without HttpOnly and SameSite",
    TokenJsonBody => "token-json-body":
        "the token and revocation endpoints also read their parameters from a JSON body",
    ConsentClientUnnamed => "consent-client-unnamed":
        "the consent page names neither the client nor its id",
    PromptNoneErrorPage => "prompt-none-error-page":
        "prompt=none without a session or consent is answered with an HTTP 400 error page, not an error redirect to the client",
    ErrorLocationOn400 => "error-location-on-400":
        "an unsupported response_type is answered HTTP 400 with the error redirect in a Location header, which browsers do not follow",
    DenialJson => "denial-json":
        "a denied consent is answered HTTP 400 with a JSON error body instead of a redirect to the client",
    StateUnencodedOnError => "state-unencoded-on-error":
        "error redirects copy the state into the Location without encoding it, so its `&` and `=` add parameters",
    RedirectUriTokenAnyRegistered => "redirect-uri-token-any-registered":
        "the token endpoint accepts any redirect URI registered for the client, not only the authorization request's",
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Weakness {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Weakness::ALL
            .iter()
            .copied()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names = Weakness::ALL.iter().map(|w| w.name());
                let mut message = format!(
                    "unknown weakness `{s}`{} (see `oauthprobe lab --list-weak`); known weaknesses:",
                    crate::suggest::hint(s, names.clone())
                );
                for name in names {
                    message.push_str("\n  ");
                    message.push_str(name);
                }
                message
            })
    }
}

/// The set of weaknesses switched on in one lab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Weaknesses(BTreeSet<Weakness>);

impl Weaknesses {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn has(&self, w: Weakness) -> bool {
        self.0.contains(&w)
    }

    pub fn iter(&self) -> impl Iterator<Item = Weakness> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses repeated `--weak` values, each of which may be a comma-separated list.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for value in values {
            for name in value
                .as_ref()
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                set.insert(name.parse::<Weakness>()?);
            }
        }
        Ok(Weaknesses(set))
    }
}

impl FromIterator<Weakness> for Weaknesses {
    fn from_iter<I: IntoIterator<Item = Weakness>>(iter: I) -> Self {
        Weaknesses(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_name_gets_a_suggestion_and_the_names_one_a_line() {
        let e = Weaknesses::parse(&["code-reuse,state-droped"]).unwrap_err();
        assert!(
            e.starts_with("unknown weakness `state-droped`; did you mean `state-dropped`?"),
            "{e}"
        );
        let listed: Vec<&str> = e.lines().skip(1).map(str::trim).collect();
        let all: Vec<&str> = Weakness::ALL.iter().map(|w| w.name()).collect();
        assert_eq!(listed, all);
    }

    #[test]
    fn names_round_trip_and_lists_split() {
        for w in Weakness::ALL {
            assert_eq!(w.name().parse::<Weakness>(), Ok(*w));
        }
        let set = Weaknesses::parse(&["code-reuse,state-dropped", "token-get"]).unwrap();
        assert!(
            set.has(Weakness::CodeReuse)
                && set.has(Weakness::StateDropped)
                && set.has(Weakness::TokenGet)
        );
        assert!(!set.has(Weakness::PkcePlain));
    }

    #[test]
    fn unknown_name_is_named_in_the_error() {
        let err = Weaknesses::parse(&["code-reuse,nope"]).unwrap_err();
        assert!(err.contains("`nope`"), "{err}");
    }
}
