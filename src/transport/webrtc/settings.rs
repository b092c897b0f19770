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

/// A 1:1 NAT mapping from `webrtc_public_ips` (`wire.md` §2.2): each entry is a public
/// address (`203.0.113.7`: every host candidate of that IP family is advertised with it) or
/// `public/private` (only host candidates on `private` are). The port stays: 1:1 NAT keeps
/// ports, which is what publishing a fixed `webrtc_udp_port_min..max` range assumes.
///
/// Applied by rewriting the answer's `typ host` candidates (the server never trickles): the
/// webrtc-rs 0.21 `SettingEngine::with_nat_1to1_ips` setting is stored but never applied by
/// its gatherer, so voxray does it here.
#[derive(Debug, Clone, Default)]
pub struct Nat1To1 {
    /// `(public, Some(private))` or `(public, None)` for "any host address of its family".
    map: Vec<(std::net::IpAddr, Option<std::net::IpAddr>)>,
}

impl Nat1To1 {
    /// From the config list; an entry that is not an IP address (or `ip/ip`) is skipped with
    /// a warning naming it.
    pub fn new(entries: &[String]) -> Self {
        let parse = |e: &str| -> Option<(std::net::IpAddr, Option<std::net::IpAddr>)> {
            match e.split_once('/') {
                Some((public, private)) => Some((
                    public.trim().parse().ok()?,
                    Some(private.trim().parse().ok()?),
                )),
                None => Some((e.trim().parse().ok()?, None)),
            }
        };
        let map = entries
            .iter()
            .filter_map(|e| {
                let m = parse(e);
                if m.is_none() {
                    tracing::warn!(
                        entry = %e,
                        "webrtc_public_ips: not an IP address or public/private pair; ignored"
                    );
                }
                m
            })
            .collect();
        Self { map }
    }

    /// The public address for host address `ip`, if mapped.
    fn public_for(&self, ip: std::net::IpAddr) -> Option<std::net::IpAddr> {
        self.map.iter().find_map(|(public, private)| match private {
            Some(p) => (*p == ip).then_some(*public),
            None => (public.is_ipv4() == ip.is_ipv4()).then_some(*public),
        })
    }

    /// `sdp` with the connection address of every mapped `typ host` candidate replaced
    /// (RFC 8839 §5.1: `candidate:<foundation> <component> <transport> <priority> <address>
    /// <port> typ <type> …`). Without a mapping, `sdp` unchanged.
    pub fn apply(&self, sdp: &str) -> String {
        if self.map.is_empty() {
            return sdp.to_string();
        }
        let mut out = String::with_capacity(sdp.len());
        for line in sdp.split_inclusive('\n') {
            let attr = line.trim_end();
            let fields: Vec<&str> = attr.split(' ').collect();
            let mapped = (attr.starts_with("a=candidate:")
                && fields.len() >= 8
                && fields[6] == "typ"
                && fields[7] == "host")
                .then(|| fields[4].parse().ok().and_then(|ip| self.public_for(ip)))
                .flatten();
            match mapped {
                Some(public) => {
                    let mut f = fields.clone();
                    let public = public.to_string();
                    f[4] = &public;
                    out.push_str(&f.join(" "));
                    out.push_str(&line[attr.len()..]);
                }
                None => out.push_str(line),
            }
        }
        out
    }
}

/// Settings of the WebRTC transport, from the config.
#[derive(Debug, Clone)]
pub struct RtcSettings {
    pub(super) ice_servers: Vec<RTCIceServer>,
    pub(super) udp_addrs: Vec<String>,
    /// The address UDP sockets bind to, without port (`127.0.0.1`, `[::1]`, `0.0.0.0`).
    pub(super) bind_ip: String,
    /// `webrtc_udp_port_min..=webrtc_udp_port_max`: every peer connection binds one port of
    /// this range (one port per peer), so a container can publish a fixed UDP range.
    pub(super) udp_ports: Option<(u16, u16)>,
    pub(super) wildcard: bool,
    /// `webrtc_public_ips`: the 1:1 NAT mapping applied to the answer's host candidates.
    pub(super) nat: Nat1To1,
    pub(super) max_duration: Option<Duration>,
}

impl RtcSettings {
    /// From the config: `webrtc_ice_servers`, `webrtc_public_ips`,
    /// `webrtc_udp_port_min`/`webrtc_udp_port_max`, `rtc_max_duration_secs` and `host` (UDP sockets bind to the listener's address; a wildcard host also offers
    /// loopback candidates).
    pub fn from_config(config: &Config) -> Self {
        let host = if config.host == "localhost" {
            "127.0.0.1"
        } else {
            config.host.as_str()
        };
        let ip: Option<std::net::IpAddr> = host.parse().ok();
        let wildcard = ip.is_none_or(|ip| ip.is_unspecified());
        let bind_ip = match ip {
            Some(std::net::IpAddr::V6(v6)) if !v6.is_unspecified() => format!("[{v6}]"),
            Some(ip) if !ip.is_unspecified() => ip.to_string(),
            _ => "0.0.0.0".to_string(),
        };
        let udp_addrs = vec![format!("{bind_ip}:0")];
        let udp_ports = (config.webrtc_udp_port_min != 0 && config.webrtc_udp_port_max != 0)
            .then_some((config.webrtc_udp_port_min, config.webrtc_udp_port_max));
        Self {
            ice_servers: rtc_ice_servers(&config.webrtc_ice_servers),
            udp_addrs,
            bind_ip,
            udp_ports,
            wildcard,
            nat: Nat1To1::new(&config.webrtc_public_ips),
            max_duration: (config.rtc_max_duration_secs > 0.0)
                .then(|| Duration::from_secs_f64(config.rtc_max_duration_secs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nat_1to1_rewrites_host_candidates_only() {
        let sdp = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
            a=candidate:1 1 udp 2130706431 10.0.0.5 50000 typ host\r\n\
            a=candidate:2 1 udp 1694498815 198.51.100.1 50000 typ srflx raddr 10.0.0.5 rport 50000\r\n\
            a=candidate:3 1 udp 2130706431 fd00::5 50002 typ host\r\n";
        let any = Nat1To1::new(&["203.0.113.7".into()]).apply(sdp);
        assert!(any.contains("a=candidate:1 1 udp 2130706431 203.0.113.7 50000 typ host\r\n"));
        assert!(any.contains("198.51.100.1 50000 typ srflx raddr 10.0.0.5"));
        assert!(
            any.contains("fd00::5 50002 typ host"),
            "IPv6 keeps its address: {any}"
        );
        let pair = Nat1To1::new(&["203.0.113.7/10.0.0.9".into()]).apply(sdp);
        assert_eq!(pair, sdp, "only the named private address is mapped");
        assert_eq!(Nat1To1::new(&[]).apply(sdp), sdp);
    }

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
