//! The line pass over `name = value` syntaxes (`security-tools.md` §2.6): YAML (block and flow
//! mappings, lists, `- NAME=value` items, `name:`/`value:` pairs, block scalars), `.env` and
//! shell (`export NAME=…`), Dockerfile `ENV`, TOML/INI, and quoted `"key": "value"` pairs in
//! JSON-like text that did not parse. Each value is evaluated with its key path by
//! [`rules::evaluate`]; hit offsets are byte offsets into the scanned text.
//!
//! Indentation builds YAML key paths (`api_keys:` / `  openai: …` → `api_keys.openai`); a
//! parse problem never stops the pass, it only loses context for a line.

use std::sync::LazyLock;

use regex::Regex;

use super::rules::{self, Hit};

static JSON_PAIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""((?:[^"\\\n]|\\.){1,256})"[ \t]*:[ \t]*"((?:[^"\\\n]|\\.)*)""#)
        .expect("json pair regex")
});

/// A key and its separator at the start of `rest`: `"key":`, `'key':`, `key:` (followed by a
/// blank or the end), `key =`; with `env_form` (Dockerfile `ENV`) also `NAME value`.
/// Returns the key and the byte offset just past the separator.
fn parse_key(rest: &str, env_form: bool) -> Option<(&str, usize)> {
    let b = rest.as_bytes();
    let (key, mut i) = match *b.first()? {
        q @ (b'"' | b'\'') => {
            let end = rest[1..].find(q as char)?;
            if end == 0 || end > 256 {
                return None;
            }
            (&rest[1..1 + end], end + 2)
        }
        c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
            let mut j = 1;
            while j < b.len()
                && j < 256
                && (b[j].is_ascii_alphanumeric() || b"_.-/$@".contains(&b[j]))
            {
                j += 1;
            }
            (&rest[..j], j)
        }
        _ => return None,
    };
    let key_end = i;
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    match b.get(i) {
        Some(b'=') => Some((key, i + 1)),
        Some(b':') if matches!(b.get(i + 1), None | Some(b' ' | b'\t')) => Some((key, i + 1)),
        Some(_) if env_form && i > key_end && b[0] != b'"' && b[0] != b'\'' => Some((key, i)),
        _ => None,
    }
}

/// `name(` / `a.b::c(…`: source code (a call), not a configuration value. Tokens inside it
/// are still found by the raw passes.
fn is_code_call(value: &str) -> bool {
    let b = value.as_bytes();
    let ident = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || b"_:.".contains(c))
        .count();
    ident > 0 && b.get(ident) == Some(&b'(') && (b[0].is_ascii_alphabetic() || b[0] == b'_')
}

struct Frame {
    /// Children are lines indented more than this.
    indent: isize,
    /// Path segment (`api_keys`, or `[3]` for a list item).
    key: String,
    is_item: bool,
    next_index: usize,
    /// [`rules::shape_hash`] of the path up to this frame (indices erased).
    hash: u64,
}

/// Shape hash of `stack` + `key`, consistent with the JSON walker's.
fn key_hash(stack: &[Frame], section: &str, key: Option<&str>) -> u64 {
    let (base, empty) = match stack.last() {
        Some(f) => (f.hash, false),
        None => (
            rules::shape_hash(rules::shape_hash(0, b""), section.as_bytes()),
            section.is_empty(),
        ),
    };
    match key {
        None => base,
        Some(k) if k.starts_with('[') => rules::shape_hash(base, b"[]"),
        Some(k) => rules::shape_hash(
            if empty {
                base
            } else {
                rules::shape_hash(base, b".")
            },
            k.as_bytes(),
        ),
    }
}

/// Evaluate `value` under `stack` + `key`, building the path string only when some rule may
/// fire.
fn eval_kv(
    stack: &[Frame],
    section: &str,
    key: Option<&str>,
    value: &str,
    abs: usize,
    out: &mut Vec<Hit>,
) {
    if value.is_empty() || is_code_call(value) {
        return;
    }
    let ki = rules::key_info_hashed(key_hash(stack, section, key), || {
        path_of(stack, section, key)
    });
    if !rules::worth_evaluating_with(&ki, value) {
        return;
    }
    let path = path_of(stack, section, key);
    let mut hits = Vec::new();
    rules::evaluate_with(&path, &ki, value, &mut hits);
    for mut h in hits {
        h.start += abs;
        h.end += abs;
        out.push(h);
    }
}

fn path_of(stack: &[Frame], section: &str, key: Option<&str>) -> String {
    let mut p = section.to_string();
    let mut push = |seg: &str| {
        if !(p.is_empty() || seg.starts_with('[')) {
            p.push('.');
        }
        p.push_str(seg);
    };
    for f in stack {
        push(&f.key);
    }
    if let Some(k) = key {
        push(k);
    }
    p
}

/// A value region → (offset within the line, cleaned value): quotes stripped, an unquoted
/// trailing ` # comment`, `,` and `;` removed.
fn clean_value(line: &str, off: usize) -> (usize, &str) {
    let v = &line[off..];
    let lead = v.len() - v.trim_start().len();
    let v = v.trim_start();
    let off = off + lead;
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q) {
            let mut end = None;
            let mut esc = false;
            for (i, c) in inner.char_indices() {
                if esc {
                    esc = false;
                } else if c == '\\' && q == '"' {
                    esc = true;
                } else if c == q {
                    end = Some(i);
                    break;
                }
            }
            if let Some(e) = end {
                return (off + 1, &inner[..e]);
            }
        }
    }
    let mut v = v;
    let b = v.as_bytes();
    if let Some(i) =
        memchr::memchr_iter(b'#', b).find(|&i| i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t'))
    {
        v = &v[..i - 1];
    }
    let v = v.trim_end().trim_end_matches([',', ';']).trim_end();
    (off, v)
}

/// Run the line pass over `text`, appending hits with text offsets.
pub(crate) fn scan_lines(text: &str, out: &mut Vec<Hit>) {
    let mut stack: Vec<Frame> = Vec::new();
    let mut section = String::new();
    let mut block: Option<(isize, String)> = None;
    let mut pending_name: Option<(isize, String)> = None;
    let mut line_start = 0usize;
    for raw in text.split_inclusive('\n') {
        let ls = line_start;
        line_start += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let body = line.trim_start_matches([' ', '\t']);
        let indent = (line.len() - body.len()) as isize;
        if let Some((bi, path)) = &block {
            if body.trim().is_empty() || indent > *bi {
                let t = body.trim_end();
                if !t.is_empty() {
                    eval_at(path, t, ls + indent as usize, out);
                }
                continue;
            }
            block = None;
        }
        if body.is_empty()
            || body.starts_with('#')
            || body.starts_with("//")
            || body.starts_with(';')
            || body == "---"
        {
            continue;
        }
        if body.starts_with('[')
            && body.trim_end().ends_with(']')
            && !body.contains(['=', ':', '"', ','])
        {
            section = body.trim_end().trim_matches(['[', ']']).trim().to_string();
            stack.clear();
            continue;
        }
        let is_item = body == "-" || body.starts_with("- ");
        while let Some(f) = stack.last() {
            let keep_parent = is_item && f.indent == indent && !f.is_item;
            if f.indent >= indent && !keep_parent {
                stack.pop();
            } else {
                break;
            }
        }
        if pending_name.as_ref().is_some_and(|(pi, _)| *pi > indent) {
            pending_name = None;
        }
        let (mut rest, mut rest_off) = (body, indent as usize);
        if is_item {
            let after = body[1..].trim_start();
            rest_off += body.len() - after.len();
            rest = after;
            let idx = match stack.last_mut() {
                Some(f) if !f.is_item => {
                    f.next_index += 1;
                    f.next_index - 1
                }
                _ => 0,
            };
            let hash = key_hash(&stack, &section, Some("[]"));
            stack.push(Frame {
                indent: rest_off as isize - 1,
                key: format!("[{idx}]"),
                is_item: true,
                next_index: 0,
                hash,
            });
        }
        // Quoted JSON-style pairs, possibly several per line.
        if rest.starts_with('"') {
            let mut any = false;
            for c in JSON_PAIR.captures_iter(rest) {
                any = true;
                let (k, v) = (c.get(1).expect("key"), c.get(2).expect("value"));
                eval_kv(
                    &stack,
                    &section,
                    Some(k.as_str()),
                    v.as_str(),
                    ls + rest_off + v.start(),
                    out,
                );
            }
            if any {
                continue;
            }
        }
        let mut env_form = false;
        for p in ["export ", "ENV ", "declare -x ", "set ", "setenv "] {
            if let Some(r) = rest.strip_prefix(p) {
                let r2 = r.trim_start();
                rest_off += rest.len() - r2.len();
                rest = r2;
                env_form = p == "ENV " || p == "setenv ";
                break;
            }
        }
        let Some((key, sep_end)) = parse_key(rest, env_form) else {
            if is_item && !rest.is_empty() {
                let (voff, v) = clean_value(line, rest_off);
                eval_kv(&stack, &section, None, v, ls + voff, out);
            }
            continue;
        };
        let (voff, value) = clean_value(line, rest_off + sep_end);
        let key_indent = rest_off as isize;
        let structured = matches!(value, "|" | ">" | "|-" | ">-" | "|+" | ">+")
            || (value.starts_with('{') && value.ends_with('}'))
            || (value.starts_with('[') && value.ends_with(']') && value.len() > 1);
        if key.eq_ignore_ascii_case("name") || key.eq_ignore_ascii_case("key") {
            pending_name = Some((key_indent, value.to_string()));
        } else if key.eq_ignore_ascii_case("value")
            && let Some((pi, name)) = &pending_name
            && *pi == key_indent
            && !name.is_empty()
        {
            eval_kv(&stack, &section, Some(name), value, ls + voff, out);
            continue;
        }
        if matches!(value, "" | "{" | "[") {
            let hash = key_hash(&stack, &section, Some(key));
            stack.push(Frame {
                indent: key_indent,
                key: key.to_string(),
                is_item: false,
                next_index: 0,
                hash,
            });
        } else if structured {
            let path = path_of(&stack, &section, Some(key));
            match value {
                v if v.starts_with('{') => flow_map(&path, line, ls, voff, out),
                v if v.starts_with('[') => flow_list(&path, line, ls, voff, v.len(), out),
                _ => block = Some((key_indent, path)),
            }
        } else {
            eval_kv(&stack, &section, Some(key), value, ls + voff, out);
        }
    }
}

/// `{a: 1, b: "x"}` on one line: each member evaluated under `path.a`.
fn flow_map(path: &str, line: &str, ls: usize, voff: usize, out: &mut Vec<Hit>) {
    let inner_off = voff + 1;
    let inner = &line[inner_off..];
    let inner = &inner[..inner.rfind('}').unwrap_or(inner.len())];
    let mut off = 0;
    for part in inner.split(',') {
        let t = part.trim_start();
        let toff = inner_off + off + (part.len() - t.len());
        if let Some((k, sep_end)) = parse_key(t, false) {
            let (v_off, v) = clean_value(line, toff + sep_end);
            let v = v.trim_end_matches('}').trim_end();
            eval_at(&format!("{path}.{k}"), v, ls + v_off, out);
        }
        off += part.len() + 1;
    }
}

/// `[a, "b"]` on one line: each item evaluated under `path[i]`.
fn flow_list(path: &str, line: &str, ls: usize, voff: usize, len: usize, out: &mut Vec<Hit>) {
    let inner_off = voff + 1;
    let inner = &line[inner_off..voff + len - 1];
    let mut off = 0;
    for (i, part) in inner.split(',').enumerate() {
        let (v_off, v) = clean_value(line, inner_off + off);
        let v = &v[..v.len().min(part.trim().len())];
        eval_at(
            &format!("{path}[{i}]"),
            v.trim_end_matches(']'),
            ls + v_off,
            out,
        );
        off += part.len() + 1;
    }
}

fn eval_at(path: &str, value: &str, abs: usize, out: &mut Vec<Hit>) {
    if value.is_empty() || !rules::worth_evaluating(path, value) {
        return;
    }
    let mut hits = Vec::new();
    rules::evaluate(path, value, &mut hits);
    for mut h in hits {
        h.start += abs;
        h.end += abs;
        out.push(h);
    }
}
