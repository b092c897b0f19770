//! `voxray keygen` through the real binary (`security-tools.md` §1): formats, counts, verify,
//! keyring storage, and the promise that keygen never touches files.

mod common;

use std::path::Path;
use std::process::Output;

use common::{stderr, stdout, tempdir};

use sha2::Digest;

fn voxray(args: &[&str], dir: &Path, env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    common::voxray(args, dir, env, stdin.map(str::as_bytes))
}

#[test]
fn plain_key_verifies() {
    let d = tempdir("plain");
    let o = voxray(&["keygen"], &d, &[], None);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.ends_with('\n') && out.matches('\n').count() == 1);
    let key = out.trim();
    assert_eq!(key.len(), 42);
    assert!(key.starts_with("vxr_") && key[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        voxray(&["keygen", "--verify", key], &d, &[], None)
            .status
            .code(),
        Some(0)
    );
    let v = voxray(
        &["keygen", "--verify", "-"],
        &d,
        &[],
        Some(&format!("{key}\n")),
    );
    assert_eq!(v.status.code(), Some(0));
    assert!(stdout(&v).is_empty());
}

#[test]
fn spec_vectors_verify() {
    let d = tempdir("vectors");
    for k in [
        "vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL",
        "vxr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3i8aJj",
        "vxr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx00uiAi",
    ] {
        assert_eq!(
            voxray(&["keygen", "--verify", k], &d, &[], None)
                .status
                .code(),
            Some(0),
            "{k}"
        );
    }
}

#[test]
fn verify_failures_name_the_property_and_never_echo_the_key() {
    let d = tempdir("verify");
    let cases = [
        ("vxk_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL", "prefix"),
        ("vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZd", "length"),
        ("vxr_0123456789ABCDEFGHIJKLMNOPQRSTU-1ggZdL", "charset"),
        ("vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdM", "checksum"),
    ];
    for (k, prop) in cases {
        let o = voxray(&["keygen", "--verify", "-"], &d, &[], Some(k));
        assert_eq!(o.status.code(), Some(1), "{k}");
        let err = stderr(&o);
        assert!(err.contains(prop), "{err}");
        assert!(
            !err.contains(&k[4..20]) && !stdout(&o).contains(&k[4..20]),
            "key echoed: {err}"
        );
    }
}

#[test]
fn env_and_json_formats_and_counts() {
    let d = tempdir("formats");
    let o = voxray(&["keygen", "--format", "env"], &d, &[], None);
    let line = stdout(&o);
    assert!(
        line.starts_with("VOXRAY_SERVER_API_KEY=vxr_") && line.trim().len() == 22 + 42,
        "{line}"
    );
    let o = voxray(
        &["keygen", "--format", "env", "--count", "3"],
        &d,
        &[],
        None,
    );
    let line = stdout(&o);
    let keys: Vec<&str> = line
        .trim()
        .strip_prefix("VOXRAY_SERVER_API_KEYS=")
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(keys.len(), 3);
    let o = voxray(&["keygen", "--format", "json"], &d, &[], None);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let key = v["key"].as_str().unwrap();
    assert_eq!(v["env"], "VOXRAY_SERVER_API_KEY");
    assert_eq!(
        v["fingerprint"],
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(key.as_bytes()))
        )
    );
    assert!(v["stored"].is_null());
    let o = voxray(
        &["keygen", "--format", "json", "--count", "2"],
        &d,
        &[],
        None,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    let o = voxray(&["keygen", "--count", "100"], &d, &[], None);
    let keys: std::collections::HashSet<String> = stdout(&o).lines().map(String::from).collect();
    assert_eq!(keys.len(), 100);
    for bad in ["0", "101"] {
        assert_eq!(
            voxray(&["keygen", "--count", bad], &d, &[], None)
                .status
                .code(),
            Some(2)
        );
    }
}

#[test]
fn keygen_never_touches_files() {
    let d = tempdir("files");
    let cfg = d.join("config.json");
    std::fs::write(
        &cfg,
        b"{\"server_api_key\": \"${VOXRAY_SERVER_API_KEY}\"}\n",
    )
    .unwrap();
    let before = std::fs::read(&cfg).unwrap();
    let list = || {
        let mut v: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let listing = list();
    for args in [
        &["keygen"][..],
        &["keygen", "--format", "json", "--count", "5"],
        &["keygen", "--format", "env"],
    ] {
        assert_eq!(voxray(args, &d, &[], None).status.code(), Some(0));
    }
    let o = voxray(
        &["keygen", "--store", "keyring", "--format", "json"],
        &d,
        &[("VOXRAY_KEYRING_BACKEND", "mock")],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(list(), listing);
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
}

#[test]
fn store_in_mock_keyring() {
    let d = tempdir("mock");
    let o = voxray(
        &[
            "keygen",
            "--store",
            "keyring",
            "--account",
            "ci_key",
            "--format",
            "json",
        ],
        &d,
        &[("VOXRAY_KEYRING_BACKEND", "mock")],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["stored"],
        serde_json::json!({"backend": "mock", "service": "voxray", "account": "ci_key"})
    );
    let key = v["key"].as_str().unwrap();
    let err = stderr(&o);
    assert!(err.contains("voxray/ci_key") && !err.contains(key), "{err}");
}

#[test]
fn failed_store_prints_no_key() {
    let d = tempdir("nostore");
    for backend in ["none", "secret-service", "bogus"] {
        let o = voxray(
            &["keygen", "--store", "keyring"],
            &d,
            &[("VOXRAY_KEYRING_BACKEND", backend)],
            None,
        );
        assert_eq!(o.status.code(), Some(2), "{backend}");
        assert!(stdout(&o).is_empty(), "{backend}: key printed");
        assert!(stderr(&o).starts_with("voxray: "), "{}", stderr(&o));
    }
    let o = voxray(
        &["keygen", "--store", "keyring", "--count", "2"],
        &d,
        &[("VOXRAY_KEYRING_BACKEND", "mock")],
        None,
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
}

#[test]
fn store_in_kernel_keyring_refuses_to_overwrite_without_force() {
    let d = tempdir("keyutils");
    let account = format!(
        "test_{}_{}",
        std::process::id(),
        d.file_name().unwrap().to_string_lossy().len()
    );
    let env = [("VOXRAY_KEYRING_BACKEND", "keyutils")];
    // Run as a dedicated uid so the entries land in that user's persistent keyring, never in
    // the keyring of whoever runs the tests.
    let voxray = |args: &[&str], dir: &Path, env: &[(&str, &str)], _stdin: Option<&str>| {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=4243", "--regid=4243", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_voxray"))
            .args(args)
            .current_dir("/")
            .env_clear();
        for (k, v) in env {
            c.env(k, v);
        }
        let _ = dir;
        c.output().unwrap()
    };
    let first = voxray(
        &["keygen", "--store", "keyring", "--account", &account],
        &d,
        &env,
        None,
    );
    if first.status.code() == Some(2) && stderr(&first).contains("cannot store") {
        eprintln!("kernel keyring unavailable here: {}", stderr(&first));
        return;
    }
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let second = voxray(
        &["keygen", "--store", "keyring", "--account", &account],
        &d,
        &env,
        None,
    );
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(stderr(&second).contains("already exists"));
    assert!(stdout(&second).is_empty());
    let forced = voxray(
        &[
            "keygen",
            "--store",
            "keyring",
            "--account",
            &account,
            "--force",
        ],
        &d,
        &env,
        None,
    );
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
}

#[test]
fn audit_recognises_keygen_output() {
    let d = tempdir("audit");
    let key = stdout(&voxray(&["keygen"], &d, &[], None))
        .trim()
        .to_string();
    std::fs::write(d.join("a.env"), format!("VOXRAY_SERVER_API_KEY={key}\n")).unwrap();
    std::fs::write(
        d.join("b.yaml"),
        format!("auth:\n  header: \"Bearer {key}\"\n"),
    )
    .unwrap();
    std::fs::write(d.join("c.json"), format!("{{\"x\": {{\"y\": \"{key}\"}}}}")).unwrap();
    let o = voxray(
        &["audit", "--no-git-checks", "--format", "json", "."],
        &d,
        &[],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["voxray-server-key"; 3]);
}
