//! CORS over real TCP (`http.md` §5): no list, a listed origin, an unlisted origin,
//! preflights before auth, headers on errors, and the WebSocket Origin rule.

mod common;

use common::Server;
use reqwest::{Client, Method};
use serde_json::json;

const KEY: &str = "cors-test-key-Vb83Nq1Lx6Pz2Wm5";
const APP: &str = "https://app.example.com";

#[tokio::test]
async fn empty_list_sends_no_cors_headers() {
    let server = Server::start(json!({}), &[]);
    let client = Client::new();
    let res = client
        .post(server.url("/start"))
        .header("Origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    assert!(!res.headers().contains_key("vary"));
    let res = client
        .request(Method::OPTIONS, server.url("/start"))
        .header("Origin", APP)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    assert_eq!(
        res.headers()["access-control-allow-methods"],
        "POST, OPTIONS"
    );
}

#[tokio::test]
async fn listed_origin_is_reflected_unlisted_is_not() {
    let server = Server::start(
        json!({"cors_allowed_origins": [APP, "http://localhost:3000"], "server_api_key": KEY}),
        &[],
    );
    let client = Client::new();

    // Listed origin on an error response (401) still gets the CORS headers.
    let res = client
        .post(server.url("/start"))
        .header("Origin", APP)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(
        res.headers()["access-control-expose-headers"],
        "X-Request-Id, Retry-After"
    );
    assert_eq!(res.headers()["vary"], "Origin");
    assert!(
        !res.headers()
            .contains_key("access-control-allow-credentials")
    );

    // Listed origin, success; default port spelled out still matches.
    let res = client
        .post(server.url("/start"))
        .header("Origin", "https://APP.example.com:443")
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://APP.example.com:443"
    );

    // Unlisted origins: processed normally, no allow-origin.
    for origin in [
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://sub.app.example.com",
        "null",
    ] {
        let res = client
            .get(server.url("/health"))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            !res.headers().contains_key("access-control-allow-origin"),
            "{origin}"
        );
        assert_eq!(res.headers()["vary"], "Origin");
    }

    // Preflight to a protected route with an unknown session id, no key: 204 before auth and lookup.
    let path = format!("/sessions/{}/api/offer", uuid::Uuid::new_v4());
    let res = client
        .request(Method::OPTIONS, server.url(&path))
        .header("Origin", APP)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-custom")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let h = res.headers();
    assert_eq!(h["access-control-allow-origin"], APP);
    assert_eq!(h["access-control-allow-methods"], "POST, PATCH, OPTIONS");
    assert_eq!(
        h["access-control-allow-headers"],
        "Content-Type, Authorization, X-API-Key, X-Request-Id"
    );
    assert_eq!(h["access-control-max-age"], "600");
    assert_eq!(
        h["vary"],
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    );
    assert!(res.bytes().await.unwrap().is_empty());

    // Preflight from an unlisted origin: 204 without allow-origin.
    let res = client
        .request(Method::OPTIONS, server.url("/start"))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    // Plain OPTIONS: 204 with Allow.
    let res = client
        .request(Method::OPTIONS, server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["allow"], "GET, HEAD, OPTIONS");
}

async fn ws_status(server: &Server, origin: Option<&str>, host: Option<&str>) -> u16 {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = server.ws_url("/ws").into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    if let Some(h) = host {
        req.headers_mut().insert("Host", h.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_ws, res)) => res.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            if res.status() == 403 {
                let body = String::from_utf8(res.body().clone().unwrap_or_default()).unwrap();
                assert_eq!(
                    body,
                    r#"{"error":{"code":"forbidden","message":"origin not allowed"}}"#
                );
            }
            res.status().as_u16()
        }
        Err(e) => panic!("unexpected {e}"),
    }
}

#[tokio::test]
async fn websocket_origin_check() {
    let server = Server::start(json!({"cors_allowed_origins": [APP]}), &[]);
    assert_eq!(
        ws_status(&server, None, None).await,
        101,
        "no Origin: non-browser client"
    );
    assert_eq!(ws_status(&server, Some(APP), None).await, 101, "listed");
    let same = format!("http://127.0.0.1:{}", server.port);
    assert_eq!(
        ws_status(&server, Some(&same), None).await,
        101,
        "same origin"
    );
    assert_eq!(
        ws_status(&server, Some("https://evil.example"), None).await,
        403,
        "unlisted"
    );
    let localhost = format!("http://localhost:{}", server.port);
    assert_eq!(
        ws_status(&server, Some(&localhost), None).await,
        403,
        "localhost has no special status"
    );
}

#[tokio::test]
async fn websocket_origin_is_checked_before_auth() {
    let server = Server::start(json!({"server_api_key": KEY}), &[]);
    assert_eq!(
        ws_status(&server, Some("https://evil.example"), None).await,
        403
    );
    assert_eq!(ws_status(&server, None, None).await, 401);
}
