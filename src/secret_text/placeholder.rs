//! The placeholder and reference classifier (`security-tools.md` §2.4).
//!
//! One function, [`is_placeholder`], decides whether a value is a stand-in rather than a secret:
//! empty and null words, references (`${VAR}`, `vault:…`, `/run/secrets/…`), environment
//! variable names, template words (`YOUR_OPENAI_KEY_HERE`), masks and runs (`********`),
//! sequential strings, ellipses (every `redact()`ed form) and documentation samples
//! (`…EXAMPLE…`). Config loading, `voxray check` and every audit rule call it, so a value that
//! config treats as unset is never an audit finding and vice versa.

use std::sync::LazyLock;

use regex::Regex;

use super::shapes::known_prefix;

/// Words a template value may be made of (plus provider names), compared lower-case.
const TEMPLATE_WORDS: &[&str] = &[
    "your",
    "my",
    "insert",
    "enter",
    "put",
    "replace",
    "add",
    "paste",
    "set",
    "change",
    "changeme",
    "me",
    "here",
    "key",
    "api",
    "apikey",
    "token",
    "secret",
    "password",
    "value",
    "placeholder",
    "example",
    "sample",
    "dummy",
    "fake",
    "redacted",
    "xxx",
    "todo",
    "fixme",
    "tbd",
    "the",
    "goes",
    "a",
    "an",
    "to",
    "for",
    "with",
    "own",
    "real",
    "new",
    "access",
    "auth",
    "server",
    "webhook",
    "id",
    "pw",
    "pass",
    "test",
    "string",
    "s",
    "sid",
    "dialin",
    // provider names
    "openai",
    "anthropic",
    "groq",
    "deepgram",
    "elevenlabs",
    "cartesia",
    "google",
    "gemini",
    "mistral",
    "deepseek",
    "cerebras",
    "sarvam",
    "xai",
    "grok",
    "ollama",
    "vllm",
    "llamacpp",
    "daily",
    "twilio",
    "telnyx",
    "plivo",
    "exotel",
    "aws",
    "github",
    "slack",
    "stripe",
    "voxray",
    "redis",
    "postgres",
    "mysql",
    "azure",
    "gcp",
];

/// Null words, compared lower-case after trimming.
const NULL_WORDS: &[&str] = &[
    "null",
    "none",
    "nil",
    "undefined",
    "n/a",
    "na",
    "-",
    "~",
    "\"\"",
    "''",
];

/// Dev-default passwords (password class and DSN passwords only), compared lower-case.
const DEV_DEFAULTS: &[&str] = &[
    "password", "pass", "secret", "changeit", "admin", "root", "test", "postgres", "guest",
];

static PURE_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        r"\$\{[A-Za-z_][A-Za-z0-9_]*\}",                  // ${NAME}
        r"|\$\{[A-Za-z_][A-Za-z0-9_]*:?\?[^}]*\}",       // ${NAME:?must be set}
        r"|\$\{\{.*\}\}",                                  // ${{ secrets.X }}
        r"|\$[A-Za-z_][A-Za-z0-9_]*",                      // $NAME
        r"|\$\(.*\)",                                      // $(cat key)
        r"|%\([A-Za-z0-9_.-]+\)[sdr]",                     // %(key)s
        r"|%[A-Za-z_][A-Za-z0-9_]*%",                      // %KEY%
        r"|\{\{.*\}\}",                                    // {{ .Values.key }}
        r"|<[^<>]+>",                                      // <your-key>
        r"|(?i:env|vault|op|file|awssm|awsssm|ssm|gcpsm|gcp|azkv|keyring|sops|doppler|infisical|bws|k8s|secretref):\S*",
        r"|ref\+[a-z0-9]+://\S*",                          // ref+awsssm://x
        r"|(?:/var)?/run/secrets/\S*",
        r"|arn:aws[a-z-]*:(?:secretsmanager|ssm|kms):\S*",
        r"|projects/[^/\s]+/secrets/[^\s]+",
        r"|/?[a-z0-9_.-]+(?:/[a-z0-9_.-]+)+/?",           // /params/voice/openai_key
        r")$"
    ))
    .expect("placeholder regex")
});

/// A YAML local tag that names where the value comes from (`!env NAME`, `!ENV ${NAME}`,
/// `!secret name`, `!vault path`, CloudFormation `!Ref Name`), followed by the reference.
/// `!!str` and other standard `!!` tags are not references.
static YAML_REF_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^![A-Za-z][A-Za-z0-9_.-]*[ \t]+(\S.*)$").expect("tag regex"));

/// A redaction marker in brackets: `[hidden]`, `<redacted>`, `(masked)`, `{removed}`, …
static REDACTION_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^[\[<({]\s*(?:value\s+|secret\s+)?",
        r"(?:hidden|redacted|masked|removed|omitted|filtered|censored|sensitive|secret|private|",
        r"not[ _-]?shown|not[ _-]?set|unset|obfuscated|elided|scrubbed|sanitized|confidential)",
        r"\s*[\]>)}]$"
    ))
    .expect("marker regex")
});

/// Words that mark a trivial development value (`dev`, `test-secret`, `changeme123`): never a
/// production credential, compared lower-case.
const TRIVIAL_WORDS: &[&str] = &[
    "dev",
    "devel",
    "development",
    "test",
    "testing",
    "local",
    "localhost",
    "secret",
    "password",
    "changeme",
    "dummy",
    "fake",
    "sample",
    "demo",
    "example",
    "foo",
    "bar",
    "baz",
    "default",
    "insecure",
    "notasecret",
    "debug",
];

/// Filler words allowed around [`TRIVIAL_WORDS`] (`my-dev-key`, `not-a-real-secret`); a value
/// made only of fillers (`my-key`) is not trivial.
const FILLER_WORDS: &[&str] = &[
    "a", "me", "my", "your", "some", "not", "real", "key", "token", "api", "pass", "change",
];

/// True for a trivial development value: only [`TRIVIAL_WORDS`] and [`FILLER_WORDS`] (at least
/// one of the former) joined by `-`, `_`, `.` or nothing, optionally ending in up to 4 digits.
fn is_trivial_dev_value(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let body = lower.trim_end_matches(|c: char| c.is_ascii_digit());
    if body.is_empty() || lower.len() - body.len() > 4 || body.len() > 40 {
        return false;
    }
    // Word segmentation, longest word first at each position, separators skipped.
    fn segment(rest: &str, core_seen: bool) -> bool {
        let rest = rest.trim_start_matches(['-', '_', '.']);
        if rest.is_empty() {
            return core_seen;
        }
        let mut words: Vec<(&str, bool)> = TRIVIAL_WORDS
            .iter()
            .map(|w| (*w, true))
            .chain(FILLER_WORDS.iter().map(|w| (*w, false)))
            .filter(|(w, _)| rest.starts_with(*w))
            .collect();
        words.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        words
            .into_iter()
            .any(|(w, core)| segment(&rest[w.len()..], core_seen || core))
    }
    segment(body, false)
}

/// The reference after a YAML local tag is a reference, not a value: a placeholder, an
/// environment variable name, a `snake_case` name of plain words, or a path.
fn is_tagged_reference(t: &str) -> bool {
    let Some(rest) = YAML_REF_TAG.captures(t).and_then(|c| c.get(1)) else {
        return false;
    };
    let rest = rest.as_str().trim().trim_matches(['"', '\'']);
    let plain_words = rest.len() <= 64
        && rest.split(['_', '-', '.']).all(|w| {
            !w.is_empty()
                && (w.chars().all(|c| c.is_ascii_alphabetic())
                    || w.chars().all(|c| c.is_ascii_digit()))
        });
    let path = rest.contains('/')
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.-#:".contains(c))
        && rest.split(['/', '#', ':']).all(|seg| {
            seg.split(['_', '-', '.']).all(|w| {
                w.chars().all(|c| c.is_ascii_alphabetic()) || w.chars().all(|c| c.is_ascii_digit())
            })
        });
    plain_words || path || ENV_VAR_NAME.is_match(rest) || is_placeholder(rest)
}

static ENV_VAR_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$").expect("env regex"));

static DEFAULT_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-|-|:=|=|:)(.*)\}$").expect("default regex")
});

/// True when `value` is a placeholder or a reference, never a secret (`security-tools.md` §2.4).
///
/// Classes: empty/null words; pure references; environment variable names (unless a Tier-1 token
/// rule matches the whole value); template words only; masks and runs; sequential strings
/// (≥ 75 % of adjacent pairs equal or successive); ellipses; values containing `EXAMPLE`. Each
/// class is tried on the trimmed value and on its body after a known token prefix
/// (`sk-proj-YOUR_KEY`). `${NAME:-default}` forms are **not** placeholders unless the default is
/// empty: callers scan the default as the value (see [`default_part`]).
pub fn is_placeholder(value: &str) -> bool {
    let t = value.trim();
    if t.is_empty() {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    if NULL_WORDS.contains(&lower.as_str()) {
        return true;
    }
    if let Some((_, default)) = t.starts_with("${").then(|| default_part(t)).flatten() {
        return default.trim().is_empty();
    }
    if PURE_REFERENCE.is_match(t) || t.contains("secretKeyRef") {
        return true;
    }
    if REDACTION_MARKER.is_match(t) || is_tagged_reference(t) || is_trivial_dev_value(t) {
        return true;
    }
    if ENV_VAR_NAME.is_match(t) && !super::shapes::matches_token_rule(t) {
        return true;
    }
    if t.contains("EXAMPLE") || t.contains('…') || t.contains("...") {
        return true;
    }
    let prefix = known_prefix(t);
    let body = t[prefix.len()..].trim_start_matches(['-', '_']);
    if body.is_empty() && !prefix.is_empty() {
        return true;
    }
    [t, body]
        .iter()
        .any(|v| !v.is_empty() && (is_template(v) || is_mask(v) || is_sequential(v)))
}

/// True for the dev-default passwords of §2.4 (`password`, `admin`, `postgres`, …) or a password
/// equal to the user name. Applies to password-class keys and DSN passwords only.
pub fn is_dev_default(password: &str, user: Option<&str>) -> bool {
    let p = password.trim();
    DEV_DEFAULTS.iter().any(|d| p.eq_ignore_ascii_case(d))
        || user.is_some_and(|u| !u.is_empty() && u == p)
}

/// For `${NAME:-default}`, `${NAME-default}`, `${NAME:=default}`, `${NAME=default}` and
/// `${NAME:default}`: the byte offset of the default within `value` and the default itself.
pub fn default_part(value: &str) -> Option<(usize, &str)> {
    let caps = DEFAULT_FORM.captures(value)?;
    let m = caps.get(1)?;
    if m.as_str().starts_with('?') {
        // `${NAME:?message}`: an error message, not a default.
        return None;
    }
    Some((m.start(), m.as_str()))
}

/// True when a key name marks its value as a reference for Tiers 2–3: names ending in `_env`,
/// `_var`, `_file`, `_path`, `_name`, `_ref`, `_arn` (any separator or camelCase).
pub fn is_reference_key(identifier: &str) -> bool {
    matches!(
        split_words(identifier).last().map(String::as_str),
        Some("env" | "var" | "file" | "path" | "name" | "ref" | "arn")
    ) && split_words(identifier).len() > 1
}

/// Split an identifier or value into lower-case words on non-alphanumerics and camelCase
/// boundaries (`serverApiKey` → `server`, `api`, `key`; `YOUR_KEY` → `your`, `key`).
pub fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in s.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut cur = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && !cur.is_empty() {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let boundary = (c.is_uppercase() && prev.is_lowercase())
                    || (c.is_uppercase() && prev.is_uppercase() && next_lower)
                    || (c.is_alphabetic() && prev.is_ascii_digit() && c.is_uppercase());
                if boundary {
                    words.push(std::mem::take(&mut cur).to_lowercase());
                }
            }
            cur.push(c);
        }
        if !cur.is_empty() {
            words.push(cur.to_lowercase());
        }
    }
    words
}

/// Template words only (digit-only words are neutral), e.g. `YOUR_OPENAI_KEY_HERE`.
fn is_template(v: &str) -> bool {
    let words = split_words(v);
    let mut any = false;
    for w in &words {
        if w.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if !TEMPLATE_WORDS.contains(&w.as_str()) && !is_x_run(w) {
            return false;
        }
        any = true;
    }
    any
}

fn is_x_run(w: &str) -> bool {
    w.len() >= 3 && w.chars().all(|c| c == 'x')
}

/// Masks and runs: one repeated character (≥ 3), or only mask characters (`*`, `#`, `•`, `x`,
/// `X`, `.`, `-`, `_`, `?`, spaces).
fn is_mask(v: &str) -> bool {
    let mut chars = v.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let n = v.chars().count();
    (n >= 3 && chars.all(|c| c == first))
        || (n >= 3 && v.chars().all(|c| "*#•xX.-_? ".contains(c)) && v.chars().any(|c| c != ' '))
}

/// Sequential strings: ≥ 75 % of adjacent pairs equal or successors (ASCII, base62 order, hex
/// order); at least 6 characters.
fn is_sequential(v: &str) -> bool {
    const B62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const HEX: &str = "0123456789abcdef";
    let b = v.as_bytes();
    if b.len() < 6 {
        return false;
    }
    let succ_in = |alpha: &str, x: u8, y: u8| match (alpha.find(x as char), alpha.find(y as char)) {
        (Some(i), Some(j)) => j == i + 1,
        _ => false,
    };
    let good = b
        .windows(2)
        .filter(|w| {
            let (x, y) = (w[0], w[1]);
            x == y || y == x.wrapping_add(1) || succ_in(B62, x, y) || succ_in(HEX, x, y)
        })
        .count();
    good * 4 >= (b.len() - 1) * 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_table_placeholders() {
        let cases = [
            "",
            "  ",
            "null",
            "none",
            "nil",
            "undefined",
            "n/a",
            "-",
            "${OPENAI_API_KEY}",
            "$OPENAI_API_KEY",
            "$(cat key)",
            "%(key)s",
            "%KEY%",
            "{{ .Values.key }}",
            "<your-key>",
            "env:OPENAI_API_KEY",
            "vault:secret/data/voxray#key",
            "ref+awsssm://x",
            "op://vault/item/key",
            "file:/run/secrets/openai",
            "/run/secrets/openai",
            "arn:aws:secretsmanager:eu-west-1:1:secret:x",
            "projects/p/secrets/s",
            "secretKeyRef",
            "/params/voice/openai_key",
            "team/voice/openai",
            "OPENAI_API_KEY",
            "MY_SECRET_1",
            "YOUR_OPENAI_KEY_HERE",
            "your-api-key",
            "INSERT_KEY_HERE",
            "changeme",
            "change-me",
            "REPLACE_ME",
            "placeholder",
            "dummy",
            "REDACTED",
            "<redacted>",
            "sk-proj-YOUR_KEY",
            "YOUR_SERVER_API_KEY_HERE",
            "********",
            "xxxxxxxxxxxx",
            "00000000",
            "***REDACTED***",
            "##########",
            "0123456789abcdef0123456789abcdef",
            "abcdefghijklmnop",
            "1234567890",
            "sk-proj-...",
            "sk_…9c2e",
            "vxr_…qfdd",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL",
            "vxr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3i8aJj",
            "vxr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx00uiAi",
            "${NAME:-}",
            "${VOXRAY_SERVER_API_KEY:?set VOXRAY_SERVER_API_KEY (voxray keygen)}",
            "${TOKEN?required}",
        ];
        for c in cases {
            assert!(is_placeholder(c), "{c:?} must be a placeholder");
        }
    }

    #[test]
    fn real_looking_values_are_not_placeholders() {
        let cases = [
            "myvoxray-live-7",
            "sk-proj-Qm9vX2Zha2VfZm9yX3Rlc3RzX29ubHkhIQ7Hk2Lw9PzR4Tn8Yb1Vc6Xd", // voxray:allow synthetic test value
            "vxr_Zq8RkT2mWx4NvB7pLc9YhD3sGf6JaE1u2bWk5Q", // voxray:allow synthetic test value
            "hunter2-but-longer",
            "gistHookR4nd0mV4lu3xyz",
            "${OPENAI_API_KEY:-sk-live-default-value}",
            "Tr0ub4dor&3",
            "AKIAZ3MXQ7T4NVR2W6PY", // voxray:allow synthetic test value
        ];
        for c in cases {
            assert!(!is_placeholder(c), "{c:?} must not be a placeholder");
        }
    }

    #[test]
    fn template_words_are_whole_words_only() {
        // "here", "key" and "your" inside one long random word do not make it a template.
        assert!(!is_placeholder("yourkeyhereZ8q2LmN4"));
        assert!(is_placeholder("your_key_here"));
    }

    #[test]
    fn dev_defaults_and_reference_keys() {
        assert!(is_dev_default("postgres", None));
        assert!(is_dev_default("alice", Some("alice")));
        assert!(!is_dev_default("s3cr3t-Pw-91", Some("alice")));
        assert!(is_reference_key("openai_key_env"));
        assert!(is_reference_key("apiKeyFile"));
        assert!(!is_reference_key("api_key"));
        assert!(!is_reference_key("name"));
    }

    #[test]
    fn default_part_offsets() {
        let v = "${TOKEN:-abc}";
        let (off, d) = default_part(v).unwrap();
        assert_eq!(d, "abc");
        assert_eq!(&v[off..off + 3], "abc");
        assert!(default_part("${TOKEN}").is_none());
    }

    #[test]
    fn words() {
        assert_eq!(split_words("serverApiKey"), ["server", "api", "key"]);
        assert_eq!(split_words("XMLHttpToken"), ["xml", "http", "token"]);
        assert_eq!(
            split_words("YOUR_OPENAI_KEY_HERE"),
            ["your", "openai", "key", "here"]
        );
    }

    #[test]
    fn yaml_tags_redaction_markers_and_trivial_dev_values() {
        for v in [
            "!env OPENAI_API_KEY",
            "!ENV ${DEEPGRAM_API_KEY}",
            "!secret db_password",
            "!vault secret/data/voxray#token",
            "!Ref DbPassword",
            "[hidden]",
            "[REDACTED]",
            "<redacted>",
            "(masked)",
            "{removed}",
            "[secret]",
            "[ value hidden ]",
            "dev",
            "test",
            "dev-secret",
            "devsecret",
            "test123",
            "local_dev_key",
            "changeme",
            "my-secret-token",
            "notasecret",
        ] {
            assert!(is_placeholder(v), "{v} is a placeholder");
        }
        for v in [
            "!!str Zq81xkPa0vBn3Hk29dLq0Wm4",
            "!env Zq81xkPa0vBn3Hk29dLq0Wm4",
            "!secret a8f7d9c2e1b4a8f7d9c2e1b4",
            "myvoxray-live-7",
            "[Zq81xkPa0vBn3Hk29dLq0Wm4]",
            "dev-Zq81xkPa0vBn3",
            "test12345",
            "hunter2",
            "abc",
        ] {
            assert!(!is_placeholder(v), "{v} is not a placeholder");
        }
    }
}
