//! Config file and `VOXRAY_*` environment parsing: any bytes, as a config file and as the
//! values of the variables voxray reads (non-UTF-8 included), must load or fail with config
//! errors, never panic.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use voxray::config::LoadOptions;
use voxray::config::load::{env_snapshot, load_with_keyring};
use voxray::config::secret::NoKeyring;

const VARS: &[&str] = &[
    "VOXRAY_SERVER_API_KEY",
    "VOXRAY_SERVER_API_KEYS",
    "VOXRAY_API_KEYS",
    "VOXRAY_WEBRTC_ICE_SERVERS",
    "VOXRAY_CORS_ORIGINS",
    "VOXRAY_PORT",
    "VOXRAY_MAX_SESSIONS",
    "OPENAI_API_KEY",
];

fuzz_target!(|data: &[u8]| {
    // Layout: [selector][env value bytes] 0x00 [config file bytes]
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (value, file) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let var = VARS[sel as usize % VARS.len()];
    let (env, invalid_env) = env_snapshot([
        (OsString::from(var), OsString::from_vec(value.to_vec())),
        ("VOXRAY_KEYRING_BACKEND".into(), "none".into()),
    ]);
    let mut opts = LoadOptions {
        env,
        invalid_env,
        ..LoadOptions::default()
    };
    if let Some(file) = file {
        let path = std::env::temp_dir().join(format!("voxray-fuzz-{}.json", std::process::id()));
        if std::fs::write(&path, file).is_ok() {
            opts.config_path = Some(path);
        }
    }
    let _ = load_with_keyring(&opts, &NoKeyring);
});
