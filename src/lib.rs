//! voxray: a real-time voice-agent server.
//!
//! # Layout
//! - [`cli`]: the one clap definition and one file per subcommand.
//! - [`security`]: keygen, the `audit` secret scanner, the `check` production checklist.
pub mod cli;
pub mod security;
