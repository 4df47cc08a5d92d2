//! What a server's error page says about the target file. RFC 6749 §4.1.2.1: when the client
//! is unknown or the redirect_uri is not one registered, the server MUST NOT redirect and
//! SHOULD tell the resource owner, so the mistake is shown on a page, in the server's own
//! words. Those words differ by server; the phrases below are how the servers named beside
//! them word it, written from memory of their error pages and not yet checked against their
//! templates, so that the pre-flight can name the key to fix instead of a page title. A page
//! none of them matches is reported as before (exit 3, the page quoted).

/// A mistake in the target file that the server's answer points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misconfiguration {
    /// The server does not know the client id.
    UnknownClient,
    /// The redirect_uri sent (the client's first `redirect_uris`) is not registered.
    RedirectUriRejected,
}

/// Phrases of servers that do not know the client.
const UNKNOWN_CLIENT: &[&str] = &[
    "invalid_client",       // oidc-provider, Authlib, Spring, the RFC's error code
    "client is invalid",    // oidc-provider's error_description
    "client not found",     // Keycloak
    "unknown client",       // Auth0, Doorkeeper ("due to unknown client")
    "invalid client_id",    // Dex ("Invalid client_id"), django-oauth-toolkit
    "invalid client id",    //
    "client_id is invalid", //
    "application with identifier", // Microsoft Entra ID (AADSTS700016)
    "not authorized to use cas", // Apereo CAS ("Application Not Authorized to Use CAS")
    "parameter: client_id", // Spring ("[invalid_request] OAuth 2.0 Parameter: client_id")
    "the requested oauth 2.0 client does not exist", // Ory Hydra
];

/// Words that name the redirect URI...
const REDIRECT_NOUNS: &[&str] = &[
    "redirect_uri",
    "redirect uri",
    "redirect url",
    "redirect_url",
    "callback url",
    "reply url",
];

/// ...and say it was refused.
const REFUSED: &[&str] = &[
    "mismatch", // Auth0 "Callback URL mismatch", django-oauth-toolkit "Mismatching redirect URI"
    "does not match", // Ory Hydra, Microsoft Entra ID (AADSTS50011)
    "did not match", // oidc-provider
    "not match",
    "invalid",      // Keycloak "Invalid parameter: redirect_uri"
    "not valid",    // Doorkeeper "The redirect uri included is not valid."
    "unregistered", // Dex "Unregistered redirect_uri"
    "not registered",
    "not allowed",
    "not supported", // Authlib "Redirect URI ... is not supported by client."
    "is missing in the client", // ZITADEL
    "must be a login redirect", // Okta
    "parameter: redirect_uri", // Spring
];

/// The mistake the page's title, message box and text point at, if any. The redirect URI is
/// checked first: a page that refuses it often names the client too.
pub fn misconfiguration(
    title: Option<&str>,
    message: Option<&str>,
    text: &str,
) -> Option<Misconfiguration> {
    let all = format!("{} {} {}", title.unwrap_or(""), message.unwrap_or(""), text).to_lowercase();
    // Sentences, so that a page naming the redirect URI in one place and "invalid" in another
    // is not taken for a refusal of it.
    let refused_redirect = all.split(['.', '\n', '!', ';']).any(|sentence| {
        REDIRECT_NOUNS.iter().any(|n| sentence.contains(n))
            && REFUSED.iter().any(|r| sentence.contains(r))
    });
    if refused_redirect {
        return Some(Misconfiguration::RedirectUriRejected);
    }
    if UNKNOWN_CLIENT.iter().any(|p| all.contains(p)) {
        return Some(Misconfiguration::UnknownClient);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Option<Misconfiguration> {
        misconfiguration(None, None, text)
    }

    #[test]
    fn real_servers_words() {
        use Misconfiguration::*;
        for (server, text, expected) in [
            (
                "oidc-provider",
                "oops! something went wrong error: invalid_client error_description: client is invalid",
                UnknownClient,
            ),
            (
                "oidc-provider",
                "error: invalid_redirect_uri error_description: redirect_uri did not match any of the client's registered redirect_uris",
                RedirectUriRejected,
            ),
            (
                "Keycloak",
                "We are sorry... Client not found.",
                UnknownClient,
            ),
            (
                "Keycloak",
                "We are sorry... Invalid parameter: redirect_uri",
                RedirectUriRejected,
            ),
            (
                "Ory Hydra",
                "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.",
                RedirectUriRejected,
            ),
            (
                "Auth0",
                "Callback URL mismatch. The provided redirect_uri is not in the list of allowed callback URLs.",
                RedirectUriRejected,
            ),
            (
                "Dex",
                "Bad Request Unregistered redirect_uri (\"http://x/cb\").",
                RedirectUriRejected,
            ),
            (
                "Dex",
                "Bad Request Invalid client_id (\"nope\").",
                UnknownClient,
            ),
            (
                "Doorkeeper",
                "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
                UnknownClient,
            ),
            (
                "Doorkeeper",
                "The redirect uri included is not valid.",
                RedirectUriRejected,
            ),
            (
                "django-oauth-toolkit",
                "Error: invalid_request Mismatching redirect URI.",
                RedirectUriRejected,
            ),
            (
                "Spring",
                "[invalid_request] OAuth 2.0 Parameter: redirect_uri",
                RedirectUriRejected,
            ),
            (
                "Spring",
                "[invalid_request] OAuth 2.0 Parameter: client_id",
                UnknownClient,
            ),
            (
                "Entra ID",
                "AADSTS50011: The redirect URI 'http://x/cb' specified in the request does not match the redirect URIs configured for the application",
                RedirectUriRejected,
            ),
            (
                "Entra ID",
                "AADSTS700016: Application with identifier 'nope' was not found in the directory",
                UnknownClient,
            ),
            (
                "CAS",
                "Application Not Authorized to Use CAS",
                UnknownClient,
            ),
        ] {
            assert_eq!(of(text), Some(expected), "{server}: {text}");
        }
    }

    #[test]
    fn ordinary_pages_name_nothing() {
        for text in [
            "Sign in to continue. Username Password Log in",
            "Authorize app to access your account? The app will be redirected to its redirect URI. Allow Deny",
            "Invalid username or password.",
            "Something went wrong. Please try again later.",
        ] {
            assert_eq!(of(text), None, "{text}");
        }
    }
}
