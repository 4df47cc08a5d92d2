//! oauthprobe: a security conformance scanner for OAuth 2.0 and OpenID Connect
//! authorization servers, with its own lab server to prove every check both ways.

pub mod baseline;
pub mod catalog;
pub mod cli;
pub mod crypto;
pub mod engine;
pub mod exit;
pub mod flow;
pub mod http;
pub mod init;
pub mod lab;
pub mod probes;
pub mod profile;
pub mod progress;
pub mod report;
pub mod secret;
pub mod suggest;
pub mod target;
pub mod target_set;
