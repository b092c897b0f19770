//! Generated documentation stays current: the committed shell completions (`completions/`)
//! and man pages (`man/`) equal what the real binary generates now, the man pages render, and
//! README.md's configuration table lists exactly the keys of `voxray::config::keys::KEYS` with
//! their real defaults and environment variables.
//!
//! Regenerate completions and man pages with `scripts/gen-docs.sh`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use voxray::cli::Cli;
use voxray::config::Config;
use voxray::config::keys::{KEYS, canonical_env};

const SHELLS: &[(&str, &str)] = &[
    ("bash", "voxray.bash"),
    ("zsh", "_voxray"),
    ("fish", "voxray.fish"),
    ("powershell", "_voxray.ps1"),
    ("elvish", "voxray.elv"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every regular file of `dir` by name.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Fail, naming the stale files and the command that fixes them, unless `generated` equals the
/// committed directory exactly (same names, same bytes).
fn assert_current(
    what: &str,
    committed: &BTreeMap<String, Vec<u8>>,
    generated: &BTreeMap<String, Vec<u8>>,
) {
    let mut stale = Vec::new();
    for (name, bytes) in generated {
        match committed.get(name) {
            Some(c) if c == bytes => {}
            Some(_) => stale.push(format!("{what}/{name} differs")),
            None => stale.push(format!("{what}/{name} is missing")),
        }
    }
    for name in committed.keys().filter(|n| !generated.contains_key(*n)) {
        stale.push(format!("{what}/{name} is no longer generated"));
    }
    assert!(
        stale.is_empty(),
        "{what}/ is stale ({}); run scripts/gen-docs.sh and commit the result",
        stale.join(", ")
    );
}

#[test]
fn completions_are_current() {
    let dir = tempfile::tempdir().unwrap();
    let mut generated = BTreeMap::new();
    for (shell, file) in SHELLS {
        let (code, stdout, stderr) = common::run_cli(&["completions", shell], &[], dir.path());
        assert_eq!(code, 0, "completions {shell}: {stderr}");
        assert!(
            stdout.contains("serve"),
            "completions {shell} names no subcommand"
        );
        generated.insert(file.to_string(), stdout.into_bytes());
        // --out writes the same bytes under the same conventional name.
        let out = dir.path().join("out");
        let (code, _, stderr) = common::run_cli(
            &["completions", shell, "--out", out.to_str().unwrap()],
            &[],
            dir.path(),
        );
        assert_eq!(code, 0, "completions {shell} --out: {stderr}");
        assert_eq!(std::fs::read(out.join(file)).unwrap(), generated[*file]);
    }
    assert_current(
        "completions",
        &files_in(&repo().join("completions")),
        &generated,
    );
}

#[test]
fn man_pages_are_current_one_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    let (code, stdout, stderr) =
        common::run_cli(&["man", "--out", out.to_str().unwrap()], &[], dir.path());
    assert_eq!(code, 0, "man --out: {stderr}");
    let generated = files_in(&out);
    assert_eq!(
        stdout.lines().count(),
        generated.len(),
        "one printed path per page"
    );
    let subcommands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| format!("voxray-{}.1", c.get_name()))
        .collect();
    for page in &subcommands {
        assert!(generated.contains_key(page), "no page {page}");
    }
    // Nested subcommands (`models pull`) get their own page too.
    let nested: usize = Cli::command()
        .get_subcommands()
        .map(|c| c.get_subcommands().count())
        .sum();
    assert_eq!(
        generated.len(),
        1 + subcommands.len() + nested,
        "one page per subcommand"
    );
    // Without --out the top page goes to stdout.
    let (code, top, _) = common::run_cli(&["man"], &[], dir.path());
    assert_eq!(code, 0);
    assert_eq!(top.as_bytes(), generated["voxray.1"].as_slice());
    assert_current("man", &files_in(&repo().join("man")), &generated);
}

/// `man ./man/<page>` renders every committed page without a groff warning.
#[test]
fn man_pages_render() {
    for name in files_in(&repo().join("man")).keys() {
        let out = Command::new("man")
            .arg(format!("./man/{name}"))
            .current_dir(repo())
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "80")
            .output()
            .expect("man(1) runs (.ci/run installs man-db and groff-base)");
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man ./man/{name}: {err}");
        assert!(err.trim().is_empty(), "man ./man/{name} warned: {err}");
        let page = name.trim_end_matches(".1");
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{name}:\n{text}"
        );
        assert!(text.contains(page), "{name} does not name {page}:\n{text}");
    }
}

/// The expected README row cells (key, default, env) for every key, from the code.
fn expected_rows() -> Vec<(String, String, String)> {
    let defaults = serde_json::to_value(Config::default()).unwrap();
    KEYS.iter()
        .map(|k| {
            let key = if k.secret {
                format!("`{}` (S)", k.path)
            } else {
                format!("`{}`", k.path)
            };
            let value = k
                .path
                .split('.')
                .try_fold(&defaults, |v, part| v.get(part))
                .unwrap_or_else(|| panic!("Config::default() has no {}", k.path));
            let json = serde_json::to_string(value).unwrap();
            let default = if json.len() > 48 {
                "built-in (see config.md)".to_string()
            } else {
                format!("`{json}`")
            };
            let env = std::iter::once(canonical_env(k.path))
                .chain(k.env_aliases.iter().map(|a| a.to_string()))
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ");
            (key, default, env)
        })
        .collect()
}

#[test]
fn readme_configuration_table_matches_the_key_table() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("<!-- config-table:start -->")
        .expect("README.md has <!-- config-table:start -->");
    let end = readme
        .find("<!-- config-table:end -->")
        .expect("README.md has <!-- config-table:end -->");
    let rows: Vec<Vec<String>> = readme[start..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let expected = expected_rows();
    let mut problems = Vec::new();
    for (i, (key, default, env)) in expected.iter().enumerate() {
        match rows.get(i) {
            Some(r) if r.len() == 4 && &r[0] == key && &r[1] == default && &r[2] == env => {
                if r[3].is_empty() {
                    problems.push(format!("{key}: empty meaning"));
                }
            }
            Some(r) => problems.push(format!(
                "row {}: expected `| {key} | {default} | {env} | … |`, found `| {} |`",
                i + 1,
                r.join(" | ")
            )),
            None => problems.push(format!("missing row `| {key} | {default} | {env} | … |`")),
        }
    }
    for r in rows.iter().skip(expected.len()) {
        problems.push(format!("extra row for {}", r[0]));
    }
    assert!(
        problems.is_empty(),
        "README.md configuration table out of date (order of config.md §5):\n{}",
        problems.join("\n")
    );
}

#[test]
fn readme_keeps_the_set_up_commands_and_points_to_the_production_check() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for needle in [
        "cargo run -- serve",
        "cargo test",
        "voxray check --production",
        "kubectl rollout restart deployment/voxray",
        "scripts/gen-docs.sh",
        "## Quick start",
        "## Security checklist",
    ] {
        assert!(readme.contains(needle), "README.md lost {needle:?}");
    }
}
