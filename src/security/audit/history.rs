//! `--history` (`security-tools.md` §2.7): scan the lines each commit added.
//!
//! Runs `git log -p -U0 --all --full-history --diff-merges=first-parent` (or the given range)
//! through the `git` CLI and streams its output. For each (commit, file) the added lines are
//! joined into one buffer and scanned with every rule (line pass; JSON structure is not
//! available for fragments); findings keep the real line numbers of the new file. Each finding
//! carries its commit and `in_head`: whether the same secret is still in that file at HEAD.
//! The remediation says to rotate the key either way.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::scan::{self, Decoded};
use super::walk::git;
use super::{AuditError, AuditOptions, CommitInfo, Finding, Report};

const MARK: &str = "\u{1}voxray-commit\u{1}";

/// The added lines of one file in one commit.
struct Chunk {
    file: String,
    text: String,
    /// Real (new-file) 1-based line number of each buffer line.
    lines: Vec<usize>,
}

/// Scan history of the repository holding the first path; findings are history findings.
pub(crate) fn scan_history(
    opts: &AuditOptions,
    report: &mut Report,
) -> Result<Vec<Finding>, AuditError> {
    let first = opts
        .paths
        .iter()
        .find(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = if first.is_dir() {
        first
    } else {
        first.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let top = git(&dir, &["rev-parse", "--show-toplevel"])
        .map(|s| PathBuf::from(s.trim()))
        .ok_or_else(|| {
            AuditError::Git(format!(
                "--history: {} is not inside a git repository",
                dir.display()
            ))
        })?;
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(&top).args([
        "-c",
        "core.quotePath=false",
        "log",
        "-p",
        "-U0",
        "--full-history",
        "--diff-merges=first-parent",
        "--no-renames",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        &format!("--format={MARK}%H%x00%an%x00%ae%x00%aI%x00%s"),
    ]);
    match &opts.history_range {
        Some(r) => {
            cmd.arg(r);
        }
        None => {
            cmd.arg("--all");
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| AuditError::Git(format!("cannot run git: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| AuditError::Git("git log: no output".into()))?;
    let mut reader = BufReader::new(stdout);
    let mut findings = Vec::new();
    let mut head_cache: HashMap<String, HashSet<String>> = HashMap::new();
    let mut commit: Option<CommitInfo> = None;
    let mut chunk: Option<Chunk> = None;
    let mut new_line = 0usize;
    let mut buf = Vec::new();
    let mut flush = |chunk: &mut Option<Chunk>,
                     commit: &Option<CommitInfo>,
                     findings: &mut Vec<Finding>,
                     report: &mut Report| {
        if let (Some(c), Some(info)) = (chunk.take(), commit) {
            if c.text.is_empty() {
                return;
            }
            report.summary.bytes_scanned += c.text.len() as u64;
            findings.extend(scan_chunk(&top, c, info, opts, &mut head_cache));
        }
    };
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| AuditError::Git(format!("git log: {e}")))?;
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(meta) = line.strip_prefix(MARK) {
            flush(&mut chunk, &commit, &mut findings, report);
            let f: Vec<&str> = meta.split('\0').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            commit = Some(CommitInfo {
                sha: get(0),
                author: get(1),
                email: get(2),
                date: get(3),
                summary: get(4),
                in_head: false,
            });
        } else if line.starts_with("diff --git ") {
            flush(&mut chunk, &commit, &mut findings, report);
        } else if let Some(p) = line.strip_prefix("+++ ") {
            flush(&mut chunk, &commit, &mut findings, report);
            if p != "/dev/null" {
                let file = p.strip_prefix("b/").unwrap_or(p).to_string();
                chunk = Some(Chunk {
                    file,
                    text: String::new(),
                    lines: Vec::new(),
                });
            }
        } else if line.starts_with("@@ ") {
            // @@ -a,b +c,d @@
            new_line = line
                .split(' ')
                .find(|t| t.starts_with('+'))
                .and_then(|t| t[1..].split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
        } else if let (Some(added), Some(c)) = (line.strip_prefix('+'), chunk.as_mut()) {
            c.text.push_str(added);
            c.text.push('\n');
            c.lines.push(new_line);
            new_line += 1;
        }
    }
    flush(&mut chunk, &commit, &mut findings, report);
    let status = child
        .wait()
        .map_err(|e| AuditError::Git(format!("git log: {e}")))?;
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        let first = err.lines().next().unwrap_or("failed").to_string();
        return Err(AuditError::Git(format!("git log: {first}")));
    }
    Ok(findings)
}

fn scan_chunk(
    top: &Path,
    c: Chunk,
    info: &CommitInfo,
    opts: &AuditOptions,
    head_cache: &mut HashMap<String, HashSet<String>>,
) -> Vec<Finding> {
    let d = Decoded {
        text: c.text,
        bom_len: 0,
    };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        scan::findings_for_text(&c.file, &d, false, opts.max_decode_depth, opts.show_secrets).0
    }));
    let Ok(mut found) = r else { return Vec::new() };
    for f in &mut found {
        let map = |l: Option<usize>| l.map(|l| c.lines.get(l - 1).copied().unwrap_or(l));
        f.line = map(f.line);
        f.end_line = map(f.end_line);
        f.offset = None;
        let in_head = f
            .fingerprint
            .as_ref()
            .is_some_and(|fp| head_fingerprints(top, &c.file, opts, head_cache).contains(fp));
        let mut ci = info.clone();
        ci.in_head = in_head;
        f.commit = Some(ci);
        f.message = Some(if in_head {
            "still present at HEAD: remove it, and rotate the key (it is in git history)".into()
        } else {
            "removed since, but it stays in git history: rotate the key".into()
        });
    }
    found
}

/// Fingerprints of every secret in `file` at HEAD (cached per file).
fn head_fingerprints<'a>(
    top: &Path,
    file: &str,
    opts: &AuditOptions,
    cache: &'a mut HashMap<String, HashSet<String>>,
) -> &'a HashSet<String> {
    cache.entry(file.to_string()).or_insert_with(|| {
        let Some(content) = git(top, &["show", &format!("HEAD:{file}")]) else {
            return HashSet::new();
        };
        let Ok(d) = scan::decode(content.as_bytes()) else {
            return HashSet::new();
        };
        let json = file.ends_with(".json");
        scan::findings_for_text(file, &d, json, opts.max_decode_depth, false)
            .0
            .into_iter()
            .filter_map(|f| f.fingerprint)
            .collect()
    })
}
