//! Provider services (`providers.md`): speech-to-text, language models and text-to-speech
//! behind small object-safe async traits, one pooled HTTP client ([`http`]), one SSE parser
//! ([`sse`]), and [`Services`], the providers chosen by the configuration ([`config`]).
//!
//! Cancellation: every future and stream here owns its request. Dropping it drops the HTTP
//! request (the connection is closed) or, for WebSocket sessions, ends the session task; a
//! dropped request is never counted as an error.
//!
//! Audio shapes: STT input is PCM s16le mono 16 000 Hz as `i16` samples; TTS output is PCM
//! s16le mono bytes with the sample rate carried next to them (24 000 Hz by default).

pub mod config;
pub mod error;
pub mod http;
pub mod llm;
pub mod local;
pub mod sse;
pub mod stt;
pub mod tts;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

pub use config::{Endpoint, Services, SttService, validate};
pub use error::{ServiceError, Stage};

/// Sample rate of STT input audio, Hz (PCM s16le mono).
pub const STT_SAMPLE_RATE: u32 = 16_000;
/// Default TTS output sample rate, Hz.
pub const TTS_SAMPLE_RATE: u32 = 24_000;

// ---------------------------------------------------------------------------------------
// Speech to text

/// Batch speech-to-text: one request per user turn (`providers.md` §2.2).
#[async_trait]
pub trait SpeechToText: Send + Sync {
    /// Provider name (`openai`, `groq`, …), the `provider` metric label.
    fn provider(&self) -> &str;
    /// Model name sent to the provider.
    fn model(&self) -> &str;
    /// Transcribe one user turn of PCM s16le mono 16 kHz samples. Returns the trimmed text;
    /// an empty string means "no speech". Records `voxray_stt_ttfb_seconds`.
    ///
    /// # Errors
    /// [`ServiceError`] after the retry policy of `providers.md` §7 gave up.
    async fn transcribe(&self, pcm: &[i16]) -> Result<String, ServiceError>;
}

/// One event of a streaming STT session.
#[derive(Debug, Clone, PartialEq)]
pub enum SttEvent {
    /// A partial transcript of the current segment (RTVI `user-transcription`, `final:false`).
    Interim(String),
    /// A final segment transcript, to append to the current turn. `from_finalize` is true when
    /// it answers [`SttSession::finalize`]; `speech_final` marks the provider's endpoint.
    Final {
        /// Segment text (never empty).
        text: String,
        /// The provider's endpoint flag.
        speech_final: bool,
        /// Answers a `Finalize`.
        from_finalize: bool,
    },
    /// The provider saw speech start (informational).
    SpeechStarted,
    /// The provider's utterance end.
    UtteranceEnd,
    /// A non-fatal failure (e.g. the socket was lost and a turn's transcript may be lost;
    /// reconnects are under way or were abandoned).
    Error(ServiceError),
}

/// Streaming speech-to-text (Deepgram live, `providers.md` §3): one session per voice session.
#[async_trait]
pub trait StreamingSpeechToText: Send + Sync {
    /// Provider name.
    fn provider(&self) -> &str;
    /// Model name.
    fn model(&self) -> &str;
    /// Start a session. Returns at once; the socket opens in the background and audio sent
    /// meanwhile is buffered (≤ 5 s). Dropping the session closes the socket.
    fn open(&self) -> Box<dyn SttSession>;
}

/// A live STT session. All methods are cheap and never block on the network: commands go to
/// the session's socket task over a bounded queue.
#[async_trait]
pub trait SttSession: Send {
    /// Send PCM s16le mono 16 kHz samples (20–100 ms each).
    fn send_audio(&mut self, pcm: &[i16]);
    /// The user's turn ended: ask for the final transcript (`Finalize`). Starts the STT TTFB
    /// clock.
    fn finalize(&mut self);
    /// Next event, `None` once the session is closed.
    async fn next_event(&mut self) -> Option<SttEvent>;
    /// Close cleanly (`CloseStream`, wait ≤ 1 s for the last results, close).
    async fn close(self: Box<Self>);
}

// ---------------------------------------------------------------------------------------
// Language model

/// Message author.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The system prompt.
    System,
    /// The caller.
    User,
    /// The bot.
    Assistant,
}

impl Role {
    /// Wire name (`system`, `user`, `assistant`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl Message {
    /// A message of `role` with `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// Token counts reported at the end of a completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt (input) tokens.
    pub input_tokens: u64,
    /// Completion (output) tokens.
    pub output_tokens: u64,
}

/// A completed tool call (arguments are the concatenated JSON text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCall {
    /// Position in the provider's tool-call list.
    pub index: u32,
    /// Provider id (`call_…`).
    pub id: String,
    /// Function name.
    pub name: String,
    /// Arguments JSON text as streamed.
    pub arguments: String,
}

/// One event of a streamed completion.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    /// A non-empty text delta.
    Text(String),
    /// A tool call, emitted complete when the model finished it.
    ToolCall(ToolCall),
    /// The completion ended successfully (always the last item).
    End {
        /// `stop`, `length`, `tool_calls`, `end_turn`, … when the provider said.
        finish_reason: Option<String>,
        /// Token counts when the provider sent them.
        usage: Option<Usage>,
    },
}

/// A streamed completion. Items after an `Err` never come; dropping it cancels the request.
pub type LlmStream = BoxStream<'static, Result<LlmEvent, ServiceError>>;

/// A streaming chat model (`providers.md` §2.1, §6).
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// Provider name.
    fn provider(&self) -> &str;
    /// Model name.
    fn model(&self) -> &str;
    /// Start a completion for `messages` (system prompt first, then alternating history).
    /// Resolves once the first bytes of the body arrived (the retry policy of §7 applies up
    /// to there); the stream then yields text deltas and ends with [`LlmEvent::End`] or an
    /// error (stream cut, provider error, idle timeout). Records `voxray_llm_ttfb_seconds`.
    ///
    /// # Errors
    /// [`ServiceError`] when no attempt succeeded.
    async fn complete(&self, messages: &[Message]) -> Result<LlmStream, ServiceError>;
}

// ---------------------------------------------------------------------------------------
// Text to speech

/// A word (or character run) and when it is heard, in ms from the start of this request's
/// audio.
#[derive(Debug, Clone, PartialEq)]
pub struct WordTiming {
    /// The text.
    pub word: String,
    /// Start, ms.
    pub start_ms: f64,
    /// End, ms.
    pub end_ms: f64,
}

/// One event of a TTS stream.
#[derive(Debug, Clone, PartialEq)]
pub enum TtsEvent {
    /// PCM s16le mono audio at `sample_rate` Hz; always an even number of bytes.
    Audio {
        /// The samples.
        pcm: Bytes,
        /// Hz.
        sample_rate: u32,
    },
    /// Word timestamps for audio of this stream (provider alignment).
    Words(Vec<WordTiming>),
}

/// Synthesised audio of one request. Ends after the last audio (`None`); dropping it cancels.
pub type TtsStream = BoxStream<'static, Result<TtsEvent, ServiceError>>;

/// One TTS request: a sentence of a bot turn.
#[derive(Debug, Clone, Default)]
pub struct TtsRequest {
    /// Text to speak (one sentence; a trailing space is kept).
    pub text: String,
    /// The previous sentence of the same turn, for prosody (ElevenLabs `previous_text`).
    pub previous_text: Option<String>,
}

/// Text-to-speech, one request per sentence (`providers.md` §2.3, §4, §5).
#[async_trait]
pub trait TextToSpeech: Send + Sync {
    /// Provider name.
    fn provider(&self) -> &str;
    /// Output sample rate, Hz.
    fn sample_rate(&self) -> u32;
    /// Synthesise one sentence. Resolves at the first audio byte (the retry policy of §7
    /// applies up to there); records `voxray_tts_ttfb_seconds`.
    ///
    /// # Errors
    /// [`ServiceError`] when no attempt succeeded.
    async fn synthesize(&self, request: &TtsRequest) -> Result<TtsStream, ServiceError>;
}

/// One event of a streaming-input TTS session, tagged with the bot turn it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum TtsTurnEvent {
    /// Audio or word timestamps of turn `.0` (timestamps in ms from the turn's first audio).
    Event(u64, TtsEvent),
    /// All audio of turn `.0` was delivered.
    Done(u64),
    /// Turn `.0` failed; its remaining audio is abandoned (non-fatal for the session).
    Error(u64, ServiceError),
}

/// Streaming-input TTS (Cartesia, `providers.md` §5): one socket per voice session, one
/// provider context per bot turn, sentences appended as the LLM produces them.
pub trait StreamingTextToSpeech: Send + Sync {
    /// Provider name.
    fn provider(&self) -> &str;
    /// Output sample rate, Hz.
    fn sample_rate(&self) -> u32;
    /// Start a session; the socket opens on demand (first text) and reopens after a loss.
    /// Dropping the session closes the socket.
    fn open(&self) -> Box<dyn TtsSession>;
}

/// A streaming-input TTS session. Methods queue commands for the session's socket task and
/// never block on the network.
#[async_trait]
pub trait TtsSession: Send {
    /// Append a sentence (trailing space kept) to bot turn `turn`. The first text of a new
    /// turn opens a fresh context; an unfinished older turn is cancelled first.
    fn push_text(&mut self, turn: u64, sentence: &str);
    /// No more text for `turn`; [`TtsTurnEvent::Done`] follows its last audio.
    fn end_turn(&mut self, turn: u64);
    /// Barge-in: cancel `turn` (provider `cancel`); none of its later audio is delivered.
    fn cancel_turn(&mut self, turn: u64);
    /// Next event, `None` once the session is closed.
    async fn next_event(&mut self) -> Option<TtsTurnEvent>;
}

/// The chosen TTS: request per sentence, or streaming input with contexts.
#[derive(Clone)]
pub enum TtsService {
    /// OpenAI-compatible or ElevenLabs HTTP: one request per sentence.
    PerSentence(Arc<dyn TextToSpeech>),
    /// Cartesia: one context per bot turn over a session socket.
    Streaming(Arc<dyn StreamingTextToSpeech>),
}

/// Shared handles to the chosen providers.
pub type DynLlm = Arc<dyn LanguageModel>;
/// Shared handle to a TTS provider.
pub type DynTts = Arc<dyn TextToSpeech>;
