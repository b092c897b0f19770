//! The `voice` agent (`pipeline.md` §4.3): transport in → user turn (VAD + turn detection +
//! barge-in) → [`SttStage`] → [`Voice`] (user context, LLM, sentence aggregation, TTS) →
//! transport out.
//!
//! - [`SttStage`]: batch STT uploads each turn's [`Frame::UserTurnAudio`]; streaming STT
//!   (Deepgram) is fed every `InputAudio` and asked to `Finalize` at `UserStoppedSpeaking`.
//!   Either way the turn's transcript leaves as one final [`Frame::Transcription`] (interims
//!   before it); an empty transcript drops the turn.
//! - [`Voice`]: a final transcript, typed text (`send-text`) or a DTMF digit becomes a user
//!   message (consecutive user messages merge; `system_prompt` first; the last
//!   [`MAX_HISTORY`] messages kept) and starts a bot turn (`session.new_turn()`). One LLM
//!   request is in flight at a time (a new user message cancels the previous bot turn's
//!   work). The turn runs as one task on the session's task tracker with a per-turn
//!   cancellation token: LLM deltas → `LlmText` → [`SentenceAggregator`] → `TtsText` per
//!   sentence → TTS, starting on the first sentence, at most 2 requests in flight
//!   (`buffered(2)`), audio strictly in sentence order, `TtsStopped` last. On interruption the
//!   token is cancelled: the futures holding the HTTP requests are dropped (the connections
//!   close) and a Cartesia context gets its `cancel`.
//!
//! **What the model remembers after an interruption** (issue 12 §3): the TTS side of the turn
//! task records, per sentence, the audio duration it wrote and the provider word timestamps
//! when there are any ([`Progress`]). The output stage's `BotStartedSpeaking{turn_id, at}`
//! travels upstream into this stage; when the turn is interrupted at `t`, the audio played is
//! `t − at` (the output stage paces audio at real time from that instant). The assistant
//! message kept is the words whose timestamp starts before that point, else the sentences
//! whose audio fully played plus the played fraction of the current sentence's characters,
//! cut back to a word boundary ([`Progress::heard`]). A turn that played out is kept whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::rtvi;
use super::sentence::{SentenceAggregator, strip_markdown};
use crate::audio::turn::{RecorderParams, TurnError, TurnParams};
use crate::config::Config;
use crate::pipeline::PipelineBuilder;
use crate::pipeline::frame::{AudioFrame, Frame};
use crate::pipeline::processor::{Ctx, Link, Processor, StageResult};
use crate::pipeline::user_turn::UserTurn;
use crate::services::{
    DynLlm, LlmEvent, Message, Role, ServiceError, Services, SttEvent, SttService, TtsEvent,
    TtsRequest, TtsService, TtsTurnEvent,
};

/// Messages of history kept besides the system prompt.
pub const MAX_HISTORY: usize = 32;

/// The pipeline's output rate for `services`: the TTS's rate, Hz.
pub fn output_rate(services: &Services) -> u32 {
    match &services.tts {
        Some(TtsService::PerSentence(t)) => t.sample_rate(),
        Some(TtsService::Streaming(t)) => t.sample_rate(),
        None => crate::services::TTS_SAMPLE_RATE,
    }
}

/// The voice chain (input PCM s16le mono 16 kHz).
///
/// # Errors
/// [`TurnError`] for out-of-range VAD or turn keys (refused earlier by config validation).
pub fn pipeline(config: &Config, services: Arc<Services>) -> Result<PipelineBuilder, TurnError> {
    let stt = services.stt.clone().expect("voice_services() checked STT");
    let batch = matches!(stt, SttService::Batch(_));
    let recorder = batch.then(|| RecorderParams::batch_stt(&TurnParams::from_config(config)));
    let errors = Arc::new(ErrorOnce::default());
    Ok(PipelineBuilder::default()
        .then(UserTurn::from_config(config, recorder)?)
        .then(SttStage {
            stt,
            errors: errors.clone(),
            live: None,
        })
        .then(Voice::new(config, &services, errors)))
}

/// Reports provider failures to the client: authentication failures (401/403) once per
/// session (`providers.md` §7), other failures that lose a turn each time.
#[derive(Debug, Default)]
pub struct ErrorOnce {
    auth_reported: AtomicBool,
}

impl ErrorOnce {
    /// The non-fatal `Error` frame to send for `e`, if any. Stream cuts end the turn quietly
    /// (the provider metrics count them).
    fn frame(&self, e: &ServiceError) -> Option<Frame> {
        if e.is_auth() && self.auth_reported.swap(true, Ordering::AcqRel) {
            return None;
        }
        if e.kind() == "stream_cut" {
            return None;
        }
        Some(Frame::Error {
            stage: e.stage().as_str(),
            message: e.to_string(),
            fatal: false,
        })
    }

    async fn report(&self, e: &ServiceError, link: &Link) {
        tracing::warn!(error = %e, "provider failure ends the bot turn");
        if let Some(f) = self.frame(e) {
            let _ = link.send(f).await;
        }
    }
}

fn transcription(text: String, is_final: bool) -> Frame {
    Frame::Transcription {
        text,
        is_final,
        user_id: String::new(),
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        language: None,
    }
}

// ---------------------------------------------------------------------------------------
// STT

/// Commands to the live STT task.
enum LiveCmd {
    Audio(Vec<i16>),
    Finalize,
}

/// Speech to text: user audio in, `Transcription` frames out.
pub struct SttStage {
    stt: SttService,
    errors: Arc<ErrorOnce>,
    /// The streaming session's command queue (Deepgram).
    live: Option<mpsc::Sender<LiveCmd>>,
}

impl std::fmt::Debug for SttStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SttStage").finish_non_exhaustive()
    }
}

fn samples(pcm: &[u8]) -> Vec<i16> {
    pcm.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

impl Processor for SttStage {
    fn name(&self) -> &'static str {
        "stt"
    }

    async fn start(&mut self, ctx: &mut Ctx) -> StageResult {
        let SttService::Streaming(stt) = &self.stt else {
            return Ok(());
        };
        let mut session = stt.open();
        let (tx, mut rx) = mpsc::channel::<LiveCmd>(64);
        self.live = Some(tx);
        let link = ctx.downstream();
        let errors = self.errors.clone();
        let cancel = ctx.session().cancel.clone();
        ctx.session().tasks.spawn(async move {
            // Finals of the current turn, joined when the `Finalize` answer arrives.
            let mut turn = String::new();
            let mut finalizing = false;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    cmd = rx.recv() => match cmd {
                        Some(LiveCmd::Audio(pcm)) => session.send_audio(&pcm),
                        Some(LiveCmd::Finalize) => {
                            finalizing = true;
                            session.finalize();
                        }
                        None => break,
                    },
                    ev = session.next_event() => match ev {
                        Some(SttEvent::Interim(text)) => {
                            let _ = link.send(transcription(text, false)).await;
                        }
                        Some(SttEvent::Final { text, from_finalize, .. }) => {
                            if !turn.is_empty() {
                                turn.push(' ');
                            }
                            turn.push_str(text.trim());
                            if from_finalize || finalizing {
                                finalizing = false;
                                let text = std::mem::take(&mut turn);
                                if link.send(transcription(text, true)).await.is_err() {
                                    break;
                                }
                            }
                        }
                        Some(SttEvent::Error(e)) => errors.report(&e, &link).await,
                        Some(_) => {}
                        None => break,
                    },
                }
            }
            session.close().await;
        });
        Ok(())
    }

    async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        match frame {
            Frame::InputAudio { audio, .. } => {
                // Live STT hears everything; the audio goes no further (nothing downstream
                // uses it). A full queue drops audio rather than delaying the pipeline.
                if let Some(live) = &self.live {
                    let _ = live.try_send(LiveCmd::Audio(samples(&audio.pcm)));
                }
            }
            Frame::UserStoppedSpeaking { at } => {
                if let Some(live) = &self.live {
                    let _ = live.try_send(LiveCmd::Finalize);
                }
                ctx.push(Frame::UserStoppedSpeaking { at }).await?;
            }
            Frame::UserTurnAudio { audio } => {
                let SttService::Batch(stt) = &self.stt else {
                    return Ok(());
                };
                let stt = stt.clone();
                let link = ctx.downstream();
                let errors = self.errors.clone();
                let cancel = ctx.session().cancel.clone();
                ctx.session().tasks.spawn(async move {
                    let pcm = samples(&audio.pcm);
                    let result = tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = stt.transcribe(&pcm) => r,
                    };
                    match result {
                        // An empty transcript drops the turn.
                        Ok(text) if text.trim().is_empty() => {}
                        Ok(text) => {
                            let _ = link.send(transcription(text, true)).await;
                        }
                        Err(e) => errors.report(&e, &link).await,
                    }
                });
            }
            f => ctx.push(f).await?,
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Bot turns

/// One sentence as the TTS spoke it.
#[derive(Debug, Default, Clone)]
struct Spoken {
    /// The sentence text (as shown, markdown kept).
    text: String,
    /// Seconds of its audio written downstream.
    audio_secs: f64,
}

/// What a bot turn's TTS has written so far: the ground truth for "what was heard".
#[derive(Debug, Default)]
pub struct Progress {
    sentences: Vec<Spoken>,
    /// Word timestamps `(start s from the turn's first audio, word)` when the TTS gives them.
    words: Vec<(f64, String)>,
    /// Audio seconds written in total.
    total_secs: f64,
}

impl Progress {
    /// Everything written (a turn that played out).
    pub fn full(&self) -> String {
        self.sentences
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The text whose audio was heard when `played` seconds of the turn's audio played.
    pub fn heard(&self, played: f64) -> String {
        if !self.words.is_empty() {
            return self
                .words
                .iter()
                .filter(|(start, _)| *start < played)
                .map(|(_, w)| w.trim())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
        }
        let mut out: Vec<String> = Vec::new();
        let mut at = 0.0;
        for s in &self.sentences {
            if s.audio_secs <= 0.0 {
                break;
            }
            if at + s.audio_secs <= played {
                out.push(s.text.clone());
                at += s.audio_secs;
                continue;
            }
            let frac = ((played - at) / s.audio_secs).clamp(0.0, 1.0);
            let chars: Vec<char> = s.text.chars().collect();
            let n = (chars.len() as f64 * frac).floor() as usize;
            // Cut back to a word boundary: a word is heard once it is heard whole.
            let part: String = chars[..n].iter().collect();
            let part = if chars.get(n).is_none_or(|c| c.is_whitespace()) {
                part
            } else {
                part.rsplit_once(char::is_whitespace)
                    .map(|(a, _)| a.to_string())
                    .unwrap_or_default()
            };
            let part = part.trim();
            if !part.is_empty() {
                out.push(part.to_string());
            }
            break;
        }
        out.join(" ")
    }
}

/// The bot turn in progress.
#[derive(Debug)]
struct BotTurn {
    turn_id: u64,
    cancel: CancellationToken,
    progress: Arc<Mutex<Progress>>,
    /// When its first audio was handed to the transport (`BotStartedSpeaking`).
    started_at: Option<Instant>,
}

/// The conversation stage: user messages in, a bot turn per user message out.
pub struct Voice {
    llm: DynLlm,
    tts: TtsService,
    system_prompt: String,
    history: Vec<Message>,
    turn: Option<BotTurn>,
    errors: Arc<ErrorOnce>,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("history", &self.history.len())
            .field("turn", &self.turn)
            .finish_non_exhaustive()
    }
}

impl Voice {
    fn new(config: &Config, services: &Services, errors: Arc<ErrorOnce>) -> Self {
        Self {
            llm: services.llm.clone().expect("voice_services() checked LLM"),
            tts: services.tts.clone().expect("voice_services() checked TTS"),
            system_prompt: config.system_prompt.clone(),
            history: Vec::with_capacity(MAX_HISTORY + 2),
            turn: None,
            errors,
        }
    }

    /// Close the previous bot turn into history (whole when not interrupted).
    fn settle(&mut self) {
        if let Some(t) = self.turn.take() {
            t.cancel.cancel();
            let text = t.progress.lock().expect("progress lock").full();
            self.remember(Role::Assistant, text);
        }
    }

    fn remember(&mut self, role: Role, text: String) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        match self.history.last_mut() {
            Some(last) if last.role == role => {
                last.content.push(' ');
                last.content.push_str(text);
            }
            _ => self.history.push(Message::new(role, text)),
        }
        if self.history.len() > MAX_HISTORY {
            let excess = self.history.len() - MAX_HISTORY;
            self.history.drain(..excess);
        }
    }

    /// A user message: remember it and answer it in a new bot turn.
    fn on_user(&mut self, text: String, ctx: &Ctx) {
        self.settle();
        self.remember(Role::User, text);
        let mut messages = Vec::with_capacity(self.history.len() + 1);
        if !self.system_prompt.is_empty() {
            messages.push(Message::new(Role::System, self.system_prompt.clone()));
        }
        // The history starts with a user message.
        let first_user = self
            .history
            .iter()
            .position(|m| m.role == Role::User)
            .unwrap_or(0);
        messages.extend(self.history[first_user..].iter().cloned());
        let session = ctx.session().clone();
        let turn_id = session.new_turn();
        let cancel = session.cancel.child_token();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let job = TurnJob {
            llm: self.llm.clone(),
            tts: self.tts.clone(),
            messages,
            turn_id,
            link: ctx.downstream(),
            progress: progress.clone(),
            errors: self.errors.clone(),
            cancel: cancel.clone(),
        };
        let token = cancel.clone();
        let s = session.clone();
        session.tasks.spawn(async move {
            let wrote_audio = tokio::select! {
                _ = token.cancelled() => return,
                w = job.run() => w,
            };
            if !wrote_audio {
                // Nothing will play: the turn is not "active" for a barge-in.
                s.finish_turn(turn_id);
            }
        });
        self.turn = Some(BotTurn {
            turn_id,
            cancel,
            progress,
            started_at: None,
        });
    }
}

impl Processor for Voice {
    fn name(&self) -> &'static str {
        "voice"
    }

    async fn process(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        match frame {
            Frame::Transcription {
                text,
                is_final,
                user_id,
                timestamp,
                language,
            } => {
                let answer = is_final.then(|| text.clone());
                ctx.push(Frame::Transcription {
                    text,
                    is_final,
                    user_id,
                    timestamp,
                    language,
                })
                .await?;
                if let Some(text) = answer {
                    self.on_user(text, ctx);
                }
            }
            Frame::UserText { text, .. } => self.on_user(text, ctx),
            Frame::InputDtmf { digit } => self.on_user(format!("The user pressed {digit}."), ctx),
            Frame::ClientMessage(msg) => {
                for f in rtvi::request_frames(&msg) {
                    match f {
                        Frame::UserText { text, .. } => self.on_user(text, ctx),
                        Frame::InputDtmf { digit } => {
                            self.on_user(format!("The user pressed {digit}."), ctx)
                        }
                        f if f.is_system() => ctx.push(f).await?,
                        _ => {}
                    }
                }
            }
            Frame::InputAudio { .. } | Frame::UserTurnAudio { .. } => {}
            f => ctx.push(f).await?,
        }
        Ok(())
    }

    async fn process_upstream(&mut self, frame: Frame, ctx: &mut Ctx) -> StageResult {
        if let Frame::BotStartedSpeaking { turn_id, at } = &frame
            && let Some(t) = &mut self.turn
            && t.turn_id == *turn_id
        {
            t.started_at = Some(*at);
        }
        Ok(ctx.push_upstream(frame).await?)
    }

    async fn on_interruption(&mut self, turn_id: u64, _ctx: &mut Ctx) {
        let Some(t) = &self.turn else { return };
        if t.turn_id > turn_id {
            return;
        }
        let t = self.turn.take().expect("checked");
        t.cancel.cancel();
        let played = t.started_at.map_or(0.0, |at| at.elapsed().as_secs_f64());
        let heard = t.progress.lock().expect("progress lock").heard(played);
        tracing::debug!(
            turn_id,
            played,
            heard_chars = heard.len(),
            "bot turn interrupted"
        );
        self.remember(Role::Assistant, heard);
    }

    async fn stop(&mut self, _ctx: &mut Ctx) {
        if let Some(t) = self.turn.take() {
            t.cancel.cancel();
        }
    }
}

/// The work of one bot turn, run as a task.
struct TurnJob {
    llm: DynLlm,
    tts: TtsService,
    messages: Vec<Message>,
    turn_id: u64,
    link: Link,
    progress: Arc<Mutex<Progress>>,
    errors: Arc<ErrorOnce>,
    cancel: CancellationToken,
}

impl TurnJob {
    /// LLM and TTS side by side; returns whether any audio was written.
    async fn run(self) -> bool {
        let turn_id = self.turn_id;
        let link = self.link.clone();
        if link
            .send(Frame::LlmResponseStart { turn_id })
            .await
            .is_err()
        {
            return false;
        }
        let (sent_tx, sent_rx) = mpsc::channel::<String>(64);
        let llm_side = async {
            let mut agg = SentenceAggregator::default();
            let mut done = Vec::new();
            let mut ok = false;
            match self.llm.complete(&self.messages).await {
                Err(e) => self.errors.report(&e, &link).await,
                Ok(mut stream) => {
                    while let Some(ev) = stream.next().await {
                        match ev {
                            Ok(LlmEvent::Text(t)) => {
                                let _ = link
                                    .send(Frame::LlmText {
                                        turn_id,
                                        text: t.clone(),
                                    })
                                    .await;
                                agg.push(&t, &mut done);
                                for s in done.drain(..) {
                                    let _ = link
                                        .send(Frame::TtsText {
                                            turn_id,
                                            text: s.clone(),
                                        })
                                        .await;
                                    let _ = sent_tx.send(s).await;
                                }
                            }
                            Ok(LlmEvent::End { .. }) => {
                                ok = true;
                                break;
                            }
                            Ok(LlmEvent::ToolCall(_)) => {}
                            Err(e) => {
                                // A cut stream ends the turn: the unfinished sentence is
                                // not spoken.
                                self.errors.report(&e, &link).await;
                                break;
                            }
                        }
                    }
                }
            }
            if ok && let Some(rest) = agg.flush() {
                let _ = link
                    .send(Frame::TtsText {
                        turn_id,
                        text: rest.clone(),
                    })
                    .await;
                let _ = sent_tx.send(rest).await;
            }
            let _ = link.send(Frame::LlmResponseEnd { turn_id }).await;
            drop(sent_tx);
        };
        let tts_side = speak(
            self.tts.clone(),
            sent_rx,
            turn_id,
            link.clone(),
            self.progress.clone(),
            self.errors.clone(),
            self.cancel.clone(),
        );
        let ((), wrote) = tokio::join!(llm_side, tts_side);
        if wrote {
            let _ = link.send(Frame::TtsStopped { turn_id }).await;
        }
        wrote
    }
}

/// Speak the sentences of one turn in order; returns whether any audio was written.
async fn speak(
    tts: TtsService,
    sentences: mpsc::Receiver<String>,
    turn_id: u64,
    link: Link,
    progress: Arc<Mutex<Progress>>,
    errors: Arc<ErrorOnce>,
    cancel: CancellationToken,
) -> bool {
    let mut wrote = false;
    let send_audio = async |pcm: bytes::Bytes, rate: u32, wrote: &mut bool| {
        let audio = AudioFrame::mono(pcm, rate);
        let secs = audio.duration_secs();
        {
            let mut p = progress.lock().expect("progress lock");
            p.total_secs += secs;
            if let Some(s) = p.sentences.last_mut() {
                s.audio_secs += secs;
            }
        }
        if !*wrote {
            *wrote = true;
            let _ = link.send(Frame::TtsStarted { turn_id }).await;
        }
        link.send(Frame::OutputAudio {
            audio,
            turn_id,
            t_in: None,
        })
        .await
        .is_ok()
    };
    match tts {
        TtsService::PerSentence(tts) => {
            let requests = futures_util::stream::unfold(sentences, |mut rx| async move {
                rx.recv().await.map(|s| (s, rx))
            })
            .map(|text| {
                let tts = tts.clone();
                async move {
                    let request = TtsRequest {
                        text: format!("{} ", strip_markdown(&text)),
                        previous_text: None,
                    };
                    let result = tts.synthesize(&request).await;
                    (text, result)
                }
            })
            .buffered(2);
            futures_util::pin_mut!(requests);
            while let Some((text, result)) = requests.next().await {
                let offset = {
                    let mut p = progress.lock().expect("progress lock");
                    p.sentences.push(Spoken {
                        text,
                        audio_secs: 0.0,
                    });
                    p.total_secs
                };
                let mut stream = match result {
                    Ok(s) => s,
                    Err(e) => {
                        errors.report(&e, &link).await;
                        continue;
                    }
                };
                while let Some(ev) = stream.next().await {
                    match ev {
                        Ok(TtsEvent::Audio { pcm, sample_rate }) => {
                            if !send_audio(pcm, sample_rate, &mut wrote).await {
                                return wrote;
                            }
                        }
                        Ok(TtsEvent::Words(words)) => {
                            let mut p = progress.lock().expect("progress lock");
                            p.words.extend(
                                words
                                    .into_iter()
                                    .map(|w| (offset + w.start_ms / 1000.0, w.word)),
                            );
                        }
                        Err(e) => {
                            errors.report(&e, &link).await;
                            break;
                        }
                    }
                }
            }
        }
        TtsService::Streaming(tts) => {
            let mut session = tts.open();
            let mut sentences = sentences;
            let mut input_open = true;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => {
                        session.cancel_turn(turn_id);
                        return wrote;
                    }
                    s = sentences.recv(), if input_open => match s {
                        Some(text) => {
                            session.push_text(turn_id, &format!("{} ", strip_markdown(&text)));
                            let mut p = progress.lock().expect("progress lock");
                            // Audio of a context is not split by sentence: one span.
                            if p.sentences.is_empty() {
                                p.sentences.push(Spoken::default());
                            }
                            let s = &mut p.sentences[0];
                            if !s.text.is_empty() {
                                s.text.push(' ');
                            }
                            s.text.push_str(&text);
                        }
                        None => {
                            input_open = false;
                            if progress.lock().expect("progress lock").sentences.is_empty() {
                                return wrote;
                            }
                            session.end_turn(turn_id);
                        }
                    },
                    ev = session.next_event() => match ev {
                        Some(TtsTurnEvent::Event(t, TtsEvent::Audio { pcm, sample_rate })) if t == turn_id => {
                            if !send_audio(pcm, sample_rate, &mut wrote).await {
                                return wrote;
                            }
                        }
                        Some(TtsTurnEvent::Event(t, TtsEvent::Words(words))) if t == turn_id => {
                            let mut p = progress.lock().expect("progress lock");
                            p.words.extend(words.into_iter().map(|w| (w.start_ms / 1000.0, w.word)));
                        }
                        Some(TtsTurnEvent::Done(t)) if t == turn_id => return wrote,
                        Some(TtsTurnEvent::Error(t, e)) if t == turn_id => {
                            errors.report(&e, &link).await;
                            return wrote;
                        }
                        Some(_) => {}
                        None => return wrote,
                    },
                }
            }
        }
    }
    wrote
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress() -> Progress {
        Progress {
            sentences: vec![
                Spoken {
                    text: "Hello there!".into(),
                    audio_secs: 1.0,
                },
                Spoken {
                    text: "How can I help you today?".into(),
                    audio_secs: 2.0,
                },
            ],
            words: vec![],
            total_secs: 3.0,
        }
    }

    #[test]
    fn heard_text_follows_played_duration() {
        let p = progress();
        assert_eq!(p.heard(0.0), "");
        assert_eq!(p.heard(0.5), "Hello");
        assert_eq!(p.heard(1.0), "Hello there!");
        assert_eq!(p.heard(2.0), "Hello there! How can I");
        assert_eq!(p.heard(10.0), p.full());
    }

    #[test]
    fn heard_text_prefers_word_timestamps() {
        let mut p = progress();
        p.words = vec![
            (0.0, "Hello".into()),
            (0.4, "there!".into()),
            (1.0, "How".into()),
        ];
        assert_eq!(p.heard(0.5), "Hello there!");
    }
}
