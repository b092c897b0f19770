//! SIGHUP reload (`http.md` §8.3): re-read the config file's secret keys, re-resolve every
//! secret (`${NAME}`, `file:` values, keyring) and re-read the TLS files, then swap them in
//! atomically. In-flight sessions keep going; new requests use the new set. A reload that
//! fails keeps the old set and logs why at ERROR. Changed non-secret settings are ignored with
//! a warning (restart to apply).

use std::sync::{Arc, RwLock};

use tokio::signal::unix::{SignalKind, signal};

use super::tls::TlsMode;
use crate::config::{self, Config, LoadOptions, Secrets};

/// The non-secret part of a configuration, for change detection.
fn without_secrets(config: &Config) -> serde_json::Value {
    let mut v = serde_json::to_value(config).expect("config serialises");
    if let Some(map) = v.as_object_mut() {
        for spec in config::keys::KEYS.iter().filter(|k| k.secret) {
            map.remove(spec.path);
        }
    }
    v
}

/// Reload once: returns the number of server keys now in force.
///
/// # Errors
/// Every problem, one line each; nothing was swapped.
pub fn reload_once(
    opts: &LoadOptions,
    running: &Config,
    secrets: &RwLock<Arc<Secrets>>,
    tls: Option<&TlsMode>,
) -> Result<usize, Vec<String>> {
    let loaded = config::load(opts).map_err(|e| e.0)?;
    if let Some(TlsMode::Files { cert, .. }) = tls {
        cert.reload().map_err(|e| vec![e.to_string()])?;
    }
    if without_secrets(&loaded.config) != without_secrets(running) {
        tracing::warn!("reload: changed non-secret settings are ignored; restart to apply them");
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let count = loaded.secrets.server_keys.len();
    *secrets.write().expect("secrets lock") = Arc::new(loaded.secrets);
    Ok(count)
}

/// Reload on every SIGHUP for the life of the process.
pub fn spawn(
    opts: LoadOptions,
    running: Arc<Config>,
    secrets: Arc<RwLock<Arc<Secrets>>>,
    tls: Option<TlsMode>,
) {
    tokio::spawn(async move {
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("SIGHUP handler could not be installed; reload by restart only");
            return;
        };
        while hup.recv().await.is_some() {
            match reload_once(&opts, &running, &secrets, tls.as_ref()) {
                Ok(keys) => tracing::info!(
                    server_keys = keys,
                    "reload: secrets and TLS files swapped in"
                ),
                Err(errors) => {
                    for e in errors {
                        tracing::error!("reload failed, keeping the previous secrets: {e}");
                    }
                }
            }
        }
    });
}
