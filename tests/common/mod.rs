//! Helpers shared by the integration tests: run the real `voxray` binary, make temp dirs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Run `voxray args…` in `dir` with extra environment and optional stdin; no inherited
/// `VOXRAY_KEYRING_BACKEND`.
pub fn voxray(args: &[&str], dir: &Path, env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_voxray"));
    c.args(args).current_dir(dir).stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.env_remove("VOXRAY_KEYRING_BACKEND");
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().expect("spawn voxray");
    if let Some(s) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s)
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait for voxray")
}

/// A fresh directory under the system temp dir.
pub fn tempdir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("voxray-test-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Stdout as UTF-8.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Stderr as UTF-8.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}
