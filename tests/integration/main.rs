//! One integration-test binary (one link step on 2 cores).

mod back_channel;
mod baseline;
mod browser;
mod cli;
mod common;
mod discovery;
mod django_oauth_toolkit;
mod django_oidc_provider;
mod hostile;
mod hostile_output;
mod hostile_suite;
mod init;
mod lab;
mod login_corpus;
mod login_modes;
mod many_targets;
mod oidc_provider;
mod polite;
mod proxy;
mod redirect_spelling;
mod report_formats;
mod scan;
mod sessions;
mod terminal;
mod tls;
mod webdriver;
