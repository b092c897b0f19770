//! `voxray health`: the container `HEALTHCHECK` probe (`http.md`, "Deployment requirements").
//!
//! The image has no shell and no curl, so the binary probes itself: it loads the configuration
//! exactly as `serve` does (same [`config::load`], same process environment, same `--config`),
//! sends `GET /health` to the local listener and exits 0 on a 200, else 1 with one line on
//! stderr. It never exits 2, because Docker reserves that health-check exit code.
//!
//! The probe is a blocking HTTP/1.1 request with a 3-second overall deadline, over plain TCP,
//! or with `tls_enable` over TLS (rustls, ring) without a certificate-name check: the probe
//! talks to its own process on loopback, where the name on the certificate (a public DNS name,
//! or an ACME certificate not issued yet) cannot match.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use clap::Args;

use super::serve::ServeArgs;
use super::{CliError, EXIT_FINDINGS, EXIT_OK, GlobalArgs};
use crate::config::{self, LoadOptions};

/// The whole probe (connect, send, read the status line) must finish within this time.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Arguments of `voxray health` (none besides the global `--config`).
#[derive(Debug, Args)]
pub struct HealthArgs {}

/// Where the probe connects for a server configured with `host` and `port`: the loopback
/// address for a wildcard or host-name bind (`0.0.0.0`, `localhost` → `127.0.0.1`, `::` →
/// `::1`), else the configured address itself (a server bound to one interface only answers
/// there).
pub fn probe_addr(host: &str, port: u16) -> SocketAddr {
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match trimmed.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Ok(ip) => ip,
        Err(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    SocketAddr::new(ip, port)
}

/// Accepts any server certificate: the probe only asks its own server on loopback whether it
/// is alive; it sends nothing secret.
#[derive(Debug)]
struct AnyCertificate(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A byte stream the probe can talk HTTP over (plain TCP or TLS).
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// Wrap `tcp` in a TLS client session without certificate verification.
fn tls_stream(tcp: TcpStream, addr: SocketAddr) -> Result<Box<dyn Stream>, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

/// `GET /health` on `addr` over HTTP/1.1 (over TLS when `tls`); the response status code.
///
/// # Errors
/// One line saying what failed (connect, TLS, send, read, a response that is not HTTP) and
/// where, including a timeout after `timeout` in total.
pub fn probe(addr: SocketAddr, timeout: Duration, tls: bool) -> Result<u16, String> {
    let url = format!("{}://{addr}/health", if tls { "https" } else { "http" });
    let deadline = Instant::now() + timeout;
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("{url}: no answer within {} s", timeout.as_secs()))
    };
    let tcp = TcpStream::connect_timeout(&addr, remaining()?)
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    // One deadline for the whole exchange: socket timeouts set once to what is left.
    let left = remaining()?;
    tcp.set_write_timeout(Some(left))
        .and_then(|()| tcp.set_read_timeout(Some(left)))
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let mut stream: Box<dyn Stream> = if tls {
        tls_stream(tcp, addr)?
    } else {
        Box::new(tcp)
    };
    stream
        .write_all(
            format!(
                "GET /health HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: voxray-health\r\n\
                 Accept: application/json\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .map_err(|e| format!("cannot send the request to {url}: {e}"))?;
    // Only the status line matters; read until its end (or the peer closes).
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        remaining()?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("{url}: no answer within {} s", timeout.as_secs()));
            }
            Err(e) => return Err(format!("cannot read the response from {url}: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(v), Some(Ok(code))) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(format!("{url}: not an HTTP response: {line:?}")),
    }
}

/// Run `voxray health`; returns 0 when `/health` answers 200.
///
/// # Errors
/// Exit 1 with one line: the config does not load, the port is ephemeral, or the
/// server does not answer 200 in time.
pub fn run(_args: &HealthArgs, global: &GlobalArgs) -> Result<u8, CliError> {
    let unhealthy = |line: String| CliError {
        code: EXIT_FINDINGS,
        lines: vec![format!("health: {line}")],
    };
    let mut opts = LoadOptions::from_process_env();
    opts.config_path = global.config.clone();
    opts.flags = ServeArgs::default().flag_values(global);
    let loaded = config::load(&opts).map_err(|e| {
        let first = e.0.first().cloned().unwrap_or_default();
        let more = match e.0.len() {
            0 | 1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        unhealthy(format!("cannot probe: {first}{more}"))
    })?;
    let cfg = &loaded.config;
    if cfg.port == 0 {
        return Err(unhealthy(
            "cannot probe: port is 0 (ephemeral); set the port the server listens on \
             (VOXRAY_PORT or the config file)"
                .into(),
        ));
    }
    let addr = probe_addr(&cfg.host, cfg.port);
    let scheme = if cfg.tls_enable { "https" } else { "http" };
    match probe(addr, TIMEOUT, cfg.tls_enable) {
        Ok(200) => Ok(EXIT_OK),
        Ok(code) => Err(unhealthy(format!(
            "{scheme}://{addr}/health answered {code}, expected 200"
        ))),
        Err(line) => Err(unhealthy(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server answering the first request with `response`.
    fn answer_once(response: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"GET /health HTTP/1.1\r\n"));
            s.write_all(response.as_bytes()).unwrap();
        });
        addr
    }

    #[test]
    fn status_code_is_read_from_the_status_line() {
        let ok = answer_once("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(probe(ok, TIMEOUT, false), Ok(200));
        let down = answer_once("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        assert_eq!(probe(down, TIMEOUT, false), Ok(503));
        let junk = answer_once("SSH-2.0-OpenSSH\r\n");
        assert!(
            probe(junk, TIMEOUT, false)
                .unwrap_err()
                .contains("not an HTTP response")
        );
    }

    #[test]
    fn refused_connection_is_one_line_naming_the_url() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = probe(probe_addr("127.0.0.1", port), TIMEOUT, false).unwrap_err();
        assert!(err.starts_with(&format!("cannot connect to http://127.0.0.1:{port}/health")));
        assert!(!err.contains('\n'));
    }

    #[test]
    fn wildcard_and_names_probe_loopback() {
        assert_eq!(probe_addr("0.0.0.0", 8080).to_string(), "127.0.0.1:8080");
        assert_eq!(probe_addr("localhost", 80).to_string(), "127.0.0.1:80");
        assert_eq!(probe_addr("::", 8080).to_string(), "[::1]:8080");
        assert_eq!(probe_addr("[::1]", 8080).to_string(), "[::1]:8080");
        assert_eq!(probe_addr("10.1.2.3", 9).to_string(), "10.1.2.3:9");
    }
}
