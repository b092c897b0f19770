//! Phone calls over `GET /telephony/ws` against the real binary (`wire.md` §3, `http.md` §11):
//! a scripted carrier client per carrier (Twilio, Telnyx, Plivo, Exotel) speaking the
//! carriers' message shapes streams `fmt_command_8k_mulaw.wav` (the A-law file for Telnyx
//! PCMA) at real time; the `echo` agent's audio comes back in the carrier's format and
//! chunking; with `parrot` a barge-in gives exactly one clear message and no stale media;
//! `stop` and socket loss end the session (and its tasks) at once. Plus the Twilio signature
//! on the upgrade, the handshake limits, and the REST hang-up when voxray ends the call.

mod common;
mod fakes;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Server, audio_dir, twilio_signature};
use fakes::carrier::CarrierFake;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use voxray::audio::codec::g711::Law;
use voxray::audio::{pcm, resample, wav};

const UNAUTHORIZED: &str = r#"{"error":{"code":"unauthorized","message":"Unauthorized"}}"#;
// 32 hex digits like a real auth token (a value that looks like a placeholder is ignored).
const TOKEN: &str = "f3a9c1d27b8e4605a1c2d3e4f5a6b7c8";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const CALL_SID: &str = "CA0123456789abcdef0123456789abcdef";
const ACTIVE: &str = "voxray_sessions_active{transport=\"telephony\"}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    Twilio,
    Telnyx,
    Plivo,
    Exotel,
}

impl Carrier {
    fn name(self) -> &'static str {
        match self {
            Carrier::Twilio => "twilio",
            Carrier::Telnyx => "telnyx",
            Carrier::Plivo => "plivo",
            Carrier::Exotel => "exotel",
        }
    }

    /// What the carrier sends before media: Twilio's `connected` preamble, then `start`.
    fn handshake(self) -> Vec<Value> {
        match self {
            Carrier::Twilio => vec![
                json!({"event":"connected","protocol":"Call","version":"1.0.0"}),
                json!({"event":"start","sequenceNumber":"1","start":{"accountSid":ACCOUNT_SID,"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","callSid":CALL_SID,"tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"from_number":"+15550100","to_number":"+15550101"}},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"}),
            ],
            Carrier::Telnyx => vec![
                json!({"event":"connected","version":"1.0.0"}),
                json!({"event":"start","sequence_number":"1","start":{"user_id":"3e6f995f-85f7-4705-9741-53b116d28237","call_control_id":"v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg","client_state":null,"from":"+15550100","to":"+15550101","media_format":{"encoding":"PCMA","sample_rate":8000,"channels":1}},"stream_id":"32de0dea-53cb-4b21-89a4-9e1819c043bc"}),
            ],
            Carrier::Plivo => vec![
                json!({"event":"start","sequenceNumber":0,"start":{"callId":"8a6f2b1e-0d0e-4e55-9c2d-3d4f0a1b2c3d","streamId":"b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","accountId":"MAPLIVOID1234567890","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000}},"extra_headers":"{}"}),
            ],
            Carrier::Exotel => vec![
                json!({"event":"connected"}),
                json!({"event":"start","sequence_number":1,"stream_sid":"ae2c9e9f3b0d4c5e8f7a","start":{"stream_sid":"ae2c9e9f3b0d4c5e8f7a","call_sid":"b6c1e2a3d4f5","account_sid":"exotel-acct","from":"09876543210","to":"08012345678","custom_parameters":{},"media_format":{"encoding":"base64","sample_rate":"8000","bit_rate":"128kbps"}}}),
            ],
        }
    }

    /// One inbound media message carrying `payload` (the carrier's encoding), number `seq`.
    fn media(self, seq: usize, payload: &[u8]) -> Value {
        let b64 = B64.encode(payload);
        let ts = (seq * 20).to_string();
        match self {
            Carrier::Twilio => {
                json!({"event":"media","sequenceNumber":(seq + 2).to_string(),"media":{"track":"inbound","chunk":seq.to_string(),"timestamp":ts,"payload":b64},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})
            }
            Carrier::Telnyx => {
                json!({"event":"media","sequence_number":(seq + 2).to_string(),"media":{"track":"inbound","chunk":seq.to_string(),"timestamp":ts,"payload":b64},"stream_id":"32de0dea-53cb-4b21-89a4-9e1819c043bc"})
            }
            Carrier::Plivo => {
                json!({"event":"media","sequenceNumber":seq + 1,"streamId":"b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e","media":{"track":"inbound","timestamp":ts,"chunk":seq,"payload":b64}})
            }
            Carrier::Exotel => {
                json!({"event":"media","sequence_number":seq + 2,"stream_sid":"ae2c9e9f3b0d4c5e8f7a","media":{"chunk":seq,"timestamp":ts,"payload":b64}})
            }
        }
    }

    /// The carrier's `stop`; Plivo has none (it closes the socket).
    fn stop(self) -> Option<Value> {
        match self {
            Carrier::Twilio => Some(
                json!({"event":"stop","sequenceNumber":"999","stop":{"accountSid":ACCOUNT_SID,"callSid":CALL_SID},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"}),
            ),
            Carrier::Telnyx => Some(
                json!({"event":"stop","sequence_number":"999","stop":{"user_id":"3e6f995f-85f7-4705-9741-53b116d28237","call_control_id":"v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"},"stream_id":"32de0dea-53cb-4b21-89a4-9e1819c043bc"}),
            ),
            Carrier::Plivo => None,
            Carrier::Exotel => Some(
                json!({"event":"stop","sequence_number":999,"stream_sid":"ae2c9e9f3b0d4c5e8f7a","stop":{"call_sid":"b6c1e2a3d4f5","account_sid":"exotel-acct","reason":"callended"}}),
            ),
        }
    }

    /// Bytes of one 20 ms inbound message.
    fn frame_bytes(self) -> usize {
        if self == Carrier::Exotel { 320 } else { 160 }
    }

    /// Caller audio in the carrier's encoding, from 16-bit samples at 8 kHz.
    fn encode(self, samples: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Carrier::Twilio | Carrier::Plivo => Law::Mulaw.encode(samples, &mut out),
            Carrier::Telnyx => Law::Alaw.encode(samples, &mut out),
            Carrier::Exotel => out.extend_from_slice(&pcm::to_bytes(samples)),
        }
        out
    }

    /// Samples of an outbound payload.
    fn decode(self, payload: &[u8]) -> Vec<i16> {
        let mut out = Vec::new();
        match self {
            Carrier::Twilio | Carrier::Plivo => Law::Mulaw.decode(payload, &mut out),
            Carrier::Telnyx => Law::Alaw.decode(payload, &mut out),
            Carrier::Exotel => out = pcm::from_bytes(payload),
        }
        out
    }

    /// The test file's audio in the carrier's encoding: the G.711 file's own bytes (A-law for
    /// Telnyx PCMA), Exotel PCM decoded from the μ-law file.
    fn command(self) -> Vec<u8> {
        match self {
            Carrier::Telnyx => wav_data("fmt_command_8k_alaw.wav"),
            Carrier::Twilio | Carrier::Plivo => wav_data("fmt_command_8k_mulaw.wav"),
            Carrier::Exotel => {
                let mut s = Vec::new();
                Law::Mulaw.decode(&wav_data("fmt_command_8k_mulaw.wav"), &mut s);
                pcm::to_bytes(&s).to_vec()
            }
        }
    }

    /// Check the shape of an outbound media message; its payload bytes.
    fn outbound_payload(self, v: &Value) -> Option<Vec<u8>> {
        let (event, id) = match self {
            Carrier::Twilio => (
                "media",
                Some(("streamSid", "MZ18ad3ab5a668481ce02b83e7395059f0")),
            ),
            Carrier::Telnyx => ("media", None),
            Carrier::Plivo => (
                "playAudio",
                Some(("streamId", "b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e")),
            ),
            Carrier::Exotel => ("media", Some(("stream_sid", "ae2c9e9f3b0d4c5e8f7a"))),
        };
        if v["event"] != event {
            return None;
        }
        if let Some((k, sid)) = id {
            assert_eq!(v[k], sid, "{v}");
        }
        if self == Carrier::Plivo {
            assert_eq!(v["media"]["contentType"], "audio/x-mulaw", "{v}");
            assert_eq!(v["media"]["sampleRate"], 8000, "{v}");
        }
        Some(
            B64.decode(v["media"]["payload"].as_str().expect("payload"))
                .unwrap(),
        )
    }

    /// The carrier's clear message.
    fn clear(self) -> Value {
        match self {
            Carrier::Twilio => {
                json!({"event":"clear","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})
            }
            Carrier::Telnyx => json!({"event":"clear"}),
            Carrier::Plivo => {
                json!({"event":"clearAudio","streamId":"b1d2c3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"})
            }
            Carrier::Exotel => json!({"event":"clear","stream_sid":"ae2c9e9f3b0d4c5e8f7a"}),
        }
    }

    /// Size of each outbound media payload: 20 ms of G.711, 100 ms of Exotel PCM.
    fn outbound_bytes(self) -> usize {
        if self == Carrier::Exotel { 1600 } else { 160 }
    }
}

/// The bytes of a WAV file's `data` chunk (μ-law and A-law files are read as stored).
fn wav_data(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(audio_dir().join(name)).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            return bytes[at + 8..(at + 8 + len).min(bytes.len())].to_vec();
        }
        at += 8 + len + (len & 1);
    }
    panic!("{name}: no data chunk");
}

/// 8 kHz samples of a 16-bit test file (real resampler).
fn speech_8k(name: &str) -> Vec<i16> {
    let audio = wav::read_mono(&audio_dir().join(name)).unwrap();
    resample::resample(&audio.samples, audio.sample_rate, 8_000)
        .unwrap()
        .into_iter()
        .map(pcm::f32_to_i16)
        .collect()
}

type Tx = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// Something the server sent, with when it arrived.
#[derive(Debug, Clone)]
enum Got {
    Json(Value),
    Close(u16, String),
}

/// A scripted carrier connection: a writer and a reader task recording what arrives.
struct Call {
    carrier: Carrier,
    tx: Tx,
    got: Arc<Mutex<Vec<(Instant, Got)>>>,
    reader: tokio::task::JoinHandle<()>,
    seq: usize,
}

impl Call {
    /// Connect (optionally with an `X-Twilio-Signature`) and send the handshake messages.
    async fn connect(server: &Server, carrier: Carrier, signature: Option<&str>) -> Call {
        let mut call = Self::open(server, carrier, signature).await;
        for m in carrier.handshake() {
            call.send(&m).await;
        }
        call
    }

    /// Connect without sending anything.
    async fn open(server: &Server, carrier: Carrier, signature: Option<&str>) -> Call {
        let mut req = server
            .ws_url("/telephony/ws")
            .into_client_request()
            .unwrap();
        if let Some(sig) = signature {
            req.headers_mut()
                .insert("x-twilio-signature", sig.parse().unwrap());
        }
        let (ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(res.status(), 101);
        let (tx, mut rx) = ws.split();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(m)) = rx.next().await {
                let item = match m {
                    Message::Text(t) => Got::Json(serde_json::from_str(t.as_str()).unwrap()),
                    Message::Close(c) => Got::Close(
                        c.as_ref().map_or(1005, |c| u16::from(c.code)),
                        c.map(|c| c.reason.to_string()).unwrap_or_default(),
                    ),
                    Message::Binary(_) => panic!("carriers get text messages only"),
                    _ => continue,
                };
                sink.lock().unwrap().push((Instant::now(), item));
            }
        });
        Call {
            carrier,
            tx,
            got,
            reader,
            seq: 0,
        }
    }

    async fn send(&mut self, v: &Value) {
        self.tx
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// Stream `audio` (the carrier's encoding) in 20 ms messages at real time; when each
    /// message went out.
    async fn stream(&mut self, audio: &[u8]) -> Vec<Instant> {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut sent = Vec::new();
        for chunk in audio.chunks(self.carrier.frame_bytes()) {
            tick.tick().await;
            self.seq += 1;
            let m = self.carrier.media(self.seq, chunk);
            self.send(&m).await;
            sent.push(Instant::now());
        }
        sent
    }

    fn got(&self) -> Vec<(Instant, Got)> {
        self.got.lock().unwrap().clone()
    }

    /// Outbound media payloads with their arrival times.
    fn media(&self) -> Vec<(Instant, Vec<u8>)> {
        self.got()
            .into_iter()
            .filter_map(|(t, g)| match g {
                Got::Json(v) => self.carrier.outbound_payload(&v).map(|p| (t, p)),
                Got::Close(..) => None,
            })
            .collect()
    }

    fn json(&self) -> Vec<(Instant, Value)> {
        self.got()
            .into_iter()
            .filter_map(|(t, g)| match g {
                Got::Json(v) => Some((t, v)),
                Got::Close(..) => None,
            })
            .collect()
    }

    /// Wait until `cond` holds on what arrived, at most `within`.
    async fn wait(&self, within: Duration, cond: impl Fn(&Call) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if cond(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cond(self)
    }

    /// The close frame the server sent, if any.
    fn close_frame(&self) -> Option<(Instant, u16, String)> {
        self.got().into_iter().find_map(|(t, g)| match g {
            Got::Close(c, r) => Some((t, c, r)),
            Got::Json(_) => None,
        })
    }

    /// The carrier hangs up: `stop` (Plivo: a close frame).
    async fn hang_up(mut self) {
        match self.carrier.stop() {
            Some(stop) => self.send(&stop).await,
            None => {
                let _ = self.tx.send(Message::Close(None)).await;
            }
        }
        // Keep the socket open until the server ends it (or briefly).
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.reader).await;
    }
}

/// Wait until `series` reads `want`; how long that took (`None`: not within `max`).
async fn metric_reaches(
    server: &Server,
    series: &str,
    want: f64,
    max: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < max {
        if server.metric(series).await == Some(want) {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Wait until the runtime's task count is back at or under `baseline`.
async fn tasks_back_to(server: &Server, baseline: f64) {
    let start = Instant::now();
    let mut tasks = f64::MAX;
    while start.elapsed() < Duration::from_secs(3) {
        tasks = server.metric("voxray_runtime_alive_tasks").await.unwrap();
        if tasks <= baseline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("tasks {tasks} > baseline {baseline}");
}

/// RMS energy in dB of each 20 ms (160-sample) frame.
fn envelope(samples: &[i16]) -> Vec<f64> {
    samples
        .chunks_exact(160)
        .map(|f| {
            let e = f.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / 160.0;
            10.0 * (e + 1.0).log10()
        })
        .collect()
}

/// Best Pearson correlation of `b` against `a` over lags 0..=10 frames (the round trip's
/// resampler delay).
fn best_correlation(a: &[f64], b: &[f64]) -> f64 {
    (0..=10)
        .map(|lag| {
            let n = a.len().min(b.len().saturating_sub(lag));
            let (x, y) = (&a[..n], &b[lag..lag + n]);
            let mx = x.iter().sum::<f64>() / n as f64;
            let my = y.iter().sum::<f64>() / n as f64;
            let cov: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
            let vx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
            let vy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
            cov / (vx * vy).sqrt()
        })
        .fold(f64::MIN, f64::max)
}

fn server_for(carrier: Carrier, pipeline: &str) -> Server {
    Server::start(
        json!({"runner_transport": carrier.name(), "pipeline": pipeline}),
        &[],
    )
}

/// Echo: the file comes back in the carrier's format and chunking with the same energy
/// envelope; `stop` ends the session within 1 s and the tasks go back to the baseline; so
/// does a socket that just vanishes.
async fn echo_call(carrier: Carrier) {
    let server = server_for(carrier, "echo");
    let baseline = server.metric("voxray_runtime_alive_tasks").await.unwrap();
    let mut call = Call::connect(&server, carrier, None).await;
    let audio = carrier.command();
    call.stream(&audio).await;
    let sent_samples = carrier.decode(&audio);
    let want = sent_samples.len() * 9 / 10;
    let back = |c: &Call| {
        c.media()
            .iter()
            .map(|(_, p)| carrier.decode(p).len())
            .sum::<usize>()
    };
    assert!(
        call.wait(Duration::from_secs(5), |c| back(c) >= want).await,
        "{carrier:?}: {} of {} samples came back",
        back(&call),
        sent_samples.len()
    );
    let media = call.media();
    for (_, p) in &media {
        assert_eq!(p.len(), carrier.outbound_bytes(), "{carrier:?} chunking");
    }
    let received: Vec<i16> = media.iter().flat_map(|(_, p)| carrier.decode(p)).collect();
    let corr = best_correlation(&envelope(&sent_samples), &envelope(&received));
    assert!(
        corr > 0.9,
        "{carrier:?}: energy envelope correlation {corr:.3}"
    );
    // No RTVI event ever reaches a carrier.
    assert!(
        call.json().iter().all(|(_, v)| v.get("label").is_none()),
        "{carrier:?}: RTVI on a carrier socket"
    );
    assert_eq!(server.metric(ACTIVE).await, Some(1.0));
    call.hang_up().await;
    let took = metric_reaches(&server, ACTIVE, 0.0, Duration::from_secs(3)).await;
    assert!(
        took.is_some_and(|t| t <= Duration::from_secs(1)),
        "{carrier:?}: session still active {took:?} after stop"
    );
    tasks_back_to(&server, baseline).await;

    // Socket loss: the TCP connection just goes away mid-call.
    let mut call = Call::connect(&server, carrier, None).await;
    call.stream(&audio[..audio.len() / 4]).await;
    assert!(
        call.wait(Duration::from_secs(3), |c| !c.media().is_empty())
            .await,
        "{carrier:?}: no echo on the second call"
    );
    call.reader.abort();
    drop(call);
    let took = metric_reaches(&server, ACTIVE, 0.0, Duration::from_secs(3)).await;
    assert!(
        took.is_some_and(|t| t <= Duration::from_secs(1)),
        "{carrier:?}: session still active {took:?} after socket loss"
    );
    tasks_back_to(&server, baseline).await;
    assert_eq!(
        server
            .metric("voxray_sessions_started_total{transport=\"telephony\"}")
            .await,
        Some(2.0)
    );
}

/// Parrot: turn 1 is played back; the caller talks over it → exactly one clear message of
/// the carrier's shape and no media of turn 1 after it; turn 2 is played back; stop.
async fn parrot_barge_in(carrier: Carrier) {
    let server = server_for(carrier, "parrot");
    let baseline = server.metric("voxray_runtime_alive_tasks").await.unwrap();
    let mut call = Call::connect(&server, carrier, None).await;
    // Turn 1 (speech ends at 1830 ms), 1 s of silence (its playback starts ~0.6 s after the
    // end of speech and lasts ~2 s), turn 2 over the playback, then silence.
    let mut samples = carrier.decode(&carrier.command());
    let turn1 = samples.len();
    samples.extend(std::iter::repeat_n(0i16, 8_000));
    let turn2_start = samples.len();
    samples.extend(speech_8k("utt10_interrupt_piper-joe.wav"));
    samples.extend(std::iter::repeat_n(0i16, 8_000 * 3));
    let audio = carrier.encode(&samples);
    let frame_ms = |sample: usize| sample / 160;
    let sent = call.stream(&audio).await;
    // End of turn 2's speech (manifest: 2330 ms into utt10) as sent.
    let speech2_end = sent[frame_ms(turn2_start + 2330 * 8)];
    let turn2_played = |c: &Call| {
        c.media()
            .iter()
            .any(|(t, _)| *t > speech2_end + Duration::from_millis(300))
    };
    assert!(
        call.wait(Duration::from_secs(8), turn2_played).await,
        "{carrier:?}: turn 2 was not played back"
    );
    let msgs = call.json();
    let clears: Vec<Instant> = msgs
        .iter()
        .filter(|(_, v)| *v == carrier.clear())
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(clears.len(), 1, "{carrier:?}: clear messages {msgs:?}");
    let t_clear = clears[0];
    let media = call.media();
    assert!(
        media
            .iter()
            .any(|(t, _)| *t < t_clear && *t > sent[frame_ms(turn1) - 1]),
        "{carrier:?}: turn 1 was not playing when the caller barged in"
    );
    let stale = media
        .iter()
        .filter(|(t, _)| *t > t_clear && *t < speech2_end + Duration::from_millis(300))
        .count();
    assert_eq!(
        stale, 0,
        "{carrier:?}: {stale} media messages after the clear"
    );
    for (_, p) in &media {
        let n = p.len();
        if carrier == Carrier::Exotel {
            assert!(n % 320 == 0 && n >= 1600, "Exotel payload of {n} bytes");
        } else {
            // 20 ms messages; the last of a turn may be shorter.
            assert!(n <= 160, "{carrier:?} payload of {n} bytes");
        }
    }
    if carrier == Carrier::Twilio {
        // After the last audio of turn 2: a mark, which we echo as Twilio does once played.
        assert!(
            call.wait(Duration::from_secs(5), |c| c
                .json()
                .iter()
                .any(|(_, v)| v["event"] == "mark"))
                .await,
            "no mark after the bot turn"
        );
        let msgs = call.json();
        let (t_mark, mark) = msgs.iter().find(|(_, v)| v["event"] == "mark").unwrap();
        assert_eq!(mark["streamSid"], "MZ18ad3ab5a668481ce02b83e7395059f0");
        let name = mark["mark"]["name"].as_str().unwrap().to_string();
        let last_media = call.media().last().unwrap().0;
        assert!(*t_mark >= last_media, "mark before the turn's last audio");
        let echo = json!({"event":"mark","sequenceNumber":"998","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","mark":{"name":name}});
        call.send(&echo).await;
    }
    call.hang_up().await;
    let took = metric_reaches(&server, ACTIVE, 0.0, Duration::from_secs(3)).await;
    assert!(
        took.is_some_and(|t| t <= Duration::from_secs(1)),
        "{carrier:?}: session still active {took:?} after stop"
    );
    tasks_back_to(&server, baseline).await;
}

#[tokio::test]
async fn twilio_echo_stop_and_socket_loss() {
    echo_call(Carrier::Twilio).await;
}

#[tokio::test]
async fn telnyx_pcma_echo_stop_and_socket_loss() {
    echo_call(Carrier::Telnyx).await;
}

#[tokio::test]
async fn plivo_echo_stop_and_socket_loss() {
    echo_call(Carrier::Plivo).await;
}

#[tokio::test]
async fn exotel_echo_stop_and_socket_loss() {
    echo_call(Carrier::Exotel).await;
}

#[tokio::test]
async fn twilio_parrot_barge_in_clears_once_and_marks_the_turn_end() {
    parrot_barge_in(Carrier::Twilio).await;
}

#[tokio::test]
async fn telnyx_parrot_barge_in_clears_once() {
    parrot_barge_in(Carrier::Telnyx).await;
}

#[tokio::test]
async fn plivo_parrot_barge_in_clears_once() {
    parrot_barge_in(Carrier::Plivo).await;
}

#[tokio::test]
async fn exotel_parrot_barge_in_clears_once() {
    parrot_barge_in(Carrier::Exotel).await;
}

/// The upgrade request with upgrade headers and an optional signature, through reqwest: the
/// status and body of a refusal.
async fn raw_upgrade(server: &Server, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .get(server.url("/telephony/ws"))
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn twilio_signature_on_the_upgrade() {
    let server = Server::start(
        json!({"runner_transport": "twilio"}),
        &[("TWILIO_AUTH_TOKEN", TOKEN)],
    );
    let url = server.ws_url("/telephony/ws");
    // Valid: the call goes through (101, then echo).
    let sig = twilio_signature(TOKEN, &url, &[]);
    let mut call = Call::connect(&server, Carrier::Twilio, Some(&sig)).await;
    call.stream(&Carrier::Twilio.command()[..1600]).await;
    assert!(
        call.wait(Duration::from_secs(3), |c| !c.media().is_empty())
            .await
    );
    call.hang_up().await;
    // Tampered URL, tampered signature, none: the 401 envelope, nothing upgraded.
    let other_url = twilio_signature(TOKEN, &format!("{url}?x=1"), &[]);
    let mut flipped = sig.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for headers in [
        vec![("x-twilio-signature", other_url.as_str())],
        vec![("x-twilio-signature", flipped.as_str())],
        vec![],
    ] {
        let (status, body) = raw_upgrade(&server, &headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert_eq!(body, UNAUTHORIZED);
    }
    assert_eq!(
        server
            .metric("voxray_auth_failures_total{route=\"telephony_ws\"}")
            .await,
        Some(3.0)
    );
}

#[tokio::test]
async fn twilio_signature_on_the_upgrade_behind_proxy_host() {
    let server = Server::start(
        json!({"runner_transport": "twilio", "proxy_host": "voice.example.com"}),
        &[("TWILIO_AUTH_TOKEN", TOKEN)],
    );
    // Twilio signs the public wss:// URL; the default port written out also verifies.
    for signed in [
        "wss://voice.example.com/telephony/ws",
        "wss://voice.example.com:443/telephony/ws",
    ] {
        let sig = twilio_signature(TOKEN, signed, &[]);
        let mut req = server
            .ws_url("/telephony/ws")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("x-twilio-signature", sig.parse().unwrap());
        req.headers_mut()
            .insert("x-forwarded-proto", "https".parse().unwrap());
        let (_ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(res.status(), 101, "{signed}");
    }
    // The URL as the proxy saw it (the local Host) is not what Twilio signed.
    let local = twilio_signature(TOKEN, &server.ws_url("/telephony/ws"), &[]);
    let (status, body) = raw_upgrade(
        &server,
        &[
            ("x-twilio-signature", &local),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert_eq!((status, body.as_str()), (401, UNAUTHORIZED));
}

#[tokio::test]
async fn handshake_limits() {
    let server = server_for(Carrier::Twilio, "echo");
    // Another carrier's start: 1008.
    let mut call = Call::open(&server, Carrier::Twilio, None).await;
    call.send(&Carrier::Plivo.handshake()[0]).await;
    assert!(
        call.wait(Duration::from_secs(3), |c| c.close_frame().is_some())
            .await
    );
    let (_, code, reason) = call.close_frame().unwrap();
    assert_eq!((code, reason.as_str()), (1008, "carrier mismatch"));
    // Two messages without a start: 1008 handshake_timeout at once.
    let mut call = Call::open(&server, Carrier::Twilio, None).await;
    call.send(&json!({"event":"connected","protocol":"Call","version":"1.0.0"}))
        .await;
    call.send(&json!({"event":"media","media":{"payload":"//8="}}))
        .await;
    assert!(
        call.wait(Duration::from_secs(3), |c| c.close_frame().is_some())
            .await
    );
    assert_eq!(call.close_frame().unwrap().1, 1008);
    // A silent socket: closed 1008 handshake_timeout after 5 s.
    let opened = Instant::now();
    let call = Call::open(&server, Carrier::Twilio, None).await;
    assert!(
        call.wait(Duration::from_secs(8), |c| c.close_frame().is_some())
            .await
    );
    let (t, code, reason) = call.close_frame().unwrap();
    assert_eq!((code, reason.as_str()), (1008, "handshake_timeout"));
    let after = t.duration_since(opened);
    assert!(
        after >= Duration::from_millis(4900) && after <= Duration::from_secs(7),
        "closed after {after:?}"
    );
    assert_eq!(
        server
            .metric("voxray_sessions_started_total{transport=\"telephony\"}")
            .await
            .unwrap_or(0.0),
        0.0
    );
}

/// voxray ends the call (max duration): queued audio, then exactly one hang-up request of
/// the carrier's shape; the "already ended" answer is fine; the socket closes 1000.
async fn hang_up_when_voxray_ends_the_call(
    carrier: Carrier,
    answer: (u16, &str),
    env: &[(&str, &str)],
    check: impl Fn(&fakes::carrier::CarrierRequest),
) {
    let fake = CarrierFake::start(&[answer]).await;
    let base_key = format!("{}_api_base_url", carrier.name());
    let mut config = json!({"runner_transport": carrier.name(), "pipeline": "echo", "rtc_max_duration_secs": 1.0});
    config[base_key] = fake.base_url().into();
    if carrier == Carrier::Plivo {
        config["plivo_auth_id"] = "MAPLIVOID1234567890".into();
    }
    let server = Server::start(config, env);
    let sig = (carrier == Carrier::Twilio)
        .then(|| twilio_signature(TOKEN, &server.ws_url("/telephony/ws"), &[]));
    let mut call = Call::connect(&server, carrier, sig.as_deref()).await;
    let audio = carrier.command();
    let streaming = Instant::now();
    call.stream(&audio[..audio.len() / 2]).await;
    let reqs = fake.wait_requests(1, Duration::from_secs(5)).await;
    assert_eq!(reqs.len(), 1, "{carrier:?}: hang-up requests {reqs:?}");
    check(&reqs[0]);
    assert!(
        call.wait(Duration::from_secs(3), |c| c.close_frame().is_some())
            .await,
        "{carrier:?}: socket not closed after the hang-up"
    );
    let (t_close, code, reason) = call.close_frame().unwrap();
    assert_eq!((code, reason.as_str()), (1000, "max duration reached"));
    assert!(t_close.duration_since(streaming) >= Duration::from_secs(1));
    assert!(
        !call.media().is_empty(),
        "{carrier:?}: no audio before the hang-up"
    );
    assert!(
        metric_reaches(&server, ACTIVE, 0.0, Duration::from_secs(2))
            .await
            .is_some()
    );
    // Exactly one request, even after the session is gone.
    assert_eq!(fake.requests().len(), 1);
}

fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{pass}")))
}

#[tokio::test]
async fn twilio_hang_up_tolerates_already_ended() {
    hang_up_when_voxray_ends_the_call(
        Carrier::Twilio,
        (404, r#"{"code":20404,"message":"The requested resource /2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA0123456789abcdef0123456789abcdef.json was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}"#),
        &[("TWILIO_AUTH_TOKEN", TOKEN), ("TWILIO_ACCOUNT_SID", ACCOUNT_SID)],
        |r| {
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.path,
                format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json")
            );
            assert_eq!(r.header("authorization"), Some(basic(ACCOUNT_SID, TOKEN).as_str()));
            assert!(r.header("content-type").unwrap().starts_with("application/x-www-form-urlencoded"));
            assert_eq!(r.body, "Status=completed");
        },
    )
    .await;
}

#[tokio::test]
async fn telnyx_hang_up() {
    const KEY: &str = "KEY0193A1B2C3D4E5F60718293A4B5C6D_9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    hang_up_when_voxray_ends_the_call(
        Carrier::Telnyx,
        (200, r#"{"data":{"result":"ok"}}"#),
        &[("TELNYX_API_KEY", KEY)],
        |r| {
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.path,
                "/v2/calls/v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg/actions/hangup"
            );
            assert_eq!(
                r.header("authorization"),
                Some(format!("Bearer {KEY}").as_str())
            );
            assert!(
                r.header("content-type")
                    .unwrap()
                    .starts_with("application/json")
            );
            assert_eq!(r.body, "{}");
        },
    )
    .await;
}

#[tokio::test]
async fn plivo_hang_up_tolerates_already_ended() {
    const AUTH: &str = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFi";
    hang_up_when_voxray_ends_the_call(
        Carrier::Plivo,
        (
            404,
            r#"{"api_id":"5a9fcb68-582d-11e1-86da-6ff39efcb949","error":"not found"}"#,
        ),
        &[("PLIVO_AUTH_TOKEN", AUTH)],
        |r| {
            assert_eq!(r.method, "DELETE");
            assert_eq!(
                r.path,
                "/v1/Account/MAPLIVOID1234567890/Call/8a6f2b1e-0d0e-4e55-9c2d-3d4f0a1b2c3d/"
            );
            assert_eq!(
                r.header("authorization"),
                Some(basic("MAPLIVOID1234567890", AUTH).as_str())
            );
        },
    )
    .await;
}
