//! All HTTP the scanner sends goes through [`client::ScanClient`]; evidence is redacted by [`redact::Redactor`].

pub mod client;
pub mod redact;
pub mod transcript;

pub use client::{
    Body, CaFile, HttpError, HttpSession, Limits, Method, Politeness, ProxySetting, Request,
    Response, ScanClient, TlsConfig,
};
pub use redact::{REDACTED, Redactor};
pub use transcript::{Exchange, RecordedRequest, RecordedResponse, Retry};
