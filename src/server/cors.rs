//! CORS (`http.md` §5): opt-in by exact origin, reflected never `*`, no credentials.
//!
//! Preflights are answered by [`preflight`] before auth, body limits and admission; every other
//! response is decorated by [`decorate`]. The WebSocket Origin rule is [`ws_origin_allowed`].

use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;

use crate::config::validate::normalize_origin;

/// Allow-headers sent on every preflight, whatever the request asked.
pub const ALLOW_HEADERS: &str = "Content-Type, Authorization, X-API-Key, X-Request-Id";

/// The request's `Origin` when it is in the (normalised) allow-list.
pub fn allowed_origin<'h>(headers: &'h HeaderMap, allowed: &[String]) -> Option<&'h HeaderValue> {
    let value = headers.get(header::ORIGIN)?;
    let normalised = normalize_origin(value.to_str().ok()?).ok()?;
    allowed.contains(&normalised).then_some(value)
}

fn methods_list(methods: &[Method]) -> String {
    let mut list: Vec<&str> = methods.iter().map(Method::as_str).collect();
    list.push("OPTIONS");
    list.join(", ")
}

/// Answer an `OPTIONS` request to a present route: a preflight (Origin +
/// Access-Control-Request-Method) gets 204 with the CORS headers; a plain OPTIONS gets 204 with
/// `Allow`.
pub fn preflight(headers: &HeaderMap, methods: &[Method], allowed: &[String]) -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = axum::http::StatusCode::NO_CONTENT;
    let list = HeaderValue::from_str(&methods_list(methods)).expect("method names are header-safe");
    let is_preflight = headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let h = res.headers_mut();
    if !is_preflight {
        h.insert(header::ALLOW, list);
        return res;
    }
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, list);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static(
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        ),
    );
    if let Some(origin) = allowed_origin(headers, allowed) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    res
}

/// Add CORS headers to a non-preflight response: `Vary: Origin` whenever the list is
/// non-empty, and for an allowed origin the reflected `Access-Control-Allow-Origin` and
/// `Access-Control-Expose-Headers` (errors included).
pub fn decorate(res: &mut Response, request_origin: Option<&HeaderValue>, allowed: &[String]) {
    if allowed.is_empty() {
        return;
    }
    let h = res.headers_mut();
    if !h.contains_key(header::ACCESS_CONTROL_ALLOW_METHODS) {
        match h.get(header::VARY).and_then(|v| v.to_str().ok()) {
            Some(existing)
                if !existing
                    .split(',')
                    .any(|v| v.trim().eq_ignore_ascii_case("origin")) =>
            {
                let joined = format!("{existing}, Origin");
                h.insert(
                    header::VARY,
                    HeaderValue::from_str(&joined).expect("header-safe"),
                );
            }
            Some(_) => {}
            None => {
                h.insert(header::VARY, HeaderValue::from_static("Origin"));
            }
        }
    }
    let Some(origin) = request_origin else { return };
    let Some(normalised) = origin.to_str().ok().and_then(|o| normalize_origin(o).ok()) else {
        return;
    };
    if allowed.contains(&normalised) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("X-Request-Id, Retry-After"),
        );
    }
}

/// The WebSocket Origin rule: no Origin → allowed; else allowed when listed or same-origin
/// (Origin host and port equal the request's `Host`, default ports normalised). `localhost` has
/// no special status.
pub fn ws_origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(normalised) = origin.to_str().ok().and_then(|o| normalize_origin(o).ok()) else {
        return false;
    };
    if allowed.contains(&normalised) {
        return true;
    }
    let Ok(url) = url::Url::parse(&normalised) else {
        return false;
    };
    let (Some(o_host), Some(o_port)) = (url.host_str(), url.port_or_known_default()) else {
        return false;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    authority.host().eq_ignore_ascii_case(o_host)
        && authority.port_u16().unwrap_or(o_port) == o_port
}
