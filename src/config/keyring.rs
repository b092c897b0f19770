//! The OS keyring as a secret source (`config.md` §6.2 step 2): service `voxray`, account =
//! the key path (`server_api_key`, `api_keys.openai`).
//!
//! Backends (`keyring_backend`): `keyutils` — the Linux kernel keyring through
//! `linux-keyutils-keyring-store`, which works headless with no daemon (entries live in the
//! per-user persistent keyring; in a container or CI job whose inherited session keyring is
//! not usable, the process joins a fresh session keyring first); `mock` — in-process, tests
//! only; `none` — off. `auto` is `keyutils` on Linux. Secret Service (D-Bus) is not in this
//! build. A backend that cannot be reached is skipped with a debug log, never an error.

use std::sync::Arc;

use super::secret::Keyring;

/// The keyring service name.
pub const SERVICE: &str = "voxray";

/// A keyring backend (`keyring_backend`, `VOXRAY_KEYRING_BACKEND` for `keygen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The platform default (Linux: keyutils).
    Auto,
    /// Linux kernel keyutils.
    Keyutils,
    /// Freedesktop Secret Service (not in this build).
    SecretService,
    /// Off.
    None,
    /// In-process store, tests only.
    Mock,
}

impl Backend {
    /// Parse a backend name; `None` for an unknown name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Self::Auto,
            "keyutils" => Self::Keyutils,
            "secret-service" | "secret_service" => Self::SecretService,
            "none" => Self::None,
            "mock" => Self::Mock,
            _ => return None,
        })
    }

    /// The concrete backend `Auto` stands for on this platform.
    pub fn resolve(self) -> Self {
        match self {
            Self::Auto if cfg!(target_os = "linux") => Self::Keyutils,
            other => other,
        }
    }

    /// Stable lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Keyutils => "keyutils",
            Self::SecretService => "secret-service",
            Self::None => "none",
            Self::Mock => "mock",
        }
    }

    /// A credential store for this backend.
    ///
    /// # Errors
    /// A one-line reason when the backend is off or not available here.
    pub fn store(self) -> Result<Arc<keyring_core::CredentialStore>, String> {
        match self.resolve() {
            Self::None => Err("the keyring is disabled (keyring_backend: none)".into()),
            Self::SecretService => {
                Err("secret-service is not available in this build; use keyutils".into())
            }
            Self::Mock => keyring_core::mock::Store::new()
                .map(|s| s as _)
                .map_err(|e| e.to_string()),
            #[cfg(target_os = "linux")]
            Self::Keyutils | Self::Auto => {
                join_session_keyring_once();
                linux_keyutils_keyring_store::Store::new()
                    .map(|s| s as _)
                    .map_err(|e| e.to_string())
            }
            #[cfg(not(target_os = "linux"))]
            Self::Keyutils | Self::Auto => Err("keyutils is only available on Linux".into()),
        }
    }
}

/// Join a fresh anonymous session keyring (`keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`), for
/// processes whose inherited session keyring refuses access. True on success.
#[cfg(target_os = "linux")]
pub fn join_session_keyring() -> bool {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a NULL name reads no memory of ours; it only changes this process's
    // session keyring.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    rc >= 0
}

/// Not Linux: nothing to join.
#[cfg(not(target_os = "linux"))]
pub fn join_session_keyring() -> bool {
    false
}

/// Join a fresh session keyring once per process, before the keyutils store links the per-user
/// persistent keyring into it. Without this, a process whose inherited session keyring refuses
/// access (containers, CI, `su`) would not see the persistent keyring at start-up but would
/// after a later retry, so start-up and SIGHUP reloads could disagree.
#[cfg(target_os = "linux")]
fn join_session_keyring_once() {
    static JOINED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    JOINED.get_or_init(join_session_keyring);
}

/// Run `op`; on a keyutils backend error other than "no entry", join a fresh session keyring
/// once and retry.
pub fn with_session_retry<T>(
    backend: Backend,
    mut op: impl FnMut() -> Result<T, keyring_core::Error>,
) -> Result<T, keyring_core::Error> {
    match op() {
        Err(e)
            if !matches!(e, keyring_core::Error::NoEntry)
                && backend.resolve() == Backend::Keyutils =>
        {
            if join_session_keyring() {
                op()
            } else {
                Err(e)
            }
        }
        other => other,
    }
}

/// The OS keyring as a [`Keyring`] lookup.
pub struct OsKeyring {
    backend: Backend,
    store: Option<Arc<keyring_core::CredentialStore>>,
}

impl OsKeyring {
    /// A lookup on `backend` (a name from `keyring_backend`; unknown names act as `none`).
    pub fn new(backend: &str) -> Self {
        let backend = Backend::parse(backend).unwrap_or(Backend::None);
        let store = match backend.store() {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!(backend = backend.name(), "keyring skipped: {e}");
                None
            }
        };
        Self { backend, store }
    }
}

impl Keyring for OsKeyring {
    fn get(&self, account: &str) -> Option<String> {
        let store = self.store.as_ref()?;
        let found = with_session_retry(self.backend, || {
            keyring_core::Entry::new_in_store(store, SERVICE, account)?.get_password()
        });
        match found {
            Ok(v) => Some(v),
            Err(keyring_core::Error::NoEntry) => None,
            Err(e) => {
                // The error text comes from the platform and names no secret.
                tracing::debug!(
                    backend = self.backend.name(),
                    account,
                    "keyring lookup skipped: {e}"
                );
                None
            }
        }
    }
}
