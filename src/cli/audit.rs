//! `voxray audit` (see `security-tools.md`).

use clap::Args;

use super::{CliError, GlobalArgs};

/// Arguments of `voxray audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {}

/// Run `voxray audit`; returns the exit code.
pub fn run(_args: &AuditArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    Err(CliError::usage("audit: not implemented yet"))
}
