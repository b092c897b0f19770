//! The shipped packaging files (`http.md`, "Deployment requirements"): the Dockerfile, the
//! systemd unit, the Kubernetes manifests, docker compose, the Debian package and the
//! production example config, each checked statically and with the real tool that consumes it
//! (hadolint, systemd-analyze, kubernetes-validate, check-jsonschema, cargo-deb, dpkg-deb).
//!
//! `.ci/run` installs every tool. Outside CI a missing tool skips its test with a printed
//! reason; under CI (`CI` set) a missing tool fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use voxray::config::keys::KEYS;
use voxray::config::{LoadOptions, load};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Whether `tool` runs (`tool <probe_arg>`); outside CI a missing tool prints why the test is
/// skipped, under CI it fails.
fn have(tool: &str, probe_arg: &str) -> bool {
    let ok = Command::new(tool)
        .arg(probe_arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is missing; .ci/run installs it"
        );
        eprintln!("SKIPPED: {tool} is not installed (.ci/run installs it)");
    }
    ok
}

/// Run `cmd`, which must succeed; a failure shows the command and both outputs.
fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{:?} does not start: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One Dockerfile instruction: upper-cased keyword and its arguments (continuations joined,
/// comments dropped).
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

fn parse_dockerfile(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                let full = std::mem::take(&mut current);
                let full = full.trim();
                let (keyword, args) = full.split_once(char::is_whitespace).unwrap_or((full, ""));
                out.push(Instruction {
                    keyword: keyword.to_ascii_uppercase(),
                    args: args.trim().to_string(),
                });
            }
        }
    }
    out
}

/// The instructions of the last stage (from its `FROM` on).
fn final_stage(instructions: &[Instruction]) -> &[Instruction] {
    let start = instructions
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .expect("a FROM");
    &instructions[start..]
}

#[test]
fn dockerfile_meets_the_deployment_requirements() {
    let all = parse_dockerfile(&read("Dockerfile"));
    let froms: Vec<&Instruction> = all.iter().filter(|i| i.keyword == "FROM").collect();
    assert!(froms.len() >= 2, "multi-stage build expected");
    assert!(froms[0].args.contains(" AS "), "the build stage is named");
    let stage = final_stage(&all);
    assert_eq!(stage[0].args, "alpine:3.20");
    let one = |kw: &str| -> Vec<&str> {
        stage
            .iter()
            .filter(|i| i.keyword == kw)
            .map(|i| i.args.as_str())
            .collect()
    };
    assert_eq!(one("USER"), ["voxray"]);
    assert_eq!(one("WORKDIR"), ["/app"]);
    assert_eq!(one("ENV"), ["VOXRAY_HOST=0.0.0.0"]);
    assert_eq!(one("EXPOSE"), ["8080"]);
    assert!(one("ENTRYPOINT").is_empty(), "no ENTRYPOINT");
    assert!(all.iter().all(|i| i.keyword != "ADD"), "COPY only");
    let cmd: Value = serde_json::from_str(one("CMD")[0]).expect("exec-form CMD");
    assert_eq!(cmd, json!(["voxray", "serve"]));
    let health = one("HEALTHCHECK")[0];
    let exec = health.split_once("CMD ").expect("HEALTHCHECK CMD").1;
    assert_eq!(
        serde_json::from_str::<Value>(exec).unwrap(),
        json!(["voxray", "health"])
    );
    let copies = one("COPY");
    assert_eq!(
        copies.len(),
        1,
        "the binary is the only file copied in: {copies:?}"
    );
    assert!(copies[0].starts_with("--from=") && copies[0].ends_with(" /usr/local/bin/voxray"));
    // The USER instruction comes after the RUN that creates the user, and nothing runs after it.
    let user_at = stage.iter().position(|i| i.keyword == "USER").unwrap();
    assert!(stage[user_at..].iter().all(|i| i.keyword != "RUN"));
    let run = one("RUN").join("\n");
    for needle in [
        "-g 1001 voxray",
        "-u 1001",
        "/sbin/apk",
        "/lib/apk",
        "/etc/apk",
        "/usr/bin/id",
    ] {
        assert!(run.contains(needle), "final RUN lacks {needle:?}");
    }
    let ignore = read(".dockerignore");
    for entry in ["config.json", "target", ".git", "*.env"] {
        assert!(
            ignore.lines().any(|l| l.trim() == entry),
            ".dockerignore lacks {entry}"
        );
    }
}

/// The final stage's RUN script, executed in a BusyBox root as Alpine's BusyBox would run it,
/// leaves only `/usr/bin/id` (printing `uid=1001(voxray) gid=1001(voxray)`), no shell, no
/// BusyBox, no apk database, no crontab. Debian's static BusyBox lacks `adduser`/`addgroup`,
/// so two shell functions stand in for them, writing what Alpine's applets would.
#[test]
fn dockerfile_final_stage_leaves_only_id() {
    let busybox = Path::new("/bin/busybox");
    if !busybox.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "busybox-static missing; .ci/run installs it"
        );
        eprintln!("SKIPPED: /bin/busybox (Debian busybox-static) is not installed");
        return;
    }
    let all = parse_dockerfile(&read("Dockerfile"));
    let script = &final_stage(&all)
        .iter()
        .find(|i| i.keyword == "RUN")
        .expect("final RUN")
        .args;
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for dir in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc/apk",
        "lib/apk/db",
        "etc/crontabs",
        "tmp",
        "var/cache/apk",
    ] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
    }
    std::fs::copy(busybox, r.join("bin/busybox")).unwrap();
    for (file, content) in [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:root\n"),
        ("sbin/apk", ""),
        ("etc/apk/world", "alpine-base\n"),
        ("lib/apk/db/installed", ""),
        (
            "etc/crontabs/root",
            "*/15 * * * * run-parts /etc/periodic/15min\n",
        ),
    ] {
        std::fs::write(r.join(file), content).unwrap();
    }
    let chroot = |args: &[&str]| {
        run(Command::new("chroot")
            .arg(r)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
    };
    chroot(&["/bin/busybox", "--install", "-s"]);
    assert!(r.join("bin/sh").is_symlink());
    let prelude = "addgroup() { echo \"voxray:x:1001:\" >> /etc/group; }\n\
                   adduser() { echo \"voxray:x:1001:1001::/app:/sbin/nologin\" >> /etc/passwd; }\n";
    chroot(&["/bin/sh", "-c", &format!("{prelude}{script}")]);
    let mut left = Vec::new();
    let mut stack = vec![r.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let ty = entry.file_type().unwrap();
            if ty.is_dir() {
                stack.push(entry.path());
            } else {
                left.push(entry.path().strip_prefix(r).unwrap().display().to_string());
            }
        }
    }
    left.sort();
    assert_eq!(
        left,
        ["etc/group", "etc/passwd", "usr/bin/id"],
        "files left in the image root"
    );
    assert!(!r.join("usr/bin/id").is_symlink());
    assert!(r.join("app").is_dir());
    let out = chroot(&["/usr/bin/id", "voxray"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "uid=1001(voxray) gid=1001(voxray) groups=1001(voxray)"
    );
}

#[test]
fn hadolint_accepts_the_dockerfile() {
    if !have("hadolint", "--version") {
        return;
    }
    run(Command::new("hadolint")
        .arg("Dockerfile")
        .current_dir(repo()));
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let unit = read("packaging/systemd/voxray.service");
    let settings: Vec<(&str, &str)> = unit
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let get = |k: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| *v)
            .collect()
    };
    assert_eq!(
        get("ExecStart"),
        ["/usr/bin/voxray serve --config /etc/voxray/config.json"]
    );
    assert!(get("DynamicUser") == ["yes"] || get("User") == ["voxray"]);
    assert_eq!(get("NoNewPrivileges"), ["yes"]);
    assert_eq!(get("ProtectSystem"), ["strict"]);
    assert_eq!(get("ReadOnlyPaths"), ["/etc/voxray"]);
    assert_eq!(get("Restart"), ["on-failure"]);
    assert!(
        get("EnvironmentFile")
            .iter()
            .any(|v| v.ends_with("/etc/voxray/voxray.env"))
    );
    assert!(
        !unit.contains("Environment=VOXRAY_SERVER_API_KEY"),
        "no secret in the unit"
    );
    if !have("systemd-analyze", "--version") {
        return;
    }
    // systemd-analyze checks that ExecStart is executable and that Documentation= pages exist:
    // point ExecStart at the built binary (the only change) and MANPATH at the generated pages.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("voxray");
    std::fs::copy(env!("CARGO_BIN_EXE_voxray"), &bin).unwrap();
    let man1 = dir.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for page in std::fs::read_dir(repo().join("man")).unwrap() {
        let page = page.unwrap();
        std::fs::copy(page.path(), man1.join(page.file_name())).unwrap();
    }
    let local = unit.replace(
        "ExecStart=/usr/bin/voxray",
        &format!("ExecStart={}", bin.display()),
    );
    assert_ne!(local, unit);
    let path = dir.path().join("voxray.service");
    std::fs::write(&path, local).unwrap();
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("MANPATH", dir.path().join("man")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "systemd-analyze verify warned:\n{stderr}"
    );
}

/// YAML documents of a file, as JSON (PyYAML, installed with kubernetes-validate).
fn yaml_docs(rel: &str) -> Vec<Value> {
    let out = run(Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)",
        ])
        .arg(repo().join(rel)));
    serde_json::from_slice(&out.stdout).unwrap()
}

const MANIFESTS: &[&str] = &[
    "packaging/kubernetes/deployment.yaml",
    "packaging/kubernetes/service.yaml",
    "packaging/kubernetes/pdb.yaml",
    "packaging/kubernetes/networkpolicy.yaml",
    "packaging/kubernetes/configmap.yaml",
    "packaging/kubernetes/hpa.yaml",
    "packaging/kubernetes/examples/secret.yaml",
];

#[test]
fn kubernetes_manifests_validate_against_the_kubernetes_schemas() {
    if !have("kubernetes-validate", "--version") {
        return;
    }
    run(Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .args(MANIFESTS)
        .current_dir(repo()));
}

#[test]
fn kubernetes_deployment_is_locked_down() {
    if !have("kubernetes-validate", "--version") {
        return;
    }
    let dep = &yaml_docs("packaging/kubernetes/deployment.yaml")[0];
    assert_eq!(dep["kind"], "Deployment");
    let spec = &dep["spec"];
    assert_eq!(
        spec["strategy"]["rollingUpdate"],
        json!({"maxUnavailable": 0, "maxSurge": 1})
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(spec["template"]["metadata"]["labels"]["app"], "voxray");
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 1001);
    assert_eq!(sc["runAsGroup"], 1001);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    let mount = &c["volumeMounts"][0];
    assert_eq!(mount["mountPath"], "/app/config.json");
    assert_eq!(mount["readOnly"], true);
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert_eq!(volume["configMap"]["name"], "voxray-config");
    let env: BTreeMap<String, (String, String)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = &e["valueFrom"]["secretKeyRef"];
            (
                e["name"].as_str().unwrap().to_string(),
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["key"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let secret = |k: &str| ("voxray-secrets".to_string(), k.to_string());
    assert_eq!(env["OPENAI_API_KEY"], secret("openai-api-key"));
    assert_eq!(env["DAILY_API_KEY"], secret("daily-api-key"));
    assert_eq!(env["VOXRAY_SERVER_API_KEY"], secret("server-api-key"));
    // The example Secret carries the same keys, placeholders only.
    let example = &yaml_docs("packaging/kubernetes/examples/secret.yaml")[0];
    for (_, (name, key)) in &env {
        assert_eq!(example["metadata"]["name"], name.as_str());
        let value = example["stringData"][key].as_str().unwrap();
        assert!(
            value.starts_with("YOUR_") && value.ends_with("_HERE"),
            "{key}: {value}"
        );
    }
    // The ConfigMap's config.json is the production example, byte for byte in meaning.
    let cm = &yaml_docs("packaging/kubernetes/configmap.yaml")[0];
    let embedded: Value =
        serde_json::from_str(cm["data"]["config.json"].as_str().unwrap()).unwrap();
    let production: Value =
        serde_json::from_str(&read("packaging/config.production.json")).unwrap();
    assert_eq!(
        embedded, production,
        "configmap.yaml drifted from config.production.json"
    );
    let pdb = &yaml_docs("packaging/kubernetes/pdb.yaml")[0];
    assert_eq!(pdb["spec"]["selector"]["matchLabels"]["app"], "voxray");
    let svc = &yaml_docs("packaging/kubernetes/service.yaml")[0];
    assert_eq!(svc["spec"]["selector"]["app"], "voxray");
}

#[test]
fn kubernetes_network_policy_has_exactly_the_specified_rules() {
    if !have("kubernetes-validate", "--version") {
        return;
    }
    let docs = yaml_docs("packaging/kubernetes/networkpolicy.yaml");
    let egress = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "voxray-egress")
        .expect("voxray-egress");
    assert_eq!(
        egress["spec"]["podSelector"],
        json!({"matchLabels": {"app": "voxray"}})
    );
    assert_eq!(egress["spec"]["policyTypes"], json!(["Egress"]));
    let ns = |name: &str| json!({"matchLabels": {"kubernetes.io/metadata.name": name}});
    assert_eq!(
        egress["spec"]["egress"],
        json!([
            {"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                  "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
             "ports": [{"protocol": "TCP", "port": 443}]},
            {"to": [{"namespaceSelector": ns("default"),
                     "podSelector": {"matchLabels": {"app": "redis"}}}],
             "ports": [{"protocol": "TCP", "port": 6379}]},
            {"to": [{"namespaceSelector": ns("kube-system")}],
             "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
        ])
    );
    let ingress = docs
        .iter()
        .find(|d| d["spec"]["policyTypes"] == json!(["Ingress"]))
        .expect("ingress policy");
    let from = &ingress["spec"]["ingress"][0]["from"];
    assert_eq!(from.as_array().unwrap().len(), 1);
    assert!(from[0]["namespaceSelector"].is_object() && from[0].get("podSelector").is_none());
    let text = read("packaging/kubernetes/networkpolicy.yaml");
    assert!(text.contains("Adjust the CIDRs and selectors"));
}

#[test]
fn docker_compose_mounts_the_config_read_only() {
    if !have("check-jsonschema", "--version") {
        return;
    }
    run(Command::new("check-jsonschema")
        .args([
            "--builtin-schema",
            "vendor.compose-spec",
            "packaging/docker-compose.yml",
        ])
        .current_dir(repo()));
    let compose = &yaml_docs("packaging/docker-compose.yml")[0];
    let svc = &compose["services"]["voxray"];
    assert!(
        svc["volumes"]
            .as_array()
            .unwrap()
            .contains(&json!("./config.json:/app/config.json:ro")),
        "{svc}"
    );
    assert_eq!(svc["read_only"], true);
    assert_eq!(svc["user"], "1001:1001");
    assert_eq!(svc["cap_drop"], json!(["ALL"]));
}

/// `cargo deb` packages the binary, the man pages, the completions and the unit. It packages
/// the debug binary `cargo test` already built (`--no-build --profile dev`) to keep CI fast;
/// the release build uses the same metadata.
#[test]
fn debian_package_holds_binary_man_pages_completions_and_unit() {
    if !have("cargo-deb", "--version") {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_voxray"));
    let target_dir = bin.parent().unwrap().parent().unwrap();
    run(Command::new("cargo")
        .args([
            "deb",
            "--no-build",
            "--profile",
            "dev",
            "--no-strip",
            "--fast",
            "--quiet",
            "-o",
        ])
        .arg(out_dir.path())
        .current_dir(repo())
        .env("CARGO_TARGET_DIR", target_dir));
    let deb = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb");
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let listing = String::from_utf8_lossy(&listing.stdout);
    let mut expected = vec![
        "./usr/bin/voxray".to_string(),
        "./usr/lib/systemd/system/voxray.service".to_string(),
        "./usr/share/bash-completion/completions/voxray".to_string(),
        "./usr/share/zsh/vendor-completions/_voxray".to_string(),
        "./usr/share/fish/vendor_completions.d/voxray.fish".to_string(),
        "./usr/share/doc/voxray/examples/config.production.json".to_string(),
    ];
    for page in std::fs::read_dir(repo().join("man")).unwrap() {
        let name = page.unwrap().file_name().into_string().unwrap();
        expected.push(format!("./usr/share/man/man1/{name}.gz"));
    }
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    for path in &expected {
        assert!(
            paths.contains(&path.as_str()),
            "{path} not in the package:\n{listing}"
        );
    }
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("./usr/bin/voxray"))
    );
    let field = |name: &str| {
        let out = run(Command::new("dpkg-deb").args(["-f"]).arg(&deb).arg(name));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(field("Package"), "voxray");
    assert_eq!(field("Version"), format!("{}-1", env!("CARGO_PKG_VERSION")));
    // The packaged unit is the repository's.
    let unpacked = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(unpacked.path()));
    assert_eq!(
        std::fs::read_to_string(
            unpacked
                .path()
                .join("usr/lib/systemd/system/voxray.service")
        )
        .unwrap(),
        read("packaging/systemd/voxray.service")
    );
}

/// The production example holds no secret and follows the `check --production` checklist
/// (`security-tools.md` §3): it loads cleanly once the server key comes from the environment.
#[test]
fn production_config_follows_the_checklist() {
    let text = read("packaging/config.production.json");
    let file: Value = serde_json::from_str(&text).unwrap();
    for k in KEYS.iter().filter(|k| k.secret) {
        let top = k.path.split('.').next().unwrap();
        assert!(
            file.get(top).is_none(),
            "{}: secrets come from the environment",
            k.path
        );
    }
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let opts = LoadOptions {
        config_path: Some(repo().join("packaging/config.production.json")),
        env: [("VOXRAY_SERVER_API_KEY".to_string(), key)].into(),
        invalid_env: Vec::new(),
        flags: Vec::new(),
    };
    let loaded = load(&opts).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = &loaded.config;
    assert!(
        c.tls_terminated_upstream || c.tls_enable,
        "TLS (VXP-TLS-001)"
    );
    assert!(!c.cors_allowed_origins.is_empty());
    for origin in &c.cors_allowed_origins {
        assert!(
            origin.starts_with("https://") && !origin.contains("localhost"),
            "{origin}"
        );
    }
    assert!(
        (1024..=10_485_760).contains(&c.max_request_body_bytes),
        "VXP-HTTP-001"
    );
    assert!(c.max_sessions >= 1, "VXP-HTTP-002");
    let metrics: std::net::SocketAddr = c.metrics_listen.parse().expect("metrics_listen set");
    assert!(metrics.ip().is_loopback(), "VXP-METRICS-001");
    assert!(!c.docs_enabled, "VXP-DOCS-001");
    assert!(
        !["debug", "trace"].contains(&c.log_level.as_str()),
        "VXP-LOG-001"
    );
    assert_eq!(loaded.secrets.server_keys.len(), 1);
}
