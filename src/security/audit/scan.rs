//! Scanning one buffer: text decoding (BOM, UTF-16, binary detection), the passes of
//! `security-tools.md` §2.6 (JSON structure, lines, raw tokens, DSNs, bounded base64
//! decoding), merging to one finding per location (§2.8) and positions (1-based line and
//! column in Unicode scalar values, 0-based byte offset).

use base64::Engine;

use super::json::{self, PosMap};
use super::lines;
use super::rules::{self, Hit, TokenCtx};
use super::{Finding, FindingKind};
use crate::security::keygen::fingerprint;
use crate::security::redact::redact;

/// A decoded input buffer.
pub struct Decoded {
    /// The text (BOM removed, UTF-16 transcoded, invalid UTF-8 replaced).
    pub text: String,
    /// Bytes before `text` starts in the file (3 for a UTF-8 BOM, 2 for a UTF-16 BOM).
    pub bom_len: usize,
}

/// Why a buffer is not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A NUL byte in the first 8192 bytes (and no UTF-16 BOM).
    Binary,
}

/// Decode file bytes to text (§2.13): UTF-8 with or without BOM, UTF-16 LE/BE with BOM; a NUL
/// byte in the first 8192 bytes otherwise means binary.
pub fn decode(bytes: &[u8]) -> Result<Decoded, SkipReason> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok(Decoded {
            text: utf8_lossy(rest),
            bom_len: 3,
        });
    }
    let utf16 = |rest: &[u8], le: bool| {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return Ok(Decoded {
            text: utf16(rest, true),
            bom_len: 2,
        });
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return Ok(Decoded {
            text: utf16(rest, false),
            bom_len: 2,
        });
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(SkipReason::Binary);
    }
    Ok(Decoded {
        text: utf8_lossy(bytes),
        bom_len: 0,
    })
}

/// UTF-8 text of `bytes`: the fast validator first, replacement characters only when needed.
fn utf8_lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// How a text was scanned: `json` (structural + line pass) or `line` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The JSON structural pass succeeded.
    Json,
    /// Line pass only.
    Line,
}

/// Run every pass over `text` and return merged hits (one per location, best rule first),
/// offsets in `text`. `json_hint` forces a structural attempt (`.json` files);
/// `decode_depth` bounds base64 rescanning (0 = off).
pub fn scan_text(text: &str, json_hint: bool, decode_depth: u8) -> (Vec<Hit>, Mode) {
    // Texts of several MB run the context-free passes on a second thread (a single large file
    // would otherwise leave the other worker idle).
    let (mut hits, mode, raw) = if text.len() >= PARALLEL_BYTES {
        std::thread::scope(|sc| {
            let raw = sc.spawn(|| raw_passes(text, decode_depth));
            let (hits, mode) = structure_passes(text, json_hint);
            let raw = raw.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (hits, mode, raw)
        })
    } else {
        let (hits, mode) = structure_passes(text, json_hint);
        (hits, mode, raw_passes(text, decode_depth))
    };
    if mode == Mode::Line {
        // In JSON mode every string (keys included) already went through the prefix-led rules
        // with its key path.
        rules::scan_tokens_prefixed(text, &mut hits);
    }
    hits.extend(raw);
    (merge(hits), mode)
}

/// Texts at least this long are scanned with two threads.
const PARALLEL_BYTES: usize = 4 << 20;

/// The JSON structural pass, or the line pass when the text is not JSON.
fn structure_passes(text: &str, json_hint: bool) -> (Vec<Hit>, Mode) {
    let first = text.trim_start().as_bytes().first().copied();
    if (json_hint || matches!(first, Some(b'{' | b'[')))
        && let Ok(h) = json::walk(text, &PosMap::Offset(0))
    {
        return (h, Mode::Json);
    }
    let mut hits = Vec::new();
    lines::scan_lines(text, &mut hits);
    (hits, Mode::Line)
}

/// Passes that need no structure: keyword-window rules, DSN passwords, base64 layers.
fn raw_passes(text: &str, decode_depth: u8) -> Vec<Hit> {
    let mut hits = Vec::new();
    rules::scan_gated(text, TokenCtx::default(), &mut hits);
    rules::scan_dsn(text, &mut hits);
    if decode_depth > 0 {
        scan_base64(text, decode_depth, &mut hits);
    }
    hits
}

/// Byte ranges of maximal runs of ≥ 24 base64/base64url characters (plus up to two `=`),
/// found with a table-driven byte loop (linear, no regex restarts).
fn base64_runs(text: &str) -> Vec<(usize, usize)> {
    const fn table() -> [bool; 256] {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            t[i] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'_' || c == b'-';
            i += 1;
        }
        t
    }
    static B64: [bool; 256] = table();
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !B64[b[i] as usize] {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && B64[b[i] as usize] {
            i += 1;
        }
        if i - start >= 24 {
            let mut end = i;
            while end < b.len() && end - i < 2 && b[end] == b'=' {
                end += 1;
            }
            runs.push((start, end));
        }
    }
    runs
}

fn scan_base64(text: &str, depth: u8, out: &mut Vec<Hit>) {
    for (rs, re) in base64_runs(text) {
        let run = &text[rs..re];
        let body = run.trim_end_matches('=');
        let url = body.contains(['-', '_']);
        if (url && body.contains(['+', '/'])) || body.len() % 4 == 1 {
            continue;
        }
        let engine = if url {
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
        } else {
            &base64::engine::general_purpose::STANDARD_NO_PAD
        };
        // Cheap rejection first: hex-only runs, and runs whose first bytes are not printable.
        if body
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        {
            continue;
        }
        match engine.decode(&body[..8]) {
            Ok(head)
                if head
                    .iter()
                    .all(|&b| (0x20..0x7f).contains(&b) || b"\t\r\n".contains(&b) || b >= 0x80) => {
            }
            _ => continue,
        }
        let Ok(bytes) = engine.decode(body) else {
            continue;
        };
        let Ok(decoded) = String::from_utf8(bytes) else {
            continue;
        };
        if !rules::printable(&decoded) {
            continue;
        }
        let (sub, _) = scan_text(&decoded, false, depth - 1);
        for mut h in sub {
            h.start = rs;
            h.end = re;
            h.decoded.insert(0, "base64");
            out.push(h);
        }
    }
}

/// One finding per start offset: the best-ranked rule wins; among equals, the first reported
/// (structural and line passes come first, so their key paths are kept).
fn merge(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by_key(|h| (h.start, h.rank()));
    hits.dedup_by_key(|h| h.start);
    hits
}

/// Line index of a text: byte offsets where each line starts.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Index `text`.
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { text, starts }
    }

    /// 0-based line number of byte offset `off`.
    pub fn line_of(&self, off: usize) -> usize {
        self.starts.partition_point(|&s| s <= off) - 1
    }

    /// (1-based line, 1-based column in Unicode scalar values) of byte offset `off`.
    pub fn position(&self, off: usize) -> (usize, usize) {
        let l = self.line_of(off);
        let mut s = self.starts[l];
        let mut off = off.min(self.text.len());
        while !self.text.is_char_boundary(off) {
            off -= 1;
        }
        s = s.min(off);
        (l + 1, self.text[s..off].chars().count() + 1)
    }

    /// Text of 0-based line `l` without its line ending.
    pub fn line_text(&self, l: usize) -> &'a str {
        let s = self.starts[l];
        let e = self.starts.get(l + 1).copied().unwrap_or(self.text.len());
        self.text[s..e].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset where 0-based line `l` starts.
    pub fn line_start(&self, l: usize) -> usize {
        self.starts[l]
    }
}

/// Scan one decoded buffer and build findings for `file` (display name, `/` separators).
/// `show_secrets` disables redaction of `secret` and `snippet`.
pub fn findings_for_text(
    file: &str,
    d: &Decoded,
    json_hint: bool,
    decode_depth: u8,
    show_secrets: bool,
) -> (Vec<Finding>, Mode) {
    let (hits, mode) = scan_text(&d.text, json_hint, decode_depth);
    let mut found = build_findings(file, &d.text, d.bom_len, &hits, show_secrets);
    if json_hint {
        for f in &mut found {
            f.mode = Some(if mode == Mode::Json { "json" } else { "line" });
        }
    }
    (found, mode)
}

/// Turn merged hits of `text` into findings (positions, redaction, snippets, fingerprints).
pub fn build_findings(
    file: &str,
    text: &str,
    bom_len: usize,
    hits: &[Hit],
    show_secrets: bool,
) -> Vec<Finding> {
    let idx = LineIndex::new(text);
    hits.iter()
        .map(|h| {
            let (line, column) = idx.position(h.start);
            let last = if h.end > h.start { h.end - 1 } else { h.start };
            let (end_line, end_column) = idx.position(last);
            let info = rules::rule_info(h.rule_id);
            Finding {
                rule_id: h.rule_id.to_string(),
                kind: FindingKind::Secret,
                description: info.description.to_string(),
                severity: info.severity,
                confidence: h.confidence,
                file: file.to_string(),
                line: Some(line),
                column: Some(column),
                end_line: Some(end_line),
                end_column: Some(end_column),
                offset: Some(h.start + bom_len),
                key_path: h.key_path.clone(),
                secret: Some(if show_secrets {
                    h.secret.clone()
                } else {
                    redact(&h.secret)
                }),
                redacted: !show_secrets,
                fingerprint: Some(fingerprint(h.secret.as_bytes())),
                snippet: Some(snippet(&idx, line - 1, h, hits, show_secrets)),
                decoded: h.decoded.iter().map(|s| s.to_string()).collect(),
                commit: None,
                message: None,
                mode: None,
                inline_allowed: idx.line_text(line - 1).contains("voxray:allow"),
            }
        })
        .collect()
}

/// The line of `h`, every secret on it redacted (unless `show`), trimmed, at most 120
/// characters around the secret.
fn snippet(idx: &LineIndex<'_>, l: usize, h: &Hit, all: &[Hit], show: bool) -> String {
    let line = idx.line_text(l);
    let ls = idx.line_start(l);
    let le = ls + line.len();
    let mut out = String::new();
    let mut cur = ls;
    let mut focus = 0;
    for o in all.iter().filter(|o| o.start >= ls && o.start < le) {
        if o.start < cur {
            continue;
        }
        out.push_str(&idx.text[cur..o.start]);
        if o.start == h.start {
            focus = out.chars().count();
        }
        let end = o.end.min(le);
        if show {
            out.push_str(&idx.text[o.start..end]);
        } else {
            out.push_str(&redact(&o.secret));
        }
        cur = end;
    }
    if cur < le {
        out.push_str(&idx.text[cur..le]);
    }
    let chars: Vec<char> = out.chars().collect();
    let (mut a, mut b) = (0, chars.len());
    if chars.len() > 120 {
        a = focus.saturating_sub(40).min(chars.len() - 120);
        b = a + 120;
    }
    chars[a..b].iter().collect::<String>().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_variants() {
        assert_eq!(decode(b"\xEF\xBB\xBFabc").unwrap().text, "abc");
        let mut le = vec![0xFF, 0xFE];
        for u in "a=b".encode_utf16() {
            le.extend(u.to_le_bytes());
        }
        assert_eq!(decode(&le).unwrap().text, "a=b");
        assert_eq!(decode(b"ab\0cd").err(), Some(SkipReason::Binary));
        assert_eq!(decode(b"a\xFFb").unwrap().text, "a\u{FFFD}b");
    }

    #[test]
    fn positions_count_scalars() {
        let t = "é=1\n  ünïcode x";
        let idx = LineIndex::new(t);
        let off = t.find('x').unwrap();
        assert_eq!(idx.position(off), (2, 11));
        assert_eq!(idx.position(0), (1, 1));
    }
}
