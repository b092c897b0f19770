//! On-server TLS (`http.md` §12): rustls with ring as the only crypto provider, certificates
//! from PEM files (reloadable on SIGHUP) or issued over ACME (RFC 8555) with the TLS-ALPN-01
//! challenge (RFC 8737) by `rustls-acme`. ALPN offers `h2` and `http/1.1`. Plain HTTP is never
//! offered when TLS is configured.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::Config;
use crate::pki::tls_error;
pub use crate::pki::{TlsError, load_certified_key};

/// Install ring as the process-wide rustls crypto provider (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A certificate resolver whose certificate can be swapped atomically (SIGHUP reload).
#[derive(Debug)]
pub struct ReloadableCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert_path: PathBuf,
    key_path: PathBuf,
}

impl ReloadableCert {
    /// Load the files once.
    ///
    /// # Errors
    /// As [`load_certified_key`].
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let key = load_certified_key(cert_path, key_path)?;
        Ok(Self {
            current: RwLock::new(Arc::new(key)),
            cert_path: cert_path.into(),
            key_path: key_path.into(),
        })
    }

    /// Re-read the files and swap them in; on error the old certificate stays.
    ///
    /// # Errors
    /// As [`load_certified_key`].
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_certified_key(&self.cert_path, &self.key_path)?;
        *self.current.write().expect("certificate lock") = Arc::new(key);
        Ok(())
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().expect("certificate lock").clone())
    }
}

/// How the public listener terminates TLS.
#[derive(Clone)]
pub enum TlsMode {
    /// Certificate files, reloadable.
    Files {
        config: Arc<ServerConfig>,
        cert: Arc<ReloadableCert>,
    },
    /// ACME-issued certificates; `challenge` answers TLS-ALPN-01 validation handshakes.
    Acme {
        config: Arc<ServerConfig>,
        challenge: Arc<ServerConfig>,
    },
}

impl std::fmt::Debug for TlsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TlsMode::Files { .. } => "TlsMode::Files",
            TlsMode::Acme { .. } => "TlsMode::Acme",
        })
    }
}

fn server_config(resolver: Arc<dyn ResolvesServerCert>) -> Arc<ServerConfig> {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Build the TLS mode for `config` (`tls_enable` must be true). For ACME this starts the
/// background task that orders and renews certificates.
///
/// # Errors
/// [`TlsError`] for unusable certificate/key files, an unreadable `tls_acme_ca_file` or a
/// cache directory that cannot be created.
pub fn setup(config: &Config) -> Result<TlsMode, TlsError> {
    install_crypto_provider();
    if config.tls_acme_domains.is_empty() {
        let cert = Arc::new(ReloadableCert::load(
            Path::new(&config.tls_cert_file),
            Path::new(&config.tls_key_file),
        )?);
        return Ok(TlsMode::Files {
            config: server_config(cert.clone()),
            cert,
        });
    }
    acme::setup(config)
}

/// Accept one TLS connection. Returns `None` for connections that were ACME validation
/// handshakes (answered and closed) or failed.
pub async fn accept(mode: &TlsMode, tcp: TcpStream) -> Option<TlsStream<TcpStream>> {
    let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp)
        .await
        .ok()?;
    match mode {
        TlsMode::Files { config, .. } => start.into_stream(config.clone()).await.ok(),
        TlsMode::Acme { config, challenge } => {
            if rustls_acme::is_tls_alpn_challenge(&start.client_hello()) {
                tracing::info!("answering an ACME TLS-ALPN-01 validation");
                if let Ok(mut tls) = start.into_stream(challenge.clone()).await {
                    let _ = tls.shutdown().await;
                }
                None
            } else {
                start.into_stream(config.clone()).await.ok()
            }
        }
    }
}

mod acme {
    //! ACME with rustls-acme: account and certificates cached in `tls_acme_cache_dir`
    //! (directory 0700), directory URL and an optional extra root CA for private CAs.

    use std::path::Path;
    use std::sync::Arc;

    use futures_util::StreamExt;
    use rustls::RootCertStore;
    use rustls_acme::AcmeConfig;
    use rustls_acme::caches::DirCache;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use super::{TlsError, TlsMode, server_config, tls_error};
    use crate::config::Config;

    /// `tls_acme_contact` as `mailto:` URLs.
    fn contacts(config: &Config) -> Vec<String> {
        let list: Vec<String> = match &config.tls_acme_contact {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        list.into_iter()
            .filter(|c| !c.is_empty())
            .map(|c| {
                if c.contains(':') {
                    c
                } else {
                    format!("mailto:{c}")
                }
            })
            .collect()
    }

    pub(super) fn setup(config: &Config) -> Result<TlsMode, TlsError> {
        let cache_dir = Path::new(&config.tls_acme_cache_dir);
        std::fs::create_dir_all(cache_dir).map_err(|e| {
            tls_error(
                "tls_acme_cache_dir",
                cache_dir,
                format!("cannot create: {e}"),
            )
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(cache_dir, std::fs::Permissions::from_mode(0o700));
        }
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots_anchors());
        if !config.tls_acme_ca_file.is_empty() {
            let path = Path::new(&config.tls_acme_ca_file);
            let pem = std::fs::read(path)
                .map_err(|e| tls_error("tls_acme_ca_file", path, e.to_string()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.map_err(|e| tls_error("tls_acme_ca_file", path, format!("not PEM: {e}")))?;
                roots.add(cert).map_err(|e| {
                    tls_error("tls_acme_ca_file", path, format!("unusable CA: {e}"))
                })?;
            }
        }
        let client = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut state =
            AcmeConfig::new_with_client_config(&config.tls_acme_domains, Arc::new(client))
                .contact(contacts(config))
                .cache(DirCache::new(cache_dir.to_path_buf()))
                .directory(&config.tls_acme_directory_url)
                .state();
        let challenge = state.challenge_rustls_config();
        let resolver = state.resolver();
        tokio::spawn(async move {
            while let Some(event) = state.next().await {
                match event {
                    Ok(ok) => tracing::info!(event = ?ok, "ACME"),
                    Err(err) => tracing::error!(error = ?err, "ACME order failed; retrying"),
                }
            }
        });
        Ok(TlsMode::Acme {
            config: server_config(resolver),
            challenge,
        })
    }

    fn webpki_roots_anchors() -> Vec<rustls_pki_types::TrustAnchor<'static>> {
        webpki_roots::TLS_SERVER_ROOTS.to_vec()
    }
}
