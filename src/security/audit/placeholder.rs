//! The placeholder and reference classifier (`security-tools.md` §2.4). Interim version: the
//! full classifier lands with the audit rules.

/// True when `value` is a placeholder or a reference rather than a real secret.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    v.is_empty()
        || [
            "null",
            "none",
            "nil",
            "undefined",
            "n/a",
            "-",
            "changeme",
            "change-me",
            "placeholder",
            "redacted",
        ]
        .contains(&lower.as_str())
        || (lower.starts_with("your") || lower.contains("_here") || lower.contains("-here"))
        || v.contains('…')
        || v.contains("...")
        || v.contains("EXAMPLE")
        || (v.len() > 1 && v.chars().all(|c| c == v.chars().next().unwrap_or(' ')))
}
