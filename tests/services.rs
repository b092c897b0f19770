//! Provider clients against loopback fakes (`providers.md` §2–§8): one test per wire format
//! (the fake asserts the request shape, the client parses the answer) and one per fault row
//! of §7, driving the library directly over real sockets.

mod fakes;

use std::time::{Duration, Instant};

use fakes::{Fake, Fault, Outcome, Reply};
use futures_util::StreamExt;
use voxray::config::Secret;
use voxray::metrics::Metrics;
use voxray::services::config::Endpoint;
use voxray::services::http::Policy;
use voxray::services::llm::anthropic::AnthropicLlm;
use voxray::services::llm::openai::OpenAiLlm;
use voxray::services::stt::openai::OpenAiStt;
use voxray::services::tts::elevenlabs::ElevenLabsTts;
use voxray::services::tts::openai::OpenAiTts;
use voxray::services::{
    LanguageModel, LlmEvent, Message, Role, ServiceError, SpeechToText, Stage, TextToSpeech,
    TtsEvent, TtsRequest, Usage,
};

const KEY: &str = "sk-test-0123456789abcdefghij";

fn ep(provider: &str, base: String, model: &str) -> Endpoint {
    Endpoint {
        provider: provider.into(),
        base_url: base,
        key: Some(Secret::new(KEY)),
        model: model.into(),
        voice: "alloy".into(),
        language: String::new(),
    }
}

/// Short timeouts so timeout rows run in well under a second.
fn fast(mut p: Policy) -> Policy {
    p.ttfb = Duration::from_millis(400);
    p.idle = Duration::from_millis(400);
    p
}

fn history() -> Vec<Message> {
    vec![
        Message::new(Role::System, "You are terse."),
        Message::new(Role::User, "Hi"),
        Message::new(Role::Assistant, "Hello."),
        Message::new(Role::User, "Tell me a joke"),
    ]
}

/// The value of a sample line `name{…} v` whose labels contain every `labels` item.
fn metric(m: &Metrics, name: &str, labels: &[&str]) -> f64 {
    m.render()
        .lines()
        .find(|l| l.starts_with(&format!("{name}{{")) && labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn collect(
    mut s: voxray::services::LlmStream,
) -> (String, Vec<LlmEvent>, Option<ServiceError>) {
    let mut text = String::new();
    let mut events = Vec::new();
    while let Some(item) = s.next().await {
        match item {
            Ok(LlmEvent::Text(t)) => text.push_str(&t),
            Ok(e) => events.push(e),
            Err(e) => return (text, events, Some(e)),
        }
    }
    (text, events, None)
}

// ------------------------------------------------------------------ wire formats

#[tokio::test]
async fn openai_chat_wire_format_and_split_sse() {
    let fake = Fake::openai(KEY).await;
    fake.set_split(true);
    fake.push(Reply::text("Hello there, caf\u{e9} friend."));
    let metrics = Metrics::new();
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), Some(&metrics));
    let (text, events, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(text, "Hello there, caf\u{e9} friend.");
    assert_eq!(
        events,
        vec![LlmEvent::End {
            finish_reason: Some("stop".into()),
            usage: Some(Usage {
                input_tokens: 21,
                output_tokens: 7
            })
        }]
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(r.headers["accept"], "text/event-stream");
    assert!(
        r.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("voxray/")
    );
    let body = r.json.as_ref().unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_completion_tokens"], 256);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert!(body.get("temperature").is_none() && body.get("tools").is_none());
    assert_eq!(
        body["messages"],
        serde_json::json!([
            {"role":"system","content":"You are terse."},
            {"role":"user","content":"Hi"},
            {"role":"assistant","content":"Hello."},
            {"role":"user","content":"Tell me a joke"}
        ])
    );
    assert_eq!(
        metric(&metrics, "voxray_llm_ttfb_seconds_count", &["openai"]),
        1.0
    );
}

#[tokio::test]
async fn compatible_providers_send_max_tokens_and_no_stream_options() {
    let fake = Fake::openai(KEY).await;
    let llm = OpenAiLlm::new(ep("groq", fake.base_url(), "llama-3.1-8b-instant"), None);
    let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(text, fakes::openai::DEFAULT_REPLY);
    let body = fake.requests()[0].json.clone().unwrap();
    assert_eq!(body["max_tokens"], 256);
    assert!(body.get("max_completion_tokens").is_none());
    assert!(body.get("stream_options").is_none());
}

#[tokio::test]
async fn optional_key_absent_sends_no_auth_header() {
    let fake = Fake::openai(KEY).await;
    let mut e = ep("ollama", fake.base_url(), "llama3.2");
    e.key = None;
    let llm = OpenAiLlm::new(e, None);
    let err = match llm.complete(&history()).await {
        Err(e) => e,
        Ok(_) => panic!("the fake wants a key"),
    };
    assert!(
        matches!(err, ServiceError::Rejected { status: 401, .. }),
        "{err:?}"
    );
    assert!(fake.requests()[0].headers.get("authorization").is_none());
    // Never a key in the error text.
    assert!(!format!("{err:?}").contains(KEY));
}

#[tokio::test]
async fn tool_call_deltas_are_merged() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply {
        text: Some(String::new()),
        tool_call: Some(("get_weather".into(), r#"{"city":"Paris"}"#.into())),
        ..Reply::default()
    });
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let (_, events, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(err, None);
    let LlmEvent::ToolCall(call) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (
            call.id.as_str(),
            call.name.as_str(),
            call.arguments.as_str()
        ),
        ("call_fake1", "get_weather", r#"{"city":"Paris"}"#)
    );
    assert!(
        matches!(&events[1], LlmEvent::End { finish_reason: Some(r), .. } if r == "tool_calls")
    );
}

#[tokio::test]
async fn openai_transcription_uploads_a_real_wav() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::text("what time is it"));
    let metrics = Metrics::new();
    let mut e = ep("openai", fake.base_url(), "whisper-1");
    e.language = "en".into();
    let stt = OpenAiStt::new(e, Some(&metrics));
    let pcm: Vec<i16> = (0..16_000).map(|i| ((i % 100) * 50) as i16).collect();
    assert_eq!(stt.transcribe(&pcm).await.unwrap(), "what time is it");
    let r = &fake.requests()[0];
    assert_eq!(r.path, "/v1/audio/transcriptions");
    assert_eq!(r.headers["authorization"], format!("Bearer {KEY}"));
    let (name, ctype, wav) = r.parts.get("file").unwrap();
    assert_eq!(name.as_deref(), Some("audio.wav"));
    assert_eq!(ctype.as_deref(), Some("audio/wav"));
    let reader = hound::WavReader::new(std::io::Cursor::new(wav.to_vec())).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16_000, 16)
    );
    assert_eq!(reader.len(), 16_000);
    assert_eq!(wav.len(), 44 + 32_000);
    assert_eq!(r.field("model").as_deref(), Some("whisper-1"));
    assert_eq!(r.field("response_format").as_deref(), Some("json"));
    assert_eq!(r.field("temperature").as_deref(), Some("0"));
    assert_eq!(r.field("language").as_deref(), Some("en"));
    assert_eq!(
        metric(&metrics, "voxray_stt_ttfb_seconds_count", &["openai"]),
        1.0
    );
}

#[tokio::test]
async fn transcription_of_real_speech_file() {
    // A real utterance from the shared test audio, uploaded as the turn.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/audio");
    let audio = voxray::audio::wav::read_mono(&dir.join("hello.wav")).unwrap();
    let f = voxray::audio::resample::resample(&audio.samples, audio.sample_rate, 16_000).unwrap();
    let pcm16: Vec<i16> = f.into_iter().map(voxray::audio::pcm::f32_to_i16).collect();
    assert!(pcm16.len() > 8_000);
    let fake = Fake::openai(KEY).await;
    let stt = OpenAiStt::new(ep("groq", fake.base_url(), "whisper-large-v3-turbo"), None);
    assert_eq!(
        stt.transcribe(&pcm16).await.unwrap(),
        fakes::openai::DEFAULT_TRANSCRIPT
    );
    let (_, _, wav) = fake.requests()[0].parts["file"].clone();
    assert_eq!(wav.len(), 44 + pcm16.len() * 2);
}

async fn all_audio(mut s: voxray::services::TtsStream) -> (Vec<u8>, u32, Option<ServiceError>) {
    let mut pcm = Vec::new();
    let mut rate = 0;
    while let Some(ev) = s.next().await {
        match ev {
            Ok(TtsEvent::Audio {
                pcm: p,
                sample_rate,
            }) => {
                assert_eq!(p.len() % 2, 0, "whole samples only");
                rate = sample_rate;
                pcm.extend_from_slice(&p);
            }
            Ok(TtsEvent::Words(_)) => {}
            Err(e) => return (pcm, rate, Some(e)),
        }
    }
    (pcm, rate, None)
}

#[tokio::test]
async fn openai_speech_streams_pcm_across_odd_chunks() {
    let fake = Fake::openai(KEY).await;
    fake.set_split(true);
    let metrics = Metrics::new();
    let tts = OpenAiTts::new(ep("openai", fake.base_url(), "tts-1"), Some(&metrics));
    let text = "Hello there. ";
    let req = TtsRequest {
        text: text.into(),
        previous_text: None,
    };
    let (pcm, rate, err) = all_audio(tts.synthesize(&req).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(rate, 24_000);
    let expected = fakes::tone(fakes::openai::MS_PER_CHAR * text.len() as u32, 24_000);
    assert_eq!(pcm, expected);
    let body = fake.requests()[0].json.clone().unwrap();
    assert_eq!(
        body,
        serde_json::json!({"model":"tts-1","input":text,"voice":"alloy","response_format":"pcm"})
    );
    assert_eq!(fake.requests()[0].path, "/v1/audio/speech");
    assert_eq!(
        metric(&metrics, "voxray_tts_ttfb_seconds_count", &["openai"]),
        1.0
    );
}

#[tokio::test]
async fn groq_speech_asks_for_wav_and_parses_its_header() {
    let fake = Fake::openai(KEY).await;
    fake.set_split(true);
    let tts = OpenAiTts::new(ep("groq", fake.base_url(), "playai-tts"), None);
    let req = TtsRequest {
        text: "Hi. ".into(),
        previous_text: None,
    };
    let (pcm, rate, err) = all_audio(tts.synthesize(&req).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(rate, 48_000);
    assert_eq!(pcm, fakes::tone(fakes::openai::MS_PER_CHAR * 4, 48_000));
    assert_eq!(
        fake.requests()[0].json.as_ref().unwrap()["response_format"],
        "wav"
    );
}

#[tokio::test]
async fn anthropic_messages_wire_format() {
    let fake = Fake::anthropic(KEY).await;
    fake.set_split(true);
    fake.push(Reply::text("Sure, here is one."));
    let metrics = Metrics::new();
    let llm = AnthropicLlm::new(
        ep("anthropic", fake.base_url(), "claude-3-5-haiku-latest"),
        Some(&metrics),
    );
    // History starting with an assistant greeting and two user messages in a row.
    let msgs = vec![
        Message::new(Role::System, "Be kind."),
        Message::new(Role::Assistant, "Welcome!"),
        Message::new(Role::User, "Hi"),
        Message::new(Role::User, "joke please"),
    ];
    let (text, events, err) = collect(llm.complete(&msgs).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(text, "Sure, here is one.");
    assert_eq!(
        events,
        vec![LlmEvent::End {
            finish_reason: Some("end_turn".into()),
            usage: Some(Usage {
                input_tokens: 12,
                output_tokens: 15
            })
        }]
    );
    let r = &fake.requests()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.headers["x-api-key"], KEY);
    assert_eq!(r.headers["anthropic-version"], "2023-06-01");
    assert!(r.headers.get("authorization").is_none());
    let body = r.json.as_ref().unwrap();
    assert_eq!(body["system"], "Be kind.");
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
    assert_eq!(
        body["messages"],
        serde_json::json!([{"role":"user","content":"Hi\njoke please"}])
    );
    assert_eq!(
        metric(&metrics, "voxray_llm_ttfb_seconds_count", &["anthropic"]),
        1.0
    );
}

#[tokio::test]
async fn elevenlabs_stream_wire_format() {
    let fake = Fake::elevenlabs(KEY).await;
    fake.set_split(true);
    let mut e = ep("elevenlabs", fake.base_url(), "eleven_flash_v2_5");
    e.voice = "21m00Tcm4TlvDq8ikWAM".into();
    let tts = ElevenLabsTts::new(e, None);
    let req = TtsRequest {
        text: "How are you? ".into(),
        previous_text: Some("Hello there. ".into()),
    };
    let (pcm, rate, err) = all_audio(tts.synthesize(&req).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(rate, 24_000);
    assert_eq!(
        pcm,
        fakes::tone(fakes::elevenlabs::MS_PER_CHAR * 13, 24_000)
    );
    let r = &fake.requests()[0];
    assert_eq!(r.path, "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/stream");
    assert_eq!(r.query, "output_format=pcm_24000");
    assert_eq!(r.headers["xi-api-key"], KEY);
    assert_eq!(
        r.json.clone().unwrap(),
        serde_json::json!({"text":"How are you? ","model_id":"eleven_flash_v2_5","previous_text":"Hello there. "})
    );
}

// ------------------------------------------------------------------ §7 faults

/// Retried statuses (429, 500, 502, 503, 504, 529) before output: retried, then success.
#[tokio::test]
async fn retryable_statuses_are_retried_then_succeed() {
    for status in [429u16, 500, 502, 503, 504, 529] {
        let fake = Fake::openai(KEY).await;
        fake.push(Reply::fault(Fault::Status(status, None)));
        let metrics = Metrics::new();
        let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), Some(&metrics));
        let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
        assert_eq!(err, None, "{status}");
        assert_eq!(text, fakes::openai::DEFAULT_REPLY);
        assert_eq!(fake.requests().len(), 2, "{status}");
        assert_eq!(
            metric(
                &metrics,
                "voxray_provider_retries_total",
                &["llm", "openai"]
            ),
            1.0
        );
        assert_eq!(
            metric(&metrics, "voxray_provider_errors_total", &["llm", "openai"]),
            0.0
        );
    }
}

#[tokio::test]
async fn at_most_three_attempts_then_the_error() {
    let fake = Fake::anthropic(KEY).await;
    for _ in 0..4 {
        fake.push(Reply::fault(Fault::Status(529, None)));
    }
    let metrics = Metrics::new();
    let llm = AnthropicLlm::new(ep("anthropic", fake.base_url(), "claude"), Some(&metrics));
    let t0 = Instant::now();
    let err = llm.complete(&history()).await.err().unwrap();
    // Waits 0.1–0.2 s then 0.2–0.4 s.
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    assert!(matches!(
        err,
        ServiceError::Status {
            status: 529,
            stage: Stage::Llm,
            ..
        }
    ));
    assert_eq!(err.kind(), "5xx");
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(
        metric(
            &metrics,
            "voxray_provider_retries_total",
            &["llm", "anthropic"]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &metrics,
            "voxray_provider_errors_total",
            &["llm", "anthropic"]
        ),
        1.0
    );
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::Status(429, Some("1".into()))));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let t0 = Instant::now();
    let (_, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(err, None);
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    let fake = Fake::elevenlabs(KEY).await;
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    fake.push(Reply::fault(Fault::Status(
        429,
        Some(httpdate::fmt_http_date(at)),
    )));
    let mut e = ep("elevenlabs", fake.base_url(), "eleven_flash_v2_5");
    e.voice = "v1".into();
    let tts = ElevenLabsTts::new(e, None);
    let t0 = Instant::now();
    let s = tts
        .synthesize(&TtsRequest {
            text: "Hi. ".into(),
            previous_text: None,
        })
        .await
        .unwrap();
    // HTTP dates have 1 s resolution: at least ~1 s was waited.
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(all_audio(s).await.2, None);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_five_seconds_fails_now() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::Status(429, Some("30".into()))));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let t0 = Instant::now();
    let err = llm.complete(&history()).await.err().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(err.kind(), "rate_limited");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn the_attempt_chain_is_capped_at_six_seconds() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::Status(503, Some("4".into()))));
    fake.push(Reply::fault(Fault::Status(503, Some("4".into()))));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let t0 = Instant::now();
    let err = llm.complete(&history()).await.err().unwrap();
    // 4 s wait, second attempt, a second 4 s wait would pass 6 s: fail then.
    assert!(t0.elapsed() >= Duration::from_secs(4) && t0.elapsed() < Duration::from_secs(6));
    assert_eq!(err.status(), Some(503));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn rejected_statuses_are_not_retried() {
    for status in [400u16, 401, 403, 404, 413, 422] {
        let fake = Fake::anthropic(KEY).await;
        fake.push(Reply::fault(Fault::Status(status, None)));
        let metrics = Metrics::new();
        let llm = AnthropicLlm::new(ep("anthropic", fake.base_url(), "claude"), Some(&metrics));
        let err = llm.complete(&history()).await.err().unwrap();
        assert!(
            matches!(err, ServiceError::Rejected { status: s, .. } if s == status),
            "{err:?}"
        );
        assert_eq!(err.is_auth(), matches!(status, 401 | 403));
        assert_eq!(
            err.to_string(),
            format!("LLM provider rejected the request ({status})")
        );
        assert_eq!(fake.requests().len(), 1, "{status}");
        assert_eq!(
            metric(
                &metrics,
                "voxray_provider_errors_total",
                &["llm", "anthropic"]
            ),
            1.0
        );
    }
}

#[tokio::test]
async fn wrong_key_is_a_401_from_every_http_provider() {
    let wrong = |mut e: Endpoint| {
        e.key = Some(Secret::new("wrong-key"));
        e
    };
    let o = Fake::openai(KEY).await;
    let a = Fake::anthropic(KEY).await;
    let el = Fake::elevenlabs(KEY).await;
    let stt = OpenAiStt::new(wrong(ep("openai", o.base_url(), "whisper-1")), None);
    let llm = OpenAiLlm::new(wrong(ep("openai", o.base_url(), "gpt-4o-mini")), None);
    let tts = OpenAiTts::new(wrong(ep("openai", o.base_url(), "tts-1")), None);
    let ant = AnthropicLlm::new(wrong(ep("anthropic", a.base_url(), "claude")), None);
    let el_tts = ElevenLabsTts::new(wrong(ep("elevenlabs", el.base_url(), "m")), None);
    let req = TtsRequest {
        text: "Hi. ".into(),
        previous_text: None,
    };
    let errs = vec![
        stt.transcribe(&[0i16; 1600]).await.err().unwrap(),
        llm.complete(&history()).await.err().unwrap(),
        tts.synthesize(&req).await.err().unwrap(),
        ant.complete(&history()).await.err().unwrap(),
        el_tts.synthesize(&req).await.err().unwrap(),
    ];
    for e in errs {
        assert!(e.is_auth(), "{e:?}");
        let detail = format!("{e:?}");
        assert!(!detail.contains("wrong-key"), "{detail}");
    }
    assert_eq!(o.requests().len(), 3);
}

#[tokio::test]
async fn missing_field_gets_the_providers_400() {
    let fake = Fake::openai(KEY).await;
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), ""), None);
    let err = llm.complete(&history()).await.err().unwrap();
    match err {
        ServiceError::Rejected {
            status: 400,
            detail,
            ..
        } => assert_eq!(
            detail.as_deref(),
            Some("you must provide a model parameter")
        ),
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn connect_errors_are_retried_then_fail() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics = Metrics::new();
    let stt = OpenAiStt::new(
        ep("openai", format!("http://127.0.0.1:{port}/v1"), "whisper-1"),
        Some(&metrics),
    );
    let err = stt.transcribe(&[0i16; 1600]).await.err().unwrap();
    assert_eq!(err, ServiceError::Connect { stage: Stage::Stt });
    assert_eq!(
        metric(
            &metrics,
            "voxray_provider_retries_total",
            &["stt", "openai"]
        ),
        2.0
    );
    assert_eq!(
        metric(&metrics, "voxray_provider_errors_total", &["stt", "openai"]),
        1.0
    );
}

#[tokio::test]
async fn missed_first_byte_is_retried() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::Never));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None)
        .with_policy(fast(Policy::llm()));
    let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(err, None);
    assert_eq!(text, fakes::openai::DEFAULT_REPLY);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn slow_first_byte_times_out_after_three_attempts() {
    let fake = Fake::openai(KEY).await;
    for _ in 0..3 {
        fake.push(Reply::fault(Fault::Delay(Duration::from_secs(3))));
    }
    let metrics = Metrics::new();
    let tts = OpenAiTts::new(ep("openai", fake.base_url(), "tts-1"), Some(&metrics))
        .with_policy(fast(Policy::tts()));
    let err = tts
        .synthesize(&TtsRequest {
            text: "Hi. ".into(),
            previous_text: None,
        })
        .await
        .err()
        .unwrap();
    assert_eq!(err, ServiceError::Timeout { stage: Stage::Tts });
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(
        metric(&metrics, "voxray_provider_errors_total", &["tts", "openai"]),
        1.0
    );
}

#[test]
fn default_first_byte_limits() {
    assert_eq!(Policy::llm().ttfb, Duration::from_secs(10));
    assert_eq!(Policy::tts().ttfb, Duration::from_secs(5));
    assert_eq!(Policy::stt().ttfb, Duration::from_secs(10));
    assert_eq!(Policy::llm().idle, Duration::from_secs(10));
    assert_eq!(Policy::tts().idle, Duration::from_secs(5));
}

#[tokio::test]
async fn stream_cut_after_output_is_not_retried() {
    for fault in [Fault::CutAfter(3), Fault::AbortAfter(3)] {
        let fake = Fake::openai(KEY).await;
        fake.push(Reply::fault(fault.clone()));
        let metrics = Metrics::new();
        let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), Some(&metrics));
        let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
        // Role chunk + two words delivered, then the cut.
        assert_eq!(text, "Hello there!", "{fault:?}");
        assert_eq!(err, Some(ServiceError::StreamCut { stage: Stage::Llm }));
        assert_eq!(fake.requests().len(), 1);
        assert_eq!(
            metric(&metrics, "voxray_provider_errors_total", &["llm", "openai"]),
            1.0
        );
        // The next turn works on the same client.
        let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
        assert_eq!((text.as_str(), err), (fakes::openai::DEFAULT_REPLY, None));
    }
}

#[tokio::test]
async fn anthropic_cut_and_error_event_after_output() {
    let fake = Fake::anthropic(KEY).await;
    fake.push(Reply::fault(Fault::CutAfter(5)));
    fake.push(Reply::fault(Fault::ErrorAfter(5)));
    let llm = AnthropicLlm::new(ep("anthropic", fake.base_url(), "claude"), None);
    let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(text, "Hello from");
    assert_eq!(err, Some(ServiceError::StreamCut { stage: Stage::Llm }));
    let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(text, "Hello from");
    assert!(
        matches!(&err, Some(ServiceError::Provider { detail, .. }) if detail == "Overloaded"),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn provider_error_event_after_output_is_not_retried() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::ErrorAfter(2)));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let (text, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(text, "Hello");
    assert!(
        matches!(err, Some(ServiceError::Provider { .. })),
        "{err:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn idle_stream_mid_way_is_a_cut() {
    let fake = Fake::openai(KEY).await;
    fake.set_chunk_gap(Duration::from_millis(1500));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None)
        .with_policy(fast(Policy::llm()));
    let (_, _, err) = collect(llm.complete(&history()).await.unwrap()).await;
    assert_eq!(err, Some(ServiceError::StreamCut { stage: Stage::Llm }));
}

#[tokio::test]
async fn tts_failing_mid_sentence_ends_that_audio_with_an_error() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::AbortAfter(2)));
    let tts = OpenAiTts::new(ep("openai", fake.base_url(), "tts-1"), None);
    let req = TtsRequest {
        text: "A sentence long enough for several chunks of audio. ".into(),
        previous_text: None,
    };
    let (pcm, _, err) = all_audio(tts.synthesize(&req).await.unwrap()).await;
    assert_eq!(pcm.len(), 4801 * 2, "two 4801-byte chunks (an even total)");
    assert_eq!(err, Some(ServiceError::StreamCut { stage: Stage::Tts }));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn dropping_a_stream_cancels_the_request() {
    let fake = Fake::openai(KEY).await;
    fake.set_chunk_gap(Duration::from_millis(100));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let mut s = llm.complete(&history()).await.unwrap();
    // Take the first word, then barge in.
    loop {
        if let Some(Ok(LlmEvent::Text(_))) = s.next().await {
            break;
        }
    }
    drop(s);
    fake.wait_cancelled(0).await;
    assert_eq!(fake.requests()[0].outcome(), Outcome::Cancelled);

    // Same for TTS audio.
    let tts = OpenAiTts::new(ep("openai", fake.base_url(), "tts-1"), None);
    let req = TtsRequest {
        text: "A sentence long enough for several chunks of audio. ".into(),
        previous_text: None,
    };
    let mut s = tts.synthesize(&req).await.unwrap();
    assert!(matches!(s.next().await, Some(Ok(TtsEvent::Audio { .. }))));
    drop(s);
    fake.wait_cancelled(1).await;
}

#[tokio::test]
async fn stt_server_errors_are_retried() {
    let fake = Fake::openai(KEY).await;
    fake.push(Reply::fault(Fault::Status(500, None)));
    fake.push(Reply::text("second try"));
    let stt = OpenAiStt::new(ep("openai", fake.base_url(), "whisper-1"), None);
    assert_eq!(stt.transcribe(&[0i16; 1600]).await.unwrap(), "second try");
    assert_eq!(fake.requests().len(), 2);
}

// ------------------------------------------------------------------ Deepgram live

mod deepgram {
    use super::*;
    use crate::fakes::deepgram::{DeepgramFake, DgScript};
    use voxray::services::stt::deepgram::{DeepgramStt, DeepgramTiming};
    use voxray::services::{StreamingSpeechToText, SttEvent};

    fn client(fake: &DeepgramFake, metrics: Option<&Metrics>) -> DeepgramStt {
        let mut e = ep("deepgram", fake.base_url(), "nova-3");
        e.language = "en".into();
        DeepgramStt::new(e, metrics).with_timing(DeepgramTiming {
            reconnect: vec![Duration::from_millis(20), Duration::from_millis(40)],
            keep_alive: Duration::from_millis(300),
            ..DeepgramTiming::default()
        })
    }

    /// 20 ms of PCM at 16 kHz.
    fn frame() -> Vec<i16> {
        (0..320).map(|i| (i * 37 % 2000) as i16).collect()
    }

    async fn next_final(s: &mut Box<dyn voxray::services::SttSession>) -> SttEvent {
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), s.next_event())
                .await
                .expect("an event within 10 s")
                .expect("session open");
            if matches!(ev, SttEvent::Final { .. } | SttEvent::Error(_)) {
                return ev;
            }
        }
    }

    #[tokio::test]
    async fn live_wire_format_interims_finalize_and_close() {
        let fake = DeepgramFake::start(KEY).await;
        fake.push_transcript("what is the weather");
        let metrics = Metrics::new();
        let stt = client(&fake, Some(&metrics));
        let mut s = stt.open();
        // Sent at once: the first frames go out before the socket is open (buffered).
        for _ in 0..50 {
            s.send_audio(&frame());
        }
        let first = tokio::time::timeout(Duration::from_secs(10), s.next_event())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first, SttEvent::Interim("hello".into()));
        s.finalize();
        assert_eq!(
            next_final(&mut s).await,
            SttEvent::Final {
                text: "what is the weather".into(),
                speech_final: true,
                from_finalize: true
            }
        );
        s.close().await;
        let conns = fake.wait_for(|c| c.first().is_some_and(|c| c.ended)).await;
        assert_eq!(conns.len(), 1);
        let c = &conns[0];
        assert_eq!(c.auth.as_deref(), Some(format!("Token {KEY}").as_str()));
        assert_eq!(
            c.query,
            "model=nova-3&encoding=linear16&sample_rate=16000&channels=1&interim_results=true&punctuate=true&smart_format=true&endpointing=300&utterance_end_ms=1000&vad_events=true&language=en"
        );
        assert_eq!(c.audio_bytes, 50 * 640, "every buffered frame arrived");
        assert_eq!(c.controls, vec!["Finalize", "CloseStream"]);
        assert_eq!(
            metric(&metrics, "voxray_stt_ttfb_seconds_count", &["deepgram"]),
            1.0
        );
    }

    #[tokio::test]
    async fn keep_alive_when_no_audio_flows() {
        let fake = DeepgramFake::start(KEY).await;
        let stt = client(&fake, None);
        let s = stt.open();
        fake.wait_for(|c| {
            c.first()
                .is_some_and(|c| c.controls.iter().any(|k| k == "KeepAlive"))
        })
        .await;
        drop(s);
    }

    #[tokio::test]
    async fn lost_socket_reconnects_and_sends_buffered_audio() {
        let fake = DeepgramFake::start(KEY).await;
        fake.push(DgScript::DropAfterBytes(6400));
        let metrics = Metrics::new();
        let stt = client(&fake, Some(&metrics));
        let mut s = stt.open();
        for _ in 0..10 {
            s.send_audio(&frame());
        }
        // The fake closes with 1011 after 10 frames; keep talking meanwhile.
        fake.wait_for(|c| c.first().is_some_and(|c| c.ended)).await;
        for _ in 0..25 {
            s.send_audio(&frame());
        }
        // Frames written into the socket between the fake's close and the client reading it
        // are lost (at most a few); the rest was buffered and arrives on the new socket.
        let conns = fake
            .wait_for(|c| c.len() == 2 && c[1].audio_bytes >= 20 * 640)
            .await;
        assert!(conns[1].accepted);
        assert!(conns[1].audio_bytes <= 25 * 640);
        s.finalize();
        assert!(matches!(
            next_final(&mut s).await,
            SttEvent::Final {
                from_finalize: true,
                ..
            }
        ));
        assert!(
            metric(
                &metrics,
                "voxray_provider_retries_total",
                &["stt", "deepgram"]
            ) >= 1.0
        );
        s.close().await;
    }

    #[tokio::test]
    async fn refused_handshake_401_is_not_retried() {
        let fake = DeepgramFake::start("another-key").await;
        let stt = client(&fake, None);
        let mut s = stt.open();
        let ev = next_final(&mut s).await;
        match ev {
            SttEvent::Error(e) => {
                assert!(e.is_auth(), "{e:?}");
                assert!(!format!("{e:?}").contains(KEY));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(5), s.next_event())
                .await
                .unwrap(),
            None,
            "the session ends"
        );
        assert_eq!(fake.conns().len(), 1);
    }

    #[tokio::test]
    async fn server_errors_follow_the_reconnect_schedule_then_give_up() {
        let fake = DeepgramFake::start(KEY).await;
        for _ in 0..3 {
            fake.push(DgScript::Reject(503));
        }
        let metrics = Metrics::new();
        let stt = client(&fake, Some(&metrics));
        let mut s = stt.open();
        match next_final(&mut s).await {
            SttEvent::Error(e) => assert_eq!(e.status(), Some(503)),
            other => panic!("{other:?}"),
        }
        // One attempt plus the two scheduled reconnects.
        assert_eq!(fake.conns().len(), 3);
        assert_eq!(
            metric(
                &metrics,
                "voxray_provider_retries_total",
                &["stt", "deepgram"]
            ),
            2.0
        );
    }

    #[tokio::test]
    async fn default_reconnect_schedule() {
        let t = DeepgramTiming::default();
        assert_eq!(
            t.reconnect,
            [250, 500, 1000, 2000, 4000]
                .map(Duration::from_millis)
                .to_vec()
        );
        assert_eq!(t.keep_alive, Duration::from_secs(5));
    }
}

// ------------------------------------------------------------------ Cartesia

mod cartesia {
    use super::*;
    use crate::fakes::cartesia::{CaScript, CartesiaFake, MS_PER_CHAR};
    use voxray::services::tts::cartesia::CartesiaTts;
    use voxray::services::{StreamingTextToSpeech, TtsSession, TtsTurnEvent};

    fn client(fake: &CartesiaFake, metrics: Option<&Metrics>) -> CartesiaTts {
        let mut e = ep("cartesia", fake.base_url(), "sonic-3");
        e.voice = "a0e99841-438c-4a64-b679-ae501e7d6091".into();
        CartesiaTts::new(e, metrics)
    }

    /// Events until the turn's `Done` or `Error` (inclusive).
    async fn turn_events(s: &mut Box<dyn TtsSession>) -> Vec<TtsTurnEvent> {
        let mut out = Vec::new();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), s.next_event())
                .await
                .expect("an event within 10 s")
                .expect("session open");
            let last = matches!(ev, TtsTurnEvent::Done(_) | TtsTurnEvent::Error(..));
            out.push(ev);
            if last {
                return out;
            }
        }
    }

    fn audio_of(events: &[TtsTurnEvent], turn: u64) -> Vec<u8> {
        let mut pcm = Vec::new();
        for e in events {
            if let TtsTurnEvent::Event(
                t,
                TtsEvent::Audio {
                    pcm: p,
                    sample_rate,
                },
            ) = e
            {
                assert_eq!((*t, *sample_rate), (turn, 24_000));
                pcm.extend_from_slice(p);
            }
        }
        pcm
    }

    #[tokio::test]
    async fn contexts_per_turn_with_timestamps() {
        let fake = CartesiaFake::start(KEY).await;
        let metrics = Metrics::new();
        let tts = client(&fake, Some(&metrics));
        let mut s = tts.open();
        s.push_text(1, "Hello there. ");
        s.push_text(1, "How are you? ");
        s.end_turn(1);
        let events = turn_events(&mut s).await;
        assert_eq!(events.last(), Some(&TtsTurnEvent::Done(1)));
        let mut expected = fakes::tone(MS_PER_CHAR * 13, 24_000);
        expected.extend(fakes::tone(MS_PER_CHAR * 13, 24_000));
        assert_eq!(audio_of(&events, 1), expected);
        let words: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                TtsTurnEvent::Event(1, TtsEvent::Words(w)) => Some(w.clone()),
                _ => None,
            })
            .flatten()
            .map(|w| w.word)
            .collect();
        assert_eq!(words, ["Hello", "there.", "How", "are", "you?"]);

        let msgs = fake.messages();
        assert_eq!(msgs.len(), 3);
        let id = msgs[0]["context_id"].as_str().unwrap().to_string();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
        assert_eq!(
            msgs[0],
            serde_json::json!({"model_id":"sonic-3","transcript":"Hello there. ",
                "voice":{"mode":"id","id":"a0e99841-438c-4a64-b679-ae501e7d6091"},
                "output_format":{"container":"raw","encoding":"pcm_s16le","sample_rate":24000},
                "language":"en","context_id":id,"continue":true,"add_timestamps":true})
        );
        assert_eq!(msgs[1]["transcript"], "How are you? ");
        assert_eq!(msgs[1]["context_id"], id.as_str());
        assert_eq!(
            (&msgs[2]["transcript"], &msgs[2]["continue"]),
            (&serde_json::json!(""), &serde_json::json!(false))
        );
        // The next turn gets a fresh context on the same socket.
        s.push_text(2, "Bye. ");
        s.end_turn(2);
        let events = turn_events(&mut s).await;
        assert_eq!(events.last(), Some(&TtsTurnEvent::Done(2)));
        let msgs = fake.messages();
        assert_ne!(msgs[3]["context_id"], id.as_str());
        assert_eq!(*fake.state.handshakes.lock().unwrap(), 1);
        assert_eq!(
            metric(&metrics, "voxray_tts_ttfb_seconds_count", &["cartesia"]),
            2.0
        );
    }

    #[tokio::test]
    async fn cancel_stops_the_turn_and_the_next_turn_works() {
        let fake = CartesiaFake::start(KEY).await;
        fake.set_gap(Duration::from_millis(30));
        let tts = client(&fake, None);
        let mut s = tts.open();
        s.push_text(1, "A long first sentence that takes a while to say. ");
        let first = tokio::time::timeout(Duration::from_secs(10), s.next_event())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(first, TtsTurnEvent::Event(1, _)), "{first:?}");
        s.cancel_turn(1);
        let id = fake.messages()[0]["context_id"].clone();
        fake.wait_message(|m| m["cancel"] == serde_json::json!(true) && m["context_id"] == id)
            .await;
        s.push_text(2, "Second. ");
        s.end_turn(2);
        let events = turn_events(&mut s).await;
        assert_eq!(events.last(), Some(&TtsTurnEvent::Done(2)));
        assert!(
            events.iter().all(|e| !matches!(
                e,
                TtsTurnEvent::Event(1, _) | TtsTurnEvent::Done(1) | TtsTurnEvent::Error(1, _)
            )),
            "nothing of the cancelled turn after the cancel: {events:?}"
        );
    }

    #[tokio::test]
    async fn error_messages_in_both_shapes_end_the_turn_only() {
        let fake = CartesiaFake::start(KEY).await;
        fake.push(CaScript::ErrorStatusForm);
        fake.push(CaScript::ErrorTitleForm);
        let metrics = Metrics::new();
        let tts = client(&fake, Some(&metrics));
        let mut s = tts.open();
        for (turn, want) in [
            (1u64, "500: internal server error"),
            (
                2,
                "Invalid voice: The voice id does not exist. (voice_not_found)",
            ),
        ] {
            s.push_text(turn, "Hi. ");
            s.end_turn(turn);
            let events = turn_events(&mut s).await;
            match events.last().unwrap() {
                TtsTurnEvent::Error(t, ServiceError::Provider { detail, .. }) => {
                    assert_eq!((*t, detail.as_str()), (turn, want))
                }
                e => panic!("{e:?}"),
            }
        }
        s.push_text(3, "Fine. ");
        s.end_turn(3);
        assert_eq!(
            turn_events(&mut s).await.last(),
            Some(&TtsTurnEvent::Done(3))
        );
        assert_eq!(
            metric(
                &metrics,
                "voxray_provider_errors_total",
                &["tts", "cartesia"]
            ),
            2.0
        );
    }

    #[tokio::test]
    async fn refused_handshake_401_is_not_retried() {
        let fake = CartesiaFake::start("other").await;
        let tts = client(&fake, None);
        let mut s = tts.open();
        s.push_text(1, "Hi. ");
        match turn_events(&mut s).await.last().unwrap() {
            TtsTurnEvent::Error(1, e) => assert!(e.is_auth(), "{e:?}"),
            e => panic!("{e:?}"),
        }
        assert_eq!(*fake.state.handshakes.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn handshake_503_is_retried() {
        let fake = CartesiaFake::start(KEY).await;
        fake.push(CaScript::Reject(503));
        let tts = client(&fake, None);
        let mut s = tts.open();
        s.push_text(1, "Hi. ");
        s.end_turn(1);
        assert_eq!(
            turn_events(&mut s).await.last(),
            Some(&TtsTurnEvent::Done(1))
        );
        assert_eq!(*fake.state.handshakes.lock().unwrap(), 2);
    }

    #[tokio::test]
    async fn socket_lost_mid_turn_ends_it_and_the_next_turn_reconnects() {
        let fake = CartesiaFake::start(KEY).await;
        fake.push(CaScript::DropAfterChunks(2));
        let tts = client(&fake, None);
        let mut s = tts.open();
        s.push_text(1, "A sentence long enough for several chunks. ");
        s.end_turn(1);
        let events = turn_events(&mut s).await;
        assert_eq!(audio_of(&events, 1).len(), 2 * 4800);
        assert!(matches!(
            events.last().unwrap(),
            TtsTurnEvent::Error(1, ServiceError::StreamCut { .. })
        ));
        s.push_text(2, "Again. ");
        s.end_turn(2);
        assert_eq!(
            turn_events(&mut s).await.last(),
            Some(&TtsTurnEvent::Done(2))
        );
        assert_eq!(*fake.state.handshakes.lock().unwrap(), 2);
    }
}

mod slow_connect {
    use super::*;
    use crate::fakes::cartesia::{CaScript, CartesiaFake};
    use crate::fakes::deepgram::{DeepgramFake, DgScript};
    use voxray::services::stt::deepgram::{DeepgramStt, DeepgramTiming};
    use voxray::services::tts::cartesia::CartesiaTts;
    use voxray::services::{StreamingSpeechToText, StreamingTextToSpeech, SttEvent, TtsTurnEvent};

    #[tokio::test]
    async fn slow_cartesia_handshake_times_out_and_is_retried() {
        let fake = CartesiaFake::start(KEY).await;
        fake.push(CaScript::SlowHandshake(Duration::from_secs(3)));
        fake.set_latency(Duration::from_millis(80));
        let mut e = ep("cartesia", fake.base_url(), "sonic-3");
        e.voice = "v".into();
        let tts = CartesiaTts::new(e, None).with_policy(fast(Policy::tts()));
        let mut s = tts.open();
        let t0 = Instant::now();
        s.push_text(1, "Hi. ");
        s.end_turn(1);
        let first = tokio::time::timeout(Duration::from_secs(10), s.next_event())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(first, TtsTurnEvent::Event(1, _)), "{first:?}");
        // 0.4 s handshake timeout + backoff + 80 ms scripted latency.
        assert!(
            t0.elapsed() >= Duration::from_millis(480),
            "{:?}",
            t0.elapsed()
        );
        assert_eq!(*fake.state.handshakes.lock().unwrap(), 2);
    }

    #[tokio::test]
    async fn slow_deepgram_handshake_reconnects_and_keeps_the_audio() {
        let fake = DeepgramFake::start(KEY).await;
        fake.push(DgScript::SlowHandshake(Duration::from_secs(3)));
        fake.set_latency(Duration::from_millis(100));
        let stt = DeepgramStt::new(ep("deepgram", fake.base_url(), "nova-3"), None).with_timing(
            DeepgramTiming {
                reconnect: vec![Duration::from_millis(20)],
                connect_timeout: Duration::from_millis(300),
                ..DeepgramTiming::default()
            },
        );
        let mut s = stt.open();
        for _ in 0..10 {
            s.send_audio(&[0i16; 320]);
        }
        let conns = fake
            .wait_for(|c| c.len() == 2 && c[1].audio_bytes == 6400)
            .await;
        assert!(conns[1].accepted);
        let t0 = Instant::now();
        s.finalize();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), s.next_event())
                .await
                .unwrap()
                .unwrap()
            {
                SttEvent::Final { from_finalize, .. } => {
                    assert!(from_finalize);
                    break;
                }
                SttEvent::Error(e) => panic!("{e:?}"),
                _ => {}
            }
        }
        assert!(t0.elapsed() >= Duration::from_millis(100));
    }
}

#[tokio::test]
async fn dropping_a_request_before_its_first_byte_cancels_it() {
    let fake = Fake::openai(KEY).await;
    fake.set_latency(Duration::from_secs(5));
    let llm = OpenAiLlm::new(ep("openai", fake.base_url(), "gpt-4o-mini"), None);
    let msgs = history();
    let pending = llm.complete(&msgs);
    tokio::select! {
        _ = pending => panic!("the fake waits 5 s"),
        _ = fake.wait_requests(1) => {}
    }
    fake.wait_cancelled(0).await;

    let stt = OpenAiStt::new(ep("openai", fake.base_url(), "whisper-1"), None);
    let pcm = vec![0i16; 1600];
    let pending = stt.transcribe(&pcm);
    tokio::select! {
        _ = pending => panic!("the fake waits 5 s"),
        _ = fake.wait_requests(2) => {}
    }
    fake.wait_cancelled(1).await;
}

#[tokio::test]
async fn deepgram_lost_transcript_is_a_non_fatal_error_and_the_next_turn_works() {
    use crate::fakes::deepgram::{DeepgramFake, DgScript};
    use voxray::services::stt::deepgram::{DeepgramStt, DeepgramTiming};
    use voxray::services::{StreamingSpeechToText, SttEvent};
    let fake = DeepgramFake::start(KEY).await;
    fake.push(DgScript::DropOnFinalize);
    let stt = DeepgramStt::new(ep("deepgram", fake.base_url(), "nova-3"), None).with_timing(
        DeepgramTiming {
            reconnect: vec![Duration::from_millis(20)],
            ..DeepgramTiming::default()
        },
    );
    let mut s = stt.open();
    let mut finals = Vec::new();
    for turn in 0..2 {
        for _ in 0..5 {
            s.send_audio(&[0i16; 320]);
        }
        fake.wait_for(|c| c.len() == turn + 1 && c[turn].audio_bytes == 3200)
            .await;
        s.finalize();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), s.next_event())
                .await
                .unwrap()
                .unwrap();
            match ev {
                SttEvent::Final { .. } | SttEvent::Error(_) => {
                    finals.push(ev);
                    break;
                }
                _ => {}
            }
        }
    }
    assert_eq!(
        finals,
        vec![
            SttEvent::Error(ServiceError::StreamCut { stage: Stage::Stt }),
            SttEvent::Final {
                text: "hello world".into(),
                speech_final: true,
                from_finalize: true
            }
        ]
    );
}
