//! The Prometheus registry and typed metric handles (`http.md` §7, `pipeline.md` §9).
//!
//! Every name starts with `voxray_` and uses base units (`_seconds`, `_bytes`, `_total`).
//! No label carries a session id, request id, raw path, key or address: `route` takes values
//! from [`crate::server::app::RouteKind::label`], `transport` is `websocket|webrtc|telephony`.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Latency buckets from 0.1 ms to 10 s (`pipeline.md` §9).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Handles to every metric; cheap to clone (all handles are `Arc`s inside).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `voxray_http_requests_total{method,route,status}`.
    pub http_requests: IntCounterVec,
    /// `voxray_http_request_duration_seconds{method,route}`.
    pub http_duration: HistogramVec,
    /// `voxray_http_requests_in_flight`.
    pub http_in_flight: IntGauge,
    /// `voxray_auth_failures_total{route}`.
    pub auth_failures: IntCounterVec,
    /// `voxray_sessions_active{transport}`.
    pub sessions_active: IntGaugeVec,
    /// `voxray_sessions_started_total{transport}`.
    pub sessions_started: IntCounterVec,
    /// `voxray_sessions_rejected_total{reason}` (`capacity`, `shutting_down`).
    pub sessions_rejected: IntCounterVec,
    /// `voxray_session_duration_seconds{transport}`.
    pub session_duration: HistogramVec,
    /// `voxray_ws_messages_total{direction}` (`in`, `out`).
    pub ws_messages: IntCounterVec,
    /// `voxray_ws_invalid_messages_total`.
    pub ws_invalid_messages: IntCounter,
    /// `voxray_audio_frame_latency_seconds{transport}`: inbound message read → reply handed to the socket.
    pub audio_frame_latency: HistogramVec,
    /// `voxray_audio_frames_dropped_total{direction,reason}`.
    pub audio_frames_dropped: IntCounterVec,
    /// `voxray_interruptions_total{strategy}` (`none`, `min_words`).
    pub interruptions: IntCounterVec,
    /// `voxray_user_bot_latency_seconds{pipeline}`: user turn end → first bot audio handed to
    /// the transport.
    pub user_bot_latency: HistogramVec,
    /// `voxray_turn_overhead_seconds{pipeline}`: user-bot latency minus the turn's measured
    /// provider waits (STT, LLM to the first sentence, TTS to the first audio): the server's share.
    pub turn_overhead: HistogramVec,
    /// `voxray_false_interruptions_total`: barge-ins followed by no words, the reply resumed.
    pub false_interruptions: IntCounter,
    /// `voxray_pipeline_errors_total{stage}`: stage errors and panics that ended a session.
    pub pipeline_errors: IntCounterVec,
    /// `voxray_observer_frames_dropped_total`: frame copies an observer tap had no room for.
    pub observer_dropped: IntCounter,
    /// `voxray_runtime_alive_tasks`: tokio tasks alive in the process, read at each scrape.
    pub runtime_alive_tasks: IntGauge,
    /// Per-instance gauges an HPA or KEDA scales on, set at each scrape.
    pub instance: InstanceGauges,
    /// `voxray_stt_ttfb_seconds{provider}`: turn end (upload sent / `Finalize` sent) → final transcript.
    pub stt_ttfb: HistogramVec,
    /// `voxray_llm_ttfb_seconds{provider}`: request sent → first non-empty text delta.
    pub llm_ttfb: HistogramVec,
    /// `voxray_tts_ttfb_seconds{provider}`: request (or context) sent → first audio byte.
    pub tts_ttfb: HistogramVec,
    /// `voxray_provider_errors_total{stage,provider}`: every failed provider call.
    pub provider_errors: IntCounterVec,
    /// `voxray_provider_retries_total{stage,provider}`: every retry attempt.
    pub provider_retries: IntCounterVec,
}

/// `voxray_instance_*`: this instance's load, set at each scrape from the session registry
/// (an HPA/KEDA target such as "average `voxray_instance_active_sessions` per pod").
#[derive(Clone)]
pub struct InstanceGauges {
    /// `voxray_instance_active_sessions`: sessions running on this instance (all transports).
    pub active_sessions: IntGauge,
    /// `voxray_instance_slots_in_use`: admission slots taken (running + pending in memory).
    pub slots_in_use: IntGauge,
    /// `voxray_instance_max_sessions`: `max_sessions` (0 = unlimited).
    pub max_sessions: IntGauge,
    /// `voxray_instance_capacity_left`: `max_sessions` − slots in use; −1 when unlimited, 0
    /// while draining.
    pub capacity_left: IntGauge,
    /// `voxray_instance_draining`: 1 after SIGTERM/SIGINT, else 0.
    pub draining: IntGauge,
    /// `voxray_instance_session_store_up`: 1 when the last session-store check answered.
    pub session_store_up: IntGauge,
}

impl Metrics {
    /// A fresh registry with every voxray series, `voxray_build_info{version}` = 1 and the
    /// standard process collector (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …).
    pub fn new() -> Self {
        let registry = Registry::new();
        let reg = |c: Box<dyn prometheus::core::Collector>| {
            registry.register(c).expect("unique metric names")
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let m = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            reg(Box::new(m.clone()));
            m
        };
        let histogram_vec = |name: &str, help: &str, labels: &[&str], buckets: Vec<f64>| {
            let m = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
                .expect("valid metric");
            reg(Box::new(m.clone()));
            m
        };
        let build_info = IntGaugeVec::new(
            Opts::new("voxray_build_info", "Build information (always 1)"),
            &["version"],
        )
        .expect("valid metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        reg(Box::new(build_info));
        let http_in_flight = IntGauge::new(
            "voxray_http_requests_in_flight",
            "HTTP requests being served",
        )
        .expect("valid metric");
        reg(Box::new(http_in_flight.clone()));
        let sessions_active = IntGaugeVec::new(
            Opts::new("voxray_sessions_active", "Sessions running now"),
            &["transport"],
        )
        .expect("valid metric");
        reg(Box::new(sessions_active.clone()));
        for t in ["websocket", "webrtc", "telephony"] {
            sessions_active.with_label_values(&[t]).set(0);
        }
        let ws_invalid_messages = IntCounter::new(
            "voxray_ws_invalid_messages_total",
            "Malformed or unknown WebSocket messages dropped",
        )
        .expect("valid metric");
        reg(Box::new(ws_invalid_messages.clone()));
        let observer_dropped = IntCounter::new(
            "voxray_observer_frames_dropped_total",
            "Frame copies dropped because an observer tap was full",
        )
        .expect("valid metric");
        reg(Box::new(observer_dropped.clone()));
        let false_interruptions = IntCounter::new(
            "voxray_false_interruptions_total",
            "Barge-ins followed by no transcribed words (the reply resumed)",
        )
        .expect("valid metric");
        reg(Box::new(false_interruptions.clone()));
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            reg(Box::new(g.clone()));
            g
        };
        let instance = InstanceGauges {
            active_sessions: gauge(
                "voxray_instance_active_sessions",
                "Sessions running on this instance",
            ),
            slots_in_use: gauge(
                "voxray_instance_slots_in_use",
                "Admission slots taken on this instance",
            ),
            max_sessions: gauge(
                "voxray_instance_max_sessions",
                "max_sessions of this instance (0 = unlimited)",
            ),
            capacity_left: gauge(
                "voxray_instance_capacity_left",
                "Sessions this instance can still admit (-1 = unlimited)",
            ),
            draining: gauge("voxray_instance_draining", "1 while draining"),
            session_store_up: gauge(
                "voxray_instance_session_store_up",
                "1 when the session store answered the last check",
            ),
        };
        let runtime_alive_tasks = IntGauge::new(
            "voxray_runtime_alive_tasks",
            "Tokio tasks alive in the process (sessions, processors, connections)",
        )
        .expect("valid metric");
        reg(Box::new(runtime_alive_tasks.clone()));
        #[cfg(target_os = "linux")]
        reg(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));

        Self {
            http_requests: counter_vec(
                "voxray_http_requests_total",
                "HTTP requests served",
                &["method", "route", "status"],
            ),
            http_duration: histogram_vec(
                "voxray_http_request_duration_seconds",
                "HTTP request duration",
                &["method", "route"],
                LATENCY_BUCKETS.to_vec(),
            ),
            http_in_flight,
            auth_failures: counter_vec(
                "voxray_auth_failures_total",
                "Rejected API keys and tokens",
                &["route"],
            ),
            sessions_active,
            sessions_started: counter_vec(
                "voxray_sessions_started_total",
                "Sessions started",
                &["transport"],
            ),
            sessions_rejected: counter_vec(
                "voxray_sessions_rejected_total",
                "Sessions refused",
                &["reason"],
            ),
            session_duration: histogram_vec(
                "voxray_session_duration_seconds",
                "Session lifetime",
                &["transport"],
                vec![
                    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
                ],
            ),
            ws_messages: counter_vec(
                "voxray_ws_messages_total",
                "WebSocket data messages",
                &["direction"],
            ),
            ws_invalid_messages,
            audio_frame_latency: histogram_vec(
                "voxray_audio_frame_latency_seconds",
                "Server-added latency per audio frame (echo path)",
                &["transport"],
                LATENCY_BUCKETS.to_vec(),
            ),
            audio_frames_dropped: counter_vec(
                "voxray_audio_frames_dropped_total",
                "Audio frames dropped",
                &["direction", "reason"],
            ),
            interruptions: counter_vec(
                "voxray_interruptions_total",
                "Bot turns interrupted (barge-in or client request)",
                &["strategy"],
            ),
            user_bot_latency: histogram_vec(
                "voxray_user_bot_latency_seconds",
                "User turn end to the first bot audio of the reply",
                &["pipeline"],
                LATENCY_BUCKETS.to_vec(),
            ),
            turn_overhead: histogram_vec(
                "voxray_turn_overhead_seconds",
                "User-bot latency minus the turn's provider waits (STT, LLM, TTS)",
                &["pipeline"],
                LATENCY_BUCKETS.to_vec(),
            ),
            false_interruptions,
            pipeline_errors: counter_vec(
                "voxray_pipeline_errors_total",
                "Stage errors and panics that ended a session",
                &["stage"],
            ),
            observer_dropped,
            runtime_alive_tasks,
            instance,
            stt_ttfb: histogram_vec(
                "voxray_stt_ttfb_seconds",
                "Turn end to final transcript",
                &["provider"],
                LATENCY_BUCKETS.to_vec(),
            ),
            llm_ttfb: histogram_vec(
                "voxray_llm_ttfb_seconds",
                "LLM request sent to first text delta",
                &["provider"],
                LATENCY_BUCKETS.to_vec(),
            ),
            tts_ttfb: histogram_vec(
                "voxray_tts_ttfb_seconds",
                "TTS request sent to first audio byte",
                &["provider"],
                LATENCY_BUCKETS.to_vec(),
            ),
            provider_errors: counter_vec(
                "voxray_provider_errors_total",
                "Failed provider calls",
                &["stage", "provider"],
            ),
            provider_retries: counter_vec(
                "voxray_provider_retries_total",
                "Provider call retries",
                &["stage", "provider"],
            ),
            registry,
        }
    }

    /// The registry in Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            self.runtime_alive_tasks
                .set(i64::try_from(rt.metrics().num_alive_tasks()).unwrap_or(i64::MAX));
        }
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("text format is UTF-8")
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
