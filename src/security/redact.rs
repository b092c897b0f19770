//! `redact()` (`config.md` §7). Interim version: the full prefix table lands with the audit rules.

/// Redact a secret for display: known prefix + `…` + last 4 characters when long enough,
/// `…` + last 4 for long values without a known prefix, else `****`.
pub fn redact(s: &str) -> String {
    let prefixes = [
        "vxr_",
        "sk-proj-",
        "sk-ant-api03-",
        "gsk_",
        "sk_car_",
        "AKIA",
        "sk-",
    ];
    let prefix = prefixes
        .iter()
        .find(|p| s.starts_with(**p))
        .copied()
        .unwrap_or("");
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(4)).collect();
    if !prefix.is_empty() && n >= prefix.len() + 16 {
        format!("{prefix}…{tail}")
    } else if prefix.is_empty() && n >= 20 {
        format!("…{tail}")
    } else {
        "****".into()
    }
}
