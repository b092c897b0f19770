//! The placeholder classifier (`security-tools.md` §2.4), kept at this path for the audit
//! rules; it lives in the leaf module [`crate::secret_text`].

pub use crate::secret_text::placeholder::*;
