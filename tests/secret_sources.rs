//! Every secret source of `config.md` §6.2 over the real binary, and their precedence:
//! environment > OS keyring > file value (`${NAME}`, `file:/path`, literal).
//!
//! The keyring cases use the Linux kernel keyring (keyutils), which works headless. They run
//! the processes as a dedicated uid (4242) so the keys land in that user's persistent keyring
//! and never in the keyring of whoever runs the tests.

mod common;

use std::process::Command;

use common::Server;
use serde_json::json;

const KEYRING_UID: &str = "4242";
const ENV_KEY: &str = "env-source-key-Zq81xkPa0vBn3Tt5Hk29";
const FILE_KEY: &str = "file-source-key-Hk29dLq0Wm4Rr7Yy8Qz";
const REF_KEY: &str = "ref-source-key-Jq84Lm2Pz7Xc5Vb1Nk9";

async fn accepts(server: &Server, key: &str) -> bool {
    reqwest::Client::new()
        .post(server.url("/start"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        == 200
}

/// A server whose config holds `config`, started as the keyring uid.
fn start_as_keyring_user(config: serde_json::Value, env: &[(&str, &str)]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cfg = config;
    cfg["port"] = 0.into();
    let path = dir.path().join("config.json");
    std::fs::write(&path, cfg.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args([
        format!("--reuid={KEYRING_UID}"),
        format!("--regid={KEYRING_UID}"),
        "--clear-groups".into(),
    ])
    .arg(env!("CARGO_BIN_EXE_voxray"))
    .args(["serve", "--config"])
    .arg(&path)
    .current_dir(dir.path())
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("HOME", dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Server::spawn(cmd, dir)
}

/// `voxray keygen --store keyring --force` as the keyring uid; the key it printed.
fn store_in_keyring() -> String {
    let out = Command::new("setpriv")
        .args([
            format!("--reuid={KEYRING_UID}"),
            format!("--regid={KEYRING_UID}"),
            "--clear-groups".into(),
        ])
        .arg(env!("CARGO_BIN_EXE_voxray"))
        .args(["keygen", "--store", "keyring", "--force"])
        .current_dir("/")
        .env_clear()
        .env("VOXRAY_KEYRING_BACKEND", "keyutils")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keygen --store keyring: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn keyring_is_a_source_and_env_beats_it_and_it_beats_the_file() {
    let stored = store_in_keyring();
    assert!(stored.starts_with("vxr_"));

    // Keyring only.
    let server = start_as_keyring_user(json!({"keyring_backend": "keyutils"}), &[]);
    assert!(accepts(&server, &stored).await, "{}", server.log());
    assert!(!accepts(&server, FILE_KEY).await);
    drop(server);

    // Keyring beats the file value.
    let server = start_as_keyring_user(
        json!({"keyring_backend": "keyutils", "server_api_key": FILE_KEY}),
        &[],
    );
    assert!(accepts(&server, &stored).await);
    assert!(!accepts(&server, FILE_KEY).await);
    drop(server);

    // Env beats the keyring.
    let server = start_as_keyring_user(
        json!({"keyring_backend": "keyutils"}),
        &[("VOXRAY_SERVER_API_KEY", ENV_KEY)],
    );
    assert!(accepts(&server, ENV_KEY).await);
    assert!(!accepts(&server, &stored).await);
    drop(server);

    // keyring_backend none skips it: the file value applies.
    let server = start_as_keyring_user(
        json!({"keyring_backend": "none", "server_api_key": FILE_KEY}),
        &[],
    );
    assert!(accepts(&server, FILE_KEY).await);
    assert!(!accepts(&server, &stored).await);
    assert!(!server.log().contains(&stored), "keys never logged");
}

#[tokio::test]
async fn file_sources_and_env_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("server_key");
    std::fs::write(&secret_file, format!("  {FILE_KEY}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // file: reference, trimmed; mode 0600 gives no warning.
    let server = Server::start(
        json!({"server_api_key": format!("file:{}", secret_file.display())}),
        &[],
    );
    assert!(accepts(&server, FILE_KEY).await);
    assert!(!server.log().contains("readable by group or others"));
    drop(server);

    // ${NAME} reference.
    let server = Server::start(
        json!({"server_api_key": "${MY_VOXRAY_KEY}"}),
        &[("MY_VOXRAY_KEY", REF_KEY)],
    );
    assert!(accepts(&server, REF_KEY).await);
    drop(server);

    // Literal in the file; the canonical env variable beats it.
    let server = Server::start(
        json!({"server_api_key": FILE_KEY}),
        &[("VOXRAY_SERVER_API_KEY", ENV_KEY)],
    );
    assert!(accepts(&server, ENV_KEY).await);
    assert!(!accepts(&server, FILE_KEY).await);
    drop(server);

    // Provider keys: the canonical variable beats the conventional one, which beats the file.
    let loaded = |env: &[(&str, &str)]| {
        let opts = voxray::config::LoadOptions {
            config_path: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            invalid_env: vec![],
            flags: vec![],
        };
        voxray::config::load::load_with_keyring(&opts, &voxray::config::secret::NoKeyring).unwrap()
    };
    let l = loaded(&[
        ("OPENAI_API_KEY", "conventional-Zq81xkPa0vBn3"),
        ("VOXRAY_API_KEYS__OPENAI", "canonical-Hk29dLq0Wm4R"),
    ]);
    assert_eq!(
        l.secrets.api_keys["openai"].value.expose(),
        "canonical-Hk29dLq0Wm4R"
    );
    assert_eq!(
        l.secrets.api_keys["openai"].source.to_string(),
        "env VOXRAY_API_KEYS__OPENAI"
    );
}
