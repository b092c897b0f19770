//! `voxray man [--out DIR]`: ROFF man pages generated from the one clap definition
//! ([`super::Cli`]): `voxray.1` plus one page per subcommand (`voxray-serve.1`, …).
//!
//! The repository keeps the generated pages under `man/`; `scripts/gen-docs.sh` regenerates
//! them and `tests/dist_docs.rs` fails when they are stale. Pages carry no date, so the same
//! CLI definition always yields the same bytes.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_mangen::Man;

use super::{Cli, CliError, EXIT_OK, GlobalArgs};

/// Arguments of `voxray man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page (voxray.1, voxray-serve.1, ...) into this directory, created if
    /// missing, and print their paths; without it, print voxray.1 to stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Every man page as `(file name, ROFF bytes)`: `voxray.1` first, then the subcommands in
/// definition order (recursively; hidden subcommands and `help` are left out).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let source = format!("voxray {}", env!("CARGO_PKG_VERSION"));
    let mut out = Vec::new();
    collect(cmd, &source, &mut out);
    out
}

fn collect(cmd: clap::Command, source: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let man = Man::new(cmd.clone()).source(source).manual("voxray manual");
    let mut roff = Vec::new();
    man.render(&mut roff)
        .expect("rendering into memory cannot fail");
    out.push((man.get_filename(), roff));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub.clone(), source, out);
    }
}

/// Run `voxray man`; returns the exit code.
///
/// # Errors
/// A page or stdout cannot be written (exit 2, naming the path).
pub fn run(args: &ManArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    super::generated::emit("man", args.out.as_deref(), &pages())?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_subcommand_with_the_top_page_first() {
        let names: Vec<String> = pages().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "voxray.1");
        // Nested subcommands (`models pull`) get their own page too.
        let subcommands: usize = Cli::command()
            .get_subcommands()
            .map(|c| 1 + c.get_subcommands().count())
            .sum();
        assert_eq!(names.len(), 1 + subcommands, "{names:?}");
        for sub in Cli::command().get_subcommands() {
            let page = format!("voxray-{}.1", sub.get_name());
            assert!(names.contains(&page), "{page}: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn serve_page_documents_its_flags() {
        let (_, roff) = pages()
            .into_iter()
            .find(|(n, _)| n == "voxray-serve.1")
            .unwrap();
        let text = String::from_utf8(roff).unwrap();
        assert!(text.contains(".TH voxray-serve 1 "), "{text}");
        assert!(text.contains("metrics\\-listen"), "{text}");
    }
}
