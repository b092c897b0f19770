//! `voxray serve`: load the config, start the HTTP/WebSocket server, run until a signal.

use clap::Args;

use super::{CliError, GlobalArgs};

/// Arguments of `voxray serve` (`config.md` §4). Flags override env and file.
#[derive(Debug, Args, Default, Clone)]
pub struct ServeArgs {}

/// Run `voxray serve`; returns the exit code.
pub fn run(_args: &ServeArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    Err(CliError::usage("serve: not implemented yet"))
}
