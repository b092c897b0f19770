//! Security tooling as a library: key generation, the secret scanner behind `voxray audit`, and
//! the production checklist behind `voxray check`. Nothing here depends on `server/`.
//!
//! - [`keygen`]: `vxr_` server keys, checksum, verification, keyring storage (`security-tools.md` §1).
//! - [`redact`]: re-export of [`crate::secret_text`]'s `redact()` (`config.md` §7).
//! - [`audit`]: the secret scanner (`security-tools.md` §2).
//! - [`check`]: the production checklist (`security-tools.md` §3).

pub mod audit;
pub mod check;
pub mod keygen;
pub mod redact;
