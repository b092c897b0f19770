//! The process-wide HTTP client and the retry policy of `providers.md` §7.
//!
//! One pooled [`reqwest::Client`] (rustls on ring with the webpki roots, HTTP/1.1 and HTTP/2,
//! keep-alive, connect timeout 3 s, `User-Agent: voxray/<version>`). [`send`] runs one
//! provider request through the retry policy up to its first body bytes; [`body_stream`]
//! reads the rest with the idle timeout.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rand::Rng;

use super::error::{ProviderMetrics, ServiceError, Stage, clean_detail};

/// `User-Agent` of every provider request.
pub const USER_AGENT: &str = concat!("voxray/", env!("CARGO_PKG_VERSION"));
/// Connect timeout (§1).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The rustls client configuration of every provider connection: ring provider, webpki
/// roots, TLS 1.2 and 1.3. `alpn` lists the ALPN protocols (`h2`, `http/1.1` for HTTP; none
/// for WebSockets).
pub fn tls_config(alpn: &[&[u8]]) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// The one pooled HTTP client of the process.
pub fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(&[b"h2", b"http/1.1"]))
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()
            .expect("the HTTP client configuration is valid")
    })
}

/// Retry and timeout policy of one stage (`providers.md` §7).
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts in all (3).
    pub max_attempts: u32,
    /// First backoff (0.2 s); attempt `n` waits `min(max_backoff, base·2^(n−1))` × jitter 0.5–1.0.
    pub base_backoff: Duration,
    /// Backoff ceiling (2 s).
    pub max_backoff: Duration,
    /// Longest `retry-after` honoured (5 s); longer fails at once.
    pub max_retry_after: Duration,
    /// Cap on the whole attempt chain (6 s).
    pub chain_cap: Duration,
    /// Time to first byte per attempt (LLM 10 s, TTS 5 s, batch STT 10 s).
    pub ttfb: Duration,
    /// Longest silence mid-stream before it counts as cut (LLM 10 s, TTS 5 s).
    pub idle: Duration,
}

impl Policy {
    fn base(ttfb: u64, idle: u64) -> Self {
        Self {
            max_attempts: 3,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
            chain_cap: Duration::from_secs(6),
            ttfb: Duration::from_secs(ttfb),
            idle: Duration::from_secs(idle),
        }
    }
    /// LLM: TTFB 10 s, idle 10 s.
    pub fn llm() -> Self {
        Self::base(10, 10)
    }
    /// TTS: TTFB 5 s, idle 5 s.
    pub fn tts() -> Self {
        Self::base(5, 5)
    }
    /// Batch STT: TTFB 10 s (the whole JSON answer), idle 10 s.
    pub fn stt() -> Self {
        Self::base(10, 10)
    }
    /// The policy of `stage`.
    pub fn for_stage(stage: Stage) -> Self {
        match stage {
            Stage::Stt => Self::stt(),
            Stage::Llm => Self::llm(),
            Stage::Tts => Self::tts(),
        }
    }

    /// Backoff before attempt `n + 1` after failed attempt `n` (1-based), jitter included.
    pub fn backoff(&self, n: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << (n.saturating_sub(1)).min(16));
        let d = exp.min(self.max_backoff);
        d.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// A response whose status was 2xx and whose first body bytes arrived.
pub struct Started {
    /// The response (status, headers; body partly read).
    pub response: reqwest::Response,
    /// The first body chunk (`None`: the body was empty).
    pub first: Option<Bytes>,
    /// When the successful attempt was sent.
    pub sent_at: Instant,
    /// When the first request was sent (for TTFB including retries).
    pub started_at: Instant,
}

/// Whether a status is retried (§7): 429, 500, 502, 503, 504, 529.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

/// Parse a `retry-after` header value: delta seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
        return None;
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The provider's error message from an error body, for logs: `error.message`, `error` (a
/// string), `detail.message`/`detail.status`/`detail` (ElevenLabs), `err_msg` (Deepgram),
/// `message`; else the first bytes of a non-JSON body. Redacted, ≤ 200 characters.
pub fn error_detail(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
            v.pointer("/error/message")
                .and_then(s)
                .or_else(|| v.get("error").and_then(s))
                .or_else(|| {
                    let status = v.pointer("/detail/status").and_then(s);
                    let msg = v.pointer("/detail/message").and_then(s);
                    match (status, msg) {
                        (Some(a), Some(b)) => Some(format!("{a}: {b}")),
                        (a, b) => a.or(b),
                    }
                })
                .or_else(|| v.get("detail").and_then(s))
                .or_else(|| v.get("err_msg").and_then(s))
                .or_else(|| v.get("message").and_then(s))
        }
        Err(_) => {
            let t = String::from_utf8_lossy(&body[..body.len().min(400)]).to_string();
            (!t.trim().is_empty()).then_some(t)
        }
    }?;
    Some(clean_detail(&text))
}

enum Attempt {
    /// Retry after this wait (if the chain allows), else fail with the error.
    Retry(ServiceError, Option<Duration>),
    Fail(ServiceError),
}

/// Send a provider request through the retry policy (§7) until a 2xx response's first body
/// bytes arrived. `build` makes the request afresh for every attempt.
///
/// Retried before any output: connect errors, 429/500/502/503/504/529, and a missed TTFB. At
/// most `policy.max_attempts`; `retry-after` honoured up to 5 s (longer fails now); the chain
/// is capped at 6 s. Every retry is counted; the final failure is counted and logged.
///
/// # Errors
/// The last attempt's [`ServiceError`].
pub async fn send(
    build: impl Fn() -> reqwest::RequestBuilder,
    policy: &Policy,
    metrics: &ProviderMetrics,
) -> Result<Started, ServiceError> {
    let stage = metrics.stage;
    let started_at = Instant::now();
    let mut attempt = 1u32;
    loop {
        let sent_at = Instant::now();
        let outcome = tokio::time::timeout(policy.ttfb, try_once(&build, stage)).await;
        let err = match outcome {
            Ok(Ok((response, first))) => {
                return Ok(Started {
                    response,
                    first,
                    sent_at,
                    started_at,
                });
            }
            Ok(Err(Attempt::Fail(e))) => {
                metrics.error(&e);
                return Err(e);
            }
            Ok(Err(Attempt::Retry(e, retry_after))) => (e, retry_after),
            Err(_) => (ServiceError::Timeout { stage }, None),
        };
        let (e, retry_after) = err;
        let wait = match retry_after {
            Some(ra) if ra > policy.max_retry_after => None,
            Some(ra) => Some(ra),
            None => Some(policy.backoff(attempt)),
        };
        let Some(wait) = wait.filter(|w| {
            attempt < policy.max_attempts && started_at.elapsed() + *w <= policy.chain_cap
        }) else {
            metrics.error(&e);
            return Err(e);
        };
        tracing::info!(
            stage = stage.as_str(),
            provider = %metrics.provider,
            kind = e.kind(),
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying provider request"
        );
        metrics.retry();
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

async fn try_once(
    build: &impl Fn() -> reqwest::RequestBuilder,
    stage: Stage,
) -> Result<(reqwest::Response, Option<Bytes>), Attempt> {
    let mut response = build()
        .send()
        .await
        .map_err(|_| Attempt::Retry(ServiceError::Connect { stage }, None))?;
    let status = response.status().as_u16();
    log_request_id(&response, stage);
    if !response.status().is_success() {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_limited(response, 16 * 1024).await;
        let detail = error_detail(&body);
        return Err(if retryable_status(status) {
            Attempt::Retry(
                ServiceError::Status {
                    stage,
                    status,
                    detail,
                },
                retry_after,
            )
        } else if (400..500).contains(&status) {
            Attempt::Fail(ServiceError::Rejected {
                stage,
                status,
                detail,
            })
        } else {
            Attempt::Fail(ServiceError::Status {
                stage,
                status,
                detail,
            })
        });
    }
    match response.chunk().await {
        Ok(first) => Ok((response, first)),
        // The body broke before any byte: nothing reached the pipeline, so retry.
        Err(_) => Err(Attempt::Retry(ServiceError::StreamCut { stage }, None)),
    }
}

fn log_request_id(response: &reqwest::Response, stage: Stage) {
    for name in ["x-request-id", "request-id", "dg-request-id"] {
        if let Some(id) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            tracing::debug!(stage = stage.as_str(), request_id = id, "provider response");
            return;
        }
    }
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
    body
}

/// The body of a [`Started`] response as a stream of chunks: the first chunk, then the rest,
/// each within `idle` of the previous one (else [`ServiceError::StreamCut`]); a transport
/// error mid-body is a stream cut too. Ends at end-of-body.
pub fn body_stream(
    started: Started,
    idle: Duration,
    stage: Stage,
) -> BoxStream<'static, Result<Bytes, ServiceError>> {
    let Started {
        response, first, ..
    } = started;
    let head = futures_util::stream::iter(first.map(Ok));
    let rest = futures_util::stream::unfold(Some(response), move |state| async move {
        let mut response = state?;
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(Ok(Some(chunk))) => Some((Ok(chunk), Some(response))),
            Ok(Ok(None)) => None,
            Ok(Err(_)) | Err(_) => Some((Err(ServiceError::StreamCut { stage }), None)),
        }
    });
    head.chain(rest).boxed()
}

/// Read the whole body of a [`Started`] response (≤ `limit` bytes) within `deadline`.
///
/// # Errors
/// [`ServiceError::Timeout`] past the deadline, [`ServiceError::StreamCut`] on a transport
/// error, [`ServiceError::Protocol`] beyond `limit`.
pub async fn read_body(
    started: Started,
    deadline: Duration,
    limit: usize,
    stage: Stage,
) -> Result<Vec<u8>, ServiceError> {
    let Started {
        mut response,
        first,
        ..
    } = started;
    let mut body = first.map(|b| b.to_vec()).unwrap_or_default();
    let read = async {
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > limit {
                        return Err(ServiceError::Protocol {
                            stage,
                            detail: format!("response body over {limit} bytes"),
                        });
                    }
                }
                Ok(None) => return Ok(()),
                Err(_) => return Err(ServiceError::StreamCut { stage }),
            }
        }
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(())) => Ok(body),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ServiceError::Timeout { stage }),
    }
}

/// Join a base URL and a path (`https://x/v1` + `/chat/completions`), one slash between.
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = Policy::llm();
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(100) && b1 <= Duration::from_millis(200));
            let b2 = p.backoff(2);
            assert!(b2 >= Duration::from_millis(200) && b2 <= Duration::from_millis(400));
            let b9 = p.backoff(9);
            assert!(b9 >= Duration::from_secs(1) && b9 <= Duration::from_secs(2));
        }
    }

    #[test]
    fn retry_after_seconds_and_date() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        let later = SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(d > Duration::from_secs(28) && d <= Duration::from_secs(30));
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn error_detail_shapes() {
        let openai = br#"{"error":{"message":"Incorrect API key provided: sk-abcdefghijklmnopqrstuvwxyz1234","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let d = error_detail(openai).unwrap();
        assert!(d.starts_with("Incorrect API key provided:"), "{d}");
        assert!(!d.contains("abcdefghijklmnopqrstuvwxyz"), "{d}");
        assert_eq!(
            error_detail(
                br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            )
            .as_deref(),
            Some("Overloaded")
        );
        assert_eq!(
            error_detail(br#"{"error":"model not found"}"#).as_deref(),
            Some("model not found")
        );
        assert_eq!(
            error_detail(br#"{"detail":{"status":"invalid_api_key","message":"Invalid"}}"#)
                .as_deref(),
            Some("invalid_api_key: Invalid")
        );
        assert_eq!(
            error_detail(br#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials."}"#)
                .as_deref(),
            Some("Invalid credentials.")
        );
        assert_eq!(error_detail(b"Bad Gateway").as_deref(), Some("Bad Gateway"));
        let long = "x ".repeat(500);
        assert!(error_detail(long.as_bytes()).unwrap().chars().count() <= 200);
    }

    #[test]
    fn join_has_one_slash() {
        assert_eq!(join("http://a/v1/", "/x"), "http://a/v1/x");
        assert_eq!(join("http://a/v1", "x"), "http://a/v1/x");
    }

    #[test]
    fn statuses() {
        for s in [429, 500, 502, 503, 504, 529] {
            assert!(retryable_status(s));
        }
        for s in [400, 401, 403, 404, 413, 422, 501] {
            assert!(!retryable_status(s));
        }
    }
}
