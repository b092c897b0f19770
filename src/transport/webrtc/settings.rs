//! Settings of the WebRTC transport, from the config (`wire.md` §2.2: ICE servers, NAT and
//! UDP ports).

use std::time::Duration;

use serde_json::{Value, json};
use webrtc::peer_connection::RTCIceServer;

use crate::config::Config;

/// Client-facing ICE servers from `webrtc_ice_servers`: strings become `{"urls":[url]}`,
/// objects keep `username`/`credential` and get `urls` as a list (`http.md` §9.1 `iceConfig`).
pub fn client_ice_servers(configured: &Value) -> Value {
    let list = configured.as_array().cloned().unwrap_or_default();
    Value::Array(
        list.into_iter()
            .map(|s| match s {
                Value::String(url) => json!({"urls": [url]}),
                Value::Object(mut m) => {
                    if let Some(Value::String(u)) = m.get("urls").cloned() {
                        m.insert("urls".into(), json!([u]));
                    }
                    Value::Object(m)
                }
                other => other,
            })
            .collect(),
    )
}

/// The server's own ICE servers (STUN and TURN with username/credential) from the same list.
pub(super) fn rtc_ice_servers(configured: &Value) -> Vec<RTCIceServer> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    client_ice_servers(configured)
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| RTCIceServer {
            urls: s["urls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(String::from))
                .collect(),
            username: text(s, "username"),
            credential: text(s, "credential"),
        })
        .filter(|s| !s.urls.is_empty())
        .collect()
}

/// Settings of the WebRTC transport, from the config.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    pub(super) ice_servers: Vec<RTCIceServer>,
    pub(super) udp_addrs: Vec<String>,
    pub(super) wildcard: bool,
    pub(super) public_ips: Vec<String>,
    pub(super) max_duration: Option<Duration>,
}

impl RtcSettings {
    /// From the config: `webrtc_ice_servers`, `webrtc_public_ips`, `rtc_max_duration_secs`
    /// and `host` (UDP sockets bind to the listener's address; a wildcard host also offers
    /// loopback candidates).
    pub fn from_config(config: &Config) -> Self {
        let host = if config.host == "localhost" {
            "127.0.0.1"
        } else {
            config.host.as_str()
        };
        let ip: Option<std::net::IpAddr> = host.parse().ok();
        let wildcard = ip.is_none_or(|ip| ip.is_unspecified());
        let udp_addrs = match ip {
            Some(std::net::IpAddr::V6(v6)) if !v6.is_unspecified() => vec![format!("[{v6}]:0")],
            Some(ip) if !ip.is_unspecified() => vec![format!("{ip}:0")],
            _ => vec!["0.0.0.0:0".to_string()],
        };
        Self {
            ice_servers: rtc_ice_servers(&config.webrtc_ice_servers),
            udp_addrs,
            wildcard,
            public_ips: config.webrtc_public_ips.clone(),
            max_duration: (config.rtc_max_duration_secs > 0.0)
                .then(|| Duration::from_secs_f64(config.rtc_max_duration_secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice_servers_from_config() {
        let cfg = json!(["stun:stun.example.com:3478",
            {"urls": "turn:turn.example.com:3478", "username": "u", "credential": "c"}]);
        let servers = rtc_ice_servers(&cfg);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, ["stun:stun.example.com:3478"]);
        assert_eq!(servers[1].username, "u");
        assert_eq!(servers[1].credential, "c");
        assert_eq!(
            client_ice_servers(&cfg)[1]["urls"],
            json!(["turn:turn.example.com:3478"])
        );
    }
}
