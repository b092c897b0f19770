//! Short-lived WebSocket tokens (`http.md` §4.3).
//!
//! Format `vxw1.<payload>.<sig>`: `payload` = base64url (no padding) of
//! `{"sid":"<uuid>","exp":<unix s>,"jti":"<32 hex>"}`; `sig` = base64url(HMAC-SHA256(k,
//! "vxw1." + payload)) with `k` = HMAC-SHA256(key = server key bytes, msg = `voxray-ws-token-v1`).
//! Signed with the first configured server key, verified against every configured key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Token lifetime in seconds.
pub const TOKEN_TTL_SECS: u64 = 300;

/// Clock difference tolerated between instances sharing keys, in seconds: a token whose `exp`
/// lies more than [`TOKEN_TTL_SECS`] + this in the future is refused, so a key holder cannot
/// mint a token that lives for years (issue 10 item 9).
pub const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// The signed claims of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The pending session the token admits.
    pub sid: Uuid,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Unique token id (32 hex chars); recorded until `exp` so a token works once.
    pub jti: String,
}

fn signing_key(server_key: &str) -> Vec<u8> {
    let mut mac =
        HmacSha256::new_from_slice(server_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"voxray-ws-token-v1");
    mac.finalize().into_bytes().to_vec()
}

fn mac_for(server_key: &str, signed: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(&signing_key(server_key)).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    mac
}

/// Issue a token for session `sid` expiring at `exp` (Unix seconds), signed with `key`.
pub fn issue(key: &str, sid: Uuid, exp: u64) -> String {
    let claims = Claims {
        sid,
        exp,
        jti: Uuid::new_v4().simple().to_string(),
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
    let signed = format!("vxw1.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(mac_for(key, &signed).finalize().into_bytes());
    format!("{signed}.{sig}")
}

/// Verify a token's signature against every key (constant-time per key) and its expiry, which
/// must lie in `(now, now + TOKEN_TTL_SECS + MAX_CLOCK_SKEW_SECS]`.
/// Returns the claims, or `None` for anything malformed, forged, expired or too long-lived. Single use is
/// enforced by the caller ([`super::registry::SessionRegistry::redeem_token`]).
pub fn verify<'a>(
    keys: impl IntoIterator<Item = &'a Secret>,
    token: &str,
    now: u64,
) -> Option<Claims> {
    let rest = token.strip_prefix("vxw1.")?;
    let (payload, sig) = rest.split_once('.')?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    let signed = format!("vxw1.{payload}");
    let mut valid = false;
    for key in keys {
        valid |= mac_for(key.expose(), &signed).verify_slice(&sig).is_ok();
    }
    if !valid {
        return None;
    }
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let latest = now.saturating_add(TOKEN_TTL_SECS + MAX_CLOCK_SKEW_SECS);
    (claims.exp > now && claims.exp <= latest).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let k1 = Secret::new("key-one-Zq81xkPa0vBn3Tt");
        let k2 = Secret::new("key-two-Hk29dLq0Wm4Rr7");
        let sid = Uuid::new_v4();
        let t = issue(k1.expose(), sid, 1_300);
        assert_eq!(verify([&k2, &k1], &t, 1_000).unwrap().sid, sid);
        assert!(verify([&k2], &t, 1_000).is_none(), "wrong key");
        assert!(verify([&k1], &t, 1_300).is_none(), "expired");
        let tampered = t.replacen("vxw1.e", "vxw1.f", 1);
        assert!(verify([&k1], &tampered, 1_000).is_none());
        assert!(
            verify([&k1], k1.expose(), 1_000).is_none(),
            "a server key is not a token"
        );
    }

    #[test]
    fn expiry_is_capped_server_side() {
        let k = Secret::new("key-one-Zq81xkPa0vBn3Tt");
        let sid = Uuid::new_v4();
        let now = 1_000_000;
        let at_cap = issue(k.expose(), sid, now + TOKEN_TTL_SECS + MAX_CLOCK_SKEW_SECS);
        assert!(verify([&k], &at_cap, now).is_some());
        let beyond = issue(
            k.expose(),
            sid,
            now + TOKEN_TTL_SECS + MAX_CLOCK_SKEW_SECS + 1,
        );
        assert!(verify([&k], &beyond, now).is_none());
        let forever = issue(k.expose(), sid, 1 << 62);
        assert!(
            verify([&k], &forever, now).is_none(),
            "a self-minted year-long token"
        );
    }
}
