//! `voxray check`: the production checklist (`security-tools.md` §3).
//!
//! A check is a row of [`checks::CHECKS`]: a stable ID (`VXP-TLS-001`), a title, a severity
//! and a function from a [`Context`] (the configuration loaded exactly as `serve` loads it,
//! plus the environment of the `check` process) to an [`Outcome`]. [`run`] evaluates the
//! selected rows in table order; [`report`] renders text, JSON or SARIF.

pub mod checks;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Loaded;

/// Result status of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Compliant.
    Pass,
    /// Not applicable (with a `reason`).
    Skip,
    /// For information.
    Info,
    /// Risky or needs a human.
    Warn,
    /// Violates policy.
    Fail,
}

impl Status {
    /// The upper-case tag (`PASS`, `FAIL`, …).
    pub fn tag(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Skip => "SKIP",
            Status::Info => "INFO",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// Severity of a check (fixed per ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

/// One piece of evidence. `actual` never holds an unredacted secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Config key path, file or property observed.
    pub path: String,
    /// What was observed (secrets `redact()`ed).
    pub actual: String,
    /// What is expected.
    pub expected: String,
    /// Where the value came from (`file config.json`, `env VOXRAY_PORT`, `default`, …).
    pub source: String,
}

/// What a check function decides.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The status (the worst of its evidence where a row is "per key").
    pub status: Status,
    /// Evidence entries (empty for a plain PASS).
    pub evidence: Vec<Evidence>,
    /// Remediation for non-PASS results: imperative sentences plus a config snippet.
    pub remediation: Option<String>,
    /// Why a check was skipped.
    pub reason: Option<String>,
}

impl Outcome {
    /// PASS, optionally with evidence.
    pub fn pass(evidence: Vec<Evidence>) -> Self {
        Self {
            status: Status::Pass,
            evidence,
            remediation: None,
            reason: None,
        }
    }
    /// SKIP with a reason.
    pub fn skip(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Skip,
            evidence: Vec::new(),
            remediation: None,
            reason: Some(reason.into()),
        }
    }
    /// PASS when `evidence` is empty, else `status` with the evidence and the remediation.
    pub fn unless_empty(
        status: Status,
        evidence: Vec<Evidence>,
        remediation: impl Into<String>,
    ) -> Self {
        if evidence.is_empty() {
            Self::pass(vec![])
        } else {
            Self::flag(status, evidence, remediation)
        }
    }

    /// A non-PASS status with evidence and a remediation.
    pub fn flag(status: Status, evidence: Vec<Evidence>, remediation: impl Into<String>) -> Self {
        Self {
            status,
            evidence,
            remediation: Some(remediation.into()),
            reason: None,
        }
    }
}

/// One check's result, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Stable ID.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Status.
    pub status: Status,
    /// Severity.
    pub severity: Severity,
    /// Evidence.
    pub evidence: Vec<Evidence>,
    /// Remediation (null for PASS/SKIP).
    pub remediation: Option<String>,
    /// Skip reason.
    pub reason: Option<String>,
    /// References (spec sections).
    pub refs: Vec<String>,
}

/// Everything a check may look at.
pub struct Context<'a> {
    /// The configuration, loaded like `serve` loads it (invalid values left at defaults).
    pub loaded: &'a Loaded,
    /// Config problems (`<key path>: <problem> (from <source>)`), for VXP-CFG-001/CORS-001.
    pub problems: &'a [String],
    /// `--behind-proxy`: TLS is terminated by a reverse proxy.
    pub behind_proxy: bool,
    /// `--dockerfile FILE`.
    pub dockerfile: Option<&'a Path>,
    /// `--history`: scan git history for secrets (VXP-GIT-003).
    pub history: bool,
    /// The `check` process environment (empty values removed).
    pub env: &'a BTreeMap<String, String>,
    /// The current directory.
    pub cwd: PathBuf,
}

/// A row of the checklist.
pub struct CheckDef {
    /// Stable ID.
    pub id: &'static str,
    /// Title (what PASS means).
    pub title: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Runs without `--production` too.
    pub basic: bool,
    /// The check.
    pub run: fn(&Context<'_>) -> Outcome,
}

/// An unknown ID or prefix in `--check` / `--skip`.
#[derive(Debug, thiserror::Error)]
#[error("unknown check ID or prefix {0:?} (IDs look like VXP-TLS-001; prefixes like VXP-TLS)")]
pub struct UnknownCheck(pub String);

fn matches(id: &str, pattern: &str) -> bool {
    let p = pattern.trim().to_ascii_uppercase();
    id == p || id.starts_with(&format!("{p}-"))
}

/// Which rows run: `--check` names exactly the rows to run (production-only ones included);
/// otherwise the basic rows, or all rows with `production`; `--skip` removes rows.
///
/// # Errors
/// [`UnknownCheck`] for an ID or prefix that matches no row.
pub fn select(
    production: bool,
    only: &[String],
    skip: &[String],
) -> Result<Vec<&'static CheckDef>, UnknownCheck> {
    for pattern in only.iter().chain(skip) {
        if !checks::CHECKS.iter().any(|c| matches(c.id, pattern)) {
            return Err(UnknownCheck(pattern.clone()));
        }
    }
    Ok(checks::CHECKS
        .iter()
        .filter(|c| {
            if only.is_empty() {
                production || c.basic
            } else {
                only.iter().any(|p| matches(c.id, p))
            }
        })
        .filter(|c| !skip.iter().any(|p| matches(c.id, p)))
        .collect())
}

/// Run the selected checks in table order.
pub fn run(ctx: &Context<'_>, selected: &[&'static CheckDef]) -> Vec<CheckResult> {
    selected
        .iter()
        .map(|def| {
            let outcome = (def.run)(ctx);
            CheckResult {
                id: def.id,
                title: def.title,
                status: outcome.status,
                severity: def.severity,
                evidence: outcome.evidence,
                remediation: outcome.remediation,
                reason: outcome.reason,
                refs: vec!["security-tools.md §3".into()],
            }
        })
        .collect()
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub info: usize,
    pub skip: usize,
}

impl Summary {
    /// Count `results`.
    pub fn of(results: &[CheckResult]) -> Self {
        let mut s = Summary::default();
        for r in results {
            match r.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Warn => s.warn += 1,
                Status::Info => s.info += 1,
                Status::Skip => s.skip += 1,
            }
        }
        s
    }
}
