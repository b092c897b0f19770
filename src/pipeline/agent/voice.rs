//! The `voice` agent (`pipeline.md` §4.3): transport in → user turn (VAD + turn detection +
//! barge-in) → [`SttStage`] → [`Voice`] (user context, LLM, sentence aggregation, TTS) →
//! transport out.
//!
//! - [`SttStage`]: batch STT uploads each turn's [`Frame::UserTurnAudio`]; streaming STT
//!   (Deepgram) is fed every `InputAudio` and asked to `Finalize` at `UserStoppedSpeaking`.
//!   Either way the turn's transcript leaves as one final [`Frame::Transcription`] (interims
//!   before it); an empty transcript drops the turn.
//! - [`Voice`]: a final transcript, typed text (`send-text`) or DTMF digits (collected until
//!   `#`, 20 digits or 2 s of quiet, then `DTMF: <digits>`) become a user message (consecutive user messages merge; `system_prompt` first; the last
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
//!
//! **False interruptions** (issue 12 §4): a VAD barge-in while the user has said no words yet
//! arms a deadline `false_interruption_timeout_secs` after the interruption. Words in any
//! transcript (interim or final) disarm it; when it has passed, the user is not speaking and
//! the STT's verdict on the turn was "no speech" (an empty final), the unheard rest of the
//! interrupted reply ([`Progress::remainder`]) is spoken again as a new bot turn, announced
//! by RTVI `bot-interruption-resumed` and counted in `voxray_false_interruptions_total`.
//!
//! **`min_words`** (`pipeline.md` §7): the [`InterruptionGate`] counts the words of the user
//! turn's transcripts (streaming interims included) while a bot turn is active and interrupts
//! it once they reach `min_words`; a final transcript with fewer words while the bot is
//! active is a backchannel and is not answered. With `allow_interruptions: false` a final
//! transcript that arrives while the bot is active is answered once the bot has finished.
//!
//! **User idle** (`pipeline.md` §6): `user_idle_timeout_secs` after a bot turn played out
//! with no user speech, the LLM is run once with a system note that the user has been silent;
//! a second idle period in a row ends the session gracefully (`End`).
//!
//! **Per-turn figures** (`pipeline.md` §9): the turn's STT wait, LLM time to the first
//! sentence (and TTFB) and TTS time to the first audio are measured here; at the turn's
//! `BotStartedSpeaking` the user-bot latency minus those waits is observed in
//! `voxray_turn_overhead_seconds` and, with `metrics_enabled`, an RTVI `metrics` event is sent.
//! Each sentence gets an RTVI `bot-output` (in step with its audio) as its audio starts.
//!
//! Timers: the stage's deadlines are kept in the stage; one sleeping task per armed deadline
//! sends [`Frame::Wake`] into the stage's own inbox (the link the STT stage pushes into).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::rtvi;
use super::sentence::{SentenceAggregator, strip_markdown};
use crate::audio::turn::{
    InterruptionGate, InterruptionParams, RecorderParams, TurnError, TurnParams,
};
use crate::config::Config;
use crate::config::schema::InterruptionStrategy;
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
    let shared = Arc::new(Shared::default());
    Ok(PipelineBuilder::default()
        .then(UserTurn::from_config(config, recorder)?)
        .then(SttStage {
            stt,
            errors: errors.clone(),
            live: None,
            shared: shared.clone(),
        })
        .then(Voice::new(config, &services, errors, shared)))
}

/// What the STT stage and the voice stage share.
#[derive(Debug, Default)]
struct Shared {
    /// The voice stage's own inbox (the STT stage's downstream link), for its timers.
    voice_link: OnceLock<Link>,
    /// Seconds the STT took for the latest final transcript: the batch request, or
    /// `Finalize` → final (the turn's STT wait).
    stt_secs: Mutex<Option<f64>>,
}

/// How long a streaming STT turn waits for its final after `Finalize` (`pipeline.md` §6).
const FINALIZE_WAIT: Duration = Duration::from_secs(1);

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
    shared: Arc<Shared>,
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
        let _ = self.shared.voice_link.set(ctx.downstream());
        let SttService::Streaming(stt) = &self.stt else {
            return Ok(());
        };
        let mut session = stt.open();
        let (tx, mut rx) = mpsc::channel::<LiveCmd>(64);
        self.live = Some(tx);
        let link = ctx.downstream();
        let errors = self.errors.clone();
        let cancel = ctx.session().cancel.clone();
        let shared = self.shared.clone();
        ctx.session().tasks.spawn(async move {
            // Finals of the current turn, joined when the `Finalize` answer arrives.
            let mut turn = String::new();
            let mut finalizing = false;
            // When `Finalize` was sent: the turn completes at its final or 1 s later.
            let mut finalized_at: Option<tokio::time::Instant> = None;
            loop {
                let wait = finalized_at.map(|t| t + FINALIZE_WAIT);
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    () = async { tokio::time::sleep_until(wait.expect("guarded")).await }, if wait.is_some() => {
                        // No final for the turn: it completes with what was heard (an empty
                        // final is the STT's "no speech" verdict).
                        finalizing = false;
                        finalized_at = None;
                        *shared.stt_secs.lock().expect("stt lock") = Some(FINALIZE_WAIT.as_secs_f64());
                        let text = std::mem::take(&mut turn);
                        if link.send(transcription(text, true)).await.is_err() {
                            break;
                        }
                    }
                    cmd = rx.recv() => match cmd {
                        Some(LiveCmd::Audio(pcm)) => session.send_audio(&pcm),
                        Some(LiveCmd::Finalize) => {
                            finalizing = true;
                            finalized_at = Some(tokio::time::Instant::now());
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
                                if let Some(t) = finalized_at.take() {
                                    *shared.stt_secs.lock().expect("stt lock") =
                                        Some(t.elapsed().as_secs_f64());
                                }
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
                let shared = self.shared.clone();
                ctx.session().tasks.spawn(async move {
                    let pcm = samples(&audio.pcm);
                    let t0 = Instant::now();
                    let result = tokio::select! {
                        _ = cancel.cancelled() => return,
                        r = stt.transcribe(&pcm) => r,
                    };
                    match result {
                        // An empty transcript is sent too: the voice stage drops the turn and
                        // reads it as the "no speech" verdict (false interruptions).
                        Ok(text) => {
                            *shared.stt_secs.lock().expect("stt lock") =
                                Some(t0.elapsed().as_secs_f64());
                            let _ = link
                                .send(transcription(text.trim().to_string(), true))
                                .await;
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
    /// Every sentence the turn meant to say (handed to the TTS side), in order.
    planned: Vec<String>,
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

    /// What the turn meant to say after `heard` (the output of [`Self::heard`]): the planned
    /// text without as many leading words as `heard` has. Empty when everything was heard.
    pub fn remainder(&self, heard: &str) -> String {
        let skip = heard.split_whitespace().count();
        self.planned
            .iter()
            .flat_map(|s| s.split_whitespace())
            .skip(skip)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The provider waits of one bot turn, seconds (`pipeline.md` §9).
#[derive(Debug, Default, Clone, Copy)]
struct TurnTimes {
    /// LLM request sent → first text delta.
    llm_ttfb: Option<f64>,
    /// LLM request sent → first complete sentence (what the TTS waits for).
    llm_first_sentence: Option<f64>,
    /// First TTS request (or context text) sent → its first audio.
    tts_ttfb: Option<f64>,
}

/// The bot turn in progress.
#[derive(Debug)]
struct BotTurn {
    turn_id: u64,
    cancel: CancellationToken,
    progress: Arc<Mutex<Progress>>,
    times: Arc<Mutex<TurnTimes>>,
    /// When its first audio was handed to the transport (`BotStartedSpeaking`).
    started_at: Option<Instant>,
    /// The user turn end this bot turn answers, and that turn's STT wait (seconds).
    user_stopped: Option<(Instant, Option<f64>)>,
}

/// A false-interruption check in progress.
#[derive(Debug)]
struct ResumeCheck {
    /// The unheard rest of the interrupted reply.
    remainder: String,
    /// `false_interruption_timeout_secs` after the interruption.
    deadline: Instant,
    /// The user turn ended and the STT's verdict on it has not come yet.
    stt_pending: bool,
}

/// Where a bot turn's sentences come from.
enum Source {
    /// An LLM completion of these messages.
    Llm(Vec<Message>),
    /// Fixed sentences (a resumed reply).
    Text(Vec<String>),
}

/// The conversation stage: user messages in, a bot turn per user message out.
pub struct Voice {
    llm: DynLlm,
    tts: TtsService,
    /// Model names for the RTVI `metrics` event.
    llm_model: String,
    stt_model: String,
    system_prompt: String,
    history: Vec<Message>,
    turn: Option<BotTurn>,
    errors: Arc<ErrorOnce>,
    shared: Arc<Shared>,
    gate: InterruptionGate,
    /// `false_interruption_timeout_secs` (`None` = off).
    false_timeout: Option<Duration>,
    /// `user_idle_timeout_secs` (`None` = off).
    idle_timeout: Option<Duration>,
    /// Between `UserStartedSpeaking` and `UserStoppedSpeaking`.
    user_speaking: bool,
    /// The latest user turn end.
    user_stopped_at: Option<Instant>,
    /// The current user turn has produced transcribed words.
    user_words: bool,
    resume: Option<ResumeCheck>,
    /// When the user-idle prompt is due.
    idle_at: Option<Instant>,
    /// The idle prompt ran and the user has not spoken since.
    idle_prompted: bool,
    /// User text held while the bot finishes (`allow_interruptions: false`).
    deferred: Option<String>,
    /// The client announced RTVI 1.x (`bot-output` form).
    rtvi_v1: bool,
    /// DTMF digits collected (`pipeline.md` §4.3) and when they are due as a turn.
    dtmf: String,
    dtmf_at: Option<Instant>,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("history", &self.history.len())
            .field("turn", &self.turn)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// The system note of the user-idle prompt.
const IDLE_NOTE: &str = "The user has been silent for a while. Check in briefly: ask whether \
                         they are still there or need anything else.";

/// DTMF digits end a turn at `#`, at this many digits, or after [`DTMF_QUIET`] (§4.3).
const DTMF_MAX_DIGITS: usize = 20;
/// Quiet after the last DTMF digit that ends the digits' turn.
const DTMF_QUIET: Duration = Duration::from_secs(2);

fn secs(s: f64) -> Option<Duration> {
    (s > 0.0 && s.is_finite()).then(|| Duration::from_secs_f64(s))
}

impl Voice {
    fn new(
        config: &Config,
        services: &Services,
        errors: Arc<ErrorOnce>,
        shared: Arc<Shared>,
    ) -> Self {
        let llm = services.llm.clone().expect("voice_services() checked LLM");
        let stt_model = match &services.stt {
            Some(SttService::Batch(s)) => s.model().to_string(),
            Some(SttService::Streaming(s)) => s.model().to_string(),
            None => String::new(),
        };
        Self {
            llm_model: llm.model().to_string(),
            llm,
            tts: services.tts.clone().expect("voice_services() checked TTS"),
            stt_model,
            system_prompt: config.system_prompt.clone(),
            history: Vec::with_capacity(MAX_HISTORY + 2),
            turn: None,
            errors,
            shared,
            gate: InterruptionGate::new(InterruptionParams::from_config(config)),
            false_timeout: secs(config.false_interruption_timeout_secs),
            idle_timeout: secs(config.user_idle_timeout_secs),
            user_speaking: false,
            user_stopped_at: None,
            user_words: false,
            resume: None,
            idle_at: None,
            idle_prompted: false,
            deferred: None,
            rtvi_v1: false,
            dtmf: String::new(),
            dtmf_at: None,
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

    /// The request messages: system prompt, then the history from its first user message.
    fn request(&self) -> Vec<Message> {
        let mut messages = Vec::with_capacity(self.history.len() + 2);
        if !self.system_prompt.is_empty() {
            messages.push(Message::new(Role::System, self.system_prompt.clone()));
        }
        let first_user = self
            .history
            .iter()
            .position(|m| m.role == Role::User)
            .unwrap_or(0);
        messages.extend(self.history[first_user..].iter().cloned());
        messages
    }

    /// A user message: remember it and answer it in a new bot turn.
    fn on_user(&mut self, text: String, ctx: &Ctx) {
        self.resume = None;
        self.idle_at = None;
        self.idle_prompted = false;
        self.settle();
        if let Some(held) = self.deferred.take() {
            self.remember(Role::User, held);
        }
        self.remember(Role::User, text);
        let messages = self.request();
        self.start_turn(Source::Llm(messages), ctx);
    }

    /// Start a bot turn speaking what `source` gives.
    fn start_turn(&mut self, source: Source, ctx: &Ctx) {
        let session = ctx.session().clone();
        let turn_id = session.new_turn();
        let cancel = session.cancel.child_token();
        let progress = Arc::new(Mutex::new(Progress::default()));
        let times = Arc::new(Mutex::new(TurnTimes::default()));
        // The user turn this answers (its STT wait): only a reply to speech has a latency.
        let stt = self.shared.stt_secs.lock().expect("stt lock").take();
        let user_stopped = match &source {
            Source::Llm(_) => self.user_stopped_at.take().map(|at| (at, stt)),
            Source::Text(_) => None,
        };
        let job = TurnJob {
            llm: self.llm.clone(),
            tts: self.tts.clone(),
            source,
            turn_id,
            link: ctx.downstream(),
            progress: progress.clone(),
            times: times.clone(),
            errors: self.errors.clone(),
            cancel: cancel.clone(),
            rtvi_v1: self.rtvi_v1,
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
            times,
            started_at: None,
            user_stopped,
        });
    }

    /// Bot turn `turn_id` (or an earlier one) was interrupted: keep what was heard and, for
    /// a barge-in with no words yet, arm the false-interruption check.
    fn interrupted(&mut self, turn_id: u64, ctx: &Ctx) {
        let Some(t) = &self.turn else { return };
        if t.turn_id > turn_id {
            return;
        }
        let t = self.turn.take().expect("checked");
        t.cancel.cancel();
        let played = t.started_at.map_or(0.0, |at| at.elapsed().as_secs_f64());
        let (heard, remainder) = {
            let p = t.progress.lock().expect("progress lock");
            let heard = p.heard(played);
            let remainder = p.remainder(&heard);
            (heard, remainder)
        };
        tracing::debug!(
            turn_id,
            played,
            heard_chars = heard.len(),
            "bot turn interrupted"
        );
        self.remember(Role::Assistant, heard);
        if let Some(timeout) = self.false_timeout
            && self.user_speaking
            && !self.user_words
            && !remainder.is_empty()
        {
            let deadline = Instant::now() + timeout;
            self.resume = Some(ResumeCheck {
                remainder,
                deadline,
                stt_pending: false,
            });
            self.arm(deadline, ctx);
        }
    }

    /// Send [`Frame::Wake`] to this stage at `at` (one sleeping task per armed deadline).
    fn arm(&self, at: Instant, ctx: &Ctx) {
        let Some(link) = self.shared.voice_link.get().cloned() else {
            return;
        };
        let cancel = ctx.session().cancel.clone();
        ctx.session().tasks.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                () = tokio::time::sleep_until(at.into()) => {
                    let _ = link.send(Frame::Wake).await;
                }
            }
        });
    }

    /// Act on the deadlines that have passed.
    async fn check_timers(&mut self, ctx: &mut Ctx) -> StageResult {
        let now = Instant::now();
        if self.dtmf_at.is_some_and(|t| now >= t) {
            self.flush_dtmf(ctx);
        }
        if self
            .resume
            .as_ref()
            .is_some_and(|r| now >= r.deadline && !r.stt_pending && !self.user_speaking)
        {
            let r = self.resume.take().expect("checked");
            self.resume_reply(r.remainder, ctx).await?;
        }
        if self.idle_at.is_some_and(|t| now >= t)
            && !self.user_speaking
            && ctx.session().active_turn().is_none()
        {
            self.idle_at = None;
            if self.idle_prompted {
                tracing::debug!("user idle twice in a row: ending the session");
                ctx.push(Frame::End {
                    reason: "user idle".into(),
                })
                .await?;
            } else {
                self.idle_prompted = true;
                self.settle();
                let mut messages = self.request();
                messages.push(Message::new(Role::System, IDLE_NOTE));
                self.start_turn(Source::Llm(messages), ctx);
            }
        }
        Ok(())
    }

    /// A false interruption: speak the unheard rest of the interrupted reply again (the turn
    /// opens with RTVI `bot-interruption-resumed`).
    async fn resume_reply(&mut self, remainder: String, ctx: &mut Ctx) -> StageResult {
        ctx.session().metrics.false_interruptions.inc();
        tracing::debug!(
            chars = remainder.len(),
            "false interruption: resuming the reply"
        );
        let mut agg = SentenceAggregator::default();
        let mut sentences = Vec::new();
        agg.push(&remainder, &mut sentences);
        sentences.extend(agg.flush());
        self.settle();
        self.start_turn(Source::Text(sentences), ctx);
        Ok(())
    }

    /// A DTMF digit: collected until `#`, [`DTMF_MAX_DIGITS`] digits or [`DTMF_QUIET`] of
    /// quiet, then one user text turn `DTMF: <digits>` (`pipeline.md` §4.3).
    fn on_dtmf(&mut self, digit: char, ctx: &Ctx) {
        if digit != '#' {
            self.dtmf.push(digit);
        }
        if digit == '#' || self.dtmf.len() >= DTMF_MAX_DIGITS {
            self.flush_dtmf(ctx);
        } else {
            let at = Instant::now() + DTMF_QUIET;
            self.dtmf_at = Some(at);
            self.arm(at, ctx);
        }
    }

    fn flush_dtmf(&mut self, ctx: &Ctx) {
        self.dtmf_at = None;
        if !self.dtmf.is_empty() {
            let digits = std::mem::take(&mut self.dtmf);
            self.on_user(format!("DTMF: {digits}"), ctx);
        }
    }

    /// Interrupt the active bot turn from this stage (`min_words`).
    async fn interrupt_active(&mut self, ctx: &mut Ctx) -> StageResult {
        let session = ctx.session().clone();
        let Some(turn_id) = session.active_turn() else {
            return Ok(());
        };
        if !session.interrupt(turn_id) {
            return Ok(());
        }
        session
            .metrics
            .interruptions
            .with_label_values(&[InterruptionStrategy::MinWords.label()])
            .inc();
        tracing::debug!(turn_id, "min_words: bot turn interrupted");
        self.interrupted(turn_id, ctx);
        ctx.push(Frame::Interruption { turn_id }).await?;
        Ok(())
    }

    /// A transcript from the STT stage.
    async fn on_transcription(
        &mut self,
        text: String,
        is_final: bool,
        user_id: String,
        timestamp: String,
        language: Option<String>,
        ctx: &mut Ctx,
    ) -> StageResult {
        let has_words = !text.trim().is_empty();
        if !has_words {
            // The STT heard no speech: the turn is dropped (and a false interruption may
            // resume). Its end and STT wait belong to no bot turn.
            if is_final {
                self.user_stopped_at = None;
                self.shared.stt_secs.lock().expect("stt lock").take();
            }
            if is_final && let Some(r) = &mut self.resume {
                r.stt_pending = false;
                return self.check_timers(ctx).await;
            }
            return Ok(());
        }
        self.user_words = true;
        self.resume = None;
        let active = ctx.session().active_turn().is_some();
        if self.gate.on_transcript(&text, is_final, active) {
            self.interrupt_active(ctx).await?;
        }
        if is_final {
            // The user turn is complete: the next one's words count from zero (an interim
            // may come before the VAD reports its start).
            let _ = self.gate.on_user_turn_started(false);
        }
        let answer = is_final.then(|| text.clone());
        ctx.push(Frame::Transcription {
            text,
            is_final,
            user_id,
            timestamp,
            language,
        })
        .await?;
        let Some(text) = answer else { return Ok(()) };
        let params = self.gate.params();
        if ctx.session().active_turn().is_some() {
            if !params.allow {
                // Answered once the bot has finished.
                let d = self.deferred.get_or_insert_with(String::new);
                if !d.is_empty() {
                    d.push(' ');
                }
                d.push_str(text.trim());
                return Ok(());
            }
            if params.strategy == InterruptionStrategy::MinWords {
                // Too few words to interrupt: a backchannel, not a turn.
                tracing::debug!("min_words: short transcript while the bot speaks ignored");
                return Ok(());
            }
        }
        self.on_user(text, ctx);
        Ok(())
    }

    /// `BotStartedSpeaking` of the current turn: turn overhead and the RTVI `metrics` event.
    async fn on_bot_started(&mut self, at: Instant, ctx: &mut Ctx) -> StageResult {
        let Some(t) = &mut self.turn else {
            return Ok(());
        };
        t.started_at = Some(at);
        let times = *t.times.lock().expect("times lock");
        let Some((stopped, stt)) = t.user_stopped.take() else {
            return Ok(());
        };
        let session = ctx.session().clone();
        let latency = at.saturating_duration_since(stopped).as_secs_f64();
        let waits = stt.unwrap_or(0.0)
            + times.llm_first_sentence.unwrap_or(0.0)
            + times.tts_ttfb.unwrap_or(0.0);
        let overhead = (latency - waits).max(0.0);
        session
            .metrics
            .turn_overhead
            .with_label_values(&[session.params.pipeline])
            .observe(overhead);
        if session.params.metrics {
            let mut ttfb: Vec<(&str, Option<&str>, f64)> = Vec::with_capacity(3);
            if let Some(v) = stt {
                ttfb.push(("stt", Some(&self.stt_model), v));
            }
            if let Some(v) = times.llm_ttfb {
                ttfb.push(("llm", Some(&self.llm_model), v));
            }
            if let Some(v) = times.tts_ttfb {
                ttfb.push(("tts", None, v));
            }
            let msg = rtvi::metrics(&ttfb, &[("turn_overhead", overhead)]);
            ctx.push(Frame::UrgentMessage(msg)).await?;
        }
        Ok(())
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
                self.on_transcription(text, is_final, user_id, timestamp, language, ctx)
                    .await?
            }
            Frame::UserStartedSpeaking { at } => {
                self.user_speaking = true;
                self.user_words = false;
                self.idle_at = None;
                self.idle_prompted = false;
                let active = ctx.session().active_turn().is_some();
                // The VAD barge-in itself is the user-turn stage's (strategy `none`).
                let _ = self.gate.on_user_turn_started(active);
                ctx.push(Frame::UserStartedSpeaking { at }).await?;
            }
            Frame::UserStoppedSpeaking { at } => {
                self.user_speaking = false;
                self.user_stopped_at = Some(at);
                if let Some(r) = &mut self.resume {
                    r.stt_pending = true;
                }
                ctx.push(Frame::UserStoppedSpeaking { at }).await?;
            }
            Frame::Wake => self.check_timers(ctx).await?,
            Frame::UserText { text, .. } => self.on_user(text, ctx),
            Frame::InputDtmf { digit } => self.on_dtmf(digit, ctx),
            Frame::ClientMessage(msg) => {
                if msg["type"] == "client-ready" {
                    self.rtvi_v1 = rtvi::is_v1_client(&msg);
                }
                for f in rtvi::request_frames(&msg) {
                    match f {
                        Frame::UserText { text, .. } => self.on_user(text, ctx),
                        Frame::InputDtmf { digit } => self.on_dtmf(digit, ctx),
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
        match &frame {
            Frame::BotStartedSpeaking { turn_id, at }
                if self.turn.as_ref().is_some_and(|t| t.turn_id == *turn_id) =>
            {
                self.on_bot_started(*at, ctx).await?;
            }
            Frame::BotStoppedSpeaking { turn_id, .. }
                if self.turn.as_ref().is_some_and(|t| t.turn_id == *turn_id)
                    && !ctx.session().is_stale(Some(*turn_id)) =>
            {
                // The turn played out.
                if let Some(text) = self.deferred.take() {
                    self.on_user(text, ctx);
                } else if let Some(timeout) = self.idle_timeout
                    && !self.user_speaking
                {
                    let at = Instant::now() + timeout;
                    self.idle_at = Some(at);
                    self.arm(at, ctx);
                }
            }
            _ => {}
        }
        Ok(ctx.push_upstream(frame).await?)
    }

    async fn on_interruption(&mut self, turn_id: u64, ctx: &mut Ctx) {
        self.interrupted(turn_id, ctx);
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
    source: Source,
    turn_id: u64,
    link: Link,
    progress: Arc<Mutex<Progress>>,
    times: Arc<Mutex<TurnTimes>>,
    errors: Arc<ErrorOnce>,
    cancel: CancellationToken,
    rtvi_v1: bool,
}

impl TurnJob {
    /// LLM and TTS side by side; returns whether any audio was written.
    async fn run(self) -> bool {
        let turn_id = self.turn_id;
        let link = self.link.clone();
        let (sent_tx, sent_rx) = mpsc::channel::<String>(64);
        let plan = |s: &str| {
            self.progress
                .lock()
                .expect("progress lock")
                .planned
                .push(s.to_string());
        };
        let llm_side = async {
            let messages = match &self.source {
                Source::Text(sentences) => {
                    // The resume notice goes first, in step with the turn's audio.
                    let _ = link
                        .send(Frame::TurnMessage {
                            turn_id,
                            message: rtvi::interruption_resumed(&sentences.join(" ")),
                        })
                        .await;
                    for s in sentences {
                        plan(s);
                        let _ = sent_tx.send(s.clone()).await;
                    }
                    drop(sent_tx);
                    return;
                }
                Source::Llm(messages) => messages,
            };
            if link
                .send(Frame::LlmResponseStart { turn_id })
                .await
                .is_err()
            {
                return;
            }
            let mut agg = SentenceAggregator::default();
            let mut done = Vec::new();
            let mut ok = false;
            let t0 = Instant::now();
            let mut first_text = true;
            let mut first_sentence = true;
            match self.llm.complete(messages).await {
                Err(e) => self.errors.report(&e, &link).await,
                Ok(mut stream) => {
                    while let Some(ev) = stream.next().await {
                        match ev {
                            Ok(LlmEvent::Text(t)) => {
                                if std::mem::take(&mut first_text) {
                                    self.times.lock().expect("times lock").llm_ttfb =
                                        Some(t0.elapsed().as_secs_f64());
                                }
                                let _ = link
                                    .send(Frame::LlmText {
                                        turn_id,
                                        text: t.clone(),
                                    })
                                    .await;
                                agg.push(&t, &mut done);
                                for s in done.drain(..) {
                                    if std::mem::take(&mut first_sentence) {
                                        self.times.lock().expect("times lock").llm_first_sentence =
                                            Some(t0.elapsed().as_secs_f64());
                                    }
                                    let _ = link
                                        .send(Frame::TtsText {
                                            turn_id,
                                            text: s.clone(),
                                        })
                                        .await;
                                    plan(&s);
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
                if first_sentence {
                    self.times.lock().expect("times lock").llm_first_sentence =
                        Some(t0.elapsed().as_secs_f64());
                }
                let _ = link
                    .send(Frame::TtsText {
                        turn_id,
                        text: rest.clone(),
                    })
                    .await;
                plan(&rest);
                let _ = sent_tx.send(rest).await;
            }
            let _ = link.send(Frame::LlmResponseEnd { turn_id }).await;
            drop(sent_tx);
        };
        let tts_side = speak(
            Speaker {
                tts: self.tts.clone(),
                turn_id,
                link: link.clone(),
                progress: self.progress.clone(),
                times: self.times.clone(),
                errors: self.errors.clone(),
                cancel: self.cancel.clone(),
                rtvi_v1: self.rtvi_v1,
            },
            sent_rx,
        );
        let ((), wrote) = tokio::join!(llm_side, tts_side);
        if wrote {
            let _ = link.send(Frame::TtsStopped { turn_id }).await;
        }
        wrote
    }
}

/// What the TTS side of one bot turn works with.
struct Speaker {
    tts: TtsService,
    turn_id: u64,
    link: Link,
    progress: Arc<Mutex<Progress>>,
    times: Arc<Mutex<TurnTimes>>,
    errors: Arc<ErrorOnce>,
    cancel: CancellationToken,
    rtvi_v1: bool,
}

impl Speaker {
    /// Hand one piece of audio downstream (with `TtsStarted` before the turn's first);
    /// returns false when the pipeline is gone.
    async fn audio(&self, pcm: bytes::Bytes, rate: u32, wrote: &mut bool) -> bool {
        let audio = AudioFrame::mono(pcm, rate);
        let secs = audio.duration_secs();
        {
            let mut p = self.progress.lock().expect("progress lock");
            p.total_secs += secs;
            if let Some(s) = p.sentences.last_mut() {
                s.audio_secs += secs;
            }
        }
        if !*wrote {
            *wrote = true;
            let _ = self
                .link
                .send(Frame::TtsStarted {
                    turn_id: self.turn_id,
                })
                .await;
        }
        self.link
            .send(Frame::OutputAudio {
                audio,
                turn_id: self.turn_id,
                t_in: None,
            })
            .await
            .is_ok()
    }

    /// RTVI `bot-output` for `text`, in step with the audio that follows.
    async fn output(&self, text: &str) {
        let _ = self
            .link
            .send(Frame::TurnMessage {
                turn_id: self.turn_id,
                message: rtvi::bot_output(text, self.rtvi_v1),
            })
            .await;
    }

    fn first_audio(&self, since: Instant) {
        let mut t = self.times.lock().expect("times lock");
        if t.tts_ttfb.is_none() {
            t.tts_ttfb = Some(since.elapsed().as_secs_f64());
        }
    }
}

/// Speak the sentences of one turn in order; returns whether any audio was written.
async fn speak(sp: Speaker, sentences: mpsc::Receiver<String>) -> bool {
    let mut wrote = false;
    let turn_id = sp.turn_id;
    match sp.tts.clone() {
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
                    let t0 = Instant::now();
                    let result = tts.synthesize(&request).await;
                    (text, t0, result)
                }
            })
            .buffered(2);
            futures_util::pin_mut!(requests);
            let mut first = true;
            while let Some((text, t0, result)) = requests.next().await {
                if std::mem::take(&mut first) {
                    sp.first_audio(t0);
                }
                let offset = {
                    let mut p = sp.progress.lock().expect("progress lock");
                    p.sentences.push(Spoken {
                        text: text.clone(),
                        audio_secs: 0.0,
                    });
                    p.total_secs
                };
                let mut stream = match result {
                    Ok(s) => s,
                    Err(e) => {
                        sp.errors.report(&e, &sp.link).await;
                        continue;
                    }
                };
                let mut announced = false;
                while let Some(ev) = stream.next().await {
                    match ev {
                        Ok(TtsEvent::Audio { pcm, sample_rate }) => {
                            if !std::mem::replace(&mut announced, true) {
                                sp.output(&text).await;
                            }
                            if !sp.audio(pcm, sample_rate, &mut wrote).await {
                                return wrote;
                            }
                        }
                        Ok(TtsEvent::Words(words)) => {
                            let mut p = sp.progress.lock().expect("progress lock");
                            p.words.extend(
                                words
                                    .into_iter()
                                    .map(|w| (offset + w.start_ms / 1000.0, w.word)),
                            );
                        }
                        Err(e) => {
                            sp.errors.report(&e, &sp.link).await;
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
            // Sentences pushed but not yet announced with `bot-output` (announced as the
            // context's audio plays: all known ones at its first audio, later ones as pushed).
            let mut unannounced: Vec<String> = Vec::new();
            let mut first_sent: Option<Instant> = None;
            loop {
                tokio::select! {
                    _ = sp.cancel.cancelled() => {
                        session.cancel_turn(turn_id);
                        return wrote;
                    }
                    s = sentences.recv(), if input_open => match s {
                        Some(text) => {
                            session.push_text(turn_id, &format!("{} ", strip_markdown(&text)));
                            first_sent.get_or_insert_with(Instant::now);
                            {
                                let mut p = sp.progress.lock().expect("progress lock");
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
                            if wrote {
                                sp.output(&text).await;
                            } else {
                                unannounced.push(text);
                            }
                        }
                        None => {
                            input_open = false;
                            if sp.progress.lock().expect("progress lock").sentences.is_empty() {
                                return wrote;
                            }
                            session.end_turn(turn_id);
                        }
                    },
                    ev = session.next_event() => match ev {
                        Some(TtsTurnEvent::Event(t, TtsEvent::Audio { pcm, sample_rate })) if t == turn_id => {
                            if let Some(t0) = first_sent {
                                sp.first_audio(t0);
                            }
                            for text in std::mem::take(&mut unannounced) {
                                sp.output(&text).await;
                            }
                            if !sp.audio(pcm, sample_rate, &mut wrote).await {
                                return wrote;
                            }
                        }
                        Some(TtsTurnEvent::Event(t, TtsEvent::Words(words))) if t == turn_id => {
                            let mut p = sp.progress.lock().expect("progress lock");
                            p.words.extend(words.into_iter().map(|w| (w.start_ms / 1000.0, w.word)));
                        }
                        Some(TtsTurnEvent::Done(t)) if t == turn_id => return wrote,
                        Some(TtsTurnEvent::Error(t, e)) if t == turn_id => {
                            sp.errors.report(&e, &sp.link).await;
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
            planned: vec!["Hello there!".into(), "How can I help you today?".into()],
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

    #[test]
    fn remainder_is_the_unheard_rest() {
        let p = progress();
        assert_eq!(
            p.remainder(&p.heard(0.5)),
            "there! How can I help you today?"
        );
        assert_eq!(p.remainder(&p.heard(2.0)), "help you today?");
        assert_eq!(p.remainder(&p.full()), "");
        assert_eq!(p.remainder(""), "Hello there! How can I help you today?");
    }
}
