//! Configuration (`config.md`): the key table, typed schema with defaults, figment layering
//! (defaults < JSON file < `VOXRAY_*` env < flags), validation naming the key path, and secret
//! resolution with redaction.

pub mod keys;
pub mod load;
pub mod schema;
pub mod secret;
pub mod validate;

pub use load::{ConfigErrors, LoadOptions, Loaded, load};
pub use schema::Config;
pub use secret::{Secret, Secrets};
