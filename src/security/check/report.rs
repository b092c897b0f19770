//! Rendering check results: text for terminals (80 columns), JSON
//! (`schemas/check-report.v1.json`) and SARIF 2.1.0.

use serde_json::{Value, json};

use super::{CheckResult, Status, Summary};

const WIDTH: usize = 80;

/// Wrap `text` to [`WIDTH`] columns, every line starting with `indent` (first line with
/// `first`); a single word longer than the width overflows.
fn wrap(out: &mut String, first: &str, indent: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn colour(tag: &str, status: Status, ansi: bool) -> String {
    if !ansi {
        return tag.to_string();
    }
    let code = match status {
        Status::Pass => "32",
        Status::Fail => "31",
        Status::Warn => "33",
        Status::Info => "36",
        Status::Skip => "90",
    };
    format!("\x1b[{code}m{tag}\x1b[0m")
}

/// The text report. `ansi` adds colour to the status tags (only on a TTY without NO_COLOR).
pub fn text(results: &[CheckResult], production: bool, config: &str, ansi: bool) -> String {
    let mut out = String::new();
    let mode = if production { " --production" } else { "" };
    wrap(
        &mut out,
        "",
        "  ",
        &format!("voxray check{mode} — config: {config}"),
    );
    for r in results {
        let tag = colour(&format!("[{}]", r.status.tag()), r.status, ansi);
        // The tag is 6 columns wide whatever the colour codes add.
        let head = format!("{tag} {} {}", r.id, r.title);
        let visible = format!("[{}] {} {}", r.status.tag(), r.id, r.title);
        if visible.chars().count() <= WIDTH {
            out.push_str(&head);
            out.push('\n');
        } else {
            wrap(&mut out, &format!("{tag} {} ", r.id), "       ", r.title);
        }
        if r.status == Status::Pass {
            continue;
        }
        if let Some(reason) = &r.reason {
            wrap(&mut out, "       reason: ", "         ", reason);
        }
        for e in &r.evidence {
            let text = format!(
                "{} = {} (expected {}; from {})",
                e.path, e.actual, e.expected, e.source
            );
            wrap(&mut out, "       evidence: ", "         ", &text);
        }
        if let Some(fix) = &r.remediation {
            wrap(&mut out, "       fix: ", "         ", fix);
        }
    }
    let s = Summary::of(results);
    out.push_str("== Summary ==\n");
    out.push_str(&format!(
        "pass {}, fail {}, warn {}, info {}, skip {}\n",
        s.pass, s.fail, s.warn, s.info, s.skip
    ));
    out
}

/// The JSON report (schema version 1).
pub fn json(results: &[CheckResult], production: bool, config: Option<&str>) -> Value {
    json!({
        "schema_version": 1,
        "tool": {"name": "voxray", "version": env!("CARGO_PKG_VERSION")},
        "command": "check",
        "production": production,
        "config": config,
        "summary": Summary::of(results),
        "results": results,
    })
}

/// The SARIF 2.1.0 report: one result per check run; `line` gives the line of the offending
/// key in the config file when the value came from the file.
pub fn sarif(
    results: &[CheckResult],
    config: Option<&str>,
    line_of: &dyn Fn(&str) -> Option<usize>,
) -> Value {
    let rules: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({"id": r.id, "name": r.id, "shortDescription": {"text": r.title},
                        "properties": {"severity": r.severity}})
        })
        .collect();
    let sarif_results: Vec<Value> = results
        .iter()
        .map(|r| {
            let (kind, level) = match r.status {
                Status::Fail => ("fail", "error"),
                Status::Warn => ("fail", "warning"),
                Status::Info => ("informational", "none"),
                Status::Pass => ("pass", "none"),
                Status::Skip => ("notApplicable", "none"),
            };
            let mut text = format!("[{}] {}", r.status.tag(), r.title);
            for e in &r.evidence {
                text.push_str(&format!("; {} = {}", e.path, e.actual));
            }
            if let Some(fix) = &r.remediation {
                text.push_str(&format!(". Fix: {fix}"));
            }
            let mut res =
                json!({"ruleId": r.id, "kind": kind, "level": level, "message": {"text": text}});
            if let Some(file) = config {
                let mut physical = json!({"artifactLocation": {"uri": file}});
                let from_file = r.evidence.iter().find(|e| e.source.starts_with("file"));
                if let Some(line) = from_file.and_then(|e| line_of(&e.path)) {
                    physical["region"] = json!({"startLine": line});
                }
                res["locations"] = json!([{"physicalLocation": physical}]);
            }
            res
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "voxray", "version": env!("CARGO_PKG_VERSION"),
                                "rules": rules}},
            "results": sarif_results
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_80_columns() {
        let mut out = String::new();
        wrap(&mut out, "       fix: ", "         ", &"word ".repeat(60));
        assert!(out.lines().all(|l| l.chars().count() <= WIDTH));
        assert!(out.lines().skip(1).all(|l| l.starts_with("         ")));
    }
}
