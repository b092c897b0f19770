//! `voxray keygen` (see `security-tools.md`).

use clap::Args;

use super::{CliError, GlobalArgs};

/// Arguments of `voxray keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {}

/// Run `voxray keygen`; returns the exit code.
pub fn run(_args: &KeygenArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    Err(CliError::usage("keygen: not implemented yet"))
}
