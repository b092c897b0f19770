//! `redact()` and the known token prefixes, kept at this path for callers of the security
//! tools; they live in the leaf module [`crate::secret_text`].

pub use crate::secret_text::redact::*;
pub use crate::secret_text::shapes::*;
