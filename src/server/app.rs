//! The router and the request pipeline around it (`http.md` §1–5).
//!
//! Every request passes [`gate`] first, which in this order: assigns the request id, answers
//! CORS preflights and plain `OPTIONS`, answers 404/405 from the route table ([`RouteKind`]),
//! enforces the API key on protected routes, then runs the handler; on the way out it adds
//! `X-Request-Id`, `X-Content-Type-Options`, `Cache-Control`, HSTS and the CORS headers, and
//! records the HTTP metrics. Handlers then do admission, body limit, JSON, session lookup and
//! validation in the order of `http.md` §3.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tracing::Instrument;

use super::error::ApiError;
use super::{auth, cors, routes};
use crate::config::{Config, Secrets};
use crate::metrics::Metrics;
use crate::session::SessionRegistry;

/// Shared state of the server, built once by `serve` and cloned into every handler.
#[derive(Clone)]
pub struct AppState {
    /// The effective configuration (immutable after load).
    pub config: Arc<Config>,
    /// Resolved secrets; swapped atomically on reload.
    pub secrets: Arc<RwLock<Arc<Secrets>>>,
    /// Admission, pending sessions, lifecycle.
    pub sessions: SessionRegistry,
    /// Where pending sessions and used token ids live (`session_store`: memory | redis).
    pub store: crate::session::SessionStore,
    /// Prometheus handles.
    pub metrics: Metrics,
    /// Whether the public listener terminates TLS itself.
    pub tls: bool,
    /// Random per-process key that signs WS tokens while no server key is configured.
    pub token_key: Arc<str>,
    /// The provider clients built from the configuration at start-up (empty stages when
    /// none is configured), shared by every `voice` session of the process.
    pub services: Arc<crate::services::Services>,
    /// The WebRTC peer connections (present when `transport` enables WebRTC).
    pub webrtc: Option<crate::transport::webrtc::PeerManager>,
}

impl AppState {
    /// The current secrets.
    pub fn secrets(&self) -> Arc<Secrets> {
        self.secrets.read().expect("secrets lock").clone()
    }

    /// Take an admission slot, counting refusals in `voxray_sessions_rejected_total{reason}`.
    ///
    /// # Errors
    /// 503 `too_many_sessions` or `shutting_down`.
    pub fn admit(&self) -> Result<crate::session::Slot, ApiError> {
        self.sessions.admit().map_err(|r| {
            self.metrics
                .sessions_rejected
                .with_label_values(&[r.label()])
                .inc();
            ApiError::from(r)
        })
    }

    /// The key that signs WS tokens when auth is off.
    pub fn ephemeral_token_key(&self) -> String {
        self.token_key.to_string()
    }
}

/// The request id of the current request (`X-Request-Id`), in the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A route of the table in `http.md` §2. The v1 twins share a kind with their legacy path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// `POST /start`, `POST /api/v1/start`.
    Start,
    /// `POST /webrtc/offer` (+v1).
    WebrtcOffer,
    /// `POST|PATCH /api/offer`.
    ApiOffer,
    /// `POST|PATCH /sessions/{id}/api/offer` and `/api/v1/sessions/{id}/offer`.
    SessionOffer,
    /// `GET /ws`.
    Ws,
    /// `GET|HEAD /health` (+v1).
    Health,
    /// `GET|HEAD /ready` (+v1).
    Ready,
    /// `GET|HEAD /metrics`.
    Metrics,
    /// `/openapi.json`, `/swagger/…`.
    Docs,
    /// `GET|HEAD /` (the built-in browser client).
    Root,
    /// `/` when `runner_transport` is a carrier: `GET|HEAD` the client, `POST` the carrier's
    /// voice webhook (`http.md` §11; own signature check, not the API key).
    CarrierRoot,
    /// `GET /telephony/ws` when `runner_transport` is a carrier: the call's media stream
    /// (`http.md` §11; own signature check, not the API key).
    TelephonyWs,
    /// `POST /daily-dialin-webhook` with `runner_transport: "daily"` and `dialin: true`
    /// (`http.md` §10; own secret check, not the API key).
    DailyDialin,
}

impl RouteKind {
    /// Match a path against the routes present under `config`; `None` → 404.
    pub fn matching(path: &str, config: &Config) -> Option<Self> {
        let rtc = config.transport.webrtc();
        let kind = match path {
            "/start" | "/api/v1/start" => Self::Start,
            "/webrtc/offer" | "/api/v1/webrtc/offer" if rtc => Self::WebrtcOffer,
            "/api/offer" if rtc => Self::ApiOffer,
            "/ws" if config.transport.websocket() => Self::Ws,
            "/health" | "/api/v1/health" => Self::Health,
            "/ready" | "/api/v1/ready" => Self::Ready,
            "/metrics" if config.metrics_enabled && config.metrics_listen.is_empty() => {
                Self::Metrics
            }
            "/openapi.json" | "/swagger" if config.docs_enabled => Self::Docs,
            p if config.docs_enabled && p.starts_with("/swagger/") => Self::Docs,
            "/" if crate::telephony::Carrier::from_runner_transport(&config.runner_transport)
                .is_some() =>
            {
                Self::CarrierRoot
            }
            "/" => Self::Root,
            "/telephony/ws"
                if crate::telephony::Carrier::from_runner_transport(&config.runner_transport)
                    .is_some() =>
            {
                Self::TelephonyWs
            }
            "/daily-dialin-webhook" if config.dialin && config.runner_transport == "daily" => {
                Self::DailyDialin
            }
            p if rtc && is_session_offer_path(p) => Self::SessionOffer,
            _ => return None,
        };
        Some(kind)
    }

    /// Methods the route answers (besides `OPTIONS`).
    pub fn methods(self) -> &'static [Method] {
        match self {
            Self::Start | Self::WebrtcOffer | Self::DailyDialin => &[Method::POST],
            Self::CarrierRoot => &[Method::GET, Method::HEAD, Method::POST],
            Self::ApiOffer | Self::SessionOffer => &[Method::POST, Method::PATCH],
            Self::Ws | Self::TelephonyWs => &[Method::GET],
            Self::Health | Self::Ready | Self::Metrics | Self::Docs | Self::Root => {
                &[Method::GET, Method::HEAD]
            }
        }
    }

    /// The `route` metric label (`http.md` §7).
    pub fn label(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::WebrtcOffer => "webrtc_offer",
            Self::ApiOffer => "api_offer",
            Self::SessionOffer => "session_offer",
            Self::Ws => "ws",
            Self::Health => "health",
            Self::Ready => "ready",
            Self::Metrics => "metrics",
            Self::Docs => "docs",
            Self::Root | Self::CarrierRoot => "root",
            Self::DailyDialin => "daily_dialin_webhook",
            Self::TelephonyWs => "telephony_ws",
        }
    }

    /// The `route` label of a request with `method` on this route: `POST /` in telephony
    /// mode is `telephony_webhook`, everything else [`RouteKind::label`].
    pub fn label_for(self, method: &Method) -> &'static str {
        match self {
            Self::CarrierRoot if method == Method::POST => "telephony_webhook",
            other => other.label(),
        }
    }

    /// Whether the generic API-key check applies (`/ws` checks keys or tokens itself, after
    /// the Origin rule).
    pub fn needs_key(self) -> bool {
        matches!(
            self,
            Self::Start | Self::WebrtcOffer | Self::ApiOffer | Self::SessionOffer
        )
    }

    /// Whether responses carry `Cache-Control: no-store`.
    fn no_store(self) -> bool {
        matches!(
            self,
            Self::Start
                | Self::WebrtcOffer
                | Self::ApiOffer
                | Self::SessionOffer
                | Self::DailyDialin
        )
    }
}

/// `/sessions/{id}/api/offer` or `/api/v1/sessions/{id}/offer` with any single `{id}` segment
/// (an invalid id is a 404 `session not found` from the handler, not a missing route).
fn is_session_offer_path(path: &str) -> bool {
    let single = |id: &str| !id.is_empty() && !id.contains('/');
    path.strip_prefix("/sessions/")
        .and_then(|r| r.strip_suffix("/api/offer"))
        .is_some_and(single)
        || path
            .strip_prefix("/api/v1/sessions/")
            .and_then(|r| r.strip_suffix("/offer"))
            .is_some_and(single)
}

/// `X-Request-Id`: the client's when it matches `^[A-Za-z0-9._:-]{1,128}$`, else a new UUIDv4.
fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        })
        .map(String::from)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The request header block limit (`http.md` §1): 64 KiB.
pub const HEADER_BLOCK_LIMIT: usize = 64 * 1024;

/// Size of the request's header block as sent on HTTP/1.1: request line and `name: value\r\n`
/// per field.
fn header_block_len(req: &Request) -> usize {
    let line = req.method().as_str().len() + req.uri().to_string().len() + 12;
    line + req
        .headers()
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum::<usize>()
}

/// The outer middleware: see the module documentation.
async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let origin = req.headers().get(header::ORIGIN).cloned();
    let route = RouteKind::matching(req.uri().path(), &state.config);
    let label = route.map_or("unmatched", |r| r.label_for(&method));
    state.metrics.http_in_flight.inc();

    let span = tracing::info_span!("request", request_id = %id, method = %method, route = label);
    let mut res = async { match route {
        _ if header_block_len(&req) > HEADER_BLOCK_LIMIT => {
            ApiError::headers_too_large().into_response()
        }
        _ if method == Method::OPTIONS && route.is_some() => {
            let methods = route.expect("checked").methods();
            cors::preflight(req.headers(), methods, &state.config.cors_allowed_origins)
        }
        None => ApiError::not_found("not found").into_response(),
        Some(kind) if !kind.methods().contains(&method) => {
            let mut allow: Vec<&str> = kind.methods().iter().map(Method::as_str).collect();
            allow.push("OPTIONS");
            ApiError::method_not_allowed(&allow.join(", ")).into_response()
        }
        Some(RouteKind::Docs) if req.uri().path() == "/swagger" => {
            Redirect::permanent("/swagger/").into_response()
        }
        Some(kind) if (kind.needs_key() || kind == RouteKind::Ws)
            && state.secrets().server_keys.is_empty()
            && !super::host::keyless_host_allowed(req.headers(), req.uri(), &state.config) =>
        {
            tracing::warn!(route = label, client = %client_addr(&req), "rejected request: host not allowed without authentication");
            ApiError::forbidden_host().into_response()
        }
        Some(kind) if kind.needs_key() && !key_ok(&state, &req) => {
            state.metrics.auth_failures.with_label_values(&[label]).inc();
            tracing::warn!(route = label, client = %client_addr(&req), "rejected request: missing or invalid API key");
            ApiError::unauthorized().into_response()
        }
        Some(kind) if kind.needs_key() && !super::host::json_content_type_ok(req.headers()) => {
            ApiError::unsupported_media_type().into_response()
        }
        Some(_) => {
            req.extensions_mut().insert(RequestId(id.clone()));
            next.run(req).await
        }
    } }
    .instrument(span)
    .await;

    let unauthorized = res.status() == StatusCode::UNAUTHORIZED;
    stamp(&mut res, &id);
    let h = res.headers_mut();
    if route.is_some_and(RouteKind::no_store) || unauthorized {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    cors::decorate(
        &mut res,
        origin.as_ref(),
        &state.config.cors_allowed_origins,
    );

    let status = res.status().as_u16().to_string();
    state
        .metrics
        .http_requests
        .with_label_values(&[method.as_str(), label, &status])
        .inc();
    state
        .metrics
        .http_duration
        .with_label_values(&[method.as_str(), label])
        .observe(started.elapsed().as_secs_f64());
    state.metrics.http_in_flight.dec();
    res
}

/// Headers every response carries: `X-Request-Id` and `X-Content-Type-Options: nosniff`.
fn stamp(res: &mut Response, id: &str) {
    let h = res.headers_mut();
    h.insert(
        "x-request-id",
        HeaderValue::from_str(id).expect("validated id"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The metrics listener's middleware: request id and `nosniff` only (no auth, no CORS).
async fn stamp_only(req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let mut res = next.run(req).await;
    stamp(&mut res, &id);
    res
}

/// Whether auth is off, or the request carries a valid key.
fn key_ok(state: &AppState, req: &Request) -> bool {
    let secrets = state.secrets();
    let keys: Vec<_> = secrets.server_keys.iter().map(|r| &r.value).collect();
    keys.is_empty() || auth::authorized(req.headers(), keys.iter().copied())
}

/// The peer address for log lines (never a header value).
pub fn client_addr(req: &Request) -> String {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// A panic in a handler: 500 `internal`, logged without bodies or secrets; the process goes on.
fn panic_response(_err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked; answered 500");
    ApiError::internal().into_response()
}

/// The public router for `state`.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/start", post(routes::start::start_legacy))
        .route("/api/v1/start", post(routes::start::start_v1))
        .route("/health", get(routes::health::health))
        .route("/api/v1/health", get(routes::health::health))
        .route("/ready", get(routes::health::ready))
        .route("/api/v1/ready", get(routes::health::ready))
        .route("/", get(routes::client::index));
    if crate::telephony::Carrier::from_runner_transport(&state.config.runner_transport).is_some() {
        // The carrier's voice webhook shares `/` with the client page.
        app = app
            .route("/", post(routes::telephony::webhook))
            .route("/telephony/ws", get(routes::telephony::media));
    }
    if state.config.dialin && state.config.runner_transport == "daily" {
        app = app.route("/daily-dialin-webhook", post(routes::dialin::webhook));
    }
    if state.config.transport.websocket() {
        app = app.route("/ws", get(routes::ws::upgrade));
    }
    if state.config.transport.webrtc() {
        app = app.merge(routes::offer::router());
    }
    if state.config.metrics_enabled && state.config.metrics_listen.is_empty() {
        app = app.route("/metrics", get(routes::metrics::metrics));
    }
    if state.config.docs_enabled {
        app = app.merge(routes::docs::router());
    }
    app.fallback(|| async { ApiError::not_found("not found") })
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

/// The router of the separate `metrics_listen` listener: only `GET|HEAD /metrics`, no auth,
/// no CORS; everything else 404.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(routes::metrics::metrics))
        .fallback(|| async { ApiError::not_found("not found") })
        .layer(middleware::from_fn(stamp_only))
        .with_state(state)
}
