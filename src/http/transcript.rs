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
    /// Set when this request is a retry: the answer before it was 429 or 503 (the server did
    /// not process it), so the same request was sent again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Set on a 429 or 503 answer that was not retried, saying why (no retries left, the
    /// server asked for a longer wait than the scanner gives, the scan's deadline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_retried: Option<String>,
    pub elapsed_ms: u64,
}

/// What made the scanner send a request again.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Retry {
    /// 1 for the first retry of a request, 2 for the second, ...
    pub number: u32,
    /// The status of the answer before it (429 or 503).
    pub after_status: u16,
    /// How long the scanner waited before sending it.
    pub waited_ms: u64,
    /// Where the wait came from: `Retry-After: N s`, `Retry-After: <date>, N s from then`, or
    /// `backoff` (no usable Retry-After: 0.5 s, 1 s, 2 s, ...).
    pub wait_from: String,
}
