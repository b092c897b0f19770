//! Carrier webhook answers on `POST /` in telephony mode (`wire.md` §3.5, `http.md` §11) and
//! the Twilio signature check (`X-Twilio-Signature`), against the real binary.

mod common;

use common::{Server, twilio_signature};
use serde_json::json;

const UNAUTHORIZED: &str = r#"{"error":{"code":"unauthorized","message":"Unauthorized"}}"#;
// 32 hex digits like a real auth token (a value that looks like a placeholder is ignored).
const TOKEN: &str = "f3a9c1d27b8e4605a1c2d3e4f5a6b7c8";

const FORM: &[(&str, &str)] = &[
    ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
    ("CallSid", "CA0123456789abcdef0123456789abcdef"),
    ("From", "+15550100"),
    ("To", "+15550101"),
    ("CallStatus", "ringing"),
];

async fn post_form(
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let mut req = reqwest::Client::new().post(server.url(path)).form(form);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

fn twiml(url: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Connect>\n    <Stream url=\"{url}\">\n      <Parameter name=\"from_number\" value=\"+15550100\"/>\n      <Parameter name=\"to_number\" value=\"+15550101\"/>\n    </Stream>\n  </Connect>\n</Response>\n"
    )
}

#[tokio::test]
async fn twiml_stream_url_follows_host_forwarded_proto_and_proxy_host() {
    let server = Server::start(json!({"runner_transport": "twilio"}), &[]);
    let host = format!("127.0.0.1:{}", server.port);
    let (status, ct, body) = post_form(&server, "/", &[], FORM).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct, "application/xml");
    assert_eq!(body, twiml(&format!("ws://{host}/telephony/ws")));
    let (_, _, body) = post_form(&server, "/", &[("X-Forwarded-Proto", "https")], FORM).await;
    assert_eq!(body, twiml(&format!("wss://{host}/telephony/ws")));
    let (_, _, body) = post_form(
        &server,
        "/",
        &[
            ("Host", "voice.example.com"),
            ("X-Forwarded-Proto", "https"),
        ],
        FORM,
    )
    .await;
    assert_eq!(body, twiml("wss://voice.example.com/telephony/ws"));
    // Without From/To there are no <Parameter>s.
    let (_, _, body) = post_form(&server, "/", &[], &[("CallSid", "CA1")]).await;
    assert!(!body.contains("<Parameter"), "{body}");
    assert!(body.contains(&format!("<Stream url=\"ws://{host}/telephony/ws\">")));

    // The client page still answers GET /; other methods list POST.
    let res = reqwest::get(server.url("/")).await.unwrap();
    assert_eq!(res.status(), 200);
    let res = reqwest::Client::new()
        .put(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD, POST, OPTIONS");
    // No signature is checked without the auth token, and the server says so at start-up.
    assert!(
        server.log().contains("without twilio_auth_token"),
        "{}",
        server.log()
    );
    // The OpenAPI document lists the webhook routes.
    let doc: serde_json::Value = reqwest::get(server.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["paths"]["/"]["post"]["summary"]
            .as_str()
            .unwrap()
            .contains("webhook")
    );
    assert!(doc["paths"]["/daily-dialin-webhook"]["post"].is_object());
    assert!(doc["paths"]["/telephony/ws"]["get"].is_object());
    // The media route is present; a plain GET is not an upgrade (426), POST is not allowed.
    let res = reqwest::get(server.url("/telephony/ws")).await.unwrap();
    assert_eq!(res.status(), 426);
    let res = reqwest::Client::new()
        .post(server.url("/telephony/ws"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, OPTIONS");
}

#[tokio::test]
async fn proxy_host_wins_over_host() {
    let server = Server::start(
        json!({"runner_transport": "twilio", "proxy_host": "voice.example.com"}),
        &[],
    );
    let (_, _, body) = post_form(&server, "/", &[], FORM).await;
    assert_eq!(body, twiml("ws://voice.example.com/telephony/ws"));
    let (_, _, body) = post_form(&server, "/", &[("X-Forwarded-Proto", "https")], FORM).await;
    assert_eq!(body, twiml("wss://voice.example.com/telephony/ws"));
}

#[tokio::test]
async fn telnyx_plivo_and_exotel_answers() {
    let telnyx = Server::start(json!({"runner_transport": "telnyx"}), &[]);
    let (status, ct, body) = post_form(&telnyx, "/", &[("Host", "t.example")], FORM).await;
    assert_eq!((status, ct.as_str()), (200, "application/xml"));
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Connect>\n    <Stream url=\"ws://t.example/telephony/ws\" bidirectionalMode=\"rtp\"></Stream>\n  </Connect>\n</Response>\n"
    );
    assert!(
        telnyx.log().contains("restrict POST / and /telephony/ws"),
        "{}",
        telnyx.log()
    );

    let plivo = Server::start(json!({"runner_transport": "plivo"}), &[]);
    let (status, ct, body) = post_form(
        &plivo,
        "/",
        &[("Host", "p.example"), ("X-Forwarded-Proto", "https")],
        &[],
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/xml"));
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n  <Stream bidirectional=\"true\" keepCallAlive=\"true\" contentType=\"audio/x-mulaw;rate=8000\">wss://p.example/telephony/ws</Stream>\n</Response>\n"
    );

    let exotel = Server::start(json!({"runner_transport": "exotel"}), &[]);
    let (status, ct, body) = post_form(
        &exotel,
        "/",
        &[("Host", "e.example"), ("X-Forwarded-Proto", "https")],
        &[],
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v,
        json!({"websocketUrl": "wss://e.example/telephony/ws",
               "note": "Exotel does not call a POST webhook; configure this URL in the Voicebot applet"})
    );
}

#[tokio::test]
async fn without_a_carrier_post_root_is_not_a_webhook() {
    let server = Server::start(json!({}), &[]);
    let (status, _, body) = post_form(&server, "/", &[], FORM).await;
    assert_eq!(status, 405, "{body}");
    let (status, _, _) = post_form(&server, "/daily-dialin-webhook", &[], &[]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn twilio_signature_valid_tampered_and_missing() {
    let server = Server::start(
        json!({"runner_transport": "twilio"}),
        &[("TWILIO_AUTH_TOKEN", TOKEN)],
    );
    let url = server.url("/?tenant=a");
    let good = twilio_signature(TOKEN, &url, FORM);
    let (status, _, body) = post_form(
        &server,
        "/?tenant=a",
        &[("X-Twilio-Signature", &good)],
        FORM,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Stream url=\"ws://127.0.0.1:"), "{body}");

    // Signed for another URL (query changed).
    let other_url = twilio_signature(TOKEN, &server.url("/?tenant=b"), FORM);
    // A parameter changed after signing.
    let mut tampered_form = FORM.to_vec();
    tampered_form[2] = ("From", "+15550199");
    // A signature with one character changed.
    let mut bad = good.clone().into_bytes();
    bad[3] = if bad[3] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    // Signed with another token.
    let wrong_token = twilio_signature("another-token", &url, FORM);
    for (label, sig, form) in [
        ("url", other_url.as_str(), FORM.to_vec()),
        ("param", good.as_str(), tampered_form),
        ("signature", bad.as_str(), FORM.to_vec()),
        ("token", wrong_token.as_str(), FORM.to_vec()),
    ] {
        let (status, ct, body) =
            post_form(&server, "/?tenant=a", &[("X-Twilio-Signature", sig)], &form).await;
        assert_eq!(status, 401, "tampered {label}");
        assert_eq!(ct, "application/json");
        assert_eq!(body, UNAUTHORIZED, "tampered {label}");
    }
    let (status, _, body) = post_form(&server, "/?tenant=a", &[], FORM).await;
    assert_eq!((status, body.as_str()), (401, UNAUTHORIZED));
    assert_eq!(
        server
            .metric("voxray_auth_failures_total{route=\"telephony_webhook\"}")
            .await,
        Some(5.0)
    );
    assert!(!server.log().contains(TOKEN));
}

#[tokio::test]
async fn twilio_signature_behind_proxy_host_with_default_port_variants() {
    let server = Server::start(
        json!({"runner_transport": "twilio", "proxy_host": "voice.example.com"}),
        &[("TWILIO_AUTH_TOKEN", TOKEN)],
    );
    let https = [("X-Forwarded-Proto", "https")];
    for signed_url in [
        "https://voice.example.com/",
        "https://voice.example.com:443/",
    ] {
        let sig = twilio_signature(TOKEN, signed_url, FORM);
        let headers = [https[0], ("X-Twilio-Signature", sig.as_str())];
        let (status, _, body) = post_form(&server, "/", &headers, FORM).await;
        assert_eq!(status, 200, "signed over {signed_url}: {body}");
        assert_eq!(body, twiml("wss://voice.example.com/telephony/ws"));
    }
    // The request came in as plain http (no X-Forwarded-Proto): the https signature fails.
    let sig = twilio_signature(TOKEN, "https://voice.example.com/", FORM);
    let (status, _, _) = post_form(&server, "/", &[("X-Twilio-Signature", &sig)], FORM).await;
    assert_eq!(status, 401);
    // Signed for the internal host instead of the public one.
    let sig = twilio_signature(TOKEN, &server.url("/"), FORM);
    let headers = [https[0], ("X-Twilio-Signature", sig.as_str())];
    let (status, _, _) = post_form(&server, "/", &headers, FORM).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn webhook_body_limit_applies() {
    let server = Server::start(
        json!({"runner_transport": "plivo", "max_request_body_bytes": 1024}),
        &[],
    );
    let big = "x".repeat(2000);
    let (status, _, body) = post_form(&server, "/", &[], &[("pad", &big)]).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        r#"{"error":{"code":"body_too_large","message":"request body exceeds 1024 bytes"}}"#
    );
}

/// Over on-server TLS the stream URL is `wss://` and the signed URL `https://`.
#[tokio::test]
async fn over_tls_the_stream_url_is_wss() {
    use rustls_pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let server = Server::start(
        json!({"runner_transport": "twilio", "tls_enable": true,
               "tls_cert_file": cert_path, "tls_key_file": key_path}),
        &[("TWILIO_AUTH_TOKEN", TOKEN)],
    );
    let host = format!("localhost:{}", server.port);
    let body = "From=%2B15550100&To=%2B15550101&CallSid=CA1";
    let params = [
        ("From", "+15550100"),
        ("To", "+15550101"),
        ("CallSid", "CA1"),
    ];

    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(cert.cert.pem().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    for (signed, want) in [
        (format!("https://{host}/"), 200),
        (format!("http://{host}/"), 401),
    ] {
        let sig = twilio_signature(TOKEN, &signed, &params);
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.unwrap();
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        let text = String::from_utf8_lossy(&out);
        let status: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert_eq!(status, want, "signed over {signed}: {text}");
        if want == 200 {
            assert!(
                text.contains(&format!("<Stream url=\"wss://{host}/telephony/ws\">")),
                "{text}"
            );
        }
    }
}
