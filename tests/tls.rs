//! On-server TLS with certificate files (`http.md` §12): a self-signed certificate made in the
//! test with rcgen; a client trusting it connects; bad files exit 2 naming the key and file.

mod common;

use common::{Server, https, run_cli};
use serde_json::json;

struct Pki {
    cert_pem: String,
    key_pem: String,
}

fn self_signed() -> Pki {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    Pki {
        cert_pem: cert.cert.pem(),
        key_pem: cert.signing_key.serialize_pem(),
    }
}

#[tokio::test]
async fn https_with_a_trusted_self_signed_certificate() {
    let pki = self_signed();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &pki.cert_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let server = Server::start(
        json!({"tls_enable": true, "tls_cert_file": cert, "tls_key_file": key}),
        &[],
    );
    assert!(server.log().contains(&format!(
        "listening addr=127.0.0.1:{} tls=true",
        server.port
    )));
    let (status, head, body) = https(
        server.port,
        "localhost",
        &pki.cert_pem,
        "GET",
        "/health",
        "",
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("strict-transport-security: max-age=31536000"));
    assert!(body.contains("\"status\":\"ok\""));
    // wsUrl uses wss when the request arrived over TLS.
    let (status, _, body) = https(
        server.port,
        "localhost",
        &pki.cert_pem,
        "POST",
        "/start",
        r#"{"transport":"websocket"}"#,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"wsUrl\":\"wss://localhost:"), "{body}");
    // The container probe speaks https to its own server (no certificate-name check).
    let (code, _, stderr) = common::run_cli(
        &["health"],
        &[
            ("VOXRAY_PORT", &server.port.to_string()),
            ("VOXRAY_TLS_ENABLE", "true"),
            ("VOXRAY_TLS_CERT_FILE", cert.to_str().unwrap()),
            ("VOXRAY_TLS_KEY_FILE", key.to_str().unwrap()),
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "voxray health over TLS: {stderr}");
    // No plain-HTTP fallback on the TLS port.
    let plain = reqwest::get(server.url("/health")).await;
    assert!(plain.is_err(), "plain HTTP must not be served");
    // A client trusting another certificate is refused.
    let other = self_signed();
    assert!(
        https(
            server.port,
            "localhost",
            &other.cert_pem,
            "GET",
            "/health",
            ""
        )
        .await
        .is_err()
    );
}

#[test]
fn bad_certificate_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = self_signed();
    let b = self_signed();
    std::fs::write(dir.path().join("cert.pem"), &a.cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &a.key_pem).unwrap();
    std::fs::write(dir.path().join("other-key.pem"), &b.key_pem).unwrap();
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate").unwrap();
    let cases = [
        (
            json!({"tls_enable": true, "tls_cert_file": "missing.pem", "tls_key_file": "key.pem"}),
            "config error: tls_cert_file: missing.pem:",
        ),
        (
            json!({"tls_enable": true, "tls_cert_file": "garbage.pem", "tls_key_file": "key.pem"}),
            "config error: tls_cert_file: garbage.pem: no certificate found",
        ),
        (
            json!({"tls_enable": true, "tls_cert_file": "cert.pem", "tls_key_file": "garbage.pem"}),
            "config error: tls_key_file: garbage.pem:",
        ),
        (
            json!({"tls_enable": true, "tls_cert_file": "cert.pem", "tls_key_file": "other-key.pem"}),
            "config error: tls_key_file: other-key.pem: the private key does not match the certificate",
        ),
        (
            json!({"tls_enable": true}),
            "config error: tls_enable: needs tls_cert_file and tls_key_file, or tls_acme_domains",
        ),
        (
            json!({"tls_enable": true, "tls_cert_file": "cert.pem", "tls_key_file": "key.pem", "tls_acme_domains": ["a.example"]}),
            "not both",
        ),
    ];
    for (config, expected) in cases {
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let (code, _, stderr) = run_cli(
            &["serve", "--config", "config.json", "--port", "0"],
            &[],
            dir.path(),
        );
        assert_eq!(code, 2, "{config}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{config}\nexpected {expected}\ngot {stderr}"
        );
        assert!(!stderr.contains("listening"));
    }
}
