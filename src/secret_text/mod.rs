//! Secret text: how secrets look and how they are shown. A leaf module used by both
//! [`crate::config`] and [`crate::security`], depending on neither (DESIGN.md), so that config
//! needs no security tool.
//!
//! - [`shapes`]: the known token prefixes (`security-tools.md` §2.1).
//! - [`vxr`]: the `vxr_` server key format: generation, checksum, verification (§1).
//! - [`redact`]: the one `redact()` (`config.md` §7).
//! - [`placeholder`]: the placeholder classifier (`security-tools.md` §2.4).
//! - [`strength`]: server key strength (`check` VXP-AUTH-001, `serve` off loopback).

pub mod placeholder;
pub mod redact;
pub mod shapes;
pub mod strength;
pub mod vxr;

pub use placeholder::is_placeholder;
pub use redact::redact;
pub use shapes::known_prefix;
pub use strength::weakness;

#[cfg(test)]
mod tests {
    /// The layering DESIGN.md asks for: `config` and `secret_text` use no security tool, and
    /// `secret_text` uses no config (no import cycle through keygen/audit).
    #[test]
    fn config_and_secret_text_depend_on_no_security_tool() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        // Built at run time so that this file does not match itself.
        let path_of = |m: &str| format!("crate::{m}::");
        let security = path_of("security");
        let config = path_of("config");
        for (dir, forbidden) in [
            ("config", vec![security.clone()]),
            ("secret_text", vec![security.clone(), config.clone()]),
        ] {
            for entry in std::fs::read_dir(src.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                for f in &forbidden {
                    assert!(
                        !text.contains(f),
                        "{} uses {f}; shared secret text belongs in secret_text",
                        path.display()
                    );
                }
            }
        }
    }
}
