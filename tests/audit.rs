//! `voxray audit` through the real binary (`security-tools.md` §2): exit codes, formats and
//! their schemas, stdin, directories and ignore rules, git hygiene and history in temporary git
//! repositories, suppression, baselines, encodings, skips, and the labelled corpus.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::tempdir;

fn voxray_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    common::voxray(&all, dir, &[], stdin)
}

fn out(o: &Output) -> String {
    common::stdout(o)
}
fn err(o: &Output) -> String {
    common::stderr(o)
}
fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&out(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", out(o)))
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git");
    assert!(st.success(), "git {args:?}");
}

fn git_repo(tag: &str) -> PathBuf {
    let d = tempdir(tag);
    git(&d, &["init", "-q", "-b", "main"]);
    d
}

/// Synthetic Groq-format key: `gsk_FAKE` + 48 pseudo-random base62 characters from seed `n`.
fn groq(n: u8) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (n as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let body: String = (0..48)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            B62[(x % 62) as usize] as char
        })
        .collect();
    format!("gsk_FAKE{body}")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn exit_codes() {
    let d = tempdir("exit");
    write(&d, "clean.yaml", "api_keys:\n  openai: ${OPENAI_API_KEY}\n");
    write(
        &d,
        "leak.yaml",
        &format!("api_keys:\n  groq: {}\n", groq(0)),
    );
    assert_eq!(
        voxray_in(&d, &["--no-git-checks", "clean.yaml"], None)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        voxray_in(&d, &["--no-git-checks", "leak.yaml"], None)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        voxray_in(&d, &["--no-git-checks", "--exit-zero", "leak.yaml"], None)
            .status
            .code(),
        Some(0)
    );
    let o = voxray_in(&d, &["missing.yaml"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).starts_with("voxray: audit: missing.yaml"),
        "{}",
        err(&o)
    );
    assert_eq!(
        voxray_in(&d, &["--format", "xml", "clean.yaml"], None)
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        voxray_in(&d, &["--allowlist", "nope.toml", "clean.yaml"], None)
            .status
            .code(),
        Some(2)
    );
    write(&d, "bad.toml", "[[allow]]\npath = \"x\"\n");
    assert_eq!(
        voxray_in(&d, &["--allowlist", "bad.toml", "clean.yaml"], None)
            .status
            .code(),
        Some(2)
    );
    write(&d, "bad-baseline.json", "{\"entries\": 3}");
    assert_eq!(
        voxray_in(&d, &["--baseline", "bad-baseline.json", "clean.yaml"], None)
            .status
            .code(),
        Some(2)
    );
    let o = voxray_in(&d, &["--history", "clean.yaml"], None);
    assert_eq!(o.status.code(), Some(2), "--history outside git");
}

#[test]
fn text_format_redacts_and_ends_with_summary() {
    let d = tempdir("text");
    let key = groq(1);
    write(
        &d,
        "config.yaml",
        &format!("# voxray\napi_keys:\n  groq: \"{key}\"\n"),
    );
    let o = voxray_in(&d, &["--no-git-checks", "config.yaml"], None);
    let text = out(&o);
    assert_eq!(
        text,
        format!(
            "config.yaml:3:10: high groq-api-key api_keys.groq \"gsk_…{}\"\n",
            &key[key.len() - 4..]
        )
    );
    let e = err(&o);
    assert!(!text.contains(&key) && !e.contains(&key));
    let last = e.lines().last().unwrap();
    assert!(
        last.starts_with("scanned 1 files, 0.0 MB in ") && last.ends_with(" s"),
        "{e}"
    );
    assert!(e.contains("1 findings in 1 files (0 skipped, 0 suppressed)"));
    let shown = voxray_in(
        &d,
        &["--no-git-checks", "--show-secrets", "config.yaml"],
        None,
    );
    assert!(out(&shown).contains(&key));
}

#[test]
fn stdin_is_scanned() {
    let d = tempdir("stdin");
    let o = voxray_in(
        &d,
        &["--format", "json", "-"],
        Some(format!("TOKEN={}\n", groq(2)).as_bytes()),
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["findings"][0]["file"], "<stdin>");
    assert_eq!(v["findings"][0]["line"], 1);
    assert_eq!(v["findings"][0]["column"], 7);
}

fn validate(schema_file: &str, instance: &serde_json::Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(schema_file);
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let url = format!("file://{}", path.display());
    compiler.add_resource(&url, schema).unwrap();
    let id = compiler
        .compile(&url, &mut schemas)
        .unwrap_or_else(|e| panic!("{schema_file}: {e:#}"));
    if let Err(e) = schemas.validate(instance, id) {
        panic!("{schema_file} rejects the report: {e:#}\n{instance:#}");
    }
}

fn rich_tree() -> PathBuf {
    let d = git_repo("rich");
    write(
        &d,
        "config.json",
        &format!(
            "{{\n  \"api_keys\": {{\"groq\": \"{}\"}},\n  \"server_api_key\": \"myvoxray-live-7\"\n}}\n",
            groq(3)
        ),
    );
    write(
        &d,
        "deploy/values.yaml",
        "voxray:\n  dsn: postgres://app:Pw-9xQ2-long@db.example.com/voice\n", // voxray:allow synthetic test value
    );
    write(&d, "assets/hold.wav", "RIFF\0\0\0\0WAVE");
    d
}

#[test]
fn json_report_matches_its_schema() {
    let d = rich_tree();
    let o = voxray_in(&d, &["--format", "json", "--show-suppressed"], None);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    validate("audit-report.v1.json", &v);
    let kinds: BTreeSet<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "dsn-password",
            "git-config-not-ignored",
            "groq-api-key",
            "voxray-schema-secret"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        v["skipped"],
        serde_json::json!([{"file": "assets/hold.wav", "reason": "binary"}])
    );
    assert_eq!(v["summary"]["files_scanned"], 2);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "groq-api-key")
        .unwrap();
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(25))
    );
    assert_eq!(f["key_path"], "api_keys.groq");
    assert_eq!(f["mode"], "json");
    assert_eq!(f["redacted"], true);
    assert!(f["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        f["snippet"],
        format!("\"api_keys\": {{\"groq\": \"gsk_…{}\"}},", &groq(3)[52..])
    );
    assert!(
        !out(&o).contains(&groq(3)[8..]),
        "JSON report must be redacted"
    );
}

#[test]
fn sarif_report_matches_sarif_2_1_0() {
    let d = rich_tree();
    let o = voxray_in(&d, &["--format", "sarif"], None);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    validate("sarif-schema-2.1.0.json", &v);
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "voxray");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        if r["ruleId"] == "git-config-not-ignored" {
            assert!(loc.get("region").is_none());
        } else {
            assert!(
                r["partialFingerprints"]["voxraySecret/v1"]
                    .as_str()
                    .unwrap()
                    .len()
                    == 64
            );
            assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        }
    }
    assert!(!out(&o).contains(&groq(3)), "SARIF must be redacted");
}

#[test]
fn walking_respects_git_ignore_but_scans_tracked_files() {
    let d = git_repo("ignore");
    write(&d, ".gitignore", "secrets/\n*.local\n");
    write(&d, "secrets/a.yaml", &format!("k: {}\n", groq(4)));
    write(&d, "tracked.local", &format!("k: {}\n", groq(5)));
    write(&d, ".hidden/b.env", &format!("K={}\n", groq(6)));
    git(&d, &["add", "-f", "tracked.local", ".gitignore"]);
    let files = |args: &[&str]| -> BTreeSet<String> {
        let mut a = vec!["--no-git-checks", "--format", "json"];
        a.extend_from_slice(args);
        json(&voxray_in(&d, &a, None))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        files(&[]),
        [".hidden/b.env", "tracked.local"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(files(&["--no-ignore"]).len(), 3);
    assert_eq!(
        files(&["secrets/a.yaml"]).len(),
        1,
        "a named file is always scanned"
    );
    assert_eq!(
        files(&["--exclude", "*.local"]),
        [".hidden/b.env"].into_iter().map(String::from).collect()
    );
}

#[test]
fn git_hygiene_of_config_json() {
    let d = git_repo("hygiene");
    write(&d, "config.json", "{\"port\": 8080}\n");
    let rules = |d: &Path, args: &[&str]| -> Vec<String> {
        let mut a = vec!["--format", "json"];
        a.extend_from_slice(args);
        json(&voxray_in(d, &a, None))["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(rules(&d, &[]), ["git-config-not-ignored"]);
    assert!(rules(&d, &["--no-git-checks"]).is_empty());
    write(&d, ".gitignore", "config.json\n");
    assert!(rules(&d, &[]).is_empty(), "ignored and untracked: fine");
    assert!(rules(&d, &["config.json"]).is_empty());
    git(&d, &["add", "-f", "config.json"]);
    git(&d, &["commit", "-qm", "oops"]);
    assert_eq!(
        rules(&d, &["config.json"]),
        ["git-config-tracked"],
        "tracked even though ignored"
    );
    let text = out(&voxray_in(&d, &["config.json"], None));
    assert!(
        text.starts_with("config.json: high git-config-tracked ")
            && text.contains("git rm --cached"),
        "{text}"
    );
    let outside = tempdir("nogit");
    write(&outside, "config.json", "{}\n");
    assert!(rules(&outside, &[]).is_empty());
}

#[test]
fn history_finds_removed_and_present_secrets() {
    let d = git_repo("history");
    let (gone, kept) = (groq(7), groq(8));
    write(&d, "app.env", &format!("A=1\nGROQ_TOKEN={gone}\n"));
    write(&d, "keep.yaml", &format!("x: 1\ny: {kept}\n"));
    git(&d, &["add", "."]);
    git(&d, &["commit", "-qm", "add keys"]);
    write(&d, "app.env", "A=1\nGROQ_TOKEN=${GROQ_TOKEN}\n");
    git(&d, &["commit", "-qam", "remove key"]);
    let o = voxray_in(
        &d,
        &["--history", "--format", "json", "--no-git-checks"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    validate("audit-report.v1.json", &v);
    let hist: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["commit"].is_null())
        .collect();
    assert_eq!(hist.len(), 2, "{v:#}");
    let by_file: BTreeMap<&str, &serde_json::Value> = hist
        .iter()
        .map(|f| (f["file"].as_str().unwrap(), *f))
        .collect();
    assert_eq!(by_file["app.env"]["commit"]["in_head"], false);
    assert_eq!(by_file["app.env"]["line"], 2);
    assert_eq!(by_file["keep.yaml"]["commit"]["in_head"], true);
    assert_eq!(by_file["app.env"]["commit"]["summary"], "add keys");
    assert!(
        by_file["app.env"]["message"]
            .as_str()
            .unwrap()
            .contains("rotate")
    );
    let text = out(&voxray_in(&d, &["--history", "--no-git-checks"], None));
    let hist_line = text.lines().find(|l| l.contains("app.env")).unwrap();
    let (sha, rest) = hist_line.split_once(':').unwrap();
    assert!(
        sha.len() == 12 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{hist_line}"
    );
    assert!(
        rest.starts_with("app.env:2:12: high groq-api-key"),
        "{hist_line}"
    );
    assert!(!text.contains(&gone));
    // A range limits the commits scanned: only the removal commit → nothing added.
    let o = voxray_in(
        &d,
        &[
            "--history",
            "--history-range",
            "HEAD~1..HEAD",
            "--format",
            "json",
            "--no-git-checks",
        ],
        None,
    );
    let v = json(&o);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["commit"].is_null()),
        "{v:#}"
    );
    assert_eq!(
        voxray_in(&d, &["--history", "--history-range", "nope..HEAD"], None)
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn allowlist_inline_and_show_suppressed() {
    let d = tempdir("allow");
    write(
        &d,
        "a.yaml",
        &format!(
            "one: {}\ntwo: {} # voxray:allow test fixture\n",
            groq(9),
            groq(10)
        ),
    );
    write(&d, "fixtures/b.env", &format!("T={}\n", groq(11)));
    let o = voxray_in(&d, &["--no-git-checks", "--format", "json"], None);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["summary"]["findings"], 2);
    assert_eq!(v["summary"]["suppressed"], 1);
    let fp = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "a.yaml")
        .unwrap()["fingerprint"]
        .clone();
    write(
        &d,
        ".voxray-audit.toml",
        &format!(
            "[[allow]]\nfingerprint = {fp}\nreason = \"documented\"\n\n[[allow]]\npath = \"fixtures/**\"\nreason = \"synthetic\"\n"
        ),
    );
    let o = voxray_in(&d, &["--no-git-checks"], None);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(
        err(&o).contains("0 findings in 0 files (0 skipped, 2 suppressed)"),
        "{}",
        err(&o)
    );
    let o = voxray_in(&d, &["--no-git-checks", "--show-suppressed"], None);
    assert_eq!(out(&o).matches("(suppressed)").count(), 2);
}

#[test]
fn baselines_accept_old_findings_only() {
    let d = tempdir("baseline");
    write(&d, "c.yaml", &format!("a: {}\n", groq(12)));
    let o = voxray_in(
        &d,
        &["--no-git-checks", "--write-baseline", "base.json"],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let base = std::fs::read_to_string(d.join("base.json")).unwrap();
    assert!(!base.contains(&groq(12)) && base.contains("\"rule_id\": \"groq-api-key\""));
    assert!(!base.contains("\"line\""));
    // Moved and repeated: still baselined.
    write(
        &d,
        "c.yaml",
        &format!("# moved\nb: {}\nc: {}\n", groq(12), groq(12)),
    );
    let o = voxray_in(&d, &["--no-git-checks", "--baseline", "base.json"], None);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // A new secret, or the old one in another file, is reported.
    write(&d, "c.yaml", &format!("b: {}\nd: {}\n", groq(12), groq(13)));
    write(&d, "other.yaml", &format!("b: {}\n", groq(12)));
    let o = voxray_in(
        &d,
        &[
            "--no-git-checks",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
        None,
    );
    let v = json(&o);
    assert_eq!(v["summary"]["findings"], 2);
    assert_eq!(v["summary"]["baselined"], 1);
    // A JSON report works as a baseline too.
    let full = voxray_in(&d, &["--no-git-checks", "--format", "json"], None);
    std::fs::write(d.join("report.json"), out(&full)).unwrap();
    assert_eq!(
        voxray_in(&d, &["--no-git-checks", "--baseline", "report.json"], None)
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn encodings_positions_and_skips() {
    let d = tempdir("enc");
    let k = groq(14);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(format!("{{\"groq\": \"{k}\"}}\r\n").as_bytes());
    std::fs::write(d.join("bom.json"), bom).unwrap();
    write(&d, "crlf.env", &format!("A=1\r\nÄÖ_TOKEN={k}\r\n"));
    let mut u16 = vec![0xFF, 0xFE];
    for u in format!("x: 1\ny: {k}\n").encode_utf16() {
        u16.extend(u.to_le_bytes());
    }
    std::fs::write(d.join("utf16.yaml"), u16).unwrap();
    std::fs::write(d.join("blob.bin"), b"\x00\x01\x02gsk_binary").unwrap();
    write(&d, "broken.json", &format!("{{\"groq\": \"{k}\",\n"));
    write(&d, "big.yaml", &"x: 1\n".repeat(100));
    std::os::unix::fs::symlink(d.join("crlf.env"), d.join("link.env")).unwrap();
    let o = voxray_in(
        &d,
        &[
            "--no-git-checks",
            "--format",
            "json",
            "--max-file-size",
            "400",
        ],
        None,
    );
    let v = json(&o);
    let pos: BTreeMap<String, (u64, u64, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(
                f["end_column"].as_u64().unwrap() - f["column"].as_u64().unwrap() + 1,
                k.len() as u64
            );
            (
                f["file"].as_str().unwrap().to_string(),
                (
                    f["line"].as_u64().unwrap(),
                    f["column"].as_u64().unwrap(),
                    f["offset"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        pos["bom.json"],
        (1, 11, 13),
        "BOM not counted in columns, counted in offset"
    );
    assert_eq!(pos["crlf.env"].0, 2);
    assert_eq!(pos["crlf.env"].1, 10, "columns count characters, not bytes");
    assert_eq!(pos["utf16.yaml"].0, 2);
    assert_eq!(
        pos["broken.json"].0, 1,
        "a JSON file that does not parse still gets the line pass"
    );
    let broken = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "broken.json")
        .unwrap();
    assert_eq!(broken["mode"], "line");
    let skipped: BTreeMap<String, String> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(skipped["blob.bin"], "binary");
    assert_eq!(skipped["big.yaml"], "too large");
    assert_eq!(skipped["link.env"], "symlink");
}

#[test]
fn project_example_config_is_clean() {
    let d = tempdir("example");
    write(
        &d,
        "config.example.json",
        r#"{
  "_comment": "Copy to config.json; prefer environment variables for secrets",
  "host": "0.0.0.0",
  "port": 8080,
  "server_api_key": "YOUR_SERVER_API_KEY_HERE",
  "server_api_keys": [],
  "cors_allowed_origins": ["https://app.example.com"],
  "provider": "openai",
  "stt_provider": "deepgram",
  "tts_provider": "elevenlabs",
  "api_keys": {
    "openai": "YOUR_OPENAI_KEY_HERE",
    "deepgram": "YOUR_DEEPGRAM_KEY_HERE",
    "elevenlabs": "YOUR_ELEVENLABS_KEY_HERE",
    "anthropic": "${ANTHROPIC_API_KEY}",
    "groq": ""
  },
  "daily_dialin_webhook_secret": "YOUR_DAILY_WEBHOOK_SECRET_HERE",
  "twilio_account_sid": "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
  "twilio_auth_token": "YOUR_TWILIO_AUTH_TOKEN_HERE",
  "redis_url": "redis://localhost:6379/0",
  "transcripts": {"enable": false, "driver": "postgres", "dsn": "postgres://voxray:${DB_PASSWORD}@db:5432/voxray"},
  "webrtc_ice_servers": [{"urls": "turn:turn.example.com:3478", "username": "voxray", "credential": "YOUR_TURN_CREDENTIAL_HERE"}],
  "recording": {"enable": false, "bucket": "my-voxray-recordings", "region": "eu-west-1"},
  "max_tokens": 512
}
"#,
    );
    let o = voxray_in(&d, &["config.example.json"], None);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).is_empty());
}

#[test]
fn corpus_precision_and_recall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit_corpus");
    let labels: BTreeSet<(String, u64)> = std::fs::read_to_string(root.join("labels.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let loc = l.split_whitespace().next().unwrap();
            let (f, n) = loc.rsplit_once(':').unwrap();
            (f.to_string(), n.parse().unwrap())
        })
        .collect();
    let o = voxray_in(
        &root.join("files"),
        &["--no-git-checks", "--no-ignore", "--format", "json", "."],
        None,
    );
    let v = json(&o);
    let predicted: BTreeSet<(String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let tp = predicted.intersection(&labels).count() as f64;
    let precision = tp / predicted.len() as f64;
    let recall = tp / labels.len() as f64;
    let fps: Vec<_> = predicted.difference(&labels).collect();
    let fns: Vec<_> = labels.difference(&predicted).collect();
    assert!(labels.len() >= 70, "corpus too small");
    eprintln!(
        "corpus: {} labelled secrets, {} findings, precision {precision:.3}, recall {recall:.3}",
        labels.len(),
        predicted.len()
    );
    assert!(
        precision >= 0.98,
        "precision {precision:.3}; false positives {fps:?}"
    );
    assert!(recall >= 0.98, "recall {recall:.3}; missed {fns:?}");
}

/// Issue 10 item 11: `--max-file-size` bounds stdin, FIFOs and devices too; an endless input
/// is skipped as "too large" instead of being read into memory without bound.
#[test]
fn endless_inputs_are_bounded_by_max_file_size() {
    let d = tempdir("endless");
    let fifo = d.join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                let chunk = vec![b'a'; 65536];
                while f.write_all(&chunk).is_ok() {}
            }
        })
    };
    let cases: Vec<(Vec<&str>, Stdio, &str)> = vec![
        (vec!["/dev/zero"], Stdio::null(), "/dev/zero"),
        (
            vec!["-"],
            Stdio::from(std::fs::File::open("/dev/zero").unwrap()),
            "<stdin>",
        ),
        (vec![fifo.to_str().unwrap()], Stdio::null(), "pipe"),
    ];
    for (paths, stdin, shown) in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_voxray"));
        cmd.arg("audit")
            .args([
                "--no-git-checks",
                "--format",
                "json",
                "--max-file-size",
                "1000000",
            ])
            .args(&paths)
            .current_dir(&d)
            .env("VOXRAY_KEYRING_BACKEND", "none")
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().unwrap();
        let pid = child.id() as i32;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let o = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(o) => o.unwrap(),
            Err(_) => {
                unsafe { libc::kill(pid, libc::SIGKILL) };
                panic!("audit {paths:?} did not finish within 30 s");
            }
        };
        let v = json(&o);
        let skipped = v["skipped"].as_array().unwrap();
        assert!(
            skipped
                .iter()
                .any(|s| s["file"].as_str().unwrap().ends_with(shown) && s["reason"] == "too large"),
            "{paths:?}: {v}"
        );
    }
    drop(writer);
}

/// Issue 10 (secret scanning): placeholder syntaxes of other ecosystems (YAML tags such as
/// `!env NAME`, redaction markers such as `[hidden]`, trivial dev values) are clean, and
/// credentials in URL query strings (`?api_key=`, `token=`, `access_token=`, `sig=`) are
/// findings. Fixtures: tests/audit_fixtures/.
#[test]
fn yaml_tags_markers_dev_values_are_clean_and_url_query_credentials_are_found() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audit_fixtures");
    let o = voxray_in(
        &root,
        &["--no-git-checks", "--no-ignore", "--format", "json", "."],
        None,
    );
    let v = json(&o);
    let found: BTreeSet<(String, u64, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, u64, String)> = (1..=4)
        .map(|l| {
            (
                "leaky-urls.yaml".to_string(),
                l,
                "url-query-credential".to_string(),
            )
        })
        .collect();
    assert_eq!(found, expected, "{v}");
}
