//! Token shapes: the known prefixes of provider and voxray tokens (`security-tools.md` §2.1),
//! and the Tier-1 token formats (§2.2), shared by redaction, the placeholder classifier and
//! the audit rules.

use std::sync::LazyLock;

use regex::Regex;

/// Known token prefixes (`security-tools.md` §2.1), longest first within a family.
pub const KNOWN_PREFIXES: &[&str] = &[
    "vxr_",
    "sk-proj-",
    "sk-svcacct-",
    "sk-admin-",
    "sk-ant-api03-",
    "sk-ant-admin01-",
    "sk-",
    "gsk_",
    "sk_car_admin_",
    "sk_car_",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "sk_",
    "AIza",
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xoxs-",
    "xoxe-",
    "https://hooks.slack.com/services/",
    "whsec_",
    "SK",
    "eyJ",
    "-----BEGIN ",
    "Bearer ",
    "bearer ",
];

/// The longest [`KNOWN_PREFIXES`] entry that `s` starts with, or `""`.
pub fn known_prefix(s: &str) -> &'static str {
    KNOWN_PREFIXES
        .iter()
        .filter(|p| s.starts_with(**p))
        .max_by_key(|p| p.len())
        .copied()
        .unwrap_or("")
}

/// Prefix-led token formats, in precedence order (the index is the alternation order).
pub const PREFIXED: &[(&str, &str)] = &[
    ("voxray-server-key", r"vxr_[0-9A-Za-z]{38}"),
    (
        "anthropic-api-key",
        r"sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA",
    ),
    (
        "openai-api-key",
        r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,200}",
    ),
    (
        "openai-api-key",
        r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
    ),
    ("groq-api-key", r"gsk_[A-Za-z0-9]{52}"),
    ("cartesia-api-key", r"sk_car_(?:admin_)?[A-Za-z0-9]{16,64}"),
    (
        "stripe-secret-key",
        r"[sr]k_(?:live|test)_[A-Za-z0-9]{24,99}",
    ),
    ("elevenlabs-api-key", r"sk_[0-9a-f]{48}"),
    ("google-api-key", r"AIza[0-9A-Za-z_-]{35}"),
    ("aws-access-key-id", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
    (
        "github-fine-grained-pat",
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    ),
    ("github-token", r"gh[pousr]_[A-Za-z0-9]{36}"),
    (
        "slack-token",
        r"xox[baprse]-[0-9]{10,13}-[0-9]{10,13}(?:-[0-9]{10,13})?-[A-Za-z0-9]{24,64}",
    ),
    (
        "slack-webhook-url",
        r"https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/[A-Za-z0-9]{24}",
    ),
    ("stripe-webhook-secret", r"whsec_[A-Za-z0-9+/=]{32,}"),
    (
        "jwt",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
    ),
    ("bearer-token", r"[Bb]earer[ \t]+[A-Za-z0-9._~+/-]{20,}=*"),
    (
        "private-key",
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----",
    ),
];

/// The Tier-1 regexes: all formats as one alternation, and each anchored on its own.
pub struct Compiled {
    /// Every format of [`PREFIXED`], in order, as one alternation.
    pub combined: Regex,
    /// Each format with its rule id, anchored (`^…$`).
    pub each: Vec<(&'static str, Regex)>,
}

/// The compiled [`PREFIXED`] formats.
pub static TOKENS: LazyLock<Compiled> = LazyLock::new(|| {
    let alt: Vec<String> = PREFIXED.iter().map(|(_, re)| format!("(?:{re})")).collect();
    Compiled {
        combined: Regex::new(&alt.join("|")).expect("combined token regex"),
        each: PREFIXED
            .iter()
            .map(|(id, re)| {
                (
                    *id,
                    Regex::new(&format!("^(?:{re})$")).expect("token regex"),
                )
            })
            .collect(),
    }
});

/// True when a Tier-1 prefix rule matches the whole of `value` (used by the classifier to keep
/// `AKIA…`-style tokens out of the env-var-name class).
pub fn matches_token_rule(value: &str) -> bool {
    TOKENS
        .combined
        .find(value)
        .is_some_and(|m| m.start() == 0 && m.end() == value.len())
}
