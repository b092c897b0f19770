//! Inputs and git hygiene (`security-tools.md` §2.7, §2.10, §2.13).
//!
//! Paths default to `.`; `-` is stdin. Directories are walked recursively (hidden files
//! included, `.git` skipped, symlinks not followed) respecting git's ignore rules, except that a
//! file git tracks is scanned even when a pattern matches it. Files are scanned on a small pool
//! of threads; results keep the walk order. A panic while scanning one file is recorded as
//! `internal error` and the run goes on.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::rules::{Confidence, Severity};
use super::suppress::Allowlist;
use super::{AuditError, AuditOptions, Finding, FindingKind, Report, RunError, Skipped, scan};

/// One input to scan.
struct Input {
    /// `None` for stdin.
    path: Option<PathBuf>,
    display: String,
    /// Named on the command line (read errors are fatal).
    named: bool,
    size: u64,
}

/// A display name: `/` separators, no leading `./`.
pub fn display_name(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    let mut s = s.as_str();
    while let Some(r) = s.strip_prefix("./") {
        s = r;
    }
    s.to_string()
}

fn build_excludes(globs: &[String]) -> Result<GlobSet, AuditError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = Glob::new(g).map_err(|e| AuditError::Path(format!("--exclude {g:?}: {e}")))?;
        b.add(glob);
    }
    b.build()
        .map_err(|e| AuditError::Path(format!("--exclude: {e}")))
}

fn excluded(set: &GlobSet, display: &str) -> bool {
    let name = display.rsplit('/').next().unwrap_or(display);
    set.is_match(display) || set.is_match(name)
}

/// Walk and scan every input; returns findings (hygiene first, then files in walk order).
pub(crate) fn scan_inputs(
    opts: &AuditOptions,
    allow: &Allowlist,
    report: &mut Report,
) -> Result<Vec<Finding>, AuditError> {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    let excludes = build_excludes(&opts.excludes)?;
    let mut inputs: Vec<Input> = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut hygiene_candidates: Vec<PathBuf> = Vec::new();
    for p in &paths {
        if p.as_os_str() == "-" {
            inputs.push(Input {
                path: None,
                display: "<stdin>".into(),
                named: true,
                size: 0,
            });
            continue;
        }
        let meta = std::fs::metadata(p)
            .map_err(|e| AuditError::Path(format!("{}: {}", p.display(), io_msg(&e))))?;
        if meta.is_dir() {
            walk_dir(p, opts, &excludes, allow, &mut inputs, &mut seen, report);
        } else {
            if p.file_name().is_some_and(|n| n == "config.json") {
                hygiene_candidates.push(p.clone());
            }
            inputs.push(Input {
                path: Some(p.clone()),
                display: display_name(p),
                named: true,
                size: meta.len(),
            });
        }
    }
    for i in &inputs {
        if let Some(p) = &i.path
            && !i.named
            && p.file_name().is_some_and(|n| n == "config.json")
        {
            hygiene_candidates.push(p.clone());
        }
    }
    if let Some(c) = &opts.config_in_use {
        hygiene_candidates.push(c.clone());
    }
    let mut findings = Vec::new();
    if !opts.no_git_checks {
        let mut done = HashSet::new();
        for c in hygiene_candidates {
            let key = c.canonicalize().unwrap_or_else(|_| c.clone());
            if done.insert(key) {
                findings.extend(hygiene(&c));
            }
        }
    }
    findings.extend(scan_all(inputs, opts, report)?);
    Ok(findings)
}

fn io_msg(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn walk_dir(
    dir: &Path,
    opts: &AuditOptions,
    excludes: &GlobSet,
    allow: &Allowlist,
    inputs: &mut Vec<Input>,
    seen: &mut HashSet<PathBuf>,
    report: &mut Report,
) {
    let mut wb = ignore::WalkBuilder::new(dir);
    wb.hidden(false)
        .follow_links(false)
        .ignore(false)
        .parents(true);
    if opts.no_ignore {
        wb.git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .parents(false);
    }
    wb.filter_entry(|e| e.file_name() != ".git");
    wb.sort_by_file_name(|a, b| a.cmp(b));
    let push = |path: PathBuf, size: u64, inputs: &mut Vec<Input>, seen: &mut HashSet<PathBuf>| {
        let display = display_name(&path);
        if excluded(excludes, &display)
            || allow.excludes_file(&display)
            || !seen.insert(path.clone())
        {
            return;
        }
        inputs.push(Input {
            path: Some(path),
            display,
            named: false,
            size,
        });
    };
    for entry in wb.build() {
        match entry {
            Ok(e) => {
                let Some(ft) = e.file_type() else { continue };
                if ft.is_dir() {
                    continue;
                }
                let display = display_name(e.path());
                if ft.is_symlink() {
                    if !excluded(excludes, &display) {
                        report.skipped.push(Skipped {
                            file: display,
                            reason: "symlink".into(),
                        });
                    }
                } else if ft.is_file() {
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    push(e.into_path(), size, inputs, seen);
                } else if !excluded(excludes, &display) {
                    report.skipped.push(Skipped {
                        file: display,
                        reason: "not a regular file".into(),
                    });
                }
            }
            Err(err) => report.errors.push(RunError {
                path: None,
                message: err.to_string(),
            }),
        }
    }
    // Tracked files are scanned even when an ignore pattern matches them.
    if !opts.no_ignore
        && let Some(out) = git(dir, &["ls-files", "-z", "--cached", "--", "."])
    {
        for rel in out.split('\0').filter(|s| !s.is_empty()) {
            let path = dir.join(rel);
            if let Ok(m) = std::fs::symlink_metadata(&path)
                && m.is_file()
                && !seen.contains(&path)
            {
                push(path, m.len(), inputs, seen);
            }
        }
    }
}

/// Run git in `dir`; stdout on success.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn git_status(dir: &Path, args: &[&str]) -> Option<i32> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .code()
}

/// Git hygiene of one `config.json` (§2.10): tracked → `git-config-tracked`; untracked and
/// not ignored → `git-config-not-ignored`; ignored or outside a work tree → nothing.
pub fn hygiene(path: &Path) -> Option<Finding> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name()?.to_str()?;
    if git_status(&parent, &["rev-parse", "--is-inside-work-tree"]) != Some(0) {
        return None;
    }
    let tracked = git_status(&parent, &["ls-files", "--error-unmatch", "--", name]) == Some(0)
        || git_status(&parent, &["cat-file", "-e", &format!("HEAD:./{name}")]) == Some(0);
    let display = display_name(path);
    let (rule, severity, message) = if tracked {
        (
            "git-config-tracked",
            Severity::High,
            format!(
                "{display} is tracked by git: run `git rm --cached {display}`, add it to .gitignore, and rotate every key it ever held"
            ),
        )
    } else if git_status(&parent, &["check-ignore", "-q", "--", name]) == Some(1) {
        (
            "git-config-not-ignored",
            Severity::Medium,
            format!("{display} is not ignored by git: add it to .gitignore"),
        )
    } else {
        return None;
    };
    Some(Finding {
        rule_id: rule.into(),
        kind: FindingKind::Hygiene,
        description: super::rules::rule_info(rule).description.into(),
        severity,
        confidence: Confidence::High,
        file: display,
        line: None,
        column: None,
        end_line: None,
        end_column: None,
        offset: None,
        key_path: None,
        secret: None,
        redacted: true,
        fingerprint: None,
        snippet: None,
        decoded: Vec::new(),
        commit: None,
        message: Some(message),
        mode: None,
        inline_allowed: false,
    })
}

enum Outcome {
    Scanned(u64, Vec<Finding>),
    Skipped(String),
}

fn scan_all(
    inputs: Vec<Input>,
    opts: &AuditOptions,
    report: &mut Report,
) -> Result<Vec<Finding>, AuditError> {
    let total_bytes: u64 = inputs.iter().map(|i| i.size).sum();
    let large = inputs.len() > 2000 || total_bytes > 64 * 1024 * 1024 || opts.history;
    let bar = (opts.progress && large).then(|| {
        let b = indicatif::ProgressBar::with_draw_target(
            Some(inputs.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} scanning {pos}/{len} files {bytes_per_sec} {wide_bar}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    // Named inputs are read up front so a missing or unreadable one stops the run (exit 2).
    let mut preread: Vec<Option<Vec<u8>>> = Vec::with_capacity(inputs.len());
    for i in &inputs {
        if !i.named {
            preread.push(None);
            continue;
        }
        // Bounded: stdin, FIFOs and devices have no size up front (`/dev/zero` never ends).
        let bytes = match &i.path {
            None => read_at_most(std::io::stdin().lock(), opts.max_file_size)
                .map_err(|e| AuditError::Io(format!("<stdin>: {e}")))?,
            Some(_) if i.size > opts.max_file_size => Vec::new(),
            Some(p) => std::fs::File::open(p)
                .and_then(|f| read_at_most(f, opts.max_file_size))
                .map_err(|e| AuditError::Path(format!("{}: {}", i.display, io_msg(&e))))?,
        };
        preread.push(Some(bytes));
    }
    let n = inputs.len();
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..n).map(|_| None).collect());
    let preread: Vec<Mutex<Option<Vec<u8>>>> = preread.into_iter().map(Mutex::new).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
        .min(n.max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= n {
                        break;
                    }
                    let input = &inputs[k];
                    let pre = preread[k].lock().map(|mut g| g.take()).unwrap_or(None);
                    let out = scan_one(input, pre, opts);
                    if let Some(b) = &bar {
                        b.inc(1);
                    }
                    if let Ok(mut r) = results.lock() {
                        r[k] = Some(out);
                    }
                }
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut findings = Vec::new();
    for (input, out) in inputs.iter().zip(results.into_inner().unwrap_or_default()) {
        match out {
            Some(Outcome::Scanned(bytes, f)) => {
                report.summary.files_scanned += 1;
                report.summary.bytes_scanned += bytes;
                findings.extend(f);
            }
            Some(Outcome::Skipped(reason)) => report.skipped.push(Skipped {
                file: input.display.clone(),
                reason,
            }),
            None => report.skipped.push(Skipped {
                file: input.display.clone(),
                reason: "internal error".into(),
            }),
        }
    }
    Ok(findings)
}

/// Read `r` up to `max + 1` bytes: a result longer than `max` means "too large", and nothing
/// beyond that is read (stdin, FIFOs and devices such as `/dev/zero` may never end).
fn read_at_most(r: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut b = Vec::new();
    r.take(max.saturating_add(1)).read_to_end(&mut b)?;
    Ok(b)
}

fn scan_one(input: &Input, pre: Option<Vec<u8>>, opts: &AuditOptions) -> Outcome {
    if input.size > opts.max_file_size {
        return Outcome::Skipped("too large".into());
    }
    let bytes = match pre {
        Some(b) => b,
        None => match input
            .path
            .as_ref()
            .map(|p| std::fs::File::open(p).and_then(|f| read_at_most(f, opts.max_file_size)))
        {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Outcome::Skipped(format!("unreadable: {}", io_msg(&e))),
            None => Vec::new(),
        },
    };
    if bytes.len() as u64 > opts.max_file_size {
        return Outcome::Skipped("too large".into());
    }
    let Ok(d) = scan::decode(&bytes) else {
        return Outcome::Skipped("binary".into());
    };
    let json_hint = input.display.to_ascii_lowercase().ends_with(".json");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scan::findings_for_text(
            &input.display,
            &d,
            json_hint,
            opts.max_decode_depth,
            opts.show_secrets,
        )
        .0
    }));
    match r {
        Ok(f) => Outcome::Scanned(bytes.len() as u64, f),
        Err(_) => Outcome::Skipped("internal error".into()),
    }
}
