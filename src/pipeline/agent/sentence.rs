//! Sentence aggregation for TTS (`pipeline.md` §8): LLM text deltas in, whole sentences out.
//!
//! A sentence ends at `.`, `!`, `?` (or `;`/`:` never; a newline does) followed by whitespace,
//! except after a known abbreviation (`Mr.`, `e.g.`, …), a single capital initial, or inside a
//! number (`3.14` has no whitespace after the dot). A sentence longer than [`MAX_CHARS`] is cut
//! at its last whitespace before the limit. The text shown to the client keeps its markdown;
//! [`strip_markdown`] gives what the TTS speaks.

/// Longest sentence handed to TTS, characters.
pub const MAX_CHARS: usize = 200;

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "no", "inc",
    "ltd", "co", "approx", "dept", "est", "fig", "mt",
];

/// Accumulates deltas of one bot turn.
#[derive(Debug, Default)]
pub struct SentenceAggregator {
    buf: String,
}

impl SentenceAggregator {
    /// Add a delta; completed sentences (trimmed, non-empty) are appended to `out`.
    pub fn push(&mut self, delta: &str, out: &mut Vec<String>) {
        self.buf.push_str(delta);
        while let Some(end) = self.boundary() {
            let rest = self.buf.split_off(end);
            let s = std::mem::replace(&mut self.buf, rest);
            let s = s.trim();
            if !s.is_empty() {
                out.push(s.to_string());
            }
        }
    }

    /// The rest of the turn's text (the LLM response ended), if any.
    pub fn flush(&mut self) -> Option<String> {
        let s = std::mem::take(&mut self.buf);
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    }

    /// Byte offset just after the first complete sentence in the buffer.
    fn boundary(&self) -> Option<usize> {
        let b = &self.buf;
        let mut chars = b.char_indices().peekable();
        let mut count = 0usize;
        let mut last_space: Option<usize> = None;
        while let Some((i, c)) = chars.next() {
            count += 1;
            if c.is_whitespace() {
                last_space = Some(i);
                if c == '\n' && !b[..i].trim().is_empty() {
                    return Some(i + 1);
                }
            }
            if matches!(c, '.' | '!' | '?')
                && let Some(&(j, next)) = chars.peek()
                && next.is_whitespace()
                && (c != '.' || !is_abbreviation(&b[..i]))
            {
                return Some(j);
            }
            if count >= MAX_CHARS {
                return Some(last_space.map_or(i + c.len_utf8(), |s| s + 1));
            }
        }
        None
    }
}

/// Whether the word ending at the end of `before` (the text before a `.`) is an abbreviation
/// or a single-letter initial.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    if word.chars().count() == 1 && word.chars().all(|c| c.is_uppercase()) {
        return true;
    }
    let lower = word.to_lowercase();
    ABBREVIATIONS.contains(&lower.as_str())
}

/// The sentence as the TTS should speak it: markdown emphasis, headings, code ticks, list
/// bullets and link targets removed (`[text](url)` → `text`).
pub fn strip_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s.trim_start();
    // Headings and bullets at the start.
    rest = rest.trim_start_matches('#').trim_start();
    if let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("* ")) {
        rest = r;
    }
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' | '_' | '`' => {}
            '[' => {
                let mut text = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    text.push(d);
                }
                out.push_str(&text);
                if chars.peek() == Some(&'(') {
                    for d in chars.by_ref() {
                        if d == ')' {
                            break;
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(deltas: &[&str]) -> Vec<String> {
        let mut a = SentenceAggregator::default();
        let mut out = Vec::new();
        for d in deltas {
            a.push(d, &mut out);
        }
        out.extend(a.flush());
        out
    }

    #[test]
    fn sentences_numbers_and_abbreviations() {
        assert_eq!(
            split(&[
                "Hello",
                " there! How",
                " are you? Pi is 3.",
                "14 today. Mr. Smith",
                " came."
            ]),
            [
                "Hello there!",
                "How are you?",
                "Pi is 3.14 today.",
                "Mr. Smith came."
            ]
        );
        assert_eq!(
            split(&["See e.g. this. J. R. wrote"]),
            ["See e.g. this.", "J. R. wrote"]
        );
    }

    #[test]
    fn long_text_is_cut_at_a_space() {
        let long = "word ".repeat(60);
        let out = split(&[&long]);
        assert!(out.len() >= 2);
        assert!(out.iter().all(|s| s.chars().count() <= MAX_CHARS));
        assert_eq!(out.join(" "), long.trim());
    }

    #[test]
    fn markdown_is_stripped_for_tts_only() {
        assert_eq!(strip_markdown("**Bold** and `code`"), "Bold and code");
        assert_eq!(strip_markdown("## Title"), "Title");
        assert_eq!(strip_markdown("- see [docs](http://x)"), "see docs");
    }
}
