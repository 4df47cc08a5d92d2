//! Evidence: the HTTP exchanges a check made, recorded already redacted.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    /// Header name and value, secrets replaced by `«redacted»`.
    pub headers: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text, cut to an excerpt; `truncated` says whether it was.
    pub body: String,
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Exchange {
    /// What this request was for, in the check's words.
    pub step: String,
    pub request: RecordedRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// Why there is no response (timeout, connection refused, body too large).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set when the scanner did not send this request itself: who did (the login command, the
    /// browser, the user at the terminal) and where it ended, as they reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub elapsed_ms: u64,
}
