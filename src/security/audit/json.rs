//! The JSON structural pass (`security-tools.md` §2.6).
//!
//! A small tolerant JSON parser that keeps raw byte spans: every string value is unescaped
//! (`\" \\ \/ \n \t \uXXXX`, surrogate pairs), evaluated under its key path
//! (`api_keys.openai`, `webrtc_ice_servers[0].credential`), and positions in the decoded text
//! map back to bytes of the file through a [`PosMap`]. Strings that hold JSON are walked
//! recursively (≤ 4 levels, path joined with `>`); name/value objects (`{"name": X, "value": Y}`)
//! are evaluated as `X = Y`; JWK objects with a private member `d` are private keys.

use std::borrow::Cow;

use super::rules::{self, Confidence, Hit};

/// Maps byte offsets of a decoded text to byte offsets of the file.
#[derive(Debug, Clone)]
pub(crate) enum PosMap {
    /// `file = base + i`.
    Offset(usize),
    /// `file = table[i]`; the table has one entry per decoded byte plus one for the end.
    Table(Vec<usize>),
}

impl PosMap {
    /// File offset of decoded offset `i`.
    pub(crate) fn at(&self, i: usize) -> usize {
        match self {
            PosMap::Offset(b) => b + i,
            PosMap::Table(t) => t[i.min(t.len() - 1)],
        }
    }

    /// The map of the sub-slice `[s, e)` of this text.
    fn slice(&self, s: usize, e: usize) -> PosMap {
        match self {
            PosMap::Offset(b) => PosMap::Offset(b + s),
            PosMap::Table(t) => PosMap::Table(t[s..=e].to_vec()),
        }
    }
}

/// Maximum depth of JSON nested inside strings.
const MAX_NEST: u8 = 4;
/// Maximum container nesting depth before the structural pass gives up (line mode).
const MAX_DEPTH: usize = 512;

/// Why the structural pass gave up; the line pass still runs.
#[derive(Debug)]
pub(crate) struct NotJson;

struct Ctx {
    out: Vec<Hit>,
    path: String,
    /// [`rules::shape_hash`] of `path` with array indices erased.
    hash: u64,
}

/// Walk `text` as JSON. Hits are in file offsets (through `map`). Err when `text` is not JSON.
pub(crate) fn walk(text: &str, map: &PosMap) -> Result<Vec<Hit>, NotJson> {
    let mut ctx = Ctx {
        out: Vec::new(),
        path: String::new(),
        hash: rules::shape_hash(0, b""),
    };
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: 0,
        map,
        nest: 0,
        depth: 0,
    };
    p.skip_ws();
    p.value(&mut ctx)?;
    p.skip_ws();
    if p.pos != p.b.len() {
        return Err(NotJson);
    }
    Ok(ctx.out)
}

struct Parser<'t> {
    text: &'t str,
    b: &'t [u8],
    pos: usize,
    map: &'t PosMap,
    nest: u8,
    depth: usize,
}

#[derive(Default)]
struct ObjState {
    name: Option<String>,
    value: Option<(String, PosMap)>,
    kty: bool,
    d: Option<(String, PosMap)>,
}

impl<'t> Parser<'t> {
    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn value(&mut self, ctx: &mut Ctx) -> Result<(), NotJson> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(NotJson);
        }
        let r = match self.b.get(self.pos) {
            Some(b'{') => self.object(ctx),
            Some(b'[') => self.array(ctx),
            Some(b'"') => {
                let (s, m, escaped) = self.string()?;
                self.on_string(ctx, &s, m, escaped);
                Ok(())
            }
            Some(_) => self.literal(),
            None => Err(NotJson),
        };
        self.depth -= 1;
        r
    }

    fn literal(&mut self) -> Result<(), NotJson> {
        let start = self.pos;
        while self.pos < self.b.len()
            && (self.b[self.pos].is_ascii_alphanumeric() || b"+-.".contains(&self.b[self.pos]))
        {
            self.pos += 1;
        }
        let lit = &self.text[start..self.pos];
        let ok = matches!(lit, "true" | "false" | "null")
            || (!lit.is_empty()
                && lit
                    .bytes()
                    .all(|c| c.is_ascii_digit() || b"+-.eE".contains(&c)));
        if ok { Ok(()) } else { Err(NotJson) }
    }

    fn object(&mut self, ctx: &mut Ctx) -> Result<(), NotJson> {
        self.pos += 1;
        let mut st = ObjState::default();
        let base_len = ctx.path.len();
        self.skip_ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return Err(NotJson);
            }
            let (key, key_map, _) = self.string()?;
            if rules::has_token_candidate(&key) {
                // A token used as a member name is still a token.
                let mut hits = Vec::new();
                rules::scan_tokens(
                    &key,
                    rules::TokenCtx {
                        key_path: Some(&ctx.path),
                    },
                    &mut hits,
                );
                push_mapped(ctx, hits, &key_map);
            }
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b':') {
                return Err(NotJson);
            }
            self.pos += 1;
            self.skip_ws();
            let base_hash = ctx.hash;
            if !(ctx.path.is_empty() || ctx.path.ends_with('>')) {
                ctx.path.push('.');
                ctx.hash = rules::shape_hash(ctx.hash, b".");
            }
            ctx.path.push_str(&key);
            ctx.hash = rules::shape_hash(ctx.hash, key.as_bytes());
            let special = ["name", "key", "value", "kty", "d"]
                .iter()
                .position(|k| key.eq_ignore_ascii_case(k));
            if let (Some(which), Some(b'"')) = (special, self.b.get(self.pos)) {
                let (s, m, escaped) = self.string()?;
                match which {
                    0 | 1 => st.name = Some(s.to_string()),
                    2 => st.value = Some((s.to_string(), m.clone())),
                    3 => st.kty = true,
                    _ => st.d = Some((s.to_string(), m.clone())),
                }
                self.on_string(ctx, &s, m, escaped);
            } else {
                self.value(ctx)?;
            }
            ctx.path.truncate(base_len);
            ctx.hash = base_hash;
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(NotJson),
            }
        }
        self.finish_object(ctx, st);
        Ok(())
    }

    fn finish_object(&mut self, ctx: &mut Ctx, st: ObjState) {
        if let (Some(name), Some((value, m))) = (st.name, st.value) {
            let base_len = ctx.path.len();
            if !(ctx.path.is_empty() || ctx.path.ends_with('>')) {
                ctx.path.push('.');
            }
            ctx.path.push_str(&name);
            let mut hits = Vec::new();
            rules::evaluate(&ctx.path, &value, &mut hits);
            push_mapped(ctx, hits, &m);
            ctx.path.truncate(base_len);
        }
        if let (true, Some((d, m))) = (st.kty, st.d)
            && d.len() >= 16
            && !super::placeholder::is_placeholder(&d)
        {
            let mut h = Hit {
                rule_id: "private-key",
                start: 0,
                end: d.len(),
                secret: d.clone(),
                key_path: None,
                confidence: Confidence::High,
                decoded: Vec::new(),
            };
            h.key_path = Some(format!("{}.d", ctx.path));
            push_mapped(ctx, vec![h], &m);
        }
    }

    fn array(&mut self, ctx: &mut Ctx) -> Result<(), NotJson> {
        self.pos += 1;
        let base_len = ctx.path.len();
        self.skip_ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut i = 0usize;
        let base_hash = ctx.hash;
        loop {
            self.skip_ws();
            use std::fmt::Write;
            let _ = write!(ctx.path, "[{i}]");
            ctx.hash = rules::shape_hash(base_hash, b"[]");
            self.value(ctx)?;
            ctx.path.truncate(base_len);
            ctx.hash = base_hash;
            i += 1;
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(NotJson),
            }
        }
    }

    /// Parse a string at `pos` (which holds `"`): decoded text, its position map, and whether it
    /// had escapes.
    fn string(&mut self) -> Result<(Cow<'t, str>, PosMap, bool), NotJson> {
        let start = self.pos + 1;
        let i = start + memchr::memchr2(b'"', b'\\', &self.b[start..]).ok_or(NotJson)?;
        if self.b[i] == b'"' {
            self.pos = i + 1;
            return Ok((
                Cow::Borrowed(&self.text[start..i]),
                self.map.slice(start, i),
                false,
            ));
        }
        let mut i = i;
        // Escaped string: decode with a byte-level map back to this text.
        let mut out = String::with_capacity(i - start + 16);
        let mut table: Vec<usize> = Vec::with_capacity(i - start + 16);
        out.push_str(&self.text[start..i]);
        table.extend((start..i).map(|k| self.map.at(k)));
        loop {
            let Some(&c) = self.b.get(i) else {
                return Err(NotJson);
            };
            match c {
                b'"' => {
                    table.push(self.map.at(i));
                    self.pos = i + 1;
                    return Ok((Cow::Owned(out), PosMap::Table(table), true));
                }
                b'\\' => {
                    let esc_start = i;
                    let e = *self.b.get(i + 1).ok_or(NotJson)?;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4(i + 2)?;
                            i += 6;
                            if (0xD800..0xDC00).contains(&hi)
                                && self.b.get(i) == Some(&b'\\')
                                && self.b.get(i + 1) == Some(&b'u')
                            {
                                let lo = self.hex4(i + 2)?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    i += 6;
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                        .unwrap_or('\u{FFFD}')
                                } else {
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(hi).unwrap_or('\u{FFFD}')
                            }
                        }
                        _ => return Err(NotJson),
                    };
                    if e != b'u' {
                        i += 2;
                    }
                    let at = self.map.at(esc_start);
                    for _ in 0..ch.len_utf8() {
                        table.push(at);
                    }
                    out.push(ch);
                }
                _ => {
                    let ch_len = utf8_len(c);
                    let end = (i + ch_len).min(self.b.len());
                    out.push_str(self.text.get(i..end).ok_or(NotJson)?);
                    for k in i..end {
                        table.push(self.map.at(k));
                    }
                    i = end;
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, NotJson> {
        let h = self.text.get(at..at + 4).ok_or(NotJson)?;
        u32::from_str_radix(h, 16).map_err(|_| NotJson)
    }

    fn on_string(&mut self, ctx: &mut Ctx, s: &str, m: PosMap, escaped: bool) {
        let t = s.trim_start();
        if (t.starts_with('{') || t.starts_with('[')) && self.nest < MAX_NEST {
            let mut sub = Parser {
                text: s,
                b: s.as_bytes(),
                pos: s.len() - t.len(),
                map: &m,
                nest: self.nest + 1,
                depth: 0,
            };
            let before = ctx.out.len();
            let base_len = ctx.path.len();
            let base_hash = ctx.hash;
            ctx.path.push('>');
            ctx.hash = rules::shape_hash(ctx.hash, b">");
            let ok = sub.value(ctx).is_ok() && {
                sub.skip_ws();
                sub.pos == sub.b.len()
            };
            ctx.path.truncate(base_len);
            ctx.hash = base_hash;
            if ok {
                return;
            }
            ctx.out.truncate(before);
        }
        let ki = rules::key_info_hashed(ctx.hash, || ctx.path.clone());
        if !(escaped || rules::worth_evaluating_with(&ki, s)) {
            return;
        }
        let mut hits = Vec::new();
        rules::evaluate_with(&ctx.path, &ki, s, &mut hits);
        push_mapped(ctx, hits, &m);
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn push_mapped(ctx: &mut Ctx, hits: Vec<Hit>, m: &PosMap) {
    for mut h in hits {
        h.start = m.at(h.start);
        h.end = m.at(h.end);
        ctx.out.push(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<Hit> {
        walk(text, &PosMap::Offset(0)).expect("json")
    }

    #[test]
    fn key_paths_and_spans() {
        let text = r#"{"api_keys": {"deepgram": "zq-live-8842-prod"}, "list": [{"x": 1}]}"#;
        let hits = run(text);
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(h.rule_id, "voxray-schema-secret");
        assert_eq!(h.key_path.as_deref(), Some("api_keys.deepgram"));
        assert_eq!(&text[h.start..h.end], "zq-live-8842-prod");
    }

    #[test]
    fn escapes_map_back_to_raw_bytes() {
        let text = r#"{"server_api_key": "ab\/c\u0064-\"xyz\"-12"}"#;
        let hits = run(text);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].secret, "ab/cd-\"xyz\"-12");
        assert_eq!(
            &text[hits[0].start..hits[0].end],
            r#"ab\/c\u0064-\"xyz\"-12"#
        );
    }

    #[test]
    fn nested_json_in_string() {
        let text = r#"{"settings_json": "{\"openai\": {\"password\": \"Zx9-long-pass\"}}"}"#;
        let hits = run(text);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(
            hits[0].key_path.as_deref(),
            Some("settings_json>openai.password")
        );
        assert_eq!(&text[hits[0].start..hits[0].end], "Zx9-long-pass");
    }

    #[test]
    fn name_value_objects_and_jwk() {
        let text = r#"{"env": [{"name": "OPENAI_API_KEY", "value": "my-openai-live-key"}],
                     "jwk": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                             "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}}"#;
        let hits = run(text);
        let ids: Vec<_> = hits.iter().map(|h| h.rule_id).collect();
        assert!(ids.contains(&"voxray-schema-secret"), "{hits:?}");
        assert!(ids.contains(&"private-key"), "{hits:?}");
        assert_eq!(hits.len(), 2, "{hits:?}");
    }

    #[test]
    fn not_json() {
        assert!(walk("{\"a\": }", &PosMap::Offset(0)).is_err());
        assert!(walk("key: value", &PosMap::Offset(0)).is_err());
        assert!(walk(&"[".repeat(2000), &PosMap::Offset(0)).is_err());
    }
}
