//! The public origin of a request as the carrier saw it (`wire.md` §3.1, §3.5; `http.md`
//! §9.1): host from `proxy_host` when set, else the `Host` header (else the URI authority,
//! else `localhost`); secure when the listener terminates TLS or `X-Forwarded-Proto` says
//! `https` (first value of a comma list, ASCII case-insensitive).

use axum::http::{HeaderMap, Uri, header};

/// Scheme security and host[:port] of the public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    /// `https`/`wss` when true, `http`/`ws` otherwise.
    pub secure: bool,
    /// `host[:port]` exactly as configured or sent.
    pub host: String,
}

impl PublicOrigin {
    /// The origin of a request: `tls` is whether this listener terminated TLS,
    /// `proxy_host` the config key (empty = use the request's `Host`).
    pub fn from_request(headers: &HeaderMap, uri: &Uri, tls: bool, proxy_host: &str) -> Self {
        let forwarded_https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        let host = if proxy_host.is_empty() {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
                .or_else(|| uri.authority().map(|a| a.to_string()))
                .unwrap_or_else(|| "localhost".into())
        } else {
            proxy_host.to_string()
        };
        Self {
            secure: tls || forwarded_https,
            host,
        }
    }

    /// `https://host/path` (or `http://`); `path_and_query` starts with `/`.
    pub fn http_url(&self, path_and_query: &str) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}{path_and_query}", self.host)
    }

    /// `wss://host/path` (or `ws://`); `path_and_query` starts with `/`.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        format!("{scheme}://{}{path_and_query}", self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn host_scheme_and_proxy() {
        let uri: Uri = "/".parse().unwrap();
        let o =
            PublicOrigin::from_request(&headers(&[("host", "a.example:8080")]), &uri, false, "");
        assert_eq!(
            o.ws_url("/telephony/ws"),
            "ws://a.example:8080/telephony/ws"
        );
        let o = PublicOrigin::from_request(&headers(&[("host", "a.example")]), &uri, true, "");
        assert_eq!(o.http_url("/?x=1"), "https://a.example/?x=1");
        let o = PublicOrigin::from_request(
            &headers(&[
                ("host", "internal:8080"),
                ("x-forwarded-proto", "HTTPS, http"),
            ]),
            &uri,
            false,
            "voice.example.com",
        );
        assert_eq!(
            o.ws_url("/telephony/ws"),
            "wss://voice.example.com/telephony/ws"
        );
        let o =
            PublicOrigin::from_request(&headers(&[("x-forwarded-proto", "http")]), &uri, false, "");
        assert_eq!(o.http_url("/"), "http://localhost/");
    }
}
