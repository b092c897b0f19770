//! Tracing set-up: text or JSON lines on stderr at the configured level.
//!
//! Secrets never reach a log line because they only exist inside
//! [`crate::config::Secret`], whose `Debug`/`Display` redact; request handlers log routes,
//! status codes and client addresses, never header values or bodies.

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `level` is `trace|debug|info|warn|error`; `json` selects
/// one JSON object per line. Calling it twice is harmless (the second call is ignored).
pub fn init(level: &str, json: bool) {
    // Our own crate at `level`; dependencies one step quieter below debug to keep noise out.
    // The WebRTC stack logs routine ICE/DTLS chatter at INFO and WARN (a recvonly offer must not
    // produce warnings, wire.md §2.3): only its errors are shown.
    let filter = EnvFilter::try_new(format!(
        "{level},hyper=info,h2=info,tungstenite=info,tokio_tungstenite=info,webrtc=error,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,rtc_srtp=error,rtc_interceptor=error,rtc_mdns=error,rtc_rtp=error,rtc_rtcp=error,rtc_turn=error,rtc_stun=error,rtc_datachannel=error,keyring_core=info,linux_keyutils_keyring_store=info"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
