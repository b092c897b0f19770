//! Unit tests per rule: true positives embedded in many syntaxes (JSON, nested JSON string,
//! YAML block and flow, .env, shell export, URL query, base64) and false positives that must
//! stay clean. Every fake secret is synthetic, built from a fixed-seed generator.

use base64::Engine;

use super::super::scan::scan_text;
use super::*;

/// Deterministic synthetic characters (xorshift), never a real key.
fn fake(alphabet: &str, n: usize, seed: u64) -> String {
    let a: Vec<char> = alphabet.chars().collect();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            a[(x % a.len() as u64) as usize]
        })
        .collect()
}

const B62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &str = "0123456789abcdef";

fn hits(text: &str) -> Vec<Hit> {
    let json = text.trim_start().starts_with('{');
    scan_text(text, json, 3).0
}

fn rules_in(text: &str) -> Vec<&'static str> {
    hits(text).iter().map(|h| h.rule_id).collect()
}

/// The token embedded in every syntax under `key`; each must yield exactly one `rule` hit
/// whose secret is the token.
fn assert_everywhere(rule: &str, key: &str, token: &str) {
    let nested = serde_json::to_string(&format!("{{\"{key}\": \"{token}\"}}")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{key}={token}"));
    let docs = [
        format!("{{\"{key}\": \"{token}\"}}"),
        format!("{{\"settings_json\": {nested}}}"),
        format!("config:\n  {key}: {token}\n"),
        format!("config:\n  {key}: \"{token}\"\n"),
        format!("config: {{{key}: {token}, other: 1}}\n"),
        format!("{}={token}\n", key.to_uppercase()),
        format!("export {}=\"{token}\"\n", key.to_uppercase()),
        format!("curl 'https://api.example.com/v1?{key}={token}&x=1'\n"),
        format!("blob: {b64}\n"),
        format!("# {key} {token} voxray\n"),
    ];
    for d in &docs {
        let hs = hits(d);
        let found: Vec<_> = hs
            .iter()
            .filter(|h| h.rule_id == rule && h.secret == token)
            .collect();
        assert_eq!(found.len(), 1, "rule {rule} in {d:?}: {hs:?}");
    }
}

#[test]
fn tier1_tokens_in_every_syntax() {
    let vxr = keygen::key_from_random_part(&fake(B62, 32, 1));
    assert_everywhere("voxray-server-key", "deploy_value", &vxr);
    let proj = format!("sk-proj-{}T3BlbkFJ{}", fake(B62, 40, 2), fake(B62, 40, 3));
    assert_everywhere("openai-api-key", "llm_value", &proj);
    let legacy = format!("sk-{}T3BlbkFJ{}", fake(B62, 20, 4), fake(B62, 20, 5));
    assert_everywhere("openai-api-key", "llm_value", &legacy);
    let ant = format!("sk-ant-api03-{}AA", fake(B62, 93, 6));
    assert_everywhere("anthropic-api-key", "llm_value", &ant);
    assert_everywhere(
        "groq-api-key",
        "llm_value",
        &format!("gsk_{}", fake(B62, 52, 7)),
    );
    assert_everywhere(
        "elevenlabs-api-key",
        "tts_value",
        &format!("sk_{}", fake(HEX, 48, 8)),
    );
    assert_everywhere(
        "cartesia-api-key",
        "tts_value",
        &format!("sk_car_{}", fake(B62, 40, 9)),
    );
    assert_everywhere(
        "google-api-key",
        "llm_value",
        &format!("AIza{}", fake(B62, 35, 10)),
    );
    assert_everywhere(
        "aws-access-key-id",
        "cloud_value",
        &format!("AKIA{}", fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 11)),
    );
    assert_everywhere(
        "github-fine-grained-pat",
        "ci_value",
        &format!("github_pat_{}_{}", fake(B62, 22, 12), fake(B62, 59, 13)),
    );
    assert_everywhere(
        "slack-token",
        "chat_value",
        &format!(
            "xoxb-{}-{}-{}",
            fake("0123456789", 12, 14),
            fake("0123456789", 12, 15),
            fake(B62, 24, 16)
        ),
    );
    assert_everywhere(
        "stripe-secret-key",
        "billing_value",
        &format!("sk_live_{}", fake(B62, 32, 17)),
    );
    assert_everywhere(
        "stripe-secret-key",
        "billing_value",
        &format!("rk_test_{}", fake(B62, 32, 18)),
    );
    assert_everywhere(
        "stripe-webhook-secret",
        "billing_value",
        &format!("whsec_{}", fake(B62, 32, 19)),
    );
}

#[test]
fn github_checksum_sets_confidence() {
    let body = fake(B62, 30, 20);
    let good = format!("ghp_{body}{}", keygen::checksum6(body.as_bytes()));
    let bad = format!("ghp_{body}ZZZZZZ");
    assert_everywhere("github-token", "ci_value", &good);
    let h = hits(&format!("t = \"{good}\"\nu = \"{bad}\"\n"));
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[0].confidence, Confidence::High);
    assert_eq!(h[1].confidence, Confidence::Medium);
}

#[test]
fn voxray_key_checksum_and_placeholders() {
    let good = keygen::generate();
    let mut bad = good.clone();
    bad.replace_range(36.., "000000");
    let h = hits(&format!("a: {good}\nb: {bad}\n"));
    assert_eq!(
        h.iter().map(|h| h.confidence).collect::<Vec<_>>(),
        [Confidence::High, Confidence::Medium]
    );
    // The spec's test vectors verify but are placeholders.
    for v in [
        "vxr_0123456789ABCDEFGHIJKLMNOPQRSTUV1ggZdL",
        "vxr_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3i8aJj",
    ] {
        assert!(hits(&format!("{{\"server_api_key\": \"{v}\"}}")).is_empty());
    }
}

#[test]
fn slack_webhook_and_twilio() {
    let url = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10, 21),
        fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10, 22),
        fake(B62, 24, 23)
    );
    assert_everywhere("slack-webhook-url", "alerts_value", &url);
    let sk = format!("SK{}", fake(HEX, 32, 24));
    assert_eq!(
        rules_in(&format!("twilio_api_key: {sk}\n")),
        ["twilio-api-key"]
    );
    assert!(rules_in(&format!("notes: {sk}\n")).is_empty());
}

#[test]
fn token_boundaries() {
    let g = format!("gsk_{}", fake(B62, 52, 25));
    assert!(rules_in(&format!("x: a{g}\n")).is_empty(), "alnum before");
    assert!(
        rules_in(&format!("x: {g}/more\n")).is_empty(),
        "slash after"
    );
    assert_eq!(rules_in(&format!("x: ${{GROQ:-{g}}}\n")), ["groq-api-key"]);
    assert_eq!(
        rules_in(&format!("{{\"x\": \"{g}\\n\"}}")),
        ["groq-api-key"]
    );
}

#[test]
fn keyword_gated_hex_rules() {
    let h40 = fake(HEX, 40, 26);
    let h64 = fake(HEX, 64, 27);
    let h32 = fake(HEX, 32, 28);
    assert_eq!(
        rules_in(&format!("{{\"api_keys\": {{\"deepgram\": \"{h40}\"}}}}")),
        ["deepgram-api-key"]
    );
    assert_eq!(
        rules_in(&format!("DEEPGRAM_API_KEY={h40}\n")),
        ["deepgram-api-key"]
    );
    assert_eq!(
        rules_in(&format!("deepgram:\n  api_key: {h40}\n")),
        ["deepgram-api-key"]
    );
    assert_eq!(
        rules_in(&format!("daily_api_key: {h64}\n")),
        ["daily-api-key"]
    );
    assert_eq!(
        rules_in(&format!("xi-api-key: {h32}\n")),
        ["elevenlabs-api-key"]
    );
    // No keyword: a bare hex string is not a secret; a digest-named key is a look-alike.
    assert!(rules_in(&format!("build: {h40}\n")).is_empty());
    assert!(
        rules_in(&format!(
            "{{\"commit\": \"{h40}\", \"image_digest\": \"sha256:{h64}\"}}"
        ))
        .is_empty()
    );
}

#[test]
fn aws_secret_and_session_token() {
    let id = format!("AKIA{}", fake("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 29));
    let secret = fake(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
        30,
    );
    let r = rules_in(&format!(
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    assert_eq!(r, ["aws-access-key-id", "aws-secret-access-key"]);
    let r = rules_in(&format!("id: {id}\nnote: x\nvalue: {secret}\n"));
    assert_eq!(
        r,
        ["aws-access-key-id", "aws-secret-access-key"],
        "within 5 lines of an id"
    );
    assert!(rules_in(&format!("value: {secret}\n")).is_empty());
    let tok = fake(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        180,
        31,
    );
    assert_eq!(
        rules_in(&format!("AWS_SESSION_TOKEN={tok}\n")),
        ["aws-session-token"]
    );
    assert!(
        rules_in("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws secret\n")
            .is_empty()
    );
}

#[test]
fn jwt_bearer_and_private_keys() {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let jwt = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64(r#"{"sub":"synthetic-user"}"#),
        fake(B62, 43, 32)
    );
    let none = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"none"}"#),
        b64(r#"{"sub":"synthetic-user"}"#),
        fake(B62, 43, 33)
    );
    assert_eq!(rules_in(&format!("token: {jwt}\n")), ["jwt"]);
    assert!(rules_in(&format!("note: {none}\n")).is_empty());
    let bearer = fake(B62, 40, 34);
    let h = hits(&format!(
        "curl -H 'Authorization: Bearer {bearer}' https://api.example.com\n"
    ));
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].rule_id, h[0].secret.as_str()),
        ("bearer-token", bearer.as_str())
    );
    let body: String = (0..5).map(|i| fake(B62, 64, 40 + i) + "\n").collect();
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\n");
    let h = hits(&format!(
        "key: |\n{}",
        pem.lines().map(|l| format!("  {l}\n")).collect::<String>()
    ));
    assert_eq!(
        h.iter().map(|h| h.rule_id).collect::<Vec<_>>(),
        ["private-key"]
    );
    let json = serde_json::json!({ "tls_key": pem }).to_string();
    let h = hits(&json);
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].secret, pem.trim_end(), "decoded, not escaped");
    let cert = pem.replace("RSA PRIVATE KEY", "CERTIFICATE");
    assert!(rules_in(&cert).is_empty());
}

#[test]
fn dsn_passwords() {
    let pw = fake(B62, 16, 35);
    let h = hits(&format!("redis_url: redis://:{pw}@cache.internal:6379/0\n"));
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].rule_id, h[0].secret.as_str()),
        ("dsn-password", pw.as_str())
    );
    let h = hits(&format!(
        "{{\"transcripts\": {{\"dsn\": \"postgres://app:p%40ss{pw}@db.example.com:5432/voice\"}}}}" // voxray:allow synthetic test value
    ));
    assert_eq!(h[0].secret, format!("p@ss{pw}"), "percent-decoded");
    assert_eq!(
        hits("dsn: postgres://app:a@b@db.example.com/x\n")[0].secret, // voxray:allow synthetic test value
        "a@b",
        "userinfo runs to the last @"
    );
    for clean in [
        format!("redis://:{pw}@localhost:6379"),
        format!("postgres://app:{pw}@127.0.0.1/db"),
        "postgres://app:${DB_PASSWORD}@db.example.com/voice".to_string(),
        "postgres://postgres:postgres@db.example.com/voice".to_string(),
        "mysql://app:app@db.example.com/voice".to_string(),
        "https://user@example.com/path?next=a@b".to_string(),
        "redis://cache.example.com:6379".to_string(),
    ] {
        assert!(rules_in(&format!("url: {clean}\n")).is_empty(), "{clean}");
    }
}

#[test]
fn tier2_schema_locations() {
    for doc in [
        r#"{"server_api_key": "myvoxray-live-7"}"#,
        "server_api_key: myvoxray-live-7\n",
        "voxray:\n  server_api_key: myvoxray-live-7\n",
        "server:\n  api_key: myvoxray-live-7\n",
        "VOXRAY_SERVER_API_KEY=myvoxray-live-7\n",
        "export OPENAI_API_KEY=hunter2\n",
        "ENV TWILIO_AUTH_TOKEN hunter2\n",
        "environment:\n  - VOXRAY_API_KEYS__OPENAI=hunter2\n",
        "env:\n  - name: DEEPGRAM_API_KEY\n    value: hunter2\n",
        r#"{"api_keys": {"mistral": "abc"}}"#,
        r#"{"webrtc_ice_servers": [{"urls": "turn:t.example.com", "username": "u", "credential": "turnpw1"}]}"#,
        r#"{"recording": {"hmac_secret": "rk9-Tz2q"}}"#,
        r#"{"daily_dialin_webhook_secret": "whs-1"}"#,
    ] {
        assert_eq!(rules_in(doc), ["voxray-schema-secret"], "{doc}");
    }
    let h = hits("VOXRAY_SERVER_API_KEYS=alpha-key-1,beta-key-2\n");
    assert_eq!(
        h.iter().map(|h| h.secret.as_str()).collect::<Vec<_>>(),
        ["alpha-key-1", "beta-key-2"]
    );
    for clean in [
        r#"{"server_api_key": ""}"#,
        r#"{"server_api_key": "${VOXRAY_SERVER_API_KEY}"}"#,
        r#"{"server_api_key": "YOUR_SERVER_API_KEY_HERE"}"#,
        r#"{"api_keys": {"openai": "file:/run/secrets/openai"}}"#,
        r#"{"server_api_key_env": "MY_KEY_VAR"}"#,
        r#"{"api_keys": {"openai": "vault:secret/data/voxray#openai"}}"#,
        "OPENAI_API_KEY=\n",
        "OPENAI_API_KEY=${OPENAI_API_KEY}\n",
        "    VOXRAY_SERVER_API_KEY: ${VOXRAY_SERVER_API_KEY:?set it (voxray keygen)}\n",
        "        secrets.daily_dialin_webhook_secret = one(\n",
        "    auth_failures: counter_vec(\n",
    ] {
        assert!(rules_in(clean).is_empty(), "{clean}");
    }
}

#[test]
fn tier3_generic() {
    let v = fake(B62, 24, 36);
    for doc in [
        format!("db_password: {v}\n"),
        format!("{{\"clientSecret\": \"{v}\"}}"),
        format!("JWT_SIGNING_KEY={v}\n"),
        format!("auth_token = \"{v}\"\n"),
    ] {
        assert_eq!(rules_in(&doc), ["generic-secret"], "{doc}");
    }
    for clean in [
        r#"{"key": "ctrl+alt+k"}"#.to_string(),
        format!("{{\"token_type\": \"{v}\", \"max_tokens\": 512, \"public_key\": \"{v}\"}}"),
        format!("secret_name: {v}\n"),
        "password_file: /run/secrets/db\n".into(),
        "auth_url: https://auth.example.com/token\n".into(),
        "secret: 123e4567-e89b-12d3-a456-426614174000\n".into(),
        "api_token: 2024-01-01\n".into(),
        "password: postgres\n".into(),
        "tokenizer: cl100k_base_tokenizer_v2\n".into(),
        "author: Jane Q. Developer\n".into(),
        "access_token: aaaaaaaaaaaaaaaaaaaa\n".into(),
    ] {
        assert!(rules_in(&clean).is_empty(), "{clean}");
    }
}

#[test]
fn public_lookalikes_are_never_reported() {
    let h64 = fake(HEX, 64, 37);
    for clean in [
        format!("stripe_publishable_key: pk_live_{}\n", fake(B62, 32, 38)),
        format!(
            "ssh_public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{} user@host\n",
            fake(B62, 43, 39)
        ),
        format!("integrity: sha384-{}\n", fake(B62, 64, 40)),
        format!("{{\"api_secret_hash\": \"$2b$12${}\"}}", fake(B62, 53, 41)),
        format!("twilio_account_sid: AC{}\n", fake(HEX, 32, 42)),
        format!("webhook_secret_digest: sha256:{h64}\n"),
        format!(
            "{{\"encryptedData\": {{\"password\": \"Ag{}\"}}}}",
            fake(B62, 80, 43)
        ),
        "db_password: ENC[AES256_GCM,data:abcd,iv:efgh,tag:ijkl,type:str]\n".into(),
        "session_id: 123e4567-e89b-12d3-a456-426614174000\n".into(),
    ] {
        assert!(rules_in(&clean).is_empty(), "{clean}: {:?}", hits(&clean));
    }
}

#[test]
fn base64_layers_and_kubernetes_secrets() {
    let g = format!("gsk_{}", fake(B62, 52, 44));
    let once = base64::engine::general_purpose::STANDARD.encode(format!("{{\"groq\": \"{g}\"}}"));
    let twice = base64::engine::general_purpose::STANDARD.encode(format!("payload={once}"));
    let h = hits(&format!("blob: {twice}\n"));
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].secret, g);
    assert_eq!(h[0].decoded, ["base64", "base64"]);
    assert!(
        scan_text(&format!("blob: {twice}\n"), false, 0)
            .0
            .is_empty(),
        "depth 0 disables decoding"
    );
    let pw = base64::engine::general_purpose::STANDARD.encode("Sup3r-s3cret-db-pw");
    for doc in [
        format!("apiVersion: v1\nkind: Secret\ndata:\n  DB_PASSWORD: {pw}\n"),
        format!("data:\n  DB_PASSWORD: {pw}\nkind: Secret\n"),
    ] {
        let h = hits(&doc);
        assert_eq!(h.len(), 1, "{doc}");
        assert_eq!(h[0].secret, "Sup3r-s3cret-db-pw");
        assert_eq!(h[0].decoded, ["base64"]);
    }
}

#[test]
fn every_occurrence_and_positions() {
    let g = format!("gsk_{}", fake(B62, 52, 45));
    let text = format!("a: {g} {g}\n\nb: {g}\n");
    let h = hits(&text);
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].start, 3);
    assert_eq!(&text[h[2].start..h[2].end], g);
}

#[test]
fn default_values_are_scanned() {
    assert_eq!(
        rules_in("db_password: ${DB_PASSWORD:-Zq8-long-default}\n"),
        ["generic-secret"]
    );
    assert!(rules_in("db_password: ${DB_PASSWORD:-changeme}\n").is_empty());
}

#[test]
fn scan_pair_for_check() {
    let h = scan_pair("api_keys.openai", "my-literal-openai-key");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].rule_id, "voxray-schema-secret");
    assert_eq!(h[0].key_path.as_deref(), Some("api_keys.openai"));
    assert!(scan_pair("api_keys.openai", "${OPENAI_API_KEY}").is_empty());
    assert_eq!(
        scan_pair("redis_url", "redis://:pw-Zq81@cache.example.com:6379")[0].rule_id, // voxray:allow synthetic test value
        "dsn-password"
    );
}

#[test]
fn keygen_output_is_recognised_anywhere() {
    for _ in 0..20 {
        let k = keygen::generate();
        assert!(keygen::verify(&k).is_ok());
        assert!(!is_placeholder(&k));
        assert_everywhere("voxray-server-key", "thing", &k);
    }
}

#[test]
fn multi_megabyte_single_line_is_linear() {
    let g = format!("gsk_{}", fake(B62, 52, 46));
    let mut s = String::from("{\"items\":[");
    for i in 0..40_000 {
        s.push_str(&format!(
            "{{\"id\":{i},\"hash\":\"{}\",\"stt_provider\":\"deepgram\",\"model\":\"nova-{i}\"}},",
            fake(HEX, 40, i)
        ));
    }
    s.push_str(&format!("{{\"k\":\"{g}\"}}]}}"));
    let t = std::time::Instant::now();
    let h = hits(&s);
    assert_eq!(h.len(), 1, "one finding expected, got {}", h.len());
    assert_eq!(h[0].rule_id, "groq-api-key");
    assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
}
