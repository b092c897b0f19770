//! Local models for the offline tests: installed once per test binary with the real
//! `voxray models pull --mirror <mirror>` into `target/test-models`.
//!
//! The mirror is `$VOXRAY_MODEL_MIRROR`, else `<repo>/mirror` (built by
//! `scripts/build-model-mirror.sh`); without one the tests fail saying so.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The mirror directory.
pub fn mirror() -> PathBuf {
    let m = std::env::var_os("VOXRAY_MODEL_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("mirror"));
    assert!(
        m.join("whisper-tiny.en").is_dir(),
        "no model mirror at {} (run scripts/build-model-mirror.sh, or set VOXRAY_MODEL_MIRROR)",
        m.display()
    );
    m
}

/// The models directory after `voxray models pull --mirror` succeeded (once per process).
pub fn models_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
        let dir = target.join("test-models");
        std::fs::create_dir_all(&dir).unwrap();
        let mirror = mirror();
        let (code, out, err) = super::run_cli(
            &["models", "pull", "--mirror", mirror.to_str().unwrap()],
            &[("VOXRAY_MODELS_DIR", dir.to_str().unwrap())],
            &dir,
        );
        assert_eq!(code, 0, "models pull --mirror failed: {out}{err}");
        dir
    })
    .clone()
}

/// Transcript of a test audio file from manifest.json.
pub fn transcript(name: &str) -> String {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(super::audio_dir().join("manifest.json")).unwrap())
            .unwrap();
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in manifest.json"))["transcript"]
        .as_str()
        .unwrap()
        .to_string()
}
