//! The `vxr_` server key format (`security-tools.md` §1): `vxr_` + 32 random base62
//! characters + a 6-character base62 checksum (42 characters, ≈ 190.5 bits of randomness).
//! The checksum is the CRC-32/ISO-HDLC of the 32 random characters, written in base62
//! (`0-9A-Za-z`), most significant digit first, left-padded with `0`. The same checksum scheme
//! validates GitHub tokens in `audit` ([`checksum6`]). Keys are never logged.

use rand::RngCore;
use rand::rngs::OsRng;

/// The key prefix.
pub const PREFIX: &str = "vxr_";
/// Number of random base62 characters.
pub const RANDOM_LEN: usize = 32;
/// Number of checksum characters.
pub const CHECKSUM_LEN: usize = 6;
/// Total key length in bytes (42).
pub const KEY_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// The base62 alphabet, in digit order (`0`=0 … `9`=9, `A`=10 … `Z`=35, `a`=36 … `z`=61).
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC-32/ISO-HDLC of `data` written as exactly 6 base62 digits (most significant first).
///
/// `checksum6(b"0123456789ABCDEFGHIJKLMNOPQRSTUV") == "1ggZdL"` (CRC `0x5C339A43`).
pub fn checksum6(data: &[u8]) -> String {
    let mut n = crc32fast::hash(data) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

/// Build a key from its 32-character random part (no randomness involved; used by tests and
/// the spec's vectors). The random part is not validated here; see [`verify`].
pub fn key_from_random_part(random: &str) -> String {
    format!("{PREFIX}{random}{}", checksum6(random.as_bytes()))
}

/// Generate a new key from the OS CSPRNG.
///
/// Each of the 62 symbols is equally likely: random bytes ≥ 248 (= 4 × 62) are discarded and the
/// rest are taken modulo 62 (rejection sampling, no modulo bias).
pub fn generate() -> String {
    let mut random = String::with_capacity(RANDOM_LEN);
    let mut buf = [0u8; 64];
    while random.len() < RANDOM_LEN {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            if b < 248 && random.len() < RANDOM_LEN {
                random.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    key_from_random_part(&random)
}

/// Why a string is not a valid key. The `Display` text names the failed property and never
/// contains the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The value does not start with `vxr_`.
    #[error("prefix: a key starts with \"vxr_\"")]
    Prefix,
    /// The value is not 42 characters long.
    #[error("length: a key is 42 characters long")]
    Length,
    /// A character after the prefix is not base62 (`0-9A-Za-z`).
    #[error("charset: characters after \"vxr_\" must be 0-9, A-Z or a-z")]
    Charset,
    /// The last six characters are not the checksum of the 32 before them.
    #[error("checksum: the last 6 characters do not match the checksum of the key body")]
    Checksum,
}

/// Check a key's prefix, length, charset and checksum, in that order (`security-tools.md` §1).
pub fn verify(key: &str) -> Result<(), VerifyError> {
    if !key.starts_with(PREFIX) {
        return Err(VerifyError::Prefix);
    }
    if key.len() != KEY_LEN {
        return Err(VerifyError::Length);
    }
    let body = &key.as_bytes()[PREFIX.len()..];
    if !body.iter().all(u8::is_ascii_alphanumeric) {
        return Err(VerifyError::Charset);
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    if checksum6(random).as_bytes() != sum {
        return Err(VerifyError::Checksum);
    }
    Ok(())
}

/// `sha256:` + lower-case hex SHA-256 of `s` (the fingerprint used by keygen and audit).
pub fn fingerprint(s: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(s)))
}
