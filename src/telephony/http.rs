//! The outbound HTTP client for carrier and Daily REST calls: reqwest on rustls with the
//! ring provider only (no aws-lc-rs; `BUILD-NOTES.md`), webpki roots, no redirects (a
//! redirect would carry credentials to another host), per-request timeout.

use std::time::Duration;

/// The client could not be built (TLS set-up).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client: {0}")]
pub struct ClientError(String);

/// A client whose requests time out after `timeout` (connect included).
///
/// # Errors
/// [`ClientError`] when reqwest cannot set up TLS.
pub fn client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    // reqwest is built without a crypto provider: make ring the process default (a no-op
    // when something installed it already).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("voxray/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError(e.without_url().to_string()))
}
