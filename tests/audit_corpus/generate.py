#!/usr/bin/env python3
"""Generate the synthetic audit corpus (fixed seed; every secret is fake and made here).

Writes files under tests/audit_corpus/files/ and labels.txt with one line per line that holds
a real-looking secret: `<file>:<line> <rule-id>`. Lines with placeholders, references and
public look-alikes are unlabelled (they must stay clean). Re-run after editing; commit both.
"""
import base64, json, os, random, zlib

R = random.Random(20261129)
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEX = "0123456789abcdef"
AWS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
def r(alpha, n): return "".join(R.choice(alpha) for _ in range(n))
def b62cs(s):
    n = zlib.crc32(s.encode()) & 0xFFFFFFFF; out = ""
    for _ in range(6): out = B62[n % 62] + out; n //= 62
    return out
def vxr(): body = r(B62, 32); return "vxr_" + body + b62cs(body)
def ghp(): body = r(B62, 30); return "ghp_" + body + b62cs(body)
GEN = {
    "voxray-server-key": vxr,
    "openai-api-key": lambda: "sk-proj-" + r(B62 + "_-", 74) + "T3BlbkFJ" + r(B62, 8),
    "anthropic-api-key": lambda: "sk-ant-api03-" + r(B62, 93) + "AA",
    "groq-api-key": lambda: "gsk_" + r(B62, 52),
    "elevenlabs-api-key": lambda: "sk_" + r(HEX, 48),
    "cartesia-api-key": lambda: "sk_car_" + r(B62, 40),
    "google-api-key": lambda: "AIza" + r(B62, 35),
    "aws-access-key-id": lambda: "AKIA" + r(AWS, 16),
    "github-token": ghp,
    "github-fine-grained-pat": lambda: "github_pat_" + r(B62, 22) + "_" + r(B62, 59),
    "slack-token": lambda: "xoxb-" + r("0123456789", 12) + "-" + r("0123456789", 13) + "-" + r(B62, 24),
    "stripe-secret-key": lambda: "sk_live_" + r(B62, 40),
    "stripe-webhook-secret": lambda: "whsec_" + r(B62, 32),
}
KEYS = list(GEN)
files, labels = {}, []

def add(name, lines):
    """lines: list of (text, rule-or-None)."""
    files[name] = "\n".join(t for t, _ in lines) + "\n"
    for i, (_, rule) in enumerate(lines, 1):
        if rule: labels.append(f"{name}:{i} {rule}")

PLACEHOLDERS = ["YOUR_OPENAI_KEY_HERE", "${OPENAI_API_KEY}", "", "<your-key>", "changeme", "sk-proj-...",
                "REPLACE_ME", "********", "env:OPENAI_API_KEY", "vault:secret/data/voxray#openai",
                "file:/run/secrets/openai", "xxxxxxxxxxxxxxxx", "OPENAI_API_KEY", "{{ .Values.openai }}",
                "AKIAIOSFODNN7EXAMPLE", "sk-...9c2e", "vxr_…qfdd", "REDACTED", "null", "$(cat /run/key)"]

for n in range(30):
    # JSON configs, pretty, one secret or none per file.
    lines = [("{", None), ('  "host": "0.0.0.0",', None), ('  "port": 8080,', None)]
    rule = KEYS[n % len(KEYS)] if n % 3 else None
    sk = '  "server_api_key": "%s",' % (R.choice(PLACEHOLDERS) if n % 2 else "${VOXRAY_SERVER_API_KEY}")
    lines.append((sk, None))
    lines.append(('  "api_keys": {', None))
    if rule:
        lines.append(('    "%s": "%s",' % (rule.split("-")[0], GEN[rule]()), rule))
    lines.append(('    "openai": "%s",' % json.dumps(R.choice(PLACEHOLDERS))[1:-1], None))
    lines.append(('    "deepgram": ""', None))
    lines.append(("  },", None))
    lines.append(('  "image_digest": "sha256:%s",' % r(HEX, 64), None))
    lines.append(('  "commit": "%s",' % r(HEX, 40), None))
    lines.append(('  "session_id": "%s-%s-4%s-a%s-%s",' % (r(HEX, 8), r(HEX, 4), r(HEX, 3), r(HEX, 3), r(HEX, 12)), None))
    lines.append(('  "stripe_publishable_key": "pk_live_%s",' % r(B62, 40), None))
    lines.append(('  "twilio_account_sid": "AC%s",' % r(HEX, 32), None))
    lines.append(('  "integrity": "sha384-%s",' % r(B62, 64), None))
    lines.append(('  "max_tokens": 512,', None))
    lines.append(('  "system_prompt": "You are a helpful voice assistant."', None))
    lines.append(("}", None))
    add(f"config-{n:02}.json", lines)

for n in range(20):
    # YAML: Helm values and Kubernetes manifests.
    lines = [("voxray:", None), ("  replicas: 2", None), ("  image: ghcr.io/voxray/voxray@sha256:%s" % r(HEX, 64), None)]
    if n % 2 == 0:
        lines.append(("  server_api_key: %s" % ("live-" + r(B62, 10)), "voxray-schema-secret"))
    else:
        lines.append(("  server_api_key: \"%s\"" % R.choice(PLACEHOLDERS), None))
    lines.append(("  env:", None))
    lines.append(("    - name: OPENAI_API_KEY", None))
    if n % 3 == 0:
        key = GEN["openai-api-key"](); lines.append(("      value: %s" % key, "openai-api-key"))
    else:
        lines.append(("      valueFrom:", None)); lines.append(("        secretKeyRef: {name: voxray, key: openai}", None))
    lines.append(("  database:", None))
    if n % 4 == 1:
        lines.append(("    dsn: postgres://voxray:%s@db.prod.internal:5432/voxray" % r(B62, 18), "dsn-password"))
    else:
        lines.append(("    dsn: postgres://voxray:${DB_PASSWORD}@db.prod.internal:5432/voxray", None))
    lines.append(("  redis_url: redis://localhost:6379/0", None))
    if n % 5 == 2:
        lines.append(("  flow: {enabled: true, client_secret: %s}" % r(B62, 28), "generic-secret"))
    lines.append(("  ssh_public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s ops@example" % r(B62, 43), None))
    lines.append(("  keybinding: {key: ctrl+alt+k}", None))
    add(f"values-{n:02}.yaml", lines)

# A Kubernetes Secret with base64 data (decoded and evaluated with its key).
pw = "Zr" + r(B62, 18)
add("k8s-secret.yaml", [("apiVersion: v1", None), ("data:", None),
    ("  DB_PASSWORD: %s" % base64.b64encode(pw.encode()).decode(), "generic-secret"),
    ("  OPENAI_API_KEY: %s" % base64.b64encode(b"YOUR_OPENAI_KEY_HERE").decode(), None),
    ("kind: Secret", None), ("metadata:", None), ("  name: voxray", None)])

for n in range(20):
    # .env and shell.
    lines = [("# voxray env %d" % n, None), ("VOXRAY_HOST=0.0.0.0", None), ("VOXRAY_PORT=8080", None)]
    rule = KEYS[(n * 5) % len(KEYS)]
    if n % 2 == 0:
        lines.append(("export SOME_TOKEN_VALUE=\"%s\"" % GEN[rule](), rule))
    else:
        lines.append(("OPENAI_API_KEY=%s" % R.choice(["", "${OPENAI_API_KEY}", "YOUR_OPENAI_KEY_HERE", "changeme"]), None))
    if n % 3 == 0:
        lines.append(("DEEPGRAM_API_KEY=%s" % r(HEX, 40), "deepgram-api-key"))
    else:
        lines.append(("DEEPGRAM_API_KEY=", None))
    if n % 4 == 0:
        lines.append(("VOXRAY_SERVER_API_KEYS=%s,%s" % (vxr(), vxr()), "voxray-server-key"))
    if n % 5 == 1:
        lines.append(("REDIS_URL=redis://:%s@cache.internal:6379" % r(B62, 20), "dsn-password"))
    lines.append(("GIT_SHA=%s" % r(HEX, 40), None))
    lines.append(("BUILD_ID=%s-%s-4%s-a%s-%s" % (r(HEX, 8), r(HEX, 4), r(HEX, 3), r(HEX, 3), r(HEX, 12)), None))
    lines.append(("PASSWORD_FILE=/run/secrets/db", None))
    add(f"env-{n:02}.env", lines)

# Nested JSON in a string and base64-wrapped JSON.
inner = json.dumps({"openai": GEN["openai-api-key"](), "note": "rotate monthly"})
add("nested.json", [("{", None), ('  "name": "bot",', None), ('  "settings_json": %s,' % json.dumps(inner), "openai-api-key"),
    ('  "other_json": %s' % json.dumps(json.dumps({"openai": "YOUR_OPENAI_KEY_HERE"})), None), ("}", None)])
blob = base64.b64encode(json.dumps({"groq": GEN["groq-api-key"]()}).encode()).decode()
add("b64.yaml", [("bootstrap:", None), ("  payload: %s" % blob, "groq-api-key"),
    ("  logo: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", None)])

# Private key and certificate.
body = [r(B62 + "+/", 64) for _ in range(6)]
add("tls.yaml", [("tls:", None), ("  key: |", None), ("    -----BEGIN PRIVATE KEY-----", "private-key")] +
    [("    " + b, None) for b in body] + [("    -----END PRIVATE KEY-----", None),
    ("  cert: |", None), ("    -----BEGIN CERTIFICATE-----", None)] + [("    " + b, None) for b in body[:3]] +
    [("    -----END CERTIFICATE-----", None)])

# Docs with inline suppression and dev defaults.
add("docker-compose.yml", [("services:", None), ("  voxray:", None), ("    environment:", None),
    ("      - VOXRAY_SERVER_API_KEY=${VOXRAY_SERVER_API_KEY}", None),
    ("      - ANTHROPIC_API_KEY=%s" % GEN["anthropic-api-key"](), "anthropic-api-key"),
    ("  db:", None), ("    environment:", None), ("      POSTGRES_PASSWORD: postgres", None),
    ("      - DATABASE_URL=postgres://postgres:postgres@db:5432/app", None)])

root = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(root, "files")
os.makedirs(out, exist_ok=True)
for f in os.listdir(out): os.remove(os.path.join(out, f))
for name, text in files.items():
    with open(os.path.join(out, name), "w") as fh: fh.write(text)
with open(os.path.join(root, "labels.txt"), "w") as fh:
    fh.write("# <file>:<line> <rule-id>: lines of files/ that hold a (synthetic) secret\n")
    fh.write("\n".join(labels) + "\n")
print(len(files), "files,", len(labels), "labels")
