//! The `voice` agent end to end over `/ws` and WebRTC (`pipeline.md` §4.3, issue 12): a real utterance
//! streamed at real time → fake STT → fake LLM → fake TTS → bot audio, with the RTVI events in
//! order; barge-in keeps only the heard text in the next LLM request. The server is the real
//! binary; its providers are the loopback fakes of `tests/fakes`.

mod common;
mod fakes;
#[path = "common/rtcpeer.rs"]
mod rtcpeer;

use std::time::Duration;

use common::Server;
use common::wsclient::{Got, Mode, speech, talk, talk_then};
use fakes::{Fake, Reply};
use serde_json::{Value, json};

const KEY: &str = "sk-test-voice";

/// Three OpenAI-compatible fakes (one per stage, so each keeps its own reply script).
struct OpenAiFakes {
    stt: Fake,
    llm: Fake,
    tts: Fake,
}

async fn openai_fakes() -> OpenAiFakes {
    OpenAiFakes {
        stt: Fake::openai(KEY).await,
        llm: Fake::openai(KEY).await,
        tts: Fake::openai(KEY).await,
    }
}

fn openai_server(f: &OpenAiFakes) -> Server {
    Server::start(
        json!({
            "pipeline": "voice",
            "provider": "openai",
            "stt_base_url": f.stt.base_url(),
            "llm_base_url": f.llm.base_url(),
            "tts_base_url": f.tts.base_url(),
        }),
        &[("OPENAI_API_KEY", KEY)],
    )
}

fn chat_requests(fake: &Fake) -> Vec<Value> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .filter_map(|r| r.json)
        .collect()
}

async fn conversation(mode: Mode) {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("What is the weather like?"));
    f.llm.push(Reply::text("It is sunny today. Enjoy it!"));
    let server = openai_server(&f);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", mode.query()));
    let (got, _) = talk(
        &url,
        mode,
        speech("utt01_question_piper-joe.wav"),
        4000,
        Duration::from_secs(20),
        |r| r.events().iter().any(|e| e == "bot-stopped-speaking"),
    )
    .await;
    let events = got.events();
    // Protobuf carries transcripts and bot text as its own `transcription` and `text` frames.
    let (transcription, bot_text) = match mode {
        Mode::Protobuf => ("transcription", "text"),
        _ => ("user-transcription", "bot-tts-text"),
    };
    let wanted = [
        "user-started-speaking",
        "user-stopped-speaking",
        transcription,
        "bot-llm-text",
        bot_text,
        "bot-started-speaking",
        "bot-stopped-speaking",
    ];
    let positions: Vec<Option<usize>> = wanted
        .iter()
        .map(|w| events.iter().position(|e| e == w))
        .collect();
    assert!(positions.iter().all(Option::is_some), "{events:?}");
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "out of order: {events:?}"
    );
    assert!(!got.audio().is_empty(), "no bot audio: {events:?}");
    // The transcript reached the client and the LLM; the system prompt came first.
    let tx = got.items.iter().any(|(_, g)| {
        matches!(g, Got::Event(k, v) if k == "user-transcription"
            && v["data"]["text"] == "What is the weather like?")
    });
    assert!(tx || mode == Mode::Protobuf, "{:?}", got.items.len());
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 1);
    let msgs = chats[0]["messages"].as_array().unwrap();
    assert_eq!(msgs[0]["role"], "system");
    assert_eq!(msgs.last().unwrap()["content"], "What is the weather like?");
    // The TTS got each sentence, markdown-free.
    let tts: Vec<String> = f
        .tts
        .requests()
        .iter()
        .filter_map(|r| r.json.as_ref()?["input"].as_str().map(str::to_string))
        .collect();
    assert_eq!(tts.len(), 2, "{tts:?}");
    // Two requests may be in flight at once, so the fake may record them in either order.
    assert!(
        tts.iter().any(|t| t.trim() == "It is sunny today."),
        "{tts:?}"
    );
    // Each sentence's `bot-output` as its audio starts, and one `metrics` event for the turn
    // with the provider waits.
    let outputs: Vec<&Value> = got
        .items
        .iter()
        .filter_map(|(_, g)| match g {
            Got::Event(k, v) if k == "bot-output" => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(outputs.len(), 2, "{events:?}");
    assert_eq!(outputs[0]["data"]["text"], "It is sunny today.");
    assert_eq!(outputs[0]["data"]["output_type"], "sentence");
    assert_eq!(outputs[1]["data"]["text"], "Enjoy it!");
    let started = events.iter().position(|e| e == "bot-started-speaking");
    let first_output = events.iter().position(|e| e == "bot-output");
    assert!(first_output.unwrap() < started.unwrap(), "{events:?}");
    let metrics: Vec<&Value> = got
        .items
        .iter()
        .filter_map(|(_, g)| match g {
            Got::Event(k, v) if k == "metrics" => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(metrics.len(), 1, "{events:?}");
    let ttfb = metrics[0]["data"]["ttfb"].as_array().unwrap();
    let procs: Vec<&str> = ttfb
        .iter()
        .map(|e| e["processor"].as_str().unwrap())
        .collect();
    assert_eq!(procs, ["stt", "llm", "tts"], "{:?}", metrics[0]);
    for e in ttfb {
        let v = e["value"].as_f64().unwrap();
        assert!((0.0..5.0).contains(&v), "{e}");
    }
    assert_eq!(ttfb[1]["model"], "gpt-4o-mini");
    let overhead = metrics[0]["data"]["processing"][0]["value"]
        .as_f64()
        .unwrap();
    assert!((0.0..1.0).contains(&overhead), "{:?}", metrics[0]);
    // The turn overhead histogram: one turn, a plausible share.
    let count = server
        .metric("voxray_turn_overhead_seconds_count{pipeline=\"voice\"}")
        .await;
    let sum = server
        .metric("voxray_turn_overhead_seconds_sum{pipeline=\"voice\"}")
        .await;
    assert_eq!(count, Some(1.0));
    assert!(sum.is_some_and(|s| (0.0..1.0).contains(&s)), "{sum:?}");
    // TTFB histograms after a conversation.
    for series in [
        "voxray_stt_ttfb_seconds_count{provider=\"openai\"}",
        "voxray_llm_ttfb_seconds_count{provider=\"openai\"}",
        "voxray_tts_ttfb_seconds_count{provider=\"openai\"}",
        "voxray_user_bot_latency_seconds_count{pipeline=\"voice\"}",
    ] {
        let v = server.metric(series).await;
        assert!(v.is_some_and(|v| v >= 1.0), "{series}: {v:?}");
    }
}

#[tokio::test]
async fn openai_conversation_over_json() {
    conversation(Mode::Json).await;
}

#[tokio::test]
async fn openai_conversation_over_protobuf() {
    conversation(Mode::Protobuf).await;
}

/// A whole conversation over WebRTC (issue 12 acceptance): a real utterance sent as real-time
/// Opus → fake STT → fake LLM → fake TTS → bot audio on the media track, with the RTVI user
/// transcription, bot text and speaking events in order on the data channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_conversation_over_webrtc() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("What is the weather like?"));
    f.llm.push(Reply::text("It is sunny today. Enjoy it!"));
    let server = openai_server(&f);
    let mut client = rtcpeer::Client::new().await;
    let sdp = client.offer(true).await;
    let res = reqwest::Client::new()
        .post(server.url("/api/offer"))
        .json(&json!({"sdp": sdp, "type": "offer", "pipeline": "voice"}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    client
        .apply_answer(
            answer["sdp"].as_str().unwrap(),
            answer["pc_id"].as_str().unwrap(),
        )
        .await;
    client.wait_connected().await;
    tokio::time::timeout(Duration::from_secs(5), client.dc_open.notified())
        .await
        .expect("data channel opens");
    let speech = rtcpeer::speech48("utt01_question_piper-joe.wav");
    client
        .send_audio(&speech, Duration::from_millis(1000))
        .await;
    client
        .wait_events("bot-stopped-speaking", 1, Duration::from_secs(20))
        .await;
    let messages = client.messages();
    let kinds: Vec<&str> = messages
        .iter()
        .map(|(_, v)| v["type"].as_str().unwrap_or(""))
        .collect();
    // Each wanted event after the previous one (interim transcripts may come earlier).
    let wanted = [
        "user-started-speaking",
        "user-stopped-speaking",
        "user-transcription",
        "bot-llm-text",
        "bot-tts-text",
        "bot-started-speaking",
        "bot-stopped-speaking",
    ];
    let mut at = Vec::new();
    let mut from = 0;
    for w in wanted {
        let Some(i) = kinds[from..].iter().position(|k| *k == w) else {
            panic!("{w} missing after #{from}: {kinds:?}");
        };
        at.push(from + i);
        from += i + 1;
    }
    // The transcription that came before the bot's text is the final one with the fake's text.
    let final_tx = messages[..at[3]].iter().any(|(_, v)| {
        v["type"] == "user-transcription"
            && v["data"]["final"] == true
            && v["data"]["text"] == "What is the weather like?"
    });
    assert!(final_tx, "{messages:?}");
    let bot_text: Vec<&str> = messages
        .iter()
        .filter(|(_, v)| v["type"] == "bot-tts-text")
        .filter_map(|(_, v)| v["data"]["text"].as_str().map(str::trim))
        .collect();
    assert_eq!(bot_text, ["It is sunny today.", "Enjoy it!"], "{kinds:?}");
    // Bot audio arrived on the media track while the bot was speaking (allow the SCTP event
    // and the SRTP media their separate paths: from the start event until 1 s after the stop).
    let (started, stopped) = (messages[at[5]].0, messages[at[6]].0);
    let audible = client.audible_between(
        started - Duration::from_millis(200),
        stopped + Duration::from_secs(1),
    );
    // The fake TTS answers `MS_PER_CHAR` ms of tone per input character.
    let expected = fakes::openai::MS_PER_CHAR as usize
        * bot_text.iter().map(|t| t.chars().count()).sum::<usize>()
        / 20;
    assert!(
        audible.len() * 4 >= expected * 3,
        "{} audible bot packets, {expected} expected",
        audible.len()
    );
    client.close().await;
}

#[tokio::test]
async fn barge_in_keeps_only_the_heard_text() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("Tell me a story."));
    f.stt.push(Reply::text("Stop please."));
    let story = "Once upon a time there was a small robot. It lived in a quiet town by the sea. \
                 Every morning it walked to the harbour to count the boats. One day a storm came \
                 and the boats did not return. The robot waited on the pier for three long days. \
                 On the fourth day the sky cleared and the sea was calm again. Far away a light \
                 blinked on the water and the robot counted it as one boat. Then came another \
                 light, and another, until every boat of the town was home again safe and sound. \
                 The people of the town thanked the robot and built it a little house on the pier.";
    f.llm.push(Reply::text(story));
    f.llm.push(Reply::text("Okay."));
    // Slow TTS bodies: a request is still streaming when the user cuts in.
    f.tts.set_chunk_gap(Duration::from_millis(30));
    let server = openai_server(&f);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    // Speak, wait for the reply to be well under way, then speak again over it.
    let utt = speech("utt01_question_piper-joe.wav");
    let mut samples = utt.clone();
    samples.extend(std::iter::repeat_n(0i16, 16_000 * 2));
    samples.extend(utt);
    let (got, _) = talk(
        &url,
        Mode::Json,
        samples,
        4000,
        Duration::from_secs(30),
        |r| r.event_count("bot-started-speaking") >= 2,
    )
    .await;
    let events = got.events();
    assert!(events.iter().any(|e| e == "bot-interrupted"), "{events:?}");
    // No stale audio: nothing between the interruption (+ one 20 ms frame) and the next
    // bot turn's start.
    let t_int = got
        .items
        .iter()
        .find_map(|(t, g)| matches!(g, Got::Event(k, _) if k == "bot-interrupted").then_some(*t))
        .unwrap();
    let t_next = got
        .items
        .iter()
        .filter_map(|(t, g)| {
            matches!(g, Got::Event(k, _) if k == "bot-started-speaking").then_some(*t)
        })
        .nth(1)
        .unwrap();
    let stale = got
        .audio()
        .iter()
        .filter(|(t, _)| *t > t_int + Duration::from_millis(20) && *t < t_next)
        .count();
    assert!(
        stale <= 1,
        "{stale} stale audio messages after the interruption"
    );
    // The second LLM request holds only what was heard of the story.
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 2);
    let msgs = chats[1]["messages"].as_array().unwrap();
    let assistant = msgs
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("assistant message")["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!assistant.is_empty());
    assert!(story.starts_with(&assistant), "{assistant:?}");
    assert!(
        assistant.len() < story.len() - 40,
        "kept more than was heard: {assistant:?}"
    );
    assert_eq!(msgs.last().unwrap()["content"], "Stop please.");
    // The TTS request in flight at the barge-in was dropped (the fake saw the client go).
    let reqs = f.tts.requests();
    let mut cancelled = false;
    for i in 0..reqs.len() {
        if f.tts.wait_outcome(i).await == fakes::Outcome::Cancelled {
            cancelled = true;
        }
    }
    assert!(cancelled, "no TTS request was cancelled");
}

/// Which provider answers 401 in [`a_401_gives_one_error_and_the_session_stays_up`].
#[derive(Debug, Clone, Copy)]
enum Rejecting {
    OpenAiStt,
    OpenAiLlm,
    OpenAiTts,
    Anthropic,
    ElevenLabs,
    Deepgram,
    Cartesia,
}

/// `providers.md` §7: a 401 gives one non-fatal client `error` per session and the session
/// stays up. The rejecting provider answers 401 to the first two turns and normally to the
/// third. Positive signal first: the third turn is answered (a `bot-stopped-speaking` after
/// its `user-stopped-speaking`); only then is the error count asserted, so a dead session
/// fails (no answer) and so does a second `error` (it would come before the third answer on
/// the same ordered socket).
async fn a_401_gives_one_error_and_the_session_stays_up(which: Rejecting) {
    let f = openai_fakes().await;
    let an = Fake::anthropic("sk-ant-test").await;
    let el = Fake::elevenlabs("el-key").await;
    let dg = fakes::deepgram::DeepgramFake::start("dg-key").await;
    let ca = fakes::cartesia::CartesiaFake::start("ca-key").await;
    let rejected = || Reply::fault(fakes::Fault::Status(401, None));
    let (stt, llm, tts) = match which {
        Rejecting::OpenAiStt => {
            f.stt.push(rejected());
            f.stt.push(rejected());
            ("openai", "openai", "openai")
        }
        Rejecting::OpenAiLlm => {
            f.llm.push(rejected());
            f.llm.push(rejected());
            ("openai", "openai", "openai")
        }
        Rejecting::OpenAiTts => {
            f.tts.push(rejected());
            f.tts.push(rejected());
            ("openai", "openai", "openai")
        }
        Rejecting::Anthropic => {
            an.push(rejected());
            an.push(rejected());
            ("openai", "anthropic", "openai")
        }
        Rejecting::ElevenLabs => {
            el.push(rejected());
            el.push(rejected());
            ("openai", "openai", "elevenlabs")
        }
        Rejecting::Deepgram => {
            dg.push(fakes::deepgram::DgScript::Reject(401));
            ("deepgram", "openai", "openai")
        }
        Rejecting::Cartesia => {
            ca.push(fakes::cartesia::CaScript::Reject(401));
            ("openai", "openai", "cartesia")
        }
    };
    // One sentence per reply: one TTS request per turn.
    for _ in 0..3 {
        f.llm.push(Reply::text("Okay."));
        an.push(Reply::text("Okay."));
    }
    let mut config = json!({
        "pipeline": "voice",
        "stt_provider": stt,
        "llm_provider": llm,
        "tts_provider": tts,
        "tts_voice": "voice-1",
    });
    config["stt_base_url"] = json!(match stt {
        "deepgram" => dg.base_url(),
        _ => f.stt.base_url(),
    });
    config["llm_base_url"] = json!(match llm {
        "anthropic" => an.base_url(),
        _ => f.llm.base_url(),
    });
    config["tts_base_url"] = json!(match tts {
        "elevenlabs" => el.base_url(),
        "cartesia" => ca.base_url(),
        _ => f.tts.base_url(),
    });
    if llm == "anthropic" {
        config["model"] = json!("claude-3-5-haiku-latest");
    }
    let server = Server::start(
        config,
        &[
            ("OPENAI_API_KEY", KEY),
            ("ANTHROPIC_API_KEY", "sk-ant-test"),
            ("ELEVENLABS_API_KEY", "el-key"),
            ("DEEPGRAM_API_KEY", "dg-key"),
            ("CARTESIA_API_KEY", "ca-key"),
        ],
    );
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let utt = speech("utt01_question_piper-joe.wav");
    let mut samples = Vec::new();
    for i in 0..3 {
        if i > 0 {
            samples.extend(std::iter::repeat_n(0i16, 16_000 * 3 / 2));
        }
        samples.extend_from_slice(&utt);
    }
    // The third turn answered: a `bot-stopped-speaking` after the third end of speech.
    let third_answered = |events: &[String]| {
        events
            .iter()
            .enumerate()
            .filter(|(_, e)| *e == "user-stopped-speaking")
            .nth(2)
            .is_some_and(|(i, _)| events[i..].iter().any(|e| e == "bot-stopped-speaking"))
    };
    // After the audio and its 4 s tail, a `client-ready` whose `bot-ready` closes the record.
    let ready = json!({"label": "rtvi-ai", "type": "client-ready", "id": "after-401",
        "data": {"version": "2.2.0"}});
    let (got, _) = talk_then(
        &url,
        Mode::Json,
        samples,
        4000,
        Some(ready),
        Duration::from_secs(40),
        |r| r.events().iter().any(|e| e == "bot-ready"),
    )
    .await;
    let events = got.events();
    assert!(
        events.iter().any(|e| e == "bot-ready"),
        "{which:?}: no bot-ready after the audio (session down?): {events:?}\n{}",
        server.log()
    );
    let heard = events
        .iter()
        .filter(|e| *e == "user-stopped-speaking")
        .count();
    assert_eq!(heard, 3, "{which:?}: {events:?}");
    // Deepgram: a refused handshake is not retried today (`providers.md` §3 reconnects only
    // after a close of an open socket), so later turns are heard but not transcribed; the
    // session stays up (the turns are heard and `bot-ready` answers).
    if !matches!(which, Rejecting::Deepgram) {
        assert!(
            third_answered(&events),
            "{which:?}: the turn after the 401s was not answered: {events:?}\n{}",
            server.log()
        );
    }
    let errors: Vec<&Value> = got
        .items
        .iter()
        .filter_map(|(_, g)| match g {
            Got::Event(k, v) if k == "error" => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{which:?}: {events:?}");
    let message = errors[0]["data"]["error"].as_str().unwrap_or("");
    assert!(message.contains("401"), "{which:?}: {}", errors[0]);
    assert_eq!(errors[0]["data"]["fatal"], false, "{}", errors[0]);
}

#[tokio::test]
async fn a_401_from_openai_stt_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::OpenAiStt).await;
}

#[tokio::test]
async fn a_401_from_openai_llm_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::OpenAiLlm).await;
}

#[tokio::test]
async fn a_401_from_openai_tts_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::OpenAiTts).await;
}

#[tokio::test]
async fn a_401_from_anthropic_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::Anthropic).await;
}

#[tokio::test]
async fn a_401_from_elevenlabs_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::ElevenLabs).await;
}

#[tokio::test]
async fn a_401_from_deepgram_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::Deepgram).await;
}

#[tokio::test]
async fn a_401_from_cartesia_gives_one_error_and_the_session_stays_up() {
    a_401_gives_one_error_and_the_session_stays_up(Rejecting::Cartesia).await;
}

/// A conversation with `config`/`env`: the events in order and bot audio arrive; returns the
/// server (for metrics) and the events.
async fn converse(config: Value, env: &[(&str, &str)]) -> Vec<String> {
    let server = Server::start(config, env);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let (got, _) = talk(
        &url,
        Mode::Json,
        speech("utt01_question_piper-joe.wav"),
        4000,
        Duration::from_secs(20),
        |r| r.events().iter().any(|e| e == "bot-stopped-speaking"),
    )
    .await;
    let events = got.events();
    let wanted = [
        "user-stopped-speaking",
        "user-transcription",
        "bot-llm-text",
        "bot-tts-text",
        "bot-started-speaking",
        "bot-stopped-speaking",
    ];
    // Each wanted event after the previous one (interim transcripts may come earlier).
    let mut from = 0;
    for w in wanted {
        let at = events[from..].iter().position(|e| e == w);
        assert!(at.is_some(), "{w} missing after #{from}: {events:?}");
        from += at.unwrap() + 1;
    }
    assert!(!got.audio().is_empty(), "no bot audio: {events:?}");
    events
}

#[tokio::test]
async fn deepgram_anthropic_cartesia_conversation() {
    let dg = fakes::deepgram::DeepgramFake::start("dg-key").await;
    let an = Fake::anthropic("sk-ant-test").await;
    let ca = fakes::cartesia::CartesiaFake::start("ca-key").await;
    converse(
        json!({
            "pipeline": "voice",
            "stt_provider": "deepgram",
            "llm_provider": "anthropic",
            "model": "claude-3-5-haiku-latest",
            "tts_provider": "cartesia",
            "tts_voice": "voice-1",
            "stt_base_url": dg.base_url(),
            "llm_base_url": an.base_url(),
            "tts_base_url": ca.base_url(),
        }),
        &[
            ("DEEPGRAM_API_KEY", "dg-key"),
            ("ANTHROPIC_API_KEY", "sk-ant-test"),
            ("CARTESIA_API_KEY", "ca-key"),
        ],
    )
    .await;
    // Deepgram heard the audio and was asked to finalize at the turn end.
    let conns = dg.conns();
    assert!(
        conns
            .iter()
            .any(|c| c.audio_bytes > 0 && c.controls.iter().any(|m| m.contains("Finalize")))
    );
}

#[tokio::test]
async fn elevenlabs_tts_conversation() {
    let f = openai_fakes().await;
    let el = Fake::elevenlabs("el-key").await;
    converse(
        json!({
            "pipeline": "voice",
            "stt_provider": "openai",
            "llm_provider": "openai",
            "tts_provider": "elevenlabs",
            "tts_voice": "voice-1",
            "stt_base_url": f.stt.base_url(),
            "llm_base_url": f.llm.base_url(),
            "tts_base_url": el.base_url(),
        }),
        &[("OPENAI_API_KEY", KEY), ("ELEVENLABS_API_KEY", "el-key")],
    )
    .await;
    assert!(!el.requests().is_empty());
}

#[tokio::test]
async fn a_cut_llm_stream_ends_the_turn_and_the_next_turn_is_answered() {
    let f = openai_fakes().await;
    f.llm.push(Reply {
        text: Some("The first answer is long. It will be cut in the middle of this".into()),
        fault: Some(fakes::Fault::CutAfter(9)),
        tool_call: None,
    });
    f.llm.push(Reply::text("Second answer."));
    let server = openai_server(&f);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let utt = speech("utt01_question_piper-joe.wav");
    let mut samples = utt.clone();
    samples.extend(std::iter::repeat_n(0i16, 16_000 * 2));
    samples.extend(utt);
    let (got, _) = talk(
        &url,
        Mode::Json,
        samples,
        4000,
        Duration::from_secs(30),
        |r| r.event_count("bot-stopped-speaking") >= 2,
    )
    .await;
    let texts: Vec<String> = got
        .items
        .iter()
        .filter_map(|(_, g)| match g {
            Got::Event(k, v) if k == "bot-tts-text" => v["data"]["text"].as_str().map(String::from),
            _ => None,
        })
        .collect();
    // The complete sentence of the cut reply was spoken, the fragment was not; the next turn
    // was answered.
    assert_eq!(
        texts,
        ["The first answer is long.", "Second answer."],
        "{:?}",
        got.events()
    );
    assert_eq!(chat_requests(&f.llm).len(), 2);
}

#[test]
fn check_production_reports_plain_http_to_a_remote_provider() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        json!({
            "provider": "openai",
            "model": "gpt-4o-mini",
            "llm_base_url": "http://10.1.2.3:8000/v1",
            "stt_base_url": "http://127.0.0.1:9/v1",
        })
        .to_string(),
    )
    .unwrap();
    let (_, stdout, stderr) = common::run_cli(
        &["--config", "config.json", "check", "--production"],
        &[("OPENAI_API_KEY", KEY)],
        dir.path(),
    );
    let out = format!("{stdout}{stderr}");
    assert!(
        out.contains("llm_base_url = http://10.1.2.3:8000/v1 (openai, plain text)"),
        "{out}"
    );
    // A loopback endpoint is not reported.
    assert!(!out.contains("stt_base_url = http://127.0.0.1"), "{out}");
}

#[tokio::test]
async fn barge_in_with_cartesia_timestamps_keeps_only_the_heard_words() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("Tell me a story."));
    f.stt.push(Reply::text("Stop please."));
    f.llm.push(Reply::text(STORY));
    f.llm.push(Reply::text("Okay."));
    let ca = fakes::cartesia::CartesiaFake::start("ca-key").await;
    ca.set_gap(Duration::from_millis(30));
    let server = Server::start(
        json!({
            "pipeline": "voice",
            "stt_provider": "openai",
            "llm_provider": "openai",
            "tts_provider": "cartesia",
            "tts_voice": "voice-1",
            "stt_base_url": f.stt.base_url(),
            "llm_base_url": f.llm.base_url(),
            "tts_base_url": ca.base_url(),
        }),
        &[("OPENAI_API_KEY", KEY), ("CARTESIA_API_KEY", "ca-key")],
    );
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let (got, _) = talk(
        &url,
        Mode::Json,
        ask_then(speech("utt02_command_piper-joe.wav"), 2_000),
        4_000,
        Duration::from_secs(30),
        |r| r.event_count("bot-started-speaking") >= 2,
    )
    .await;
    let events = got.events();
    assert!(events.iter().any(|e| e == "bot-interrupted"), "{events:?}");
    // The next request's assistant message: the words heard, by the TTS's own timestamps.
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 2, "{events:?}");
    let msgs = chats[1]["messages"].as_array().unwrap();
    let assistant = msgs
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("assistant message")["content"]
        .as_str()
        .unwrap()
        .to_string();
    let story_words: Vec<&str> = STORY.split_whitespace().collect();
    let heard: Vec<&str> = assistant.split_whitespace().collect();
    assert!(!heard.is_empty());
    assert_eq!(heard, story_words[..heard.len()], "{assistant:?}");
    assert!(
        heard.len() + 10 < story_words.len(),
        "kept too much: {assistant:?}"
    );
    assert_eq!(msgs.last().unwrap()["content"], "Stop please.");
}

#[tokio::test]
async fn an_idle_user_is_prompted_once_then_the_session_ends() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("Hello there."));
    f.llm.push(Reply::text("Hi, how can I help?"));
    f.llm.push(Reply::text("Are you still there?"));
    let server = Server::start(
        json!({
            "pipeline": "voice",
            "provider": "openai",
            "stt_base_url": f.stt.base_url(),
            "llm_base_url": f.llm.base_url(),
            "tts_base_url": f.tts.base_url(),
            "user_idle_timeout_secs": 1.0,
        }),
        &[("OPENAI_API_KEY", KEY)],
    );
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    // Silence for long after the question: the talk ends when the server closes.
    let (got, start) = talk(
        &url,
        Mode::Json,
        speech("utt01_question_piper-joe.wav"),
        15_000,
        Duration::from_secs(30),
        |_| false,
    )
    .await;
    let events = got.events();
    // The reply, then the check-in, then the end (the server closed well before the tail).
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "bot-stopped-speaking")
            .count(),
        2,
        "{events:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "the session did not end"
    );
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 2);
    let last = chats[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "system", "{last}");
    assert!(
        last["content"].as_str().unwrap().contains("silent"),
        "{last}"
    );
    // The check-in came a second after the reply ended, not at once.
    let stops: Vec<_> = got
        .items
        .iter()
        .filter(|(_, g)| matches!(g, Got::Event(k, _) if k == "bot-stopped-speaking"))
        .map(|(t, _)| *t)
        .collect();
    let second_start = got
        .items
        .iter()
        .filter(|(_, g)| matches!(g, Got::Event(k, _) if k == "bot-started-speaking"))
        .map(|(t, _)| *t)
        .nth(1)
        .unwrap();
    assert!(
        second_start >= stops[0] + Duration::from_millis(900),
        "{events:?}"
    );
}

#[test]
fn a_placeholder_anthropic_key_is_named_as_such_not_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        json!({
            "pipeline": "voice",
            "stt_provider": "openai",
            "llm_provider": "anthropic",
            "model": "claude-3-5-haiku-latest",
            "tts_provider": "openai",
        })
        .to_string(),
    )
    .unwrap();
    let value = "your-anthropic-key-here";
    let (code, stdout, stderr) = common::run_cli(
        &["--config", "config.json", "serve"],
        &[("ANTHROPIC_API_KEY", value), ("OPENAI_API_KEY", KEY)],
        dir.path(),
    );
    let out = format!("{stdout}{stderr}");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("api_keys.anthropic: the value from")
            && out.contains(
                "looks like a placeholder, not a key (Anthropic keys start with sk-ant-)"
            ),
        "{out}"
    );
    assert!(!out.contains("no key found"), "{out}");
    assert!(!out.contains(value), "the value was printed: {out}");
}

#[tokio::test]
async fn dtmf_digits_become_one_turn_at_hash_or_after_two_quiet_seconds() {
    use futures_util::{SinkExt, StreamExt};
    let f = openai_fakes().await;
    f.llm.push(Reply::text("Got it."));
    f.llm.push(Reply::text("Thanks."));
    let server = openai_server(&f);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut tx, mut rx) = ws.split();
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    let dtmf = |buttons: &[&str]| {
        common::wsclient::rtvi_message(
            Mode::Json,
            &json!({"label":"rtvi-ai","type":"dtmf","id":"d1","data":{"buttons":buttons}}),
        )
    };
    let last_user = |reqs: &[Value]| {
        reqs.last().unwrap()["messages"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .unwrap()["content"]
            .clone()
    };
    // `#` ends the digits at once.
    tx.send(dtmf(&["1", "2", "3", "#"])).await.unwrap();
    f.llm.wait_requests(1).await;
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 1);
    assert_eq!(last_user(&chats), "DTMF: 123");
    // Without `#`, two quiet seconds end them.
    let t0 = std::time::Instant::now();
    tx.send(dtmf(&["4"])).await.unwrap();
    tx.send(dtmf(&["5"])).await.unwrap();
    f.llm.wait_requests(2).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(1_900),
        "{:?}",
        t0.elapsed()
    );
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 2);
    assert_eq!(last_user(&chats), "DTMF: 45");
    reader.abort();
}

#[tokio::test]
async fn without_interruptions_speech_over_the_bot_is_answered_after_it() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("Tell me a story."));
    f.stt.push(Reply::text("Please turn off the lights."));
    f.llm.push(Reply::text(STORY));
    f.llm.push(Reply::text("Done."));
    f.tts.set_chunk_gap(Duration::from_millis(30));
    let server = Server::start(
        json!({
            "pipeline": "voice",
            "provider": "openai",
            "stt_base_url": f.stt.base_url(),
            "llm_base_url": f.llm.base_url(),
            "tts_base_url": f.tts.base_url(),
            "allow_interruptions": false,
        }),
        &[("OPENAI_API_KEY", KEY)],
    );
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let (got, _) = talk(
        &url,
        Mode::Json,
        ask_then(speech("utt02_command_piper-joe.wav"), 1_000),
        4_000,
        Duration::from_secs(30),
        |r| r.event_count("bot-stopped-speaking") >= 2,
    )
    .await;
    let events = got.events();
    assert!(!events.iter().any(|e| e == "bot-interrupted"), "{events:?}");
    // The whole story, then the answer to the words spoken over it.
    let texts: Vec<&str> = event_data(&got, "bot-tts-text")
        .iter()
        .map(|v| v["data"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 9, "{texts:?}");
    assert_eq!(texts[8], "Done.");
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 2);
    let msgs = chats[1]["messages"].as_array().unwrap();
    assert_eq!(
        msgs.last().unwrap()["content"],
        "Please turn off the lights."
    );
    let assistant = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(
        assistant["content"],
        STORY.split_whitespace().collect::<Vec<_>>().join(" ")
    );
}

const STORY: &str = "Once upon a time there was a small robot. It lived in a quiet town by the \
    sea. Every morning it walked to the harbour to count the boats. One day a storm came and \
    the boats did not return. The robot waited on the pier for three long days. On the fourth \
    day the sky cleared and the sea was calm again. Far away a light blinked on the water and \
    the robot counted it as one boat. Then came another light, and another, until every boat \
    of the town was home again safe and sound.";

/// The audio of a user who asks, waits `gap_ms` into the bot's reply, then makes `sound`.
fn ask_then(sound: Vec<i16>, gap_ms: usize) -> Vec<i16> {
    let mut samples = speech("utt01_question_piper-joe.wav");
    samples.extend(std::iter::repeat_n(0i16, 16 * gap_ms));
    samples.extend(sound);
    samples
}

fn event_data<'a>(got: &'a common::wsclient::Received, kind: &str) -> Vec<&'a Value> {
    got.items
        .iter()
        .filter_map(|(_, g)| match g {
            Got::Event(k, v) if k == kind => Some(v),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_noise_burst_during_the_reply_resumes_it() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("Tell me a story."));
    // The noise burst has no words.
    f.stt.push(Reply::text(""));
    f.stt.push(Reply::text("What happened next?"));
    f.llm.push(Reply::text(STORY));
    f.llm.push(Reply::text("The end."));
    f.tts.set_chunk_gap(Duration::from_millis(30));
    let server = openai_server(&f);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    // Half a second of loud noise 1.5 s after the question ended (about 0.8 s into the reply).
    let noise: Vec<i16> = speech("ns_brown-noise_loud_3s.wav")
        .into_iter()
        .take(8_000)
        .collect();
    // Then, well after the resumed story has played out, a new question.
    let mut samples = ask_then(noise, 1_500);
    samples.extend(std::iter::repeat_n(0i16, 16 * 9_000));
    samples.extend(speech("utt02_command_piper-joe.wav"));
    let (got, _) = talk(
        &url,
        Mode::Json,
        samples,
        3_000,
        Duration::from_secs(40),
        |r| r.event_count("bot-stopped-speaking") >= 3,
    )
    .await;
    let events = got.events();
    let t_int = got.event_at("bot-interrupted", got.items[0].0);
    let t_res = got.event_at("bot-interruption-resumed", got.items[0].0);
    assert!(t_int.is_some() && t_res.is_some(), "{events:?}");
    let (t_int, t_res) = (t_int.unwrap(), t_res.unwrap());
    // Resumed after the timeout (1.5 s), with audio again.
    assert!(t_res >= t_int + Duration::from_millis(1_400), "{events:?}");
    let resumed_audio = got.audio().iter().filter(|(t, _)| *t > t_res).count();
    assert!(resumed_audio > 0, "no audio after the resume: {events:?}");
    // What resumes is the unheard rest of the story, not the whole story again.
    let text = event_data(&got, "bot-interruption-resumed")[0]["data"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(STORY.ends_with(&text), "{text:?}");
    assert!(text.len() < STORY.len() - 20, "{text:?}");
    let tts_inputs: Vec<String> = f
        .tts
        .requests()
        .iter()
        .filter_map(|r| r.json.as_ref()?["input"].as_str().map(str::to_string))
        .collect();
    assert!(
        tts_inputs
            .iter()
            .any(|t| STORY.contains(t.trim()) && text.starts_with(t.trim())),
        "the resumed reply was not re-synthesised: {tts_inputs:?}"
    );
    // The noise was not answered; the next question's request remembers the story as heard:
    // the part before the noise and the resumed rest, each word once.
    let chats = chat_requests(&f.llm);
    assert_eq!(chats.len(), 2, "{events:?}");
    let msgs = chats[1]["messages"].as_array().unwrap();
    let assistant = msgs.iter().find(|m| m["role"] == "assistant").unwrap()["content"]
        .as_str()
        .unwrap();
    assert_eq!(
        assistant.split_whitespace().collect::<Vec<_>>(),
        STORY.split_whitespace().collect::<Vec<_>>()
    );
    assert_eq!(msgs.last().unwrap()["content"], "What happened next?");
    assert_eq!(
        server.metric("voxray_false_interruptions_total").await,
        Some(1.0)
    );
}

#[tokio::test]
async fn real_words_after_a_barge_in_are_answered_not_resumed() {
    let f = openai_fakes().await;
    f.stt.push(Reply::text("Tell me a story."));
    f.stt.push(Reply::text("Please turn off the lights."));
    f.llm.push(Reply::text(STORY));
    f.llm.push(Reply::text("Done."));
    f.tts.set_chunk_gap(Duration::from_millis(30));
    let server = openai_server(&f);
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let (got, _) = talk(
        &url,
        Mode::Json,
        ask_then(speech("utt02_command_piper-joe.wav"), 1_500),
        4_000,
        Duration::from_secs(30),
        |r| r.event_count("bot-stopped-speaking") >= 2,
    )
    .await;
    let events = got.events();
    assert!(events.iter().any(|e| e == "bot-interrupted"), "{events:?}");
    // The answer to the words played out (well past the 1.5 s timeout): no resume.
    let texts: Vec<&Value> = event_data(&got, "bot-tts-text");
    assert_eq!(texts.last().unwrap()["data"]["text"], "Done.", "{events:?}");
    assert!(
        !events.iter().any(|e| e == "bot-interruption-resumed"),
        "{events:?}"
    );
    assert_eq!(
        server.metric("voxray_false_interruptions_total").await,
        Some(0.0)
    );
}

/// A Deepgram + OpenAI LLM/TTS server with `interruption_strategy: min_words` (3).
async fn min_words_session(
    interims: &[&str],
    final_text: &str,
    reply: &str,
) -> (
    common::wsclient::Received,
    Server,
    OpenAiFakes,
    fakes::deepgram::DeepgramFake,
) {
    let dg = fakes::deepgram::DeepgramFake::start("dg-key").await;
    dg.push_transcript("Tell me a story.");
    dg.push_transcript(final_text);
    for i in interims {
        dg.push_interim(1, i);
    }
    let f = openai_fakes().await;
    f.llm.push(Reply::text(reply));
    f.llm.push(Reply::text("Done."));
    f.tts.set_chunk_gap(Duration::from_millis(30));
    let server = Server::start(
        json!({
            "pipeline": "voice",
            "stt_provider": "deepgram",
            "llm_provider": "openai",
            "tts_provider": "openai",
            "stt_base_url": dg.base_url(),
            "llm_base_url": f.llm.base_url(),
            "tts_base_url": f.tts.base_url(),
            "interruption_strategy": "min_words",
            "min_words": 3,
        }),
        &[("DEEPGRAM_API_KEY", "dg-key"), ("OPENAI_API_KEY", KEY)],
    );
    let url = server.ws_url(&format!("/ws?pipeline=voice&{}", Mode::Json.query()));
    let (got, _) = talk(
        &url,
        Mode::Json,
        ask_then(speech("utt02_command_piper-joe.wav"), 1_000),
        4_000,
        Duration::from_secs(30),
        |r| {
            r.event_count("bot-stopped-speaking") >= 2
                || (r
                    .events()
                    .iter()
                    .filter(|e| *e == "user-stopped-speaking")
                    .count()
                    >= 2
                    && r.event_count("bot-stopped-speaking") >= 1
                    && !r.events().iter().any(|e| e == "bot-interrupted"))
        },
    )
    .await;
    (got, server, f, dg)
}

/// The transcripts and the interruption and turn-end events after the first user turn's
/// final transcript.
fn second_turn(got: &common::wsclient::Received) -> Vec<String> {
    let mut out = Vec::new();
    let mut first_done = false;
    for (_, g) in &got.items {
        if let Got::Event(k, v) = g {
            if !first_done {
                first_done = k == "user-transcription" && v["data"]["final"] == true;
                continue;
            }
            match k.as_str() {
                "user-transcription" => out.push(format!(
                    "{}:{}",
                    if v["data"]["final"] == true {
                        "final"
                    } else {
                        "interim"
                    },
                    v["data"]["text"].as_str().unwrap_or("")
                )),
                "bot-interrupted" | "user-stopped-speaking" => out.push(k.clone()),
                _ => {}
            }
        }
    }
    out
}

#[tokio::test]
async fn min_words_interrupts_once_the_interims_reach_the_count() {
    let (got, server, f, dg) = min_words_session(
        &["please", "please turn off"],
        "Please turn off the lights.",
        STORY,
    )
    .await;
    let seq = second_turn(&got);
    assert!(seq.iter().any(|e| e == "bot-interrupted"), "{seq:?}");
    // Interrupted after the fake sent the 3-word interim (0.5 s after the 1-word one), and
    // before the user stopped speaking. (Transcripts may reach the client late, behind bot
    // audio, so the times of sending are compared.)
    let sent = dg.conns()[0].interims.clone();
    let at = |text: &str| sent.iter().find(|(_, t)| t == text).map(|(t, _)| *t);
    let (one, three) = (at("please").unwrap(), at("please turn off").unwrap());
    assert!(one < three);
    let start = got.items[0].0;
    let t_int = got.event_at("bot-interrupted", start).unwrap();
    assert!(t_int > three, "interrupted before the third word: {seq:?}");
    let stops: Vec<_> = got
        .items
        .iter()
        .filter(|(_, g)| matches!(g, Got::Event(k, _) if k == "user-stopped-speaking"))
        .map(|(t, _)| *t)
        .collect();
    assert!(t_int < stops[1], "{seq:?}");
    assert_eq!(
        server
            .metric("voxray_interruptions_total{strategy=\"min_words\"}")
            .await,
        Some(1.0)
    );
    // The words were answered.
    assert_eq!(chat_requests(&f.llm).len(), 2);
}

#[tokio::test]
async fn fewer_than_min_words_do_not_interrupt() {
    let (got, _server, f, _dg) = min_words_session(&["okay"], "Okay.", STORY).await;
    let events = got.events();
    let seq = second_turn(&got);
    assert!(seq.iter().any(|e| e == "interim:okay"), "{seq:?}");
    assert!(seq.iter().any(|e| e == "final:Okay."), "{seq:?}");
    assert!(!events.iter().any(|e| e == "bot-interrupted"), "{events:?}");
    // The reply played out whole; the backchannel was not answered.
    let spoken = event_data(&got, "bot-tts-text");
    assert_eq!(spoken.len(), 8, "{events:?}");
    assert_eq!(
        spoken[7]["data"]["text"],
        "Then came another light, and another, until every boat of the town was home again safe and sound."
    );
    assert_eq!(chat_requests(&f.llm).len(), 1);
}
