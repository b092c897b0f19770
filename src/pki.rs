//! PEM certificate and key files (`http.md` §12): loading a chain and its private key with
//! a key/certificate match check, and reading a certificate's validity window. Shared by the
//! TLS listener (`server::tls`) and `voxray check` (VXP-TLS-002).

use std::path::Path;
use std::time::{Duration, SystemTime};

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS set-up problem; the message names the config key and the file.
#[derive(Debug, thiserror::Error)]
#[error("config error: {key}: {path}: {problem}")]
pub struct TlsError {
    /// Config key (`tls_cert_file`, `tls_key_file`, `tls_acme_ca_file`, `tls_acme_cache_dir`).
    pub key: &'static str,
    /// The file.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

pub(crate) fn tls_error(key: &'static str, path: &Path, problem: impl Into<String>) -> TlsError {
    TlsError {
        key,
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

/// Read a non-empty PEM certificate chain (leaf first).
///
/// # Errors
/// [`TlsError`] for an unreadable file, bad PEM, or no certificate in it.
fn read_chain(cert_path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(cert_path)
        .map_err(|e| tls_error("tls_cert_file", cert_path, e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            tls_error(
                "tls_cert_file",
                cert_path,
                format!("not a PEM certificate chain: {e}"),
            )
        })?;
    if certs.is_empty() {
        return Err(tls_error(
            "tls_cert_file",
            cert_path,
            "no certificate found in the PEM file",
        ));
    }
    Ok(certs)
}

/// Read a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1) and check that the
/// key belongs to the leaf certificate.
///
/// # Errors
/// [`TlsError`] naming the key and path for missing, unreadable or unparsable files and for
/// a key that does not match the certificate.
pub fn load_certified_key(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let certs = read_chain(cert_path)?;
    let key_pem =
        std::fs::read(key_path).map_err(|e| tls_error("tls_key_file", key_path, e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        tls_error(
            "tls_key_file",
            key_path,
            "no PKCS#8, PKCS#1 or SEC1 private key found",
        )
    })?;
    let provider = rustls::crypto::ring::default_provider();
    let signing_key = provider.key_provider.load_private_key(key).map_err(|e| {
        tls_error(
            "tls_key_file",
            key_path,
            format!("unusable private key: {e}"),
        )
    })?;
    let certified = CertifiedKey::new(certs, signing_key);
    certified.keys_match().map_err(|_| {
        tls_error(
            "tls_key_file",
            key_path,
            "the private key does not match the certificate",
        )
    })?;
    Ok(certified)
}

/// The leaf certificate's `notAfter` (RFC 5280 §4.1.2.5) from a PEM chain file.
///
/// # Errors
/// [`TlsError`] for an unreadable file or an unparsable certificate.
pub fn leaf_not_after(cert_path: &Path) -> Result<SystemTime, TlsError> {
    let der = read_chain(cert_path)?.remove(0);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| {
        tls_error(
            "tls_cert_file",
            cert_path,
            format!("unparsable certificate: {e}"),
        )
    })?;
    let secs = cert.validity().not_after.timestamp();
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
}
