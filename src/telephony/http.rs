//! The outbound HTTP client for carrier and Daily REST calls: one pooled reqwest client per
//! process (DESIGN: "one pooled HTTP client per process"), rustls with the ring provider only
//! (reqwest's `rustls-tls-webpki-roots` feature; no aws-lc-rs, `BUILD-NOTES.md`), webpki
//! roots, no redirects (a redirect would carry credentials to another host). Timeouts are set
//! per request by the callers.

use std::sync::OnceLock;

/// The client could not be built (TLS set-up).
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

static SHARED: OnceLock<Result<reqwest::Client, ClientError>> = OnceLock::new();

/// The process-wide client (built on first use; cloning it shares the pool).
///
/// # Errors
/// [`ClientError`] when reqwest cannot set up TLS (then every call reports the same error).
pub fn shared() -> Result<reqwest::Client, ClientError> {
    SHARED
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("voxray/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| ClientError(e.without_url().to_string()))
        })
        .clone()
}
