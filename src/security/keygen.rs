//! Server API keys: generation, verification and storage in the OS keyring
//! (`security-tools.md` §1).
//!
//! A key is `vxr_` + 32 random base62 characters + a 6-character base62 checksum (42 characters,
//! ≈ 190.5 bits of randomness). The checksum is the CRC-32/ISO-HDLC of the 32 random characters,
//! written in base62 (`0-9A-Za-z`), most significant digit first, left-padded with `0`. The same
//! checksum scheme validates GitHub tokens in `audit` ([`checksum6`]).
//!
//! Nothing here reads or writes files; keys are never logged.

pub use crate::secret_text::vxr::*;

/// The keyring service name voxray uses.
pub const KEYRING_SERVICE: &str = crate::config::keyring::SERVICE;
/// The default keyring account for the server key.
pub const KEYRING_ACCOUNT: &str = "server_api_key";

pub use crate::config::keyring::Backend as KeyringBackend;

/// Why storing a key failed. Messages never contain the key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An entry already exists for service/account and `force` was not given.
    #[error(
        "keyring entry {service}/{account} already exists ({backend}); pass --force to replace it"
    )]
    Exists {
        /// Backend name.
        backend: &'static str,
        /// Service name.
        service: String,
        /// Account name.
        account: String,
    },
    /// The backend is disabled or not available in this build or on this platform.
    #[error("keyring backend {0}: {1}")]
    Unavailable(&'static str, &'static str),
    /// The backend reported an error.
    #[error("keyring backend {backend}: cannot store {service}/{account}: {detail}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// Service name.
        service: String,
        /// Account name.
        account: String,
        /// The platform error text (contains no secret).
        detail: String,
    },
}

/// Store `secret` under (`service`, `account`) in the given backend.
///
/// Returns the concrete backend used. An existing entry is an error unless `force` is true. On
/// Linux keyutils, when the inherited session keyring is not usable (containers, CI), the
/// process joins a fresh session keyring and retries; the key is linked into the per-user
/// persistent keyring, where `serve` finds it.
pub fn store_in_keyring(
    backend: KeyringBackend,
    service: &str,
    account: &str,
    secret: &str,
    force: bool,
) -> Result<KeyringBackend, StoreError> {
    let backend = backend.resolve();
    let store = backend.store().map_err(|detail| match backend {
        KeyringBackend::None | KeyringBackend::SecretService => StoreError::Unavailable(
            backend.name(),
            if backend == KeyringBackend::None {
                "the keyring is disabled"
            } else {
                "not available in this build; use keyutils"
            },
        ),
        _ => StoreError::Backend {
            backend: backend.name(),
            service: service.to_string(),
            account: account.to_string(),
            detail,
        },
    })?;
    let mut exists = false;
    let stored = crate::config::keyring::with_session_retry(backend, || {
        let entry = keyring_core::Entry::new_in_store(&store, service, account)?;
        match entry.get_password() {
            Ok(_) if !force => {
                exists = true;
                return Ok(());
            }
            Ok(_) | Err(keyring_core::Error::NoEntry) => {}
            Err(e) => return Err(e),
        }
        entry.set_password(secret)
    });
    match stored {
        Ok(()) if exists => Err(StoreError::Exists {
            backend: backend.name(),
            service: service.to_string(),
            account: account.to_string(),
        }),
        Ok(()) => Ok(backend),
        Err(e) => Err(backend_err(backend, service, account, e)),
    }
}

fn backend_err(
    backend: KeyringBackend,
    service: &str,
    account: &str,
    e: keyring_core::Error,
) -> StoreError {
    StoreError::Backend {
        backend: backend.name(),
        service: service.to_string(),
        account: account.to_string(),
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn spec_vectors() {
        let cases = [
            ("0123456789ABCDEFGHIJKLMNOPQRSTUV", 0x5C33_9A43u32, "1ggZdL"),
            (&"a".repeat(32), 0xCAB1_1777, "3i8aJj"),
            (&"x".repeat(32), 0x00CE_3D88, "00uiAi"),
        ];
        for (random, crc, sum) in cases {
            assert_eq!(crc32fast::hash(random.as_bytes()), crc);
            assert_eq!(checksum6(random.as_bytes()), sum);
            let key = key_from_random_part(random);
            assert_eq!(key, format!("vxr_{random}{sum}"));
            assert_eq!(verify(&key), Ok(()));
        }
    }

    #[test]
    fn generated_keys_verify_and_differ() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), KEY_LEN);
        assert_ne!(a, b);
        assert_eq!(verify(&a), Ok(()));
    }

    #[test]
    fn symbols_are_roughly_uniform() {
        let mut counts = [0usize; 62];
        for _ in 0..400 {
            let k = generate();
            for b in k[4..36].bytes() {
                counts[BASE62.iter().position(|&c| c == b).unwrap()] += 1;
            }
        }
        // 12800 draws: expectation ≈ 206 per symbol; every symbol must appear, none dominate.
        assert!(counts.iter().all(|&c| c > 120 && c < 320), "{counts:?}");
    }

    #[test]
    fn verify_reports_the_failed_property() {
        let good = key_from_random_part("0123456789ABCDEFGHIJKLMNOPQRSTUV");
        assert_eq!(
            verify(&good.replacen("vxr_", "vxk_", 1)),
            Err(VerifyError::Prefix)
        );
        assert_eq!(verify(&good[..41]), Err(VerifyError::Length));
        assert_eq!(
            verify(&format!("{}!{}", &good[..10], &good[11..])),
            Err(VerifyError::Charset)
        );
        let mut bad = good.clone().into_bytes();
        bad[41] = if bad[41] == b'L' { b'M' } else { b'L' };
        assert_eq!(
            verify(&String::from_utf8(bad).unwrap()),
            Err(VerifyError::Checksum)
        );
        let mut swapped = good.into_bytes();
        swapped.swap(5, 6);
        assert_eq!(
            verify(&String::from_utf8(swapped).unwrap()),
            Err(VerifyError::Checksum)
        );
    }

    #[test]
    fn error_text_never_contains_the_key() {
        let key = generate();
        let mut bad = key.clone();
        bad.pop();
        bad.push('!');
        let msg = verify(&bad).unwrap_err().to_string();
        assert!(!msg.contains(&key[4..20]));
    }

    #[test]
    fn mock_store_roundtrip_and_exists() {
        assert_eq!(
            store_in_keyring(KeyringBackend::Mock, "voxray", "server_api_key", "k", false).unwrap(),
            KeyringBackend::Mock
        );
        assert!(matches!(
            store_in_keyring(KeyringBackend::None, "voxray", "a", "k", false),
            Err(StoreError::Unavailable(..))
        ));
        assert_eq!(
            KeyringBackend::parse("secret-service"),
            Some(KeyringBackend::SecretService)
        );
        assert_eq!(KeyringBackend::parse("bogus"), None);
    }
}
