//! `redact()`: the one way a secret is shown to a human (`config.md` §7).
//!
//! Used by logs, `config print`, `audit` and `check`. The known token prefixes are the Tier-1
//! prefixes of `security-tools.md` §2.1; the longest one that starts the value is kept, followed
//! by `…` (U+2026) and the last four characters, so an operator can tell keys apart without the
//! output ever being usable as a key. Every redacted form is itself a placeholder (§2.4).

use super::shapes::known_prefix;

/// Redact a secret for display (`config.md` §7).
///
/// * a known prefix `P` and at least 16 more characters → `P…` + last 4 characters;
/// * no known prefix and at least 20 characters → `…` + last 4 characters;
/// * otherwise `****` (the length is not revealed).
///
/// URLs with a password (`scheme://user:pass@host`) keep everything but the password, which
/// becomes `****`. Lengths are counted in Unicode scalar values.
pub fn redact(s: &str) -> String {
    if let Some(r) = redact_url_password(s) {
        return r;
    }
    let prefix = known_prefix(s);
    let n = s.chars().count();
    let p = prefix.chars().count();
    let tail = |s: &str| -> String {
        let chars: Vec<char> = s.chars().collect();
        chars[chars.len() - 4..].iter().collect()
    };
    if !prefix.is_empty() && n >= p + 16 {
        format!("{prefix}…{}", tail(s))
    } else if prefix.is_empty() && n >= 20 {
        format!("…{}", tail(s))
    } else {
        "****".to_string()
    }
}

/// `scheme://user:pass@host…` → `scheme://user:****@host…`; `None` when `s` is not such a URL.
pub fn redact_url_password(s: &str) -> Option<String> {
    let scheme_end = s.find("://")?;
    let scheme = &s[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        || s.contains(char::is_whitespace)
    {
        return None;
    }
    let rest = &s[scheme_end + 3..];
    let auth_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..auth_end].rfind('@')?;
    let userinfo = &rest[..at];
    let colon = userinfo.find(':')?;
    if userinfo[..colon].contains('/') || colon + 1 == userinfo.len() {
        return None;
    }
    Some(format!(
        "{}://{}:****{}",
        scheme,
        &userinfo[..colon],
        &rest[at..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(
            redact("vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL"),
            "vxr_…gZdL"
        );
        assert_eq!(redact("myvoxray-live-7"), "****");
        assert_eq!(
            redact("postgres://app:s3cr3t-pw@db:5432/voice"), // voxray:allow synthetic test value
            "postgres://app:****@db:5432/voice"
        );
    }

    #[test]
    fn longest_prefix_wins() {
        let k = format!("sk-proj-{}", "Ab1".repeat(20));
        assert_eq!(redact(&k), "sk-proj-…1Ab1");
        assert_eq!(known_prefix("sk_car_admin_xyz"), "sk_car_admin_");
    }

    #[test]
    fn short_and_unprefixed() {
        assert_eq!(redact("sk-proj-short"), "****");
        assert_eq!(redact("abcdefghijklmnopqrst"), "…qrst");
        assert_eq!(redact("abcdefghijklmnopqrs"), "****");
        assert_eq!(redact(""), "****");
    }

    #[test]
    fn url_without_password_is_plain_redaction() {
        assert_eq!(redact("https://example.com/some/long/path"), "…path");
        assert_eq!(
            redact("redis://:pw-abc@cache:6379"), // voxray:allow synthetic test value
            "redis://:****@cache:6379"
        );
    }
}
