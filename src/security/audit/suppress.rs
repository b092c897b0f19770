//! Suppression (`security-tools.md` §2.11–2.12): the `.voxray-audit.toml` allowlist, inline
//! `voxray:allow` markers (see [`super::Finding::inline_allowed`]) and baselines keyed by
//! (file, rule, SHA-256 fingerprint) so old findings can be accepted without storing secrets.

use std::collections::BTreeSet;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::{AuditError, Finding};

/// The default allowlist file name, looked up in the current directory.
pub const DEFAULT_ALLOWLIST: &str = ".voxray-audit.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    #[serde(default)]
    allow: Vec<AllowEntryRaw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowEntryRaw {
    fingerprint: Option<String>,
    path: Option<String>,
    rule: Option<String>,
    reason: Option<String>,
}

/// One allowlist entry: all given fields must match.
#[derive(Debug)]
pub struct AllowEntry {
    fingerprint: Option<String>,
    path: Option<GlobMatcher>,
    rule: Option<String>,
}

/// A parsed allowlist (empty when no file).
#[derive(Debug, Default)]
pub struct Allowlist {
    entries: Vec<AllowEntry>,
}

impl Allowlist {
    /// Load `explicit`, or `.voxray-audit.toml` in the current directory when present.
    /// An explicit file that is missing, or any invalid file, is an error.
    pub fn load(explicit: Option<&Path>) -> Result<Self, AuditError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = Path::new(DEFAULT_ALLOWLIST).to_path_buf();
                if !p.exists() {
                    return Ok(Self::default());
                }
                p
            }
        };
        let shown = path.display();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| AuditError::Allowlist(format!("{shown}: {e}")))?;
        Self::parse(&text).map_err(|e| AuditError::Allowlist(format!("{shown}: {e}")))
    }

    /// Parse allowlist TOML text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: AllowFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut entries = Vec::new();
        for (i, e) in file.allow.into_iter().enumerate() {
            let n = i + 1;
            if e.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(format!("allow entry {n}: \"reason\" is required"));
            }
            if e.fingerprint.is_none() && e.path.is_none() && e.rule.is_none() {
                return Err(format!(
                    "allow entry {n}: needs at least one of fingerprint, path, rule"
                ));
            }
            if let Some(fp) = &e.fingerprint {
                let ok = fp
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                if !ok {
                    return Err(format!(
                        "allow entry {n}: fingerprint must be sha256:<64 hex digits>"
                    ));
                }
            }
            let path = match &e.path {
                Some(p) => Some(
                    Glob::new(p.trim_start_matches("./"))
                        .map_err(|err| format!("allow entry {n}: path: {err}"))?
                        .compile_matcher(),
                ),
                None => None,
            };
            entries.push(AllowEntry {
                fingerprint: e.fingerprint.map(|f| f.to_ascii_lowercase()),
                path,
                rule: e.rule,
            });
        }
        Ok(Allowlist { entries })
    }

    /// Whether a finding is allowed by some entry.
    pub fn matches(&self, f: &Finding) -> bool {
        self.entries.iter().any(|e| {
            e.fingerprint
                .as_ref()
                .is_none_or(|fp| f.fingerprint.as_deref() == Some(fp.as_str()))
                && e.rule.as_ref().is_none_or(|r| *r == f.rule_id)
                && e.path
                    .as_ref()
                    .is_none_or(|g| g.is_match(f.file.trim_start_matches("./")))
        })
    }

    /// Whether a file is removed from the scan by a path-only entry.
    pub fn excludes_file(&self, file: &str) -> bool {
        self.entries.iter().any(|e| {
            e.fingerprint.is_none()
                && e.rule.is_none()
                && e.path
                    .as_ref()
                    .is_some_and(|g| g.is_match(file.trim_start_matches("./")))
        })
    }
}

/// A baseline: accepted (file, rule id, fingerprint) triples.
#[derive(Debug, Default)]
pub struct Baseline {
    entries: BTreeSet<(String, String, String)>,
}

#[derive(serde::Serialize, Deserialize)]
struct BaselineEntry {
    file: String,
    rule_id: String,
    fingerprint: String,
}

impl Baseline {
    /// Load a baseline file, or a `--format json` report (its findings become the entries).
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuditError::Baseline(format!("{shown}: {e}")))?;
        Self::parse(&text).map_err(|e| AuditError::Baseline(format!("{shown}: {e}")))
    }

    /// Parse baseline or report JSON text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if v.get("schema_version").and_then(|s| s.as_u64()) != Some(1) {
            return Err("schema_version must be 1".into());
        }
        let list = v
            .get("entries")
            .or_else(|| v.get("findings"))
            .and_then(|l| l.as_array())
            .ok_or("expected an \"entries\" (baseline) or \"findings\" (report) array")?;
        let mut entries = BTreeSet::new();
        for (i, e) in list.iter().enumerate() {
            if e.get("kind").and_then(|k| k.as_str()) == Some("hygiene") {
                continue;
            }
            let get = |k: &str| e.get(k).and_then(|x| x.as_str()).map(str::to_string);
            match (get("file"), get("rule_id"), get("fingerprint")) {
                (Some(f), Some(r), Some(fp)) => {
                    entries.insert((f, r, fp));
                }
                _ => {
                    return Err(format!(
                        "entry {}: needs file, rule_id and fingerprint",
                        i + 1
                    ));
                }
            }
        }
        Ok(Baseline { entries })
    }

    /// Whether a finding is baselined (same file, rule and secret; the line may differ).
    pub fn matches(&self, f: &Finding) -> bool {
        match &f.fingerprint {
            Some(fp) => self
                .entries
                .contains(&(f.file.clone(), f.rule_id.clone(), fp.clone())),
            None => false,
        }
    }

    /// Baseline JSON for `findings` (sorted, deduplicated, no secrets, no line numbers).
    pub fn render(findings: &[Finding]) -> String {
        let set: BTreeSet<(String, String, String)> = findings
            .iter()
            .filter_map(|f| {
                f.fingerprint
                    .clone()
                    .map(|fp| (f.file.clone(), f.rule_id.clone(), fp))
            })
            .collect();
        let entries: Vec<BaselineEntry> = set
            .into_iter()
            .map(|(file, rule_id, fingerprint)| BaselineEntry {
                file,
                rule_id,
                fingerprint,
            })
            .collect();
        let doc = serde_json::json!({"schema_version": 1, "entries": entries});
        serde_json::to_string_pretty(&doc).expect("baseline serializes") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_validation() {
        assert!(
            Allowlist::parse("[[allow]]\npath = \"x/**\"\n")
                .unwrap_err()
                .contains("reason")
        );
        assert!(
            Allowlist::parse("[[allow]]\nreason = \"r\"\n")
                .unwrap_err()
                .contains("at least one")
        );
        assert!(Allowlist::parse("[[allow]]\nreason = \"r\"\nfingerprint = \"md5:1\"\n").is_err());
        assert!(Allowlist::parse("[[allow]]\nreason = \"r\"\nbogus = 1\n").is_err());
        let a =
            Allowlist::parse("[[allow]]\npath = \"tests/fixtures/**\"\nreason = \"fixtures\"\n")
                .unwrap();
        assert!(a.excludes_file("tests/fixtures/a/config.json"));
        assert!(!a.excludes_file("src/config.json"));
    }

    #[test]
    fn baseline_requires_fields() {
        assert!(Baseline::parse("{\"schema_version\":1,\"entries\":[{\"file\":\"a\"}]}").is_err());
        assert!(Baseline::parse("{\"schema_version\":2,\"entries\":[]}").is_err());
        assert!(Baseline::parse("[]").is_err());
        let b = Baseline::parse("{\"schema_version\":1,\"entries\":[{\"file\":\"a\",\"rule_id\":\"r\",\"fingerprint\":\"sha256:00\"}]}").unwrap();
        assert_eq!(b.entries.len(), 1);
    }
}
