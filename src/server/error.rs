//! The JSON error envelope of `http.md` §3:
//! `{"error":{"code":"<code>","message":"<text>","details":[{"field":..,"message":..}]}}`.
//!
//! Messages are fixed per code and never echo request bodies, header values or secrets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One `details` entry.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Detail {
    /// The field, parameter or check that failed.
    pub field: String,
    /// What was wrong with it.
    pub message: String,
}

/// An HTTP error answered with the envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable code (`unauthorized`, `body_too_large`, …).
    pub code: &'static str,
    /// Human-readable message (exact texts from the spec table).
    pub message: String,
    /// Optional per-field details (omitted when empty).
    pub details: Vec<Detail>,
    /// Extra headers (`Allow`, `Retry-After`, `WWW-Authenticate`, `Connection`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Add a `details` entry.
    pub fn detail(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.details.push(Detail {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    /// Add a header.
    pub fn header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// 400 `bad_request`, `request body is not valid JSON`.
    pub fn bad_json(position: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "request body is not valid JSON",
        )
        .detail("body", position)
    }
    /// 400 `bad_request`, `request body must be a JSON object`.
    pub fn not_object() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "request body must be a JSON object",
        )
    }
    /// 400 `body_too_large` for a limit of `limit` bytes.
    pub fn body_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "body_too_large",
            format!("request body exceeds {limit} bytes"),
        )
    }
    /// 408 `request_timeout`, `request body not received in time`, with `Connection: close`:
    /// a body that stalled or trickled past the body read timeouts ([`super::limit`]).
    pub fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "request body not received in time",
        )
        .header(header::CONNECTION, "close")
    }
    /// 401 with the exact body `{"error":{"code":"unauthorized","message":"Unauthorized"}}`.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            .header(header::WWW_AUTHENTICATE, "Bearer")
            .header(header::CACHE_CONTROL, "no-store")
    }
    /// 403 `forbidden` (WebSocket Origin rejection).
    pub fn forbidden_origin() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "origin not allowed")
    }
    /// 431 `headers_too_large`, `request headers too large` (`http.md` §1, §3).
    pub fn headers_too_large() -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "request headers too large",
        )
        .header(header::CONNECTION, "close")
    }
    /// 403 `forbidden`, `host not allowed`: a keyless server asked for a protected route under
    /// a `Host` that is neither loopback nor configured ([`super::host`]).
    pub fn forbidden_host() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "host not allowed")
    }
    /// 415 `unsupported_media_type`: a JSON body route sent a body that is not
    /// `application/json` ([`super::host`]).
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        )
    }
    /// 404 `not_found` with one of the spec's messages.
    pub fn not_found(message: &'static str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 405 `method_not_allowed` with `Allow: <allow>`.
    pub fn method_not_allowed(allow: &str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        );
        if let Ok(v) = HeaderValue::from_str(allow) {
            e.headers.push((header::ALLOW, v));
        }
        e
    }
    /// 422 `validation_error`; add details with [`ApiError::detail`].
    pub fn validation() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            "request validation failed",
        )
    }
    /// 426 `upgrade_required` with `Upgrade: websocket`.
    pub fn upgrade_required() -> Self {
        Self::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            "websocket upgrade required",
        )
        .header(header::UPGRADE, "websocket")
    }
    /// 502 `upstream_error`: a REST service the request depends on (Daily) failed or timed
    /// out (`http.md` §3, §10).
    pub fn upstream() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "upstream_error",
            "upstream service failed",
        )
    }
    /// 503 `too_many_sessions` with `Retry-After: 5`.
    pub fn too_many_sessions() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sessions",
            "session limit reached",
        )
        .header(header::RETRY_AFTER, "5")
    }
    /// 503 `shutting_down` with `Retry-After: 5`.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "server is shutting down",
        )
        .header(header::RETRY_AFTER, "5")
    }
    /// 503 `session_store_unavailable` with `Retry-After: 5`: Redis (`session_store: "redis"`)
    /// did not answer within its timeout; sessions already running are not affected.
    pub fn store_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "session_store_unavailable",
            "session store unavailable, retry later",
        )
        .header(header::RETRY_AFTER, "5")
    }
    /// 409 `wrong_instance`: a WebRTC request for a peer connection that another instance
    /// holds (`session_store: "redis"` without session affinity at the load balancer); the
    /// `instance` detail names the owner.
    pub fn wrong_instance(owner: String) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "wrong_instance",
            "the peer connection of this session is held by another instance; route requests for /sessions/{id}/... to one instance (session affinity)",
        )
        .detail("instance", owner)
    }
    /// 503 `not_ready` (`/ready`); details name the failing checks.
    pub fn not_ready() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "not ready")
    }
    /// 501 `not_implemented`: the route exists but this build cannot serve it yet.
    pub fn not_implemented(message: &'static str) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, "not_implemented", message)
    }
    /// 500 `internal`, no details.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl From<crate::session::Refusal> for ApiError {
    fn from(r: crate::session::Refusal) -> Self {
        match r {
            crate::session::Refusal::Capacity => Self::too_many_sessions(),
            crate::session::Refusal::ShuttingDown => Self::shutting_down(),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "<[Detail]>::is_empty")]
    details: &'a [Detail],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                details: &self.details,
            },
        })
        .expect("envelope serialises");
        let mut res = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            res.headers_mut().insert(name, value);
        }
        res
    }
}

impl From<crate::session::StoreError> for ApiError {
    fn from(e: crate::session::StoreError) -> Self {
        tracing::warn!(error = %e, "session store call failed");
        ApiError::store_unavailable()
    }
}
