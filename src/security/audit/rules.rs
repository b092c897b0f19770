//! The detection rules (`security-tools.md` §2.1–2.3, §2.5, §2.6 URL userinfo).
//!
//! * Tier 1: provider token formats, matched on raw text and on decoded values. Prefix-led
//!   tokens go through one combined regex (a literal prefilter makes that linear and fast);
//!   keyword-gated formats (bare hex, AWS secrets) only run when their keyword is present.
//! * `dsn-password`: URLs with a password in their userinfo.
//! * Tier 2 (`voxray-schema-secret`): any real value at a known voxray secret location.
//! * Tier 3 (`generic-secret`): secret-sounding names with an entropy tie-breaker.
//!
//! [`scan_pair`] runs every rule over one (key path, value) pair; `voxray check` uses it for
//! literal secrets in a config. Offsets in a [`Hit`] are byte offsets into the scanned text.

use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

use super::placeholder::{
    default_part, is_dev_default, is_placeholder, is_reference_key, split_words,
};
use crate::secret_text::shapes::TOKENS;
pub use crate::secret_text::shapes::matches_token_rule;
use crate::security::keygen;

/// How sure a rule is that a match is a live secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Weak evidence.
    Low,
    /// Plausible (JWTs, bearer tokens, generic names, failed checksums).
    Medium,
    /// The format or the location leaves little doubt.
    High,
}

/// How bad a finding is (`security-tools.md` §2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Low,
    /// JWTs, bearer tokens, generic secrets, an un-ignored config.
    Medium,
    /// Provider tokens, DSN passwords, voxray schema secrets, a tracked config.
    High,
    /// Private keys.
    Critical,
}

/// Static description of a rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    /// Stable rule id (`openai-api-key`).
    pub id: &'static str,
    /// Human description (`OpenAI API key`).
    pub description: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// Precedence when two rules claim one location: lower wins (Tier 1 < DSN < Tier 2 < Tier 3).
    pub rank: u8,
}

macro_rules! rule {
    ($id:literal, $desc:literal, $sev:ident, $rank:literal) => {
        RuleInfo {
            id: $id,
            description: $desc,
            severity: Severity::$sev,
            rank: $rank,
        }
    };
}

/// Every rule, including the git hygiene rules, in precedence order.
pub static RULES: &[RuleInfo] = &[
    rule!("private-key", "Private key", Critical, 0),
    rule!("voxray-server-key", "voxray server API key", High, 1),
    rule!("openai-api-key", "OpenAI API key", High, 1),
    rule!("anthropic-api-key", "Anthropic API key", High, 1),
    rule!("groq-api-key", "Groq API key", High, 1),
    rule!("elevenlabs-api-key", "ElevenLabs API key", High, 1),
    rule!("cartesia-api-key", "Cartesia API key", High, 1),
    rule!("deepgram-api-key", "Deepgram API key", High, 1),
    rule!("daily-api-key", "Daily API key", High, 1),
    rule!("google-api-key", "Google API key", High, 1),
    rule!("aws-access-key-id", "AWS access key id", High, 1),
    rule!("aws-secret-access-key", "AWS secret access key", High, 1),
    rule!("aws-session-token", "AWS session token", High, 1),
    rule!("github-token", "GitHub token", High, 1),
    rule!(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        High,
        1
    ),
    rule!("slack-token", "Slack token", High, 1),
    rule!("slack-webhook-url", "Slack incoming webhook URL", High, 1),
    rule!(
        "stripe-secret-key",
        "Stripe secret or restricted key",
        High,
        1
    ),
    rule!(
        "stripe-webhook-secret",
        "Stripe webhook signing secret",
        High,
        1
    ),
    rule!("twilio-api-key", "Twilio API key", High, 1),
    rule!("jwt", "JSON Web Token", Medium, 2),
    rule!("bearer-token", "Bearer token", Medium, 3),
    rule!("dsn-password", "Password in a connection URL", High, 4),
    rule!(
        "url-query-credential",
        "Credential in a URL query string",
        High,
        4
    ),
    rule!(
        "voxray-schema-secret",
        "Literal secret at a voxray secret key",
        High,
        5
    ),
    rule!(
        "generic-secret",
        "Secret-looking value under a secret-sounding name",
        Medium,
        6
    ),
    rule!(
        "git-config-tracked",
        "config.json is tracked by git",
        High,
        7
    ),
    rule!(
        "git-config-not-ignored",
        "config.json is not ignored by git",
        Medium,
        7
    ),
];

/// Look up a rule by id. Panics on an unknown id (ids are compile-time constants).
pub fn rule_info(id: &str) -> &'static RuleInfo {
    RULES.iter().find(|r| r.id == id).expect("known rule id")
}

/// One match of a rule: byte span of the secret in the scanned text (`end` exclusive), the
/// decoded secret, the key path when known, and the layers it was decoded through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Rule id.
    pub rule_id: &'static str,
    /// Byte offset of the secret's first byte in the scanned text.
    pub start: usize,
    /// Byte offset just past the secret.
    pub end: usize,
    /// The secret text (decoded: never escaped or base64).
    pub secret: String,
    /// Key path or identifier the value sat under (`api_keys.openai`), if known.
    pub key_path: Option<String>,
    /// Confidence.
    pub confidence: Confidence,
    /// Decoding layers, outermost first (`["base64"]`).
    pub decoded: Vec<&'static str>,
}

impl Hit {
    fn new(
        rule_id: &'static str,
        start: usize,
        end: usize,
        secret: &str,
        confidence: Confidence,
    ) -> Self {
        Hit {
            rule_id,
            start,
            end,
            secret: secret.to_string(),
            key_path: None,
            confidence,
            decoded: Vec::new(),
        }
    }

    /// Precedence rank of this hit's rule (lower wins at one location).
    pub fn rank(&self) -> u8 {
        rule_info(self.rule_id).rank
    }
}

// ---------------------------------------------------------------------------------------------
// Tier 1

/// Keyword-gated formats: rule, regex, keywords (any one, lower-case) and their matcher.
struct Gated {
    rule_id: &'static str,
    re: Regex,
    keywords: &'static [&'static str],
    kw_re: Regex,
    /// Longest token the rule's regex can match within the scanned window.
    max_len: usize,
}

static GATED: LazyLock<Vec<Gated>> = LazyLock::new(|| {
    let g = |rule_id, re: &str, keywords: &'static [&'static str], max_len| {
        let alt: Vec<String> = keywords.iter().map(|k| regex::escape(k)).collect();
        Gated {
            rule_id,
            re: Regex::new(re).expect("gated regex"),
            keywords,
            kw_re: Regex::new(&format!("(?i){}", alt.join("|"))).expect("keyword regex"),
            max_len,
        }
    };
    vec![
        g("daily-api-key", r"[0-9a-f]{64}", &["daily"], 65),
        g("deepgram-api-key", r"[0-9a-f]{40}", &["deepgram"], 41),
        g(
            "elevenlabs-api-key",
            r"[0-9a-f]{32}",
            &["elevenlabs", "xi-api-key", "xi_api_key"],
            33,
        ),
        g("twilio-api-key", r"SK[0-9a-f]{32}", &["twilio"], 35),
        g(
            "aws-session-token",
            r"[A-Za-z0-9/+=]{100,}",
            &[
                "session_token",
                "security_token",
                "sessiontoken",
                "securitytoken",
            ],
            8192,
        ),
        g(
            "aws-secret-access-key",
            r"[A-Za-z0-9/+]{40}",
            &["aws", "secret_access_key", "secretaccesskey"],
            41,
        ),
    ]
});

static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}").expect("aws id regex"));
static PEM_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----").expect("pem end")
});
static ANY_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)daily|deepgram|elevenlabs|xi[-_]api[-_]key|twilio|session_?token|security_?token|aws|secret_?access_?key")
        .expect("keyword regex")
});

fn before_ok(text: &str, start: usize) -> bool {
    text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
}

fn after_ok(text: &str, end: usize) -> bool {
    text[end..]
        .chars()
        .next()
        .is_none_or(|c| !(c.is_alphanumeric() || "_-+/".contains(c)))
}

/// Context for Tier-1 matching.
#[derive(Clone, Copy, Default)]
pub struct TokenCtx<'a> {
    /// Key path or identifier of the value, lower-cased by the callee for keyword checks.
    pub key_path: Option<&'a str>,
}

/// The 40-byte (char-aligned) window before `start` on its own line, lower-cased.
fn window_before(text: &str, start: usize) -> String {
    let mut from = start.saturating_sub(40);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let w = &text[from..start];
    let w = w.rfind('\n').map_or(w, |i| &w[i + 1..]);
    w.to_ascii_lowercase()
}

fn has_keyword(text: &str, start: usize, path_lower: &str, keywords: &[&str]) -> bool {
    let w = window_before(text, start);
    keywords
        .iter()
        .any(|k| path_lower.contains(k) || w.contains(k))
}

/// Run every Tier-1 rule over `text`, appending hits (placeholders and public look-alikes
/// excluded). `ctx.key_path` supplies keywords for the gated rules.
pub fn scan_tokens(text: &str, ctx: TokenCtx<'_>, out: &mut Vec<Hit>) {
    scan_prefixed(text, out);
    scan_gated(text, ctx, out);
}

/// The prefix-led Tier-1 rules (one combined regex).
pub(crate) fn scan_tokens_prefixed(text: &str, out: &mut Vec<Hit>) {
    scan_prefixed(text, out)
}

fn scan_prefixed(text: &str, out: &mut Vec<Hit>) {
    let t = &*TOKENS;
    let mut pos = 0;
    while let Some(m) = t.combined.find_at(text, pos) {
        let (s, e) = (m.start(), m.end());
        if !before_ok(text, s) {
            pos = s + 1;
            continue;
        }
        let tok = m.as_str();
        let Some(rule_id) = t
            .each
            .iter()
            .find(|(_, re)| re.is_match(tok))
            .map(|(id, _)| *id)
        else {
            pos = s + 1;
            continue;
        };
        match rule_id {
            "private-key" => {
                pos = e;
                if let Some(h) = private_key_block(text, s, e) {
                    pos = h.end;
                    out.push(h);
                }
                continue;
            }
            "bearer-token" => {
                pos = e;
                let tstart = s + tok[6..]
                    .find(|c: char| !c.is_whitespace())
                    .map_or(6, |i| i + 6);
                let token = &text[tstart..e];
                if after_ok(text, e) && !is_placeholder(token) {
                    // A known token format after `Bearer` is reported under its own rule.
                    let rule = t
                        .each
                        .iter()
                        .find(|(id, re)| {
                            !matches!(*id, "bearer-token" | "private-key") && re.is_match(token)
                        })
                        .map_or("bearer-token", |(id, _)| *id);
                    if let Some(conf) = token_confidence(rule, token) {
                        out.push(Hit::new(rule, tstart, e, token, conf));
                    }
                }
                continue;
            }
            _ => {}
        }
        if !after_ok(text, e) {
            pos = s + 1;
            continue;
        }
        pos = e;
        if is_placeholder(tok) {
            continue;
        }
        let Some(confidence) = token_confidence(rule_id, tok) else {
            continue;
        };
        out.push(Hit::new(rule_id, s, e, tok, confidence));
    }
}

/// Confidence of a Tier-1 token match; `None` drops it (a JWT whose `alg` is `none`).
fn token_confidence(rule_id: &str, tok: &str) -> Option<Confidence> {
    Some(match rule_id {
        "voxray-server-key" => checksum_conf(keygen::verify(tok).is_ok()),
        "github-token" => checksum_conf(
            keygen::checksum6(&tok.as_bytes()[4..34]).as_bytes() == &tok.as_bytes()[34..],
        ),
        "openai-api-key" if !tok.contains("T3BlbkFJ") => Confidence::Medium,
        "jwt" if !jwt_ok(tok) => return None,
        "jwt" | "bearer-token" => Confidence::Medium,
        _ => Confidence::High,
    })
}

fn checksum_conf(ok: bool) -> Confidence {
    if ok {
        Confidence::High
    } else {
        Confidence::Medium
    }
}

/// JWT header decodes to a JSON object whose `alg` is not `none`.
fn jwt_ok(tok: &str) -> bool {
    let header = tok.split('.').next().unwrap_or("");
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('='))
    else {
        return false;
    };
    match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(serde_json::Value::Object(map)) => map
            .get("alg")
            .and_then(|a| a.as_str())
            .is_none_or(|a| !a.eq_ignore_ascii_case("none")),
        _ => false,
    }
}

/// A PEM private key starting at `s` (the BEGIN marker ends at `e`): runs to the END marker, or
/// to the end of the base64 body. The body must hold ≥ 64 base64 characters.
fn private_key_block(text: &str, s: usize, e: usize) -> Option<Hit> {
    const MAX: usize = 256 * 1024;
    let mut limit = (e + MAX).min(text.len());
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let rest = &text[e..limit];
    let end = match PEM_END.find(rest) {
        Some(m) => e + m.end(),
        None => {
            let body = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=\\ \t\r\n:-,".contains(c)))
                .unwrap_or(rest.len());
            e + rest[..body].trim_end().len()
        }
    };
    let body = &text[e..end];
    let b64 = body
        .replace("\\n", "\n")
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .count();
    // `-----END RSA PRIVATE KEY-----` contributes letters; discount them.
    let marker = PEM_END.find(body).map_or(0, |m| {
        m.as_str().bytes().filter(u8::is_ascii_alphanumeric).count()
    });
    (b64.saturating_sub(marker) >= 64)
        .then(|| Hit::new("private-key", s, end, &text[s..end], Confidence::High))
}

/// Keyword-gated rules. With the keyword in the key path the whole text is searched (a value);
/// otherwise only the stretch after each keyword occurrence on its line (the keyword must lie
/// within the 40 characters before the token), plus ±5 lines around AWS key ids for AWS
/// secrets, so multi-megabyte texts cost one keyword search per rule.
pub(crate) fn scan_gated(text: &str, ctx: TokenCtx<'_>, out: &mut Vec<Hit>) {
    let path_lower = ctx
        .key_path
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let mask = gated_mask(&path_lower);
    if mask == 0 && !ANY_KEYWORD.is_match(text) && !AWS_KEY_ID.is_match(text) {
        return;
    }
    scan_gated_impl(
        text,
        &path_lower,
        mask,
        is_digest_key(&path_lower),
        true,
        out,
    );
}

/// Bit `i` set when the keyword of `GATED[i]` occurs in `path_lower`.
fn gated_mask(path_lower: &str) -> u8 {
    if !ANY_KEYWORD.is_match(path_lower) {
        return 0;
    }
    GATED
        .iter()
        .enumerate()
        .filter(|(_, g)| g.kw_re.is_match(path_lower))
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// Gated rules over `text`: rules whose keyword is in the path (`mask`) search all of `text`;
/// with `raw`, the others search the stretches after keyword occurrences in `text`.
fn scan_gated_impl(
    text: &str,
    path_lower: &str,
    mask: u8,
    digest_key: bool,
    raw: bool,
    out: &mut Vec<Hit>,
) {
    for (gi, g) in GATED.iter().enumerate() {
        let mut regions: Vec<(usize, usize)> = Vec::new();
        if mask & (1 << gi) != 0 {
            regions.push((0, text.len()));
        } else if raw {
            for k in g.kw_re.find_iter(text) {
                let mut cap = (k.start() + 40 + g.max_len).min(text.len());
                while !text.is_char_boundary(cap) {
                    cap -= 1;
                }
                let end = text[k.end()..cap].find('\n').map_or(cap, |i| k.end() + i);
                regions.push((k.end(), end));
            }
            if g.rule_id == "aws-secret-access-key" {
                for m in AWS_KEY_ID.find_iter(text) {
                    regions.push(lines_around(text, m.start(), 5));
                }
            }
        }
        let mut last_end = 0;
        for (a, b) in regions {
            let a = a.max(last_end);
            if a >= b {
                continue;
            }
            last_end = b;
            for m in g.re.find_iter(&text[a..b]) {
                let (s, e) = (a + m.start(), a + m.end());
                if !before_ok(text, s) || !after_ok(text, e) {
                    continue;
                }
                let tok = m.as_str();
                let ok = match g.rule_id {
                    "aws-secret-access-key" => aws_secret_ok(text, s, path_lower, tok),
                    "aws-session-token" => has_keyword(text, s, path_lower, g.keywords),
                    "elevenlabs-api-key" if digest_key => false,
                    _ => has_keyword(text, s, path_lower, g.keywords),
                };
                if ok && !is_placeholder(tok) && !out.iter().any(|h| h.start == s) {
                    out.push(Hit::new(g.rule_id, s, e, tok, Confidence::High));
                }
            }
        }
    }
}

/// Byte range of the lines within `n` lines of the one holding `at`.
fn lines_around(text: &str, at: usize, n: usize) -> (usize, usize) {
    let mut lo = at;
    for _ in 0..=n {
        match text[..lo].rfind('\n') {
            Some(i) => lo = i,
            None => {
                lo = 0;
                break;
            }
        }
    }
    let mut hi = at;
    for _ in 0..=n {
        match text[hi..].find('\n') {
            Some(i) => hi += i + 1,
            None => {
                hi = text.len();
                break;
            }
        }
    }
    (lo, hi)
}

fn aws_secret_ok(text: &str, s: usize, path_lower: &str, tok: &str) -> bool {
    let mixed =
        tok.bytes().any(|b| b.is_ascii_uppercase()) && tok.bytes().any(|b| b.is_ascii_lowercase());
    if !mixed {
        return false;
    }
    let w = window_before(text, s);
    let ctx = format!("{path_lower} {w}").replace(['-', '.'], "_");
    if (ctx.contains("aws") && ctx.contains("secret"))
        || ctx.replace('_', "").contains("secretaccesskey")
    {
        return true;
    }
    // An access key id within 5 lines (looked for in a bounded window around the token).
    let mut lo = s.saturating_sub(4096);
    while !text.is_char_boundary(lo) {
        lo += 1;
    }
    let mut hi = (s + 4096).min(text.len());
    while !text.is_char_boundary(hi) {
        hi -= 1;
    }
    let lines = |a: usize, b: usize| text[a..b].bytes().filter(|&b| b == b'\n').count();
    let here = lines(lo, s);
    AWS_KEY_ID.find_iter(&text[lo..hi]).any(|m| {
        let at = lo + m.start();
        let l = if at < s {
            lines(lo, at)
        } else {
            here + lines(s, at)
        };
        l.abs_diff(here) <= 5
    })
}

// ---------------------------------------------------------------------------------------------
// DSN passwords

static SCHEME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z][A-Za-z0-9+.-]{1,20}://").expect("scheme regex"));

/// Find `scheme://user:password@host` URLs in `text` and report their passwords (§2.6).
pub fn scan_dsn(text: &str, out: &mut Vec<Hit>) {
    if SCHEME_SEP.find(text.as_bytes()).is_none() {
        return;
    }
    for m in SCHEME.find_iter(text) {
        if !before_ok(text, m.start()) {
            continue;
        }
        if let Some(h) = dsn_at(text, m.end()) {
            out.push(h);
        }
        query_credentials(text, m.end(), out);
    }
}

/// Query parameters that carry a credential (compared lower-case): `?api_key=`, `token=`,
/// `access_token=`, `sig=` (Azure SAS), `X-Amz-Signature=`, ….
const QUERY_CREDENTIAL_PARAMS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "access_token",
    "auth_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "secret",
    "password",
    "sig",
    "signature",
    "x-amz-signature",
    "x-goog-signature",
    "x-amz-security-token",
];

/// Report credential-valued query parameters of the URL whose authority starts at
/// `auth_start` (issue 10: `https://host/path?api_key=…`). A value must not be a placeholder
/// or reference, be at least 16 characters after percent-decoding, and mix at least two
/// character classes with some entropy, so `?token=abc` and `?key=value` stay quiet.
fn query_credentials(text: &str, auth_start: usize, out: &mut Vec<Hit>) {
    let rest = &text[auth_start..];
    let stop = rest
        .find(|c: char| c.is_whitespace() || "\"'`<>\\".contains(c))
        .unwrap_or(rest.len());
    let url = &rest[..stop];
    let Some(q) = url.find('?') else {
        return;
    };
    let query_end = url.find('#').filter(|&h| h > q).unwrap_or(url.len());
    let mut pos = auth_start + q + 1;
    for pair in url[q + 1..query_end].split('&') {
        let pair_start = pos;
        pos += pair.len() + 1;
        let Some((name, raw)) = pair.split_once('=') else {
            continue;
        };
        if !QUERY_CREDENTIAL_PARAMS.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        let value = percent_decode(raw);
        if value.chars().count() < 16
            || is_placeholder(&value)
            || char_classes(&value) < 2
            || shannon_entropy(&value) < 3.0
        {
            continue;
        }
        let start = pair_start + name.len() + 1;
        out.push(Hit::new(
            "url-query-credential",
            start,
            start + raw.len(),
            &value,
            Confidence::High,
        ));
    }
}

fn dsn_at(text: &str, auth_start: usize) -> Option<Hit> {
    let rest = &text[auth_start..];
    let stop = rest
        .find(|c: char| c.is_whitespace() || "\"'`<>\\".contains(c))
        .unwrap_or(rest.len());
    let s = &rest[..stop];
    let q = &s[..s.find(['?', '#']).unwrap_or(s.len())];
    let at = q.rfind('@')?;
    let userinfo = &q[..at];
    let colon = userinfo.find(':')?;
    let user = &userinfo[..colon];
    if user.contains('/') {
        return None;
    }
    let pw_raw = &userinfo[colon + 1..];
    if pw_raw.is_empty() {
        return None;
    }
    let hostport = &q[at + 1..];
    let host_end = if hostport.starts_with('[') {
        hostport.find(']').map_or(hostport.len(), |i| i + 1)
    } else {
        hostport.find([':', '/', ',']).unwrap_or(hostport.len())
    };
    let host = hostport[..host_end].to_ascii_lowercase();
    if host.is_empty()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
    {
        return None;
    }
    let pw = percent_decode(pw_raw);
    let user = percent_decode(user);
    if is_placeholder(&pw) || is_dev_default(&pw, Some(&user)) {
        return None;
    }
    let start = auth_start + colon + 1;
    Some(Hit::new(
        "dsn-password",
        start,
        start + pw_raw.len(),
        &pw,
        Confidence::High,
    ))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Tier 2 and 3

/// Normalised segments of a key path: `a.b[0]>c` → `[("a",false),("b",true),("c",false)]`,
/// names as snake_case lower-case words.
fn segments(key_path: &str) -> Vec<(String, bool)> {
    key_path
        .split(['.', '>'])
        .filter(|s| !s.is_empty())
        .map(|seg| {
            let (name, idx) = match seg.find('[') {
                Some(i) => (&seg[..i], true),
                None => (seg, false),
            };
            (split_words(name).join("_"), idx)
        })
        .collect()
}

const SECRET_LEAVES: &[&str] = &[
    "server_api_key",
    "daily_api_key",
    "daily_dialin_webhook_secret",
    "twilio_auth_token",
    "telnyx_api_key",
    "plivo_auth_token",
];

/// Environment variables that hold voxray secrets (§2.2, `config.md` §5.4 and §6.4), lower-case.
const SECRET_VARS: &[&str] = &[
    "voxray_server_api_key",
    "voxray_server_api_keys",
    "voxray_daily_dialin_webhook_secret",
    "voxray_twilio_auth_token",
    "voxray_telnyx_api_key",
    "voxray_plivo_auth_token",
    "openai_api_key",
    "anthropic_api_key",
    "groq_api_key",
    "deepgram_api_key",
    "elevenlabs_api_key",
    "cartesia_api_key",
    "google_api_key",
    "gemini_api_key",
    "mistral_api_key",
    "deepseek_api_key",
    "cerebras_api_key",
    "sarvam_api_key",
    "xai_api_key",
    "ollama_api_key",
    "vllm_api_key",
    "llamacpp_api_key",
    "daily_api_key",
    "twilio_auth_token",
    "telnyx_api_key",
    "plivo_auth_token",
];

/// True when `key_path` is a voxray secret location (Tier 2, §2.2).
pub fn is_schema_secret_path(key_path: &str) -> bool {
    let segs = segments(key_path);
    let Some((last, last_idx)) = segs.last() else {
        return false;
    };
    let prev = segs.len().checked_sub(2).map(|i| &segs[i]);
    if SECRET_LEAVES.contains(&last.as_str()) && !last_idx {
        return true;
    }
    if last == "server_api_keys" && *last_idx {
        return true;
    }
    if SECRET_VARS.contains(&last.as_str()) || last.starts_with("voxray_api_keys_") {
        return true;
    }
    match prev {
        Some((p, false)) if p == "server" && last == "api_key" => true,
        Some((p, false)) if p == "api_keys" => true,
        Some((p, true)) if p == "webrtc_ice_servers" && last == "credential" => true,
        Some((p, false)) if p == "recording" && last.contains("secret") => true,
        _ => false,
    }
}

/// Whether a key path names a list variable whose value is comma-separated keys.
fn is_list_var(key_path: &str) -> bool {
    segments(key_path)
        .last()
        .is_some_and(|(l, idx)| !idx && (l == "voxray_server_api_keys" || l == "server_api_keys"))
}

const BENIGN_LAST: &[&str] = &[
    "id", "ids", "name", "env", "var", "file", "path", "url", "uri", "endpoint", "version", "type",
    "mode", "enabled", "count", "limit", "length", "size", "timeout", "ttl", "expiry", "header",
    "prefix", "format", "policy", "hint",
];
const BENIGN_IDENTS: &[&str] = &[
    "public_key",
    "publishable_key",
    "key_id",
    "kid",
    "token_type",
    "max_tokens",
    "tokenizer",
    "author",
];
const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pwd", "passphrase"];
const TOKEN_WORDS: &[&str] = &[
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "bearer",
    "auth",
];
const TOKEN_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("secret", "key"),
    ("private", "key"),
    ("signing", "key"),
    ("client", "secret"),
    ("master", "key"),
    ("encryption", "key"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameClass {
    Password,
    Token,
}

fn name_class(ident: &str) -> Option<NameClass> {
    let words = split_words(ident);
    let last = words.last()?;
    let joined = words.join("_");
    if BENIGN_LAST.contains(&last.as_str())
        || BENIGN_IDENTS
            .iter()
            .any(|b| joined == *b || joined.ends_with(&format!("_{b}")))
    {
        return None;
    }
    if words.iter().any(|w| PASSWORD_WORDS.contains(&w.as_str())) {
        return Some(NameClass::Password);
    }
    let pair = words
        .windows(2)
        .any(|w| TOKEN_PAIRS.contains(&(w[0].as_str(), w[1].as_str())));
    (pair || words.iter().any(|w| TOKEN_WORDS.contains(&w.as_str()))).then_some(NameClass::Token)
}

/// Shannon entropy of `s` in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

fn char_classes(s: &str) -> usize {
    let mut c = [false; 4];
    for ch in s.chars() {
        let i = if ch.is_ascii_digit() {
            0
        } else if ch.is_lowercase() {
            1
        } else if ch.is_uppercase() {
            2
        } else {
            3
        };
        c[i] = true;
    }
    c.iter().filter(|b| **b).count()
}

static BENIGN_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        r"[A-Za-z][A-Za-z0-9+.-]*://[^@\s]*", // URL without userinfo
        r"|(?:/|\./|\.\./|~/|[A-Za-z]:\\)\S*", // paths
        r"|[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", // e-mail
        r"|[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", // numbers
        r"|(?i:true|false|yes|no|on|off)",    // booleans
        r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", // UUID
        r"|\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+Z?)?", // dates
        r"|v?\d+(?:\.\d+)+(?:[-+][0-9A-Za-z.-]+)?", // versions
        r"|[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?", // host names
        r")$"
    ))
    .expect("benign value regex")
});

static PUBLIC_LOOKALIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:",
        r"pk_(?:live|test)_\S+",
        r"|-----BEGIN (?:CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY)[\s\S]*",
        r"|(?:ssh-rsa|ssh-ed25519|ecdsa-sha2-\S+) AAAA[\s\S]*",
        r"|sha(?:256|384|512)-[A-Za-z0-9+/=]+",
        r"|sha(?:1|256|512):[0-9a-fA-F]+",
        r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        r"|AC[0-9a-f]{32}",
        r"|\$(?:2[abxy]|argon2id|argon2i|argon2d|scrypt|pbkdf2[-a-z0-9]*|6|5|1)\$\S+",
        r"|ENC\[[\s\S]*\]",
        r"|data:[\s\S]*",
        r")$"
    ))
    .expect("public look-alike regex")
});

/// Public look-alikes (§2.5): publishable keys, certificates, public keys, SRI values, digests,
/// UUIDs, Twilio account SIDs, password hashes, SOPS values and `data:` URIs.
pub fn is_public_lookalike(value: &str) -> bool {
    PUBLIC_LOOKALIKE.is_match(value.trim())
}

fn is_digest_key(path_lower: &str) -> bool {
    let segs = segments(path_lower);
    segs.last().is_some_and(|(l, _)| {
        let last = l.rsplit('_').next().unwrap_or(l);
        matches!(
            last,
            "commit"
                | "sha"
                | "digest"
                | "checksum"
                | "hash"
                | "revision"
                | "etag"
                | "fingerprint"
                | "integrity"
        )
    })
}

fn is_id_key(ident: &str) -> bool {
    split_words(ident).last().is_some_and(|w| w == "id")
}

/// What the key-dependent rules think of a key path (computed once per path shape).
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyInfo {
    /// Bit `i`: the keyword of gated rule `i` occurs in the path.
    gated_mask: u8,
    /// The path names a digest (`…_checksum`, `commit`, …).
    digest_key: bool,
    /// The path shape, lower-cased.
    path_lower: String,
    /// Tier 2 location.
    schema: bool,
    /// Comma-separated key list variable.
    list_var: bool,
    /// `_env`, `_file`, … names, or SealedSecret `encryptedData`: no Tiers 2-3.
    reference: bool,
    /// `*_id` / digest-like names: no Tier 3.
    benign: bool,
    /// Tier-3 name class.
    class: Option<NameClass>,
}

impl KeyInfo {
    fn compute(shape: &str) -> Self {
        let ident = shape.rsplit(['.', '>']).next().unwrap_or(shape);
        let ident = ident.split('[').next().unwrap_or(ident);
        let lower = shape.to_ascii_lowercase();
        KeyInfo {
            gated_mask: gated_mask(&lower),
            digest_key: is_digest_key(&lower),
            path_lower: lower.clone(),
            schema: is_schema_secret_path(shape),
            list_var: is_list_var(shape),
            reference: is_reference_key(ident) || lower.contains("encrypteddata"),
            benign: is_id_key(ident) || is_digest_key(&lower),
            class: name_class(ident),
        }
    }

    fn relevant(&self) -> bool {
        self.gated_mask != 0 || self.schema || self.class.is_some()
    }
}

/// FNV-1a, a fast hasher for the small per-thread key cache.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = shape_hash(self.0, bytes);
    }
}

type KeyCache =
    std::collections::HashMap<String, std::rc::Rc<KeyInfo>, std::hash::BuildHasherDefault<Fnv>>;

thread_local! {
    static KEY_INFO: std::cell::RefCell<(String, KeyCache)> = std::cell::RefCell::new((String::new(), KeyCache::default()));
}

fn key_info(key_path: &str) -> std::rc::Rc<KeyInfo> {
    KEY_INFO.with(|c| {
        let mut c = c.borrow_mut();
        let (buf, map) = &mut *c;
        buf.clear();
        let mut in_idx = false;
        for ch in key_path.chars() {
            match ch {
                '[' => in_idx = true,
                ']' => {
                    in_idx = false;
                    buf.push_str("[]");
                }
                _ if in_idx => {}
                _ => buf.push(ch),
            }
        }
        if let Some(k) = map.get(buf.as_str()) {
            return k.clone();
        }
        if map.len() > 50_000 {
            map.clear();
        }
        let k = std::rc::Rc::new(KeyInfo::compute(buf));
        map.insert(buf.clone(), k.clone());
        k
    })
}

/// The known token prefixes (`redact::KNOWN_PREFIXES`, all prefix-led Tier-1 rules) as a
/// fast prefilter for short values. Twilio's `SK` is keyword-gated, so it is left out.
static PREFIX_LITERALS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(
            crate::security::redact::KNOWN_PREFIXES
                .iter()
                .filter(|p| **p != "SK"),
        )
        .expect("prefix automaton")
});

/// Could a prefix-led Tier-1 rule match somewhere in `value`?
pub(crate) fn has_token_candidate(value: &str) -> bool {
    PREFIX_LITERALS.is_match(value) && TOKENS.combined.is_match(value)
}

/// FNV-1a step over `bytes`, used to hash path shapes incrementally (`h = 0` starts a hash).
pub(crate) fn shape_hash(h: u64, bytes: &[u8]) -> u64 {
    let mut h = if h == 0 { 0xcbf2_9ce4_8422_2325 } else { h };
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Identity hasher for keys that are already hashes.
#[derive(Default)]
struct IdHash(u64);

impl std::hash::Hasher for IdHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashedCache =
    std::collections::HashMap<u64, std::rc::Rc<KeyInfo>, std::hash::BuildHasherDefault<IdHash>>;

thread_local! {
    static KEY_INFO_HASHED: std::cell::RefCell<HashedCache> = std::cell::RefCell::new(HashedCache::default());
}

/// [`KeyInfo`] for a path whose shape hash the caller maintains incrementally (the JSON
/// walker and the line pass); `key_path` is only called on a cache miss.
pub(crate) fn key_info_hashed(
    hash: u64,
    key_path: impl FnOnce() -> String,
) -> std::rc::Rc<KeyInfo> {
    KEY_INFO_HASHED.with(|c| {
        if let Some(k) = c.borrow().get(&hash) {
            return k.clone();
        }
        let k = key_info(&key_path());
        let mut c = c.borrow_mut();
        if c.len() > 50_000 {
            c.clear();
        }
        c.insert(hash, k.clone());
        k
    })
}

static SCHEME_SEP: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new("://"));

/// Cheap pre-check before [`evaluate`]: can any rule fire for `value` under `key_path`?
/// (A token prefix, a URL, a `${…}` default, or a key some rule cares about.)
pub(crate) fn worth_evaluating(key_path: &str, value: &str) -> bool {
    worth_evaluating_with(&key_info(key_path), value)
}

/// [`worth_evaluating`] with the key's [`KeyInfo`] at hand.
pub(crate) fn worth_evaluating_with(ki: &KeyInfo, value: &str) -> bool {
    ki.relevant()
        || value.starts_with("${")
        || SCHEME_SEP.find(value.as_bytes()).is_some()
        || has_token_candidate(value)
}

/// Run every rule over one value found under `key_path` (JSON path, YAML path or variable
/// name). Offsets in the returned hits are relative to `value`.
///
/// This is the entry point `voxray check` uses for literal secrets in a config:
/// `scan_pair("api_keys.openai", "sk-proj-…")`.
pub fn scan_pair(key_path: &str, value: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    evaluate(key_path, value, &mut out);
    out
}

/// Evaluate `value` under `key_path` with all tiers; hits relative to `value`, key path set.
pub(crate) fn evaluate(key_path: &str, value: &str, out: &mut Vec<Hit>) {
    evaluate_with(key_path, &key_info(key_path), value, out);
}

/// [`evaluate`] with the key's [`KeyInfo`] at hand.
pub(crate) fn evaluate_with(key_path: &str, ki: &KeyInfo, value: &str, out: &mut Vec<Hit>) {
    let first = out.len();
    evaluate_inner(ki, value, out);
    for h in &mut out[first..] {
        if h.key_path.is_none() && !key_path.is_empty() {
            h.key_path = Some(key_path.to_string());
        }
    }
}

fn evaluate_inner(ki: &KeyInfo, value: &str, out: &mut Vec<Hit>) {
    let before = out.len();
    if has_token_candidate(value) {
        scan_prefixed(value, out);
    }
    if ki.gated_mask != 0 {
        scan_gated_impl(
            value,
            &ki.path_lower,
            ki.gated_mask,
            ki.digest_key,
            false,
            out,
        );
    }
    scan_dsn(value, out);
    if out.len() > before {
        // The value is (or holds) a token or a DSN password: Tiers 2-3 would only repeat it.
        return;
    }
    if ki.reference {
        return;
    }
    // The value proper, trimmed, with its offset.
    let lead = value.len() - value.trim_start().len();
    let v = value.trim();
    if let Some((off, default)) = v.starts_with("${").then(|| default_part(v)).flatten() {
        let mut sub = Vec::new();
        evaluate_inner(ki, default, &mut sub);
        for mut h in sub {
            h.start += lead + off;
            h.end += lead + off;
            if !out.iter().any(|o| o.start == h.start) {
                out.push(h);
            }
        }
        return;
    }
    if ki.schema {
        if ki.list_var && v.contains(',') {
            let mut off = lead;
            for item in v.split(',') {
                let il = item.len() - item.trim_start().len();
                tier2(off + il, item.trim(), out);
                off += item.len() + 1;
            }
        } else {
            tier2(lead, v, out);
        }
        return;
    }
    if ki.benign {
        return;
    }
    if let Some(class) = ki.class {
        // Kubernetes Secret `data:` and similar: a whole-value base64 string is judged decoded.
        if let Some(decoded) = decode_whole_base64(v) {
            if let Some(conf) = generic_ok(class, &decoded) {
                let mut h = Hit::new("generic-secret", lead, lead + v.len(), &decoded, conf);
                h.decoded.push("base64");
                out.push(h);
            }
            return;
        }
        if let Some(conf) = generic_ok(class, v) {
            out.push(Hit::new("generic-secret", lead, lead + v.len(), v, conf));
        }
    }
}

fn tier2(start: usize, v: &str, out: &mut Vec<Hit>) {
    if v.is_empty()
        || is_placeholder(v)
        || is_public_lookalike(v)
        || out.iter().any(|h| h.start == start)
    {
        return;
    }
    if let Some(decoded) = decode_whole_base64(v) {
        if !is_placeholder(&decoded) {
            let mut h = Hit::new(
                "voxray-schema-secret",
                start,
                start + v.len(),
                &decoded,
                Confidence::High,
            );
            h.decoded.push("base64");
            out.push(h);
        }
        return;
    }
    out.push(Hit::new(
        "voxray-schema-secret",
        start,
        start + v.len(),
        v,
        Confidence::High,
    ));
}

fn generic_ok(class: NameClass, v: &str) -> Option<Confidence> {
    if is_placeholder(v) || is_public_lookalike(v) || BENIGN_VALUE.is_match(v) {
        return None;
    }
    let n = v.chars().count();
    let ok = match class {
        NameClass::Password => n >= 6 && !is_dev_default(v, None),
        NameClass::Token => {
            (12..=512).contains(&n)
                && !v.contains(char::is_whitespace)
                && shannon_entropy(v) >= 3.0
                && char_classes(v) >= 2
        }
    };
    ok.then_some(Confidence::Medium)
}

/// A whole value that is strict, padded base64 (K8s Secret `data:` style, ≥ 8 chars) decoding
/// to printable UTF-8 text.
fn decode_whole_base64(v: &str) -> Option<String> {
    if v.len() < 8
        || !v.len().is_multiple_of(4)
        || !v.ends_with('=') && !v.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(v).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    printable(&s).then_some(s)
}

/// ≥ 90 % printable characters (whitespace counts as printable) and not empty.
pub(crate) fn printable(s: &str) -> bool {
    let n = s.chars().count();
    n > 0
        && s.chars()
            .filter(|c| !c.is_control() || c.is_whitespace())
            .count()
            * 10
            >= n * 9
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
