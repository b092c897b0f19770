//! The HTTP appliance around the voice engine: router and middleware ([`app`]), error
//! envelope ([`error`]), API keys ([`auth`]), CORS ([`cors`]), body limits ([`limit`]),
//! graceful shutdown ([`shutdown`]) and the route handlers ([`routes`]).

pub mod app;
pub mod auth;
pub mod cors;
pub mod error;
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
use crate::session::{Lifecycle, SessionRegistry};
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
}

/// Bind the listeners and serve until the first SIGTERM/SIGINT has drained.
///
/// # Errors
/// [`ServeError`] when a listener cannot be bound or the configuration asks for something
/// this build cannot serve (on-server TLS).
pub async fn run(loaded: Loaded, opts: LoadOptions) -> Result<(), ServeError> {
    let config = Arc::new(loaded.config);
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
    if config.webrtc_udp_port != 0 || config.webrtc_udp_port_min != 0 {
        tracing::warn!(
            "webrtc_udp_port / webrtc_udp_port_min..max are not supported in this build: WebRTC \
             uses ephemeral UDP ports; open the ephemeral range on the firewall or relay media \
             through a TURN server (webrtc_ice_servers)"
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
        let loopback = config
            .host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
            || config.host == "localhost";
        if loopback {
            tracing::warn!("API key authentication is disabled");
        } else {
            tracing::warn!(
                "API key authentication is disabled: the server is reachable without authentication on {}",
                config.host
            );
        }
    }
    let sessions = SessionRegistry::new(config.max_sessions);
    let metrics = Metrics::new();
    let token_key: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
    // The provider clients (validated by the config load: this cannot fail there), shared by
    // every voice session of the process.
    match crate::services::Services::from_config(&config, &loaded.secrets, Some(&metrics)) {
        Ok(services) => {
            crate::pipeline::agent::install_services(Arc::new(services));
        }
        Err(lines) => {
            for l in lines {
                tracing::error!("{l}");
            }
        }
    }
    let state = AppState {
        config: config.clone(),
        secrets: Arc::new(RwLock::new(Arc::new(loaded.secrets))),
        sessions: sessions.clone(),
        metrics: metrics.clone(),
        tls: tls.is_some(),
        token_key,
        webrtc: config.transport.webrtc().then(|| {
            PeerManager::new(
                RtcSettings::from_config(&config),
                config.clone(),
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
        ));
    }
    let public = tokio::spawn(accept_loop(
        listener,
        app::router(state.clone()),
        tls.clone(),
        stop_rx,
    ));
    sessions.spawn_sweeper(Duration::from_secs(60));
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

/// Accept connections until `stop` turns true; each connection (after the TLS handshake when
/// `tls` is set) is served by hyper: HTTP/1.1 with upgrades and HTTP/2, a 10 s header read
/// timeout and a 64 KiB header limit.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<tls::TlsMode>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(64 * 1024)
        // The limit is the 64 KiB header block (`http.md` §1), not hyper's default 100 headers.
        .max_headers(4096);
    let builder = Arc::new(builder);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let (router, builder, tls) = (router.clone(), builder.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(&builder, TokioIo::new(stream), peer, router).await,
                Some(mode) => {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), tls::accept(&mode, stream));
                    if let Ok(Some(tls_stream)) = handshake.await {
                        serve_connection(&builder, TokioIo::new(tls_stream), peer, router).await;
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
