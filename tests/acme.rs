//! ACME against a real local ACME server (`http.md` §12): Debian's `pebble`, installed and
//! started by `.ci/run`'s packages, issues a certificate to voxray over TLS-ALPN-01, then an
//! HTTPS request with that certificate succeeds; a restart loads it from the cache.
//!
//! Set-up (ports are fixed, so this file holds one test):
//! - rcgen makes a test CA and a `localhost`/`127.0.0.1` certificate for pebble's own HTTPS API;
//! - `pebble-challtestsrv` answers every DNS A query with 127.0.0.1 (its own challenge
//!   listeners disabled);
//! - `pebble` listens on 127.0.0.1:14000 (ACME) and :15000 (management, issuing roots), with
//!   `tlsPort` = the port voxray serves TLS on, `PEBBLE_VA_NOSLEEP=1` and
//!   `PEBBLE_WFE_NONCEREJECT=0`;
//! - voxray gets `tls_acme_directory_url` = `https://127.0.0.1:14000/dir` and trusts the test
//!   CA through `tls_acme_ca_file`; the client trusts pebble's issuing root from `/roots/0`.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, https};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} did not open");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn pebble_issues_a_certificate_and_https_works() {
    assert!(
        Command::new("pebble").arg("-h").output().is_ok(),
        "pebble is not installed: .ci/run installs Debian's pebble package"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    // Test CA and pebble's HTTPS certificate.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "voxray test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let api_key = KeyPair::generate().unwrap();
    let api_cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&api_key, &issuer)
        .unwrap();
    std::fs::write(p("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(p("pebble-cert.pem"), api_cert.pem()).unwrap();
    std::fs::write(p("pebble-key.pem"), api_key.serialize_pem()).unwrap();

    let voxray_port = free_port();
    let pebble_config = json!({"pebble": {
        "listenAddress": "127.0.0.1:14000",
        "managementListenAddress": "127.0.0.1:15000",
        "certificate": p("pebble-cert.pem"),
        "privateKey": p("pebble-key.pem"),
        "httpPort": 5002,
        "tlsPort": voxray_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false
    }});
    std::fs::write(p("pebble.json"), pebble_config.to_string()).unwrap();

    let _dns = Killed(
        Command::new("pebble-challtestsrv")
            .args([
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                "127.0.0.1:8053",
            ])
            .args([
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                "127.0.0.1:8055",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv starts"),
    );
    let _pebble = Killed(
        Command::new("pebble")
            .arg("-config")
            .arg(p("pebble.json"))
            .args(["-dnsserver", "127.0.0.1:8053"])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_VA_ALWAYS_VALID", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble starts"),
    );
    wait_port(14000);
    wait_port(15000);

    let domain = "voxray.test";
    let config = json!({
        "port": voxray_port,
        "tls_enable": true,
        "tls_acme_domains": [domain],
        "tls_acme_contact": "ops@voxray.test",
        "tls_acme_directory_url": "https://127.0.0.1:14000/dir",
        "tls_acme_ca_file": p("ca.pem"),
        "tls_acme_cache_dir": p("acme-cache"),
    });
    let ca_pem = ca_cert.pem();
    let started = Instant::now();
    let server = Server::start(config.clone(), &[]);
    assert!(server.log().contains("tls=true"));

    // Pebble's issuing root, fetched over its management API (trusting the test CA).
    let (status, _, root) = https(15000, "localhost", &ca_pem, "GET", "/roots/0", "")
        .await
        .unwrap();
    assert_eq!(status, 200);

    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, _, body) = loop {
        match https(voxray_port, domain, &root, "GET", "/health", "").await {
            Ok(r) if r.0 == 200 => break r,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(250)).await,
            other => panic!(
                "no certificate issued in 60 s: {other:?}\nlog:\n{}",
                server.log()
            ),
        }
    };
    eprintln!(
        "ACME issuance to first HTTPS 200: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(status, 200);
    assert!(body.contains("\"ok\""));
    drop(server);

    // The certificate is cached: a restart serves it without a new order.
    assert!(
        std::fs::read_dir(p("acme-cache")).unwrap().count() >= 2,
        "account and certificate cached"
    );
    let restarted = Instant::now();
    let server = Server::start(config, &[]);
    let (status, _, _) = https(voxray_port, domain, &root, "GET", "/health", "")
        .await
        .unwrap();
    assert_eq!(
        status,
        200,
        "cached certificate served; log:\n{}",
        server.log()
    );
    eprintln!(
        "restart to first HTTPS 200 from cache: {:.3} s",
        restarted.elapsed().as_secs_f64()
    );
}
