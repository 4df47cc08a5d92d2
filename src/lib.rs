//! oauthprobe: a security conformance scanner for OAuth 2.0 and OpenID Connect
//! authorization servers, with its own lab server to prove every check both ways.

pub mod cli;
pub mod crypto;
pub mod exit;
pub mod lab;
pub mod secret;
pub mod target;
