//! `voxray keygen` (`security-tools.md` §1): print new server keys, verify one, or store one in
//! the OS keyring. Keys go to stdout only; diagnostics to stderr; no file is read or written.

use std::io::Read;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{CliError, EXIT_FINDINGS, EXIT_OK, GlobalArgs};
use crate::security::keygen::{self, KEYRING_ACCOUNT, KEYRING_SERVICE, KeyringBackend};

/// Output format of `voxray keygen`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    /// The key alone.
    #[default]
    Plain,
    /// `VOXRAY_SERVER_API_KEY=<key>` (`VOXRAY_SERVER_API_KEYS=k1,k2` for several).
    Env,
    /// `{"key", "env", "fingerprint", "stored"}` (an array for several).
    Json,
}

/// Where `--store` puts the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreTarget {
    /// The OS keyring (backend from `VOXRAY_KEYRING_BACKEND`: auto, keyutils, secret-service,
    /// none, mock).
    Keyring,
}

/// Arguments of `voxray keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = KeyFormat::Plain)]
    pub format: KeyFormat,
    /// Number of keys to generate (1-100).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub count: u8,
    /// Also store the key in the OS keyring (service "voxray"), where `serve` finds it.
    #[arg(long, value_enum, value_name = "keyring")]
    pub store: Option<StoreTarget>,
    /// Keyring account name.
    #[arg(long, value_name = "NAME", requires = "store", default_value = KEYRING_ACCOUNT)]
    pub account: String,
    /// Replace an existing keyring entry.
    #[arg(long, requires = "store")]
    pub force: bool,
    /// Check a key's prefix, length, charset and checksum instead of generating one
    /// (`-` reads the key from stdin, which keeps it out of the process list).
    #[arg(long, value_name = "KEY|-", conflicts_with_all = ["store", "count", "format"])]
    pub verify: Option<String>,
}

/// Run `voxray keygen`; returns the exit code.
pub fn run(args: &KeygenArgs, _global: &GlobalArgs) -> Result<u8, CliError> {
    if let Some(v) = &args.verify {
        return verify(v);
    }
    let keys: Vec<String> = (0..args.count).map(|_| keygen::generate()).collect();
    let mut stored = serde_json::Value::Null;
    if args.store.is_some() {
        if keys.len() != 1 {
            return Err(CliError::usage(
                "keygen: --store keeps one key; drop --count",
            ));
        }
        let name = std::env::var("VOXRAY_KEYRING_BACKEND").unwrap_or_default();
        let backend = KeyringBackend::parse(&name).ok_or_else(|| {
            CliError::usage(format!(
                "keygen: VOXRAY_KEYRING_BACKEND={name:?} is not one of auto, keyutils, secret-service, none, mock"
            ))
        })?;
        let used = keygen::store_in_keyring(
            backend,
            KEYRING_SERVICE,
            &args.account,
            &keys[0],
            args.force,
        )
        .map_err(|e| CliError::usage(format!("keygen: {e}; the key was not printed")))?;
        stored =
            json!({"backend": used.name(), "service": KEYRING_SERVICE, "account": args.account});
        eprintln!(
            "voxray: stored the key in the {} keyring as {KEYRING_SERVICE}/{}",
            used.name(),
            args.account
        );
    }
    let out = match args.format {
        KeyFormat::Plain => keys.join("\n"),
        KeyFormat::Env if keys.len() == 1 => format!("VOXRAY_SERVER_API_KEY={}", keys[0]),
        KeyFormat::Env => format!("VOXRAY_SERVER_API_KEYS={}", keys.join(",")),
        KeyFormat::Json => {
            let obj = |k: &String| json!({"key": k, "env": "VOXRAY_SERVER_API_KEY", "fingerprint": keygen::fingerprint(k.as_bytes()), "stored": stored});
            if keys.len() == 1 {
                obj(&keys[0]).to_string()
            } else {
                serde_json::Value::Array(keys.iter().map(obj).collect()).to_string()
            }
        }
    };
    println!("{out}");
    Ok(EXIT_OK)
}

fn verify(arg: &str) -> Result<u8, CliError> {
    let key = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::usage(format!("keygen --verify: cannot read stdin: {e}")))?;
        s.trim().to_string()
    } else {
        arg.to_string()
    };
    match keygen::verify(&key) {
        Ok(()) => {
            eprintln!("voxray: key ok (prefix, length, charset and checksum)");
            Ok(EXIT_OK)
        }
        Err(e) => Err(CliError {
            code: EXIT_FINDINGS,
            lines: vec![format!("key invalid: {e}")],
        }),
    }
}
