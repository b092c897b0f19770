//! Local inference (`providers.md` §9): Whisper STT in process ([`whisper`], feature
//! `local-whisper`) and Piper TTS through ONNX Runtime ([`piper`], feature `local-piper`), behind the same traits as the cloud providers.
//!
//! Inference is CPU-bound and blocking, so it never runs on the async runtime: each request
//! takes a permit of the one process-wide [`limit`] (size `local_max_concurrency`), then runs
//! on tokio's blocking pool. N sessions therefore queue for the cores instead of thrashing
//! them, and VAD and audio of other sessions keep running on the runtime threads.

pub mod agent;
pub mod llama;
#[cfg(feature = "local-piper")]
pub mod piper;
#[cfg(feature = "local-whisper")]
pub mod whisper;

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

/// The process-wide inference limit. The first call fixes its size (`permits`, ≥ 1); later
/// calls return the same semaphore whatever they pass.
pub fn limit(permits: usize) -> Arc<Semaphore> {
    static LIMIT: OnceLock<Arc<Semaphore>> = OnceLock::new();
    LIMIT
        .get_or_init(|| Arc::new(Semaphore::new(permits.max(1))))
        .clone()
}

/// Normalise a transcript or reference for word accuracy: lower-case words of letters, digits
/// and apostrophes; a run of digits becomes one word per digit (`47` → `four seven`).
pub fn words(text: &str) -> Vec<String> {
    const DIGITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let mut out = Vec::new();
    for w in text
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
    {
        if w.chars().all(|c| c.is_ascii_digit()) {
            out.extend(w.bytes().map(|b| DIGITS[(b - b'0') as usize].to_string()));
        } else {
            out.push(w.to_lowercase());
        }
    }
    out
}

/// Word accuracy `1 − WER` of `hypothesis` against `reference` (Levenshtein over
/// [`words`]), clamped at 0. 1.0 for two empty texts.
pub fn word_accuracy(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    if r.is_empty() {
        return if h.is_empty() { 1.0 } else { 0.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    (1.0 - prev[h.len()] as f64 / r.len() as f64).max(0.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn word_accuracy_counts_edits() {
        assert_eq!(super::word_accuracy("Hello, world!", "hello world"), 1.0);
        assert_eq!(super::word_accuracy("a b c d", "a x c d"), 0.75);
        assert_eq!(super::word_accuracy("a b c d", "a c d"), 0.75);
        assert_eq!(super::word_accuracy("a b", ""), 0.0);
        assert_eq!(
            super::word_accuracy("number four seven two", "Number 472."),
            1.0
        );
    }
}
