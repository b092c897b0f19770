//! Twilio request signatures (`X-Twilio-Signature`; `wire.md` §3.1, §3.5, `http.md` §11;
//! Twilio's "Webhooks security" reference).
//!
//! The signature is base64 (standard alphabet, padded) of HMAC-SHA1 keyed with the account's
//! auth token over the full public URL Twilio requested, followed, for form POSTs, by every
//! form parameter sorted by name (values of a repeated name sorted too), each appended as
//! name then value with no separators. A WebSocket upgrade has no parameters: the string is
//! the `wss://…` URL alone.
//!
//! [`verify`] compares in constant time and also accepts the URL with the scheme's default
//! port added (when it has none) or removed (when it has the default), as Twilio's SDKs do,
//! because Twilio may sign either form depending on how the webhook URL was configured.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// The header Twilio signs with.
pub const HEADER: &str = "x-twilio-signature";

/// The signature Twilio would send for `url` and form `params` (name, value), as base64.
/// `params` may be in any order; pass `&[]` for a WebSocket upgrade.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` (the `X-Twilio-Signature` value) is valid for `url` and `params` under
/// `auth_token`, trying `url` as given, with its scheme's default port added and with it
/// removed ([`url_variants`]). Constant-time per comparison; never panics on input.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let presented = signature.trim().as_bytes();
    let mut ok = false;
    for candidate in url_variants(url) {
        let expected = compute(auth_token, &candidate, params);
        // `|` (not `||`): every variant is computed and compared whatever the outcome.
        ok |= bool::from(expected.as_bytes().ct_eq(presented));
    }
    ok
}

/// Check a request's `X-Twilio-Signature` against its public URL (`proxy_host` or `Host`;
/// `https`/`wss` when `tls` or `X-Forwarded-Proto: https`): `upgrade` selects the WebSocket
/// form (`wss://…`, no parameters, `wire.md` §3.1) over the webhook form (`https://…` plus
/// `form`, §3.5). A missing header fails.
pub fn verify_request(
    auth_token: &str,
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
    tls: bool,
    proxy_host: &str,
    upgrade: bool,
    form: &[(String, String)],
) -> bool {
    let origin = super::public::PublicOrigin::from_request(headers, uri, tls, proxy_host);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let presented = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if upgrade {
        verify(auth_token, &origin.ws_url(path), &[], presented)
    } else {
        verify(auth_token, &origin.http_url(path), form, presented)
    }
}

/// `url` itself, plus the same URL with the default port (443 for `https`/`wss`, 80 for
/// `http`/`ws`) inserted when no port is given, or removed when the default one is given.
/// A URL that does not parse is returned alone.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => "443",
        "http" | "ws" => "80",
        _ => return out,
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    // Userinfo is never part of a Twilio webhook URL; an IPv6 host is bracketed.
    let port_sep = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => Some(i),
        _ => None,
    };
    match port_sep {
        None => out.push(format!("{scheme}://{authority}:{default}{tail}")),
        Some(i) if &authority[i + 1..] == default => {
            out.push(format!("{scheme}://{}{tail}", &authority[..i]));
        }
        Some(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect()
    }

    /// The worked example of Twilio's security documentation (also the test vector of its
    /// SDKs): auth token `12345`, URL `https://mycompany.com/myapp.php?foo=1&bar=2`, five
    /// form parameters → `0/KCTR6DLpKmkAf8muzZqo1nDgQ=`.
    #[test]
    fn twilio_documented_example() {
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            compute("12345", url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(verify(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        // Order of the form does not matter; a changed value, URL or token does.
        let mut reversed = params.clone();
        reversed.reverse();
        assert!(verify(
            "12345",
            url,
            &reversed,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        let mut tampered = params.clone();
        tampered[3].1 = "+12349013031".into();
        assert!(!verify(
            "12345",
            url,
            &tampered,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify(
            "12346",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify("12345", url, &params, ""));
        assert!(!verify(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ"
        ));
    }

    #[test]
    fn upgrade_request_signs_the_wss_url() {
        let uri: axum::http::Uri = "/telephony/ws?tenant=a".parse().unwrap();
        let mut h = axum::http::HeaderMap::new();
        h.insert("host", "internal:8080".parse().unwrap());
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        let sig = compute("tok", "wss://voice.example.com/telephony/ws?tenant=a", &[]);
        h.insert(HEADER, sig.parse().unwrap());
        assert!(verify_request(
            "tok",
            &h,
            &uri,
            false,
            "voice.example.com",
            true,
            &[]
        ));
        // The same signature is not valid for the webhook form or another host.
        assert!(!verify_request(
            "tok",
            &h,
            &uri,
            false,
            "voice.example.com",
            false,
            &[]
        ));
        assert!(!verify_request("tok", &h, &uri, false, "", true, &[]));
        h.remove(HEADER);
        assert!(!verify_request(
            "tok",
            &h,
            &uri,
            false,
            "voice.example.com",
            true,
            &[]
        ));
    }

    #[test]
    fn default_port_variants() {
        assert_eq!(
            url_variants("https://a.example/x?y=1"),
            ["https://a.example/x?y=1", "https://a.example:443/x?y=1"]
        );
        assert_eq!(
            url_variants("wss://a.example:443/telephony/ws"),
            [
                "wss://a.example:443/telephony/ws",
                "wss://a.example/telephony/ws"
            ]
        );
        assert_eq!(
            url_variants("http://a.example:80"),
            ["http://a.example:80", "http://a.example"]
        );
        assert_eq!(
            url_variants("https://a.example:8443/"),
            ["https://a.example:8443/"]
        );
        assert_eq!(
            url_variants("https://[::1]/"),
            ["https://[::1]/", "https://[::1]:443/"]
        );
        assert_eq!(url_variants("not a url"), ["not a url"]);
        // A signature made over the URL with :443 verifies against the URL without it, and
        // the other way round.
        let with = compute("tok", "https://a.example:443/", &[]);
        assert!(verify("tok", "https://a.example/", &[], &with));
        let without = compute("tok", "wss://a.example/telephony/ws", &[]);
        assert!(verify(
            "tok",
            "wss://a.example:443/telephony/ws",
            &[],
            &without
        ));
        // A non-default port is not dropped.
        let odd = compute("tok", "https://a.example:8443/", &[]);
        assert!(!verify("tok", "https://a.example/", &[], &odd));
    }
}
