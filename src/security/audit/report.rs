//! Output formats of `voxray audit` (`security-tools.md` §2.9): `text` (one finding per line),
//! `json` (`schemas/audit-report.v1.json`) and SARIF 2.1.0. Secrets are already redacted in the
//! findings unless `--show-secrets` was given; nothing here sees a raw secret.

use serde_json::{Value, json};

use super::rules::{Severity, rule_info};
use super::{Finding, FindingKind, Report};

/// JSON report schema version.
pub const SCHEMA_VERSION: u32 = 1;

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

/// One text line for a finding: `file:line:col: severity rule key_path "secret"`; hygiene
/// lines `file: severity rule message`; history lines prefixed with the 12-hex commit.
pub fn text_line(f: &Finding) -> String {
    let prefix = f
        .commit
        .as_ref()
        .map(|c| format!("{}:", &c.sha[..c.sha.len().min(12)]))
        .unwrap_or_default();
    if f.kind == FindingKind::Hygiene {
        return format!(
            "{prefix}{}: {} {} {}",
            f.file,
            sev(f.severity),
            f.rule_id,
            f.message.as_deref().unwrap_or("")
        );
    }
    let mut s = format!(
        "{prefix}{}:{}:{}: {} {}",
        f.file,
        f.line.unwrap_or(0),
        f.column.unwrap_or(0),
        sev(f.severity),
        f.rule_id
    );
    if let Some(k) = &f.key_path {
        s.push(' ');
        s.push_str(k);
    }
    if let Some(secret) = &f.secret {
        s.push_str(&format!(" {:?}", secret));
    }
    if !f.decoded.is_empty() {
        s.push_str(&format!(" (decoded: {})", f.decoded.join(">")));
    }
    if let Some(c) = &f.commit {
        s.push_str(if c.in_head {
            " (still in HEAD; rotate it)"
        } else {
            " (removed since; rotate it)"
        });
    }
    s
}

/// The text report (stdout part): one line per finding, suppressed ones only when asked.
pub fn render_text(r: &Report, show_suppressed: bool) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&text_line(f));
        out.push('\n');
    }
    if show_suppressed {
        for f in &r.suppressed {
            out.push_str(&text_line(f));
            out.push_str(" (suppressed)\n");
        }
    }
    out
}

/// The two stderr summary lines (the last is `scanned N files, X MB in T s`).
pub fn summary_lines(r: &Report) -> [String; 2] {
    let files: std::collections::HashSet<&str> =
        r.findings.iter().map(|f| f.file.as_str()).collect();
    let s = &r.summary;
    [
        format!(
            "{} findings in {} files ({} skipped, {} suppressed)",
            r.findings.len(),
            files.len(),
            s.files_skipped,
            s.suppressed + s.baselined
        ),
        format!(
            "scanned {} files, {:.1} MB in {:.2} s",
            s.files_scanned,
            s.bytes_scanned as f64 / 1_000_000.0,
            s.duration_ms as f64 / 1000.0
        ),
    ]
}

/// The JSON report document.
pub fn render_json(r: &Report, show_suppressed: bool) -> String {
    let mut doc = json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "voxray", "version": env!("CARGO_PKG_VERSION")},
        "command": "audit",
        "findings": r.findings,
        "skipped": r.skipped,
        "errors": r.errors,
        "summary": r.summary,
    });
    if show_suppressed {
        doc["suppressed_findings"] = json!(r.suppressed);
    }
    serde_json::to_string_pretty(&doc).expect("report serializes") + "\n"
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn sarif_uri(file: &str) -> String {
    file.replace('\\', "/")
        .split('/')
        .map(|seg| seg.replace(' ', "%20"))
        .collect::<Vec<_>>()
        .join("/")
}

/// `file:///…/` URI of the current directory (the scan root of relative file names).
fn root_uri() -> String {
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let cwd = cwd.trim_end_matches('/');
    let path = if cwd.starts_with('/') {
        cwd.to_string()
    } else {
        format!("/{cwd}")
    };
    format!("file://{}/", sarif_uri(&path))
}

/// The SARIF 2.1.0 log (one run, `tool.driver.name` = `voxray`).
pub fn render_sarif(r: &Report) -> String {
    let mut rule_ids: Vec<&str> = Vec::new();
    for f in &r.findings {
        if !rule_ids.contains(&f.rule_id.as_str()) {
            rule_ids.push(&f.rule_id);
        }
    }
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let info = rule_info(id);
            json!({
                "id": id,
                "name": id,
                "shortDescription": {"text": info.description},
                "defaultConfiguration": {"level": level(info.severity)},
                "properties": {"severity": sev(info.severity)}
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let idx = rule_ids.iter().position(|x| *x == f.rule_id).unwrap_or(0);
            let text = match (&f.kind, &f.secret) {
                (FindingKind::Hygiene, _) => f.message.clone().unwrap_or_default(),
                (_, Some(s)) => format!(
                    "{} {}{}",
                    f.description,
                    s,
                    f.key_path
                        .as_ref()
                        .map(|k| format!(" at {k}"))
                        .unwrap_or_default()
                ),
                _ => f.description.clone(),
            };
            let mut phys =
                json!({"artifactLocation": {"uri": sarif_uri(&f.file), "uriBaseId": "%SRCROOT%"}});
            if let (Some(l), Some(c), Some(el), Some(ec)) =
                (f.line, f.column, f.end_line, f.end_column)
            {
                phys["region"] = json!({
                    "startLine": l, "startColumn": c, "endLine": el, "endColumn": ec + 1,
                    "snippet": {"text": f.snippet.clone().unwrap_or_default()}
                });
            }
            let mut res = json!({
                "ruleId": f.rule_id,
                "ruleIndex": idx,
                "level": level(f.severity),
                "kind": "fail",
                "message": {"text": text},
                "locations": [{"physicalLocation": phys}],
            });
            if let Some(fp) = &f.fingerprint {
                res["partialFingerprints"] =
                    json!({"voxraySecret/v1": fp.trim_start_matches("sha256:")});
            }
            let mut props = json!({"confidence": f.confidence, "severity": sev(f.severity)});
            if let Some(c) = &f.commit {
                props["commit"] = json!(c);
            }
            if !f.decoded.is_empty() {
                props["decoded"] = json!(f.decoded);
            }
            res["properties"] = props;
            res
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "voxray",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri()}},
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).expect("sarif serializes") + "\n"
}
