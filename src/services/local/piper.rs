//! Local text-to-speech: a Piper voice (VITS, ONNX) run with ONNX Runtime through `ort`
//! (`load-dynamic`: `libonnxruntime.so` is opened at run time), one request per sentence
//! (`providers.md` §9).
//!
//! Text → IPA phonemes by the `espeak-ng -q --ipa` program run as a subprocess (linking
//! libespeak-ng would make the binary GPL) → ids by the voice's `phoneme_id_map`: `^`, then
//! `_` after every phoneme, then `$` → model inputs `input` (i64 [1, N]), `input_lengths`
//! (i64 [1]) and `scales` (f32 [noise, length, noise_w]) → `output` f32 at the voice's rate
//! (22 050 Hz) → peak-normalised s16 → resampled to [`crate::services::TTS_SAMPLE_RATE`].

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use ort::session::Session;
use ort::value::Tensor;
use tokio::sync::Semaphore;

use crate::metrics::Metrics;
use crate::services::error::{ProviderMetrics, ServiceError, Stage};
use crate::services::{TTS_SAMPLE_RATE, TextToSpeech, TtsEvent, TtsRequest, TtsStream};

/// The one ONNX Runtime environment of the process (the library can be loaded once).
fn environment(lib: &Path) -> Result<ort::environment::Environment, String> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        ort::init_from(lib)
            .map_err(|e| format!("{}: cannot load ONNX Runtime: {e}", lib.display()))?
            .with_name("voxray")
            .build()
            .map_err(|e| format!("{}: ONNX Runtime: {e}", lib.display()))
    })
    .clone()
}

/// A Piper voice; implements [`TextToSpeech`] (PCM s16le mono at 24 kHz).
pub struct PiperTts {
    session: Arc<Mutex<Session>>,
    ids: Arc<HashMap<char, Vec<i64>>>,
    scales: [f32; 3],
    voice_rate: u32,
    espeak_voice: String,
    espeak: PathBuf,
    limit: Arc<Semaphore>,
    metrics: ProviderMetrics,
}

fn err(detail: String) -> ServiceError {
    ServiceError::Provider {
        stage: Stage::Tts,
        detail,
    }
}

impl PiperTts {
    /// Load the voice `onnx` (its config is `<onnx>.json`) with ONNX Runtime from `ort_lib`,
    /// `threads` intra-op threads; `limit` is the process-wide inference semaphore.
    ///
    /// # Errors
    /// A line naming the file that could not be loaded or parsed.
    pub fn load(
        onnx: &Path,
        ort_lib: &Path,
        threads: usize,
        limit: Arc<Semaphore>,
        metrics: Option<&Metrics>,
    ) -> Result<Self, String> {
        let json_path = PathBuf::from(format!("{}.json", onnx.display()));
        let cfg: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?,
        )
        .map_err(|e| format!("{}: {e}", json_path.display()))?;
        let mut ids = HashMap::new();
        for (k, v) in cfg["phoneme_id_map"].as_object().into_iter().flatten() {
            let mut chars = k.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                let list: Vec<i64> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_i64())
                    .collect();
                ids.insert(c, list);
            }
        }
        for c in ['^', '_', '$'] {
            if !ids.contains_key(&c) {
                return Err(format!(
                    "{}: phoneme_id_map has no {c:?}",
                    json_path.display()
                ));
            }
        }
        let f = |k: &str, d: f64| cfg["inference"][k].as_f64().unwrap_or(d) as f32;
        let scales = [
            f("noise_scale", 0.667),
            f("length_scale", 1.0),
            f("noise_w", 0.8),
        ];
        let voice_rate = cfg["audio"]["sample_rate"].as_u64().unwrap_or(22_050) as u32;
        let espeak_voice = cfg["espeak"]["voice"]
            .as_str()
            .unwrap_or("en-us")
            .to_string();
        let env = environment(ort_lib)?;
        let session = Session::builder(&env)
            .map_err(|e| format!("{}: {e}", onnx.display()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| format!("{}: {e}", onnx.display()))?
            .commit_from_file(onnx)
            .map_err(|e| format!("{}: ONNX Runtime cannot load it: {e}", onnx.display()))?;
        Ok(Self {
            session: Arc::new(Mutex::new(session)),
            ids: Arc::new(ids),
            scales,
            voice_rate,
            espeak_voice,
            espeak: PathBuf::from("espeak-ng"),
            limit,
            metrics: ProviderMetrics::new(metrics, Stage::Tts, "piper"),
        })
    }

    /// Synthesise `text` on the calling thread (blocking): PCM s16 mono at 24 kHz.
    ///
    /// # Errors
    /// [`ServiceError::Provider`]: espeak-ng missing or failing, inference failing.
    pub fn synthesize_blocking(&self, text: &str) -> Result<Vec<i16>, ServiceError> {
        let job = Job {
            session: self.session.clone(),
            ids: self.ids.clone(),
            scales: self.scales,
            voice_rate: self.voice_rate,
            espeak_voice: self.espeak_voice.clone(),
            espeak: self.espeak.clone(),
        };
        job.run(text)
    }
}

/// What one synthesis needs, movable to the blocking pool.
struct Job {
    session: Arc<Mutex<Session>>,
    ids: Arc<HashMap<char, Vec<i64>>>,
    scales: [f32; 3],
    voice_rate: u32,
    espeak_voice: String,
    espeak: PathBuf,
}

impl Job {
    /// IPA of `text` from `espeak-ng -q --ipa --stdin`, clauses joined with ", ".
    fn phonemes(&self, text: &str) -> Result<String, ServiceError> {
        let mut child = Command::new(&self.espeak)
            .args(["-q", "--ipa", "-v", &self.espeak_voice, "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("espeak-ng: {e} (install the espeak-ng program)")))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(text.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|e| err(format!("espeak-ng: {e}")))?;
        if !out.status.success() {
            return Err(err(format!("espeak-ng exited with {}", out.status)));
        }
        let ipa = String::from_utf8_lossy(&out.stdout);
        let clauses: Vec<&str> = ipa
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        Ok(format!("{}.", clauses.join(", ")))
    }

    fn run(&self, text: &str) -> Result<Vec<i16>, ServiceError> {
        let ipa = self.phonemes(text)?;
        let mut ids: Vec<i64> = Vec::with_capacity(ipa.len() * 2 + 2);
        let pad = self.ids[&'_'].clone();
        ids.extend(&self.ids[&'^']);
        ids.extend(&pad);
        for c in ipa.chars() {
            if let Some(v) = self.ids.get(&c) {
                ids.extend(v);
                ids.extend(&pad);
            }
        }
        ids.extend(&self.ids[&'$']);
        if ids.len() <= 3 {
            return Ok(Vec::new());
        }
        let n = ids.len();
        let input =
            Tensor::from_array(([1usize, n], ids)).map_err(|e| err(format!("input: {e}")))?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64]))
            .map_err(|e| err(format!("input_lengths: {e}")))?;
        let scales = Tensor::from_array(([3usize], self.scales.to_vec()))
            .map_err(|e| err(format!("scales: {e}")))?;
        let audio: Vec<f32> = {
            let mut session = self
                .session
                .lock()
                .map_err(|_| err("piper session poisoned".into()))?;
            let outputs = session
                .run(ort::inputs![
                    "input" => input,
                    "input_lengths" => lengths,
                    "scales" => scales,
                ])
                .map_err(|e| err(format!("piper inference: {e}")))?;
            let (_, data) = outputs[0]
                .try_extract_tensor::<f32>()
                .map_err(|e| err(format!("piper output: {e}")))?;
            data.to_vec()
        };
        // Piper's own scaling: peak to full scale (never amplify silence beyond 100x).
        let peak = audio.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(0.01);
        let gain = 0.95 / peak;
        let scaled: Vec<f32> = audio.iter().map(|s| s * gain).collect();
        let out = if self.voice_rate == TTS_SAMPLE_RATE {
            scaled
        } else {
            crate::audio::resample::resample(&scaled, self.voice_rate, TTS_SAMPLE_RATE)
                .map_err(|e| err(format!("resample: {e}")))?
        };
        Ok(out
            .iter()
            .map(|s| (s * 32767.0).clamp(-32768.0, 32767.0) as i16)
            .collect())
    }
}

#[async_trait]
impl TextToSpeech for PiperTts {
    fn provider(&self) -> &str {
        "piper"
    }

    fn sample_rate(&self) -> u32 {
        TTS_SAMPLE_RATE
    }

    async fn synthesize(&self, request: &TtsRequest) -> Result<TtsStream, ServiceError> {
        let started = Instant::now();
        let permit = self
            .limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| err("inference limit closed".into()))?;
        let job = Job {
            session: self.session.clone(),
            ids: self.ids.clone(),
            scales: self.scales,
            voice_rate: self.voice_rate,
            espeak_voice: self.espeak_voice.clone(),
            espeak: self.espeak.clone(),
        };
        let text = request.text.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job.run(&text)
        })
        .await
        .map_err(|e| err(format!("piper task: {e}")))?;
        let pcm = match result {
            Ok(p) => p,
            Err(e) => {
                self.metrics.error(&e);
                return Err(e);
            }
        };
        self.metrics.ttfb(started.elapsed());
        let mut bytes = Vec::with_capacity(pcm.len() * 2);
        for s in &pcm {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        let event = TtsEvent::Audio {
            pcm: Bytes::from(bytes),
            sample_rate: TTS_SAMPLE_RATE,
        };
        Ok(Box::pin(futures_util::stream::iter([Ok(event)])))
    }
}
