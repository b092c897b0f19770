//! API-key authentication (`http.md` §4).
//!
//! A request is authorised when `Authorization: Bearer <key>` or `X-API-Key: <key>` holds any
//! configured server key. Comparison hashes both sides with SHA-256 and compares digests in
//! constant time, always over all configured keys (no early exit, no length leak). Keys in
//! query strings are never accepted.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// The presented candidates: the Bearer token and the `X-API-Key` value, trimmed.
fn presented(headers: &HeaderMap) -> Vec<&str> {
    let mut out = Vec::with_capacity(2);
    if let Some(auth) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let auth = auth.trim();
        if let Some((scheme, rest)) = auth.split_once(char::is_whitespace)
            && scheme.eq_ignore_ascii_case("bearer")
        {
            out.push(rest.trim());
        }
    }
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        out.push(key.trim());
    }
    out
}

/// Whether `candidate` equals any of `keys`: SHA-256 digests compared in constant time, over
/// every key.
pub fn matches_any<'a>(keys: impl IntoIterator<Item = &'a Secret>, candidate: &str) -> bool {
    let digest = Sha256::digest(candidate.as_bytes());
    let mut ok = subtle::Choice::from(0u8);
    for key in keys {
        ok |= Sha256::digest(key.expose().as_bytes()).ct_eq(&digest);
    }
    bool::from(ok) && !candidate.is_empty()
}

/// Whether the headers carry a valid key (either header may hold it).
pub fn authorized<'a>(
    headers: &HeaderMap,
    keys: impl IntoIterator<Item = &'a Secret> + Clone,
) -> bool {
    presented(headers)
        .into_iter()
        .fold(false, |acc, c| acc | matches_any(keys.clone(), c))
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
    fn bearer_or_header_any_key() {
        let keys = [
            Secret::new("first-key-Zq81xkPa0vBn3"),
            Secret::new("second-key-Hk29dLq0Wm4"),
        ];
        assert!(authorized(
            &headers(&[("authorization", "bearer  second-key-Hk29dLq0Wm4 ")]),
            keys.iter()
        ));
        assert!(authorized(
            &headers(&[("x-api-key", "first-key-Zq81xkPa0vBn3")]),
            keys.iter()
        ));
        assert!(authorized(
            &headers(&[
                ("x-api-key", "wrong"),
                ("authorization", "Bearer first-key-Zq81xkPa0vBn3")
            ]),
            keys.iter()
        ));
        assert!(!authorized(
            &headers(&[("authorization", "Basic first-key-Zq81xkPa0vBn3")]),
            keys.iter()
        ));
        assert!(!authorized(&headers(&[]), keys.iter()));
    }
}
