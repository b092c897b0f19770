//! The HTTP appliance around the voice engine: router and middleware ([`app`]), error
//! envelope ([`error`]), API keys ([`auth`]), CORS ([`cors`]), body limits ([`limit`]),
//! connection admission and slow-client deadlines ([`conn`]), keyless-default guards
//! ([`host`]),
//! graceful shutdown ([`shutdown`]) and the route handlers ([`routes`]).

pub mod app;
pub mod auth;
pub mod conn;
pub mod cors;
pub mod error;
pub mod host;
pub mod limit;
pub mod reload;
pub mod routes;
pub mod shutdown;
pub mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::{LoadOptions, Loaded};
use crate::metrics::Metrics;
use crate::session::store::RedisStore;
use crate::session::{Lifecycle, SessionRegistry, SessionStore};
use crate::transport::webrtc::{PeerManager, RtcSettings};
use app::AppState;

/// Errors that stop `serve` before it is up.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// TLS files or ACME settings are unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// No server key is set and the listener is not loopback-only (issue 10 item 8).
    #[error(
        "config error: no server key is set and host {host} is not loopback, so anyone who reaches it could use it; set VOXRAY_SERVER_API_KEY (generate one with \"voxray keygen\") or bind 127.0.0.1"
    )]
    KeylessOffLoopback {
        /// The configured `host`.
        host: String,
    },
    /// A server key is weak and the listener is not loopback-only (issue 10 item 9).
    #[error(
        "config error: the server key from {origin} is weak ({why}) and host {host} is not loopback; generate a key with \"voxray keygen\""
    )]
    WeakKey {
        /// Where the key came from (never the key).
        origin: String,
        /// What makes it weak ([`crate::secret_text::weakness`]).
        why: &'static str,
        /// The configured `host`.
        host: String,
    },
}

/// Whether `host` only accepts connections from this machine (`127.0.0.0/8`, `::1`,
/// `localhost`).
pub fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Off loopback, refuse to run without a server key or with a weak one; on loopback, warn about
/// weak keys (the security document asks for a long random key: `voxray keygen`).
///
/// # Errors
/// [`ServeError::KeylessOffLoopback`], or [`ServeError::WeakKey`] for the first weak key, when
/// `host` is not loopback.
fn check_key_strength(loaded: &Loaded) -> Result<(), ServeError> {
    let loopback = is_loopback_host(&loaded.config.host);
    if loaded.secrets.server_keys.is_empty() && !loopback {
        return Err(ServeError::KeylessOffLoopback {
            host: loaded.config.host.clone(),
        });
    }
    for key in &loaded.secrets.server_keys {
        let Some(why) = crate::secret_text::weakness(key.value.expose()) else {
            continue;
        };
        if !loopback {
            return Err(ServeError::WeakKey {
                origin: key.source.to_string(),
                why,
                host: loaded.config.host.clone(),
            });
        }
        tracing::warn!(
            source = %key.source,
            "the server key is weak ({why}); fine on loopback, refused on any other host: generate one with \"voxray keygen\""
        );
    }
    Ok(())
}

/// Bind the listeners and serve until the first SIGTERM/SIGINT has drained.
///
/// # Errors
/// [`ServeError`] when a listener cannot be bound or the configuration asks for something
/// this build cannot serve (on-server TLS).
pub async fn run(loaded: Loaded, opts: LoadOptions) -> Result<(), ServeError> {
    check_key_strength(&loaded)?;
    let mut config = Arc::new(loaded.config);
    let tls = if config.tls_enable {
        Some(tls::setup(&config)?)
    } else {
        None
    };
    if !config.tls_enable && (!config.tls_cert_file.is_empty() || !config.tls_key_file.is_empty()) {
        tracing::warn!(
            "tls_cert_file/tls_key_file are set but tls_enable is false: serving plain HTTP"
        );
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    for w in crate::telephony::startup_warnings(&config, &loaded.secrets) {
        tracing::warn!("{w}");
    }
    for i in &loaded.infos {
        tracing::info!("{i}");
    }
    if config.webrtc_udp_port != 0 {
        tracing::warn!(
            "webrtc_udp_port (one muxed UDP port for all peers) is not supported in this build: \
             set webrtc_udp_port_min/webrtc_udp_port_max (one port per peer connection) or relay \
             media through a TURN server (webrtc_ice_servers)"
        );
    }
    if !loaded.secrets.server_keys.is_empty() {
        // Where the keys came from (never the keys): an operator can tell a keyring or env
        // key from a file key at a glance.
        let sources: Vec<String> = loaded
            .secrets
            .server_keys
            .iter()
            .map(|r| r.source.to_string())
            .collect();
        tracing::info!(keys = sources.len(), sources = %sources.join(", "), "API key authentication is on");
    }
    if loaded.secrets.server_keys.is_empty() {
        // Off loopback a keyless start was refused above.
        tracing::warn!(
            "API key authentication is disabled (loopback only; protected routes answer loopback or configured Host values, JSON bodies need Content-Type: application/json)"
        );
    }
    let sessions = SessionRegistry::new(config.max_sessions);
    let store = open_store(&config, &sessions).await;
    let metrics = Metrics::new();
    let token_key: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
    // The provider clients (validated by the config load: this cannot fail there), shared by
    // every voice session of the process.
    let services = match crate::services::Services::from_config(
        &config,
        &loaded.secrets,
        Some(&metrics),
    ) {
        Ok(mut services) => {
            // `pipeline: auto` without a cloud LLM: the local voice agent when its models
            // are installed (`providers.md` §9), else echo with the command that installs
            // them.
            if crate::services::local::agent::wanted(&config) {
                match crate::services::local::agent::start(&config, Some(&metrics)).await {
                    Ok(local) => {
                        services = local;
                        Arc::make_mut(&mut config).pipeline =
                            crate::config::schema::PipelineKind::Voice;
                    }
                    Err(why) => tracing::info!(
                        "pipeline auto: echo (no cloud LLM configured; {why}). Install the local voice agent's models with `voxray models pull`"
                    ),
                }
            }
            Arc::new(services)
        }
        Err(lines) => {
            for l in lines {
                tracing::error!("{l}");
            }
            Arc::new(crate::services::Services::default())
        }
    };
    let state = AppState {
        config: config.clone(),
        secrets: Arc::new(RwLock::new(Arc::new(loaded.secrets))),
        sessions: sessions.clone(),
        store,
        metrics: metrics.clone(),
        tls: tls.is_some(),
        token_key,
        services: services.clone(),
        webrtc: config.transport.webrtc().then(|| {
            PeerManager::new(
                RtcSettings::from_config(&config),
                config.clone(),
                services.clone(),
                metrics.clone(),
                sessions.close_signal(),
            )
        }),
    };

    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let metrics_listener = if config.metrics_enabled && !config.metrics_listen.is_empty() {
        let l = TcpListener::bind(&config.metrics_listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.metrics_listen.clone(),
                source,
            })?;
        tracing::info!(addr = %l.local_addr().map(|a| a.to_string()).unwrap_or_default(), "metrics listener bound");
        Some(l)
    } else {
        None
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    if let Some(l) = metrics_listener {
        tokio::spawn(accept_loop(
            l,
            app::metrics_router(state.clone()),
            None,
            stop_rx.clone(),
            config.max_connections_per_ip,
        ));
    }
    let public = tokio::spawn(accept_loop(
        listener,
        app::router(state.clone()),
        tls.clone(),
        stop_rx,
        config.max_connections_per_ip,
    ));
    // Admission also sweeps when full; this keeps `voxray_sessions_active` honest meanwhile.
    sessions.spawn_sweeper(Duration::from_secs(5));
    reload::spawn(opts, config.clone(), state.secrets.clone(), tls.clone());
    sessions.set_lifecycle(Lifecycle::Ready);
    tracing::info!("listening addr={local} tls={}", tls.is_some());

    shutdown::first_signal().await;
    shutdown::exit_on_second_signal();
    shutdown::drain(
        &sessions,
        &metrics,
        Duration::from_secs(config.shutdown_timeout_secs),
    )
    .await;
    let _ = stop_tx.send(true);
    let _ = public.await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// The configured session store. With `session_store: "redis"` the first connection is
/// retried every second until Redis answers (the process logs a warning per attempt and does
/// not serve before); later outages are handled by the connection manager and `/ready`.
async fn open_store(config: &crate::config::Config, sessions: &SessionRegistry) -> SessionStore {
    if config.session_store != "redis" {
        return SessionStore::Memory(sessions.clone());
    }
    let instance = crate::session::store::instance_id();
    let owner_ttl =
        (config.session_ttl_secs + config.rtc_max_duration_secs.max(0.0) as u64).max(3600);
    loop {
        match RedisStore::connect(&config.redis_url, instance.clone(), owner_ttl).await {
            Ok(r) => {
                tracing::info!(instance = %instance, "session store: redis connected");
                return SessionStore::Redis(sessions.clone(), r);
            }
            Err(e) => {
                tracing::warn!(error = %e, "session store: redis not reachable, retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Accept connections until `stop` turns true; each connection (after the TLS handshake when
/// `tls` is set) is served by hyper: HTTP/1.1 with upgrades and HTTP/2, a 10 s header read
/// timeout and a 64 KiB header limit. A client address holds at most `per_ip` connections
/// (`max_connections_per_ip`, 0 = unlimited); a connection must send its first byte
/// within [`conn::FIRST_BYTE_TIMEOUT`]; running out of descriptors pauses accepting for
/// [`conn::ACCEPT_BACKOFF`] instead of spinning.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<tls::TlsMode>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    per_ip: u64,
) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Head and keep-alive deadlines are enforced on the bytes by `conn::ReadDeadlines`
        // (hyper's timer would also cut idle keep-alive connections at 10 s).
        .header_read_timeout(None)
        // hyper answers a bare 431 past its buffer; up to twice the 64 KiB limit the `gate`
        // middleware answers the 431 envelope itself (`app::HEADER_BLOCK_LIMIT`).
        .max_buf_size(2 * app::HEADER_BLOCK_LIMIT)
        // The limit is the 64 KiB header block (`http.md` §1), not hyper's default 100 headers.
        .max_headers(4096);
    let builder = Arc::new(builder);
    let per_addr = conn::PerAddrLimit::new(match per_ip {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    });
    let mut exhausted = false;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => {
                    exhausted = false;
                    c
                }
                Err(e) if conn::is_resource_exhaustion(&e) => {
                    if !exhausted {
                        tracing::warn!(error = %e, "accept failed: out of resources; pausing accepts");
                        exhausted = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(conn::ACCEPT_BACKOFF) => {}
                        _ = stop.changed() => break,
                    }
                    continue;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Some(slot) = per_addr.acquire(peer.ip()) else {
            tracing::debug!(client = %peer.ip(), "connection refused: too many from this address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, builder, tls) = (router.clone(), builder.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => {
                    let io = conn::ReadDeadlines::new(stream, conn::FIRST_BYTE_TIMEOUT);
                    serve_connection(&builder, TokioIo::new(io), peer, router).await
                }
                Some(mode) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), tls::accept(&mode, stream));
                    if let Ok(Some(tls_stream)) = handshake.await {
                        let io = conn::ReadDeadlines::new(tls_stream, conn::FIRST_BYTE_TIMEOUT);
                        serve_connection(&builder, TokioIo::new(io), peer, router).await;
                    }
                }
            }
        });
    }
}

/// Serve one connection with `router`, recording the peer address for handlers and logs.
async fn serve_connection<IO>(
    builder: &hyper_util::server::conn::auto::Builder<TokioExecutor>,
    io: IO,
    peer: SocketAddr,
    router: Router,
) where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
    if let Err(e) = builder.serve_connection_with_upgrades(io, service).await {
        tracing::trace!(error = %e, "connection ended with an error");
    }
}
