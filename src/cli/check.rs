//! `voxray check` (see `security-tools.md`).

use clap::Args;

use super::{CliError, GlobalArgs};

/// Arguments of `voxray check`.
#[derive(Debug, Args)]
pub struct CheckArgs {}

/// Run `voxray check`; returns the exit code.
pub fn run(_args: &CheckArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    Err(CliError::usage("check: not implemented yet"))
}
