//! Browser-facing guards of the keyless default (issue 10 item 8): what local development
//! servers do against DNS rebinding and cross-site simple requests.
//!
//! - With authentication off, the protected routes and `/ws` answer only requests whose `Host`
//!   is loopback (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`) or a configured host
//!   (`proxy_host`, or `host` when it names one address); anything else → 403 `forbidden`.
//! - JSON body routes (`/start`, the offer routes) require `Content-Type: application/json`
//!   (or `application/*+json`) whenever a body is sent, so a page cannot reach them with a
//!   `text/plain` "simple" request that skips the CORS preflight; otherwise → 415.

use axum::http::{HeaderMap, Uri, header};

use crate::config::Config;

/// The host name of a `Host` value or URI authority, lower-cased, without port or brackets.
fn host_name(authority: &str) -> String {
    let a = authority.trim();
    let name = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => a,
        }
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `name` (from [`host_name`]) is a loopback name or address.
fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a keyless server may answer a request with these `headers` and `uri`: its host is
/// loopback or configured. A request without any host (HTTP/1.0 tools) is allowed: browsers
/// always send one.
pub fn keyless_host_allowed(headers: &HeaderMap, uri: &Uri, config: &Config) -> bool {
    let authority = uri
        .authority()
        .map(|a| a.as_str().rsplit('@').next().unwrap_or("").to_string())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        });
    let Some(authority) = authority else {
        return true;
    };
    let name = host_name(&authority);
    if is_loopback_name(&name) {
        return true;
    }
    let configured = [config.proxy_host.as_str(), config.host.as_str()];
    configured.iter().any(|c| {
        let c = host_name(c);
        !c.is_empty() && c != "0.0.0.0" && c != "::" && c == name
    })
}

/// Whether a request to a JSON body route may proceed: a `Content-Type` of
/// `application/json` or `application/*+json` (parameters allowed), or no body at all.
pub fn json_content_type_ok(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        Some(v) => {
            let Ok(v) = v.to_str() else { return false };
            let essence = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        }
        None => {
            let chunked = headers.contains_key(header::TRANSFER_ENCODING);
            let length = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            !chunked && length == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn loopback_and_configured_hosts_only() {
        let mut config = Config::default();
        let uri: Uri = "/start".parse().unwrap();
        for ok in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:3000",
            "app.localhost:8080",
            "[::1]:8080",
            "127.1.2.3",
        ] {
            assert!(
                keyless_host_allowed(&headers(&[("host", ok)]), &uri, &config),
                "{ok}"
            );
        }
        for bad in [
            "attacker.example",
            "attacker.example:8080",
            "192.168.1.5:8080",
            "0.0.0.0",
        ] {
            assert!(
                !keyless_host_allowed(&headers(&[("host", bad)]), &uri, &config),
                "{bad}"
            );
        }
        assert!(keyless_host_allowed(&headers(&[]), &uri, &config));
        config.proxy_host = "voice.example.com".into();
        assert!(keyless_host_allowed(
            &headers(&[("host", "voice.example.com:443")]),
            &uri,
            &config
        ));
        let absolute: Uri = "http://attacker.example/start".parse().unwrap();
        assert!(!keyless_host_allowed(
            &headers(&[("host", "127.0.0.1")]),
            &absolute,
            &config
        ));
    }

    #[test]
    fn json_routes_need_a_json_content_type_when_a_body_is_sent() {
        assert!(json_content_type_ok(&headers(&[(
            "content-type",
            "application/json"
        )])));
        assert!(json_content_type_ok(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(json_content_type_ok(&headers(&[(
            "content-type",
            "application/sdp+json"
        )])));
        assert!(json_content_type_ok(&headers(&[])));
        assert!(json_content_type_ok(&headers(&[("content-length", "0")])));
        assert!(!json_content_type_ok(&headers(&[(
            "content-type",
            "text/plain"
        )])));
        assert!(!json_content_type_ok(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded"
        )])));
        assert!(!json_content_type_ok(&headers(&[("content-length", "2")])));
        assert!(!json_content_type_ok(&headers(&[(
            "transfer-encoding",
            "chunked"
        )])));
    }
}
