//! Server key strength: the estimate `check` reports (VXP-AUTH-001) and `serve` enforces off
//! loopback (issue 10 item 9).

/// Estimated strength in bits (`security-tools.md` §3): 190 for a `vxr_` key with a valid
/// checksum, else length × log2(alphabet).
pub fn key_bits(key: &str) -> f64 {
    if super::vxr::verify(key).is_ok() {
        return 190.0;
    }
    let hex = key.chars().all(|c| c.is_ascii_hexdigit());
    let alphabet: f64 = if hex {
        16.0
    } else {
        let mut a = 0.0;
        if key.chars().any(|c| c.is_ascii_digit()) {
            a += 10.0;
        }
        if key.chars().any(|c| c.is_ascii_lowercase()) {
            a += 26.0;
        }
        if key.chars().any(|c| c.is_ascii_uppercase()) {
            a += 26.0;
        }
        if key.chars().any(|c| !c.is_ascii_alphanumeric()) {
            a += 33.0;
        }
        a
    };
    key.chars().count() as f64 * f64::log2(alphabet.max(1.0))
}

/// Shannon entropy in bits per character.
pub fn shannon(s: &str) -> f64 {
    let n = s.chars().count() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Why a key is weak, or `None` when it is strong.
pub fn weakness(key: &str) -> Option<&'static str> {
    const WEAK_WORDS: &[&str] = &[
        "dev", "test", "prod", "secret", "password", "changeme", "voxray", "admin", "default",
        "apikey", "key",
    ];
    if super::placeholder::is_placeholder(key) {
        return Some("a placeholder");
    }
    if key.chars().count() < 32 {
        return Some("shorter than 32 characters");
    }
    if shannon(key) < 3.0 {
        return Some("low entropy (under 3 bits per character)");
    }
    let lower = key.to_ascii_lowercase();
    let mut rest = lower.as_str();
    'outer: while !rest.is_empty() {
        let c = rest.chars().next().expect("non-empty");
        if !c.is_ascii_alphabetic() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        for w in WEAK_WORDS {
            if let Some(r) = rest.strip_prefix(w) {
                rest = r;
                continue 'outer;
            }
        }
        break;
    }
    if rest.is_empty() {
        return Some("made only of common words");
    }
    if key_bits(key) < 128.0 {
        return Some("under 128 bits of estimated strength");
    }
    None
}
