//! A failing stage ends only its own session (`pipeline.md` §2): the real `/ws` driver and
//! runner, in process, on a real socket, with an agent whose stage panics on speech. The
//! client gets an RTVI `error` with `fatal:true`, then close 1011; a second session running
//! beside it keeps echoing.

use std::time::Duration;

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use voxray::audio::pcm;
use voxray::config::Config;
use voxray::metrics::Metrics;
use voxray::pipeline::agent::{self, AgentKind};
use voxray::pipeline::frame::Frame;
use voxray::pipeline::processor::{Ctx, Processor, StageResult};
use voxray::session::registry::SessionRegistry;
use voxray::transport::serializer::{WireFormat, protobuf};
use voxray::transport::websocket::{self, WsParams};

/// Panics on the first audio frame whose first sample is 666.
struct Fragile;

impl Processor for Fragile {
    fn name(&self) -> &'static str {
        "fragile"
    }

    async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        if let Frame::InputAudio { audio, .. } = &frame
            && pcm::from_bytes(&audio.pcm).first() == Some(&666)
        {
            panic!("fragile stage hit its trigger");
        }
        Ok(ctx.push(frame).await?)
    }
}

fn audio(first: i16) -> Message {
    let mut samples = [1i16; 320];
    samples[0] = first;
    let f = protobuf::Frame {
        frame: Some(protobuf::Kind::Audio(protobuf::AudioRawFrame {
            id: 0,
            name: String::new(),
            audio: pcm::to_bytes(&samples),
            sample_rate: 16_000,
            num_channels: 1,
            pts: None,
        })),
    };
    Message::Binary(f.encode_to_vec().into())
}

#[tokio::test]
async fn a_panicking_stage_closes_only_its_session_with_1011() {
    let metrics = Metrics::new();
    let registry = SessionRegistry::new(0);
    let config = Config::default();
    let app = Router::new().route(
        "/ws",
        get(move |ws: WebSocketUpgrade| {
            let (metrics, registry, config) = (metrics.clone(), registry.clone(), config.clone());
            async move {
                let mut agent = agent::build(
                    AgentKind::Echo,
                    &config,
                    &Default::default(),
                    "websocket",
                    16_000,
                    None,
                )
                .unwrap();
                // The fragile stage goes in front of echo.
                agent.pipeline = voxray::pipeline::PipelineBuilder::default()
                    .then(Fragile)
                    .then(voxray::pipeline::agent::echo::Echo);
                let params = WsParams {
                    format: WireFormat::Protobuf,
                    sample_rate: 16_000,
                    out_sample_rate: None,
                    idle_timeout: None,
                    max_duration: None,
                };
                let slot = registry.admit().unwrap();
                let close = registry.close_signal();
                ws.on_upgrade(move |socket| {
                    websocket::run(socket, params, metrics, close, slot, agent)
                })
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("ws://{addr}/ws");

    let (mut healthy, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut doomed, _) = tokio_tungstenite::connect_async(&url).await.unwrap();

    // Both echo at first.
    for ws in [&mut healthy, &mut doomed] {
        ws.send(audio(5)).await.unwrap();
        loop {
            if let Message::Binary(_) = ws.next().await.unwrap().unwrap() {
                break;
            }
        }
    }

    doomed.send(audio(666)).await.unwrap();
    let mut fatal_error = false;
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match doomed.next().await {
                Some(Ok(Message::Binary(b))) => {
                    if let Some(protobuf::Kind::Message(m)) =
                        protobuf::Frame::decode(b).unwrap().frame
                    {
                        let v: serde_json::Value = serde_json::from_str(&m.data).unwrap();
                        if v["type"] == "error" {
                            assert_eq!(v["data"]["fatal"], true);
                            assert!(!v["data"]["error"].as_str().unwrap().contains("trigger"));
                            fatal_error = true;
                        }
                    }
                }
                Some(Ok(Message::Close(c))) => return c,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("the failed session closes");
    assert!(fatal_error, "no fatal error event before the close");
    let close = close.expect("a close frame");
    assert_eq!(close.code, CloseCode::Error); // 1011
    assert_eq!(close.reason.as_str(), "internal error");

    // The other session is unaffected.
    healthy.send(audio(7)).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Message::Binary(b) = healthy.next().await.unwrap().unwrap()
                && let Some(protobuf::Kind::Audio(a)) = protobuf::Frame::decode(b).unwrap().frame
            {
                return pcm::from_bytes(&a.audio)[0];
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(echoed, 7);
}
