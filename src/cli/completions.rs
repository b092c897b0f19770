//! `voxray completions <SHELL>`: a shell completion script generated from the one clap
//! definition ([`super::Cli`]), so completions always match the real flags.
//!
//! The repository keeps the generated scripts under `completions/` (file names from
//! [`file_name`]); `scripts/gen-docs.sh` regenerates them and `tests/dist_docs.rs` fails when
//! they are stale.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::{Generator, Shell};

use super::{Cli, CliError, EXIT_OK, GlobalArgs};

/// Arguments of `voxray completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate the completion script for.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
    /// Write the script into this directory (under its conventional file name, e.g.
    /// voxray.bash or _voxray) instead of printing it to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The conventional file name of the script for `shell` (`voxray.bash`, `_voxray`,
/// `voxray.fish`, `_voxray.ps1`, `voxray.elv`).
pub fn file_name(shell: Shell) -> String {
    shell.file_name("voxray")
}

/// The completion script for `shell`, generated from [`Cli`]. Deterministic: the same CLI
/// definition always yields the same bytes.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "voxray", &mut out);
    out
}

/// Run `voxray completions`; returns the exit code.
///
/// # Errors
/// The output file or stdout cannot be written (exit 2, naming the path).
pub fn run(args: &CompletionsArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    let files = [(file_name(args.shell), script(args.shell))];
    super::generated::emit("completions", args.out.as_deref(), &files)?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let text = String::from_utf8(script(shell)).unwrap();
            for sub in ["serve", "health", "man", "completions"] {
                assert!(text.contains(sub), "{shell}: {sub} missing");
            }
        }
        assert_eq!(file_name(Shell::Bash), "voxray.bash");
        assert_eq!(file_name(Shell::Zsh), "_voxray");
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(script(Shell::Zsh), script(Shell::Zsh));
    }
}
