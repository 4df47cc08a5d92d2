//! The OAuth choreography the scanner plays as a client: discovery, the user agent that logs in
//! and consents, authorization requests and token requests.

pub mod authorize;
pub mod browser;
pub mod command;
pub mod discovery;
pub mod error_page;
pub mod forms;
pub mod html;
pub mod jwt;
pub mod login;
pub mod manual;
pub mod token;
