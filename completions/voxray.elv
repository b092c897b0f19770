
use builtin;
use str;

set edit:completion:arg-completer[voxray] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'voxray'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'voxray'= {
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the voice server (HTTP, WebSocket and WebRTC sessions)'
            cand keygen 'Generate strong server API keys (vxr_ + 32 base62 + checksum)'
            cand audit 'Find committed secrets in config files and git history'
            cand check 'Validate a configuration before it goes to production'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Write the man pages (voxray.1, voxray-serve.1, ...)'
            cand health 'Probe the local server''s /health (the container HEALTHCHECK): exit 0 on 200, else 1'
            cand models 'Manage the local model files (STT, TTS, LLM) of the offline voice agent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'voxray;serve'= {
            cand --host 'Bind address (default 127.0.0.1; the container image sets 0.0.0.0)'
            cand --port 'Port (0 = ephemeral; the chosen port is logged)'
            cand --transport 'Which media routes exist: websocket, smallwebrtc or both'
            cand --cors-origin 'Allowed browser origin (repeatable; replaces the configured list)'
            cand --max-body-bytes 'JSON body limit in bytes'
            cand --max-sessions 'Concurrent session slots (0 = unlimited)'
            cand --metrics-listen 'Serve /metrics only on this separate host:port'
            cand --tls-cert 'TLS certificate chain (PEM)'
            cand --tls-key 'TLS private key (PEM)'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand --tls 'Enable on-server TLS (tls_enable)'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;keygen'= {
            cand --format 'Output format'
            cand --count 'Number of keys to generate (1-100)'
            cand --store 'Also store the key in the OS keyring (service "voxray"), where `serve` finds it'
            cand --account 'Keyring account name'
            cand --verify 'Check a key''s prefix, length, charset and checksum instead of generating one (`-` reads the key from stdin, which keeps it out of the process list)'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand --force 'Replace an existing keyring entry'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;audit'= {
            cand --history-range 'Limit --history to a revision range'
            cand --format 'Output format'
            cand --baseline 'Suppress findings listed in this baseline (or --format json report)'
            cand --write-baseline 'Write a baseline of the current findings to FILE and exit 0'
            cand --allowlist 'Allowlist file (default: .voxray-audit.toml in the current directory, when present)'
            cand --exclude 'Leave out files matching this glob (repeatable)'
            cand --max-decode-depth 'Layers of base64 to decode and rescan (0 = off)'
            cand --max-file-size 'Skip files larger than this'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand --history 'Also scan the lines added by every commit of the repository''s history'
            cand --show-secrets 'Print secrets and snippets unredacted'
            cand --no-ignore 'Also scan files that git ignores'
            cand --no-git-checks 'Do not check whether config.json is tracked or un-ignored'
            cand --no-progress 'Never show a progress bar'
            cand --show-suppressed 'Also list suppressed findings'
            cand --exit-zero 'Exit 0 even when there are findings (report-only use)'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;check'= {
            cand --format 'Output format'
            cand --check 'Run exactly these checks: comma-separated IDs or prefixes (VXP-TLS-001, VXP-TLS)'
            cand --skip 'Leave out these checks: comma-separated IDs or prefixes'
            cand --dockerfile 'Check this Dockerfile''s final stage for a non-root USER (VXP-RUN-001)'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand --production 'Run the whole production checklist (TLS, keys, metrics, git, user, network, …)'
            cand --strict 'Treat WARN as failure (exit 1)'
            cand --history 'Also scan git history for secrets (VXP-GIT-003)'
            cand --behind-proxy 'TLS is terminated by a reverse proxy in front of voxray'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;completions'= {
            cand --out 'Write the script into this directory (under its conventional file name, e.g. voxray.bash or _voxray) instead of printing it to stdout'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;man'= {
            cand --out 'Write every page (voxray.1, voxray-serve.1, ...) into this directory, created if missing, and print their paths; without it, print voxray.1 to stdout'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;health'= {
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;models'= {
            cand --manifest 'Test hook: read the model manifest from this JSON file instead of the built-in pins'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List the models, whether they are installed, their sizes and paths'
            cand pull 'Download models (default: all) and install them after checking their sha256'
            cand verify 'Re-hash the installed files against their pinned sha256'
            cand remove 'Delete installed models'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'voxray;models;list'= {
            cand --manifest 'Test hook: read the model manifest from this JSON file instead of the built-in pins'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;models;pull'= {
            cand --mirror 'A mirror with the layout <model>/<file>: an http(s) base URL or a directory (scripts/build-model-mirror.sh builds one)'
            cand --manifest 'Test hook: read the model manifest from this JSON file instead of the built-in pins'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;models;verify'= {
            cand --manifest 'Test hook: read the model manifest from this JSON file instead of the built-in pins'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;models;remove'= {
            cand --manifest 'Test hook: read the model manifest from this JSON file instead of the built-in pins'
            cand --config 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none'
            cand --log-level 'Log level: trace, debug, info, warn or error'
            cand --log-format 'Log line format'
            cand --all 'Delete every model and any partial download'
            cand -q 'Only warnings and errors (same as --log-level warn)'
            cand --quiet 'Only warnings and errors (same as --log-level warn)'
            cand -v 'More output: -v debug, -vv trace'
            cand --verbose 'More output: -v debug, -vv trace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'voxray;models;help'= {
            cand list 'List the models, whether they are installed, their sizes and paths'
            cand pull 'Download models (default: all) and install them after checking their sha256'
            cand verify 'Re-hash the installed files against their pinned sha256'
            cand remove 'Delete installed models'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'voxray;models;help;list'= {
        }
        &'voxray;models;help;pull'= {
        }
        &'voxray;models;help;verify'= {
        }
        &'voxray;models;help;remove'= {
        }
        &'voxray;models;help;help'= {
        }
        &'voxray;help'= {
            cand serve 'Run the voice server (HTTP, WebSocket and WebRTC sessions)'
            cand keygen 'Generate strong server API keys (vxr_ + 32 base62 + checksum)'
            cand audit 'Find committed secrets in config files and git history'
            cand check 'Validate a configuration before it goes to production'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Write the man pages (voxray.1, voxray-serve.1, ...)'
            cand health 'Probe the local server''s /health (the container HEALTHCHECK): exit 0 on 200, else 1'
            cand models 'Manage the local model files (STT, TTS, LLM) of the offline voice agent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'voxray;help;serve'= {
        }
        &'voxray;help;keygen'= {
        }
        &'voxray;help;audit'= {
        }
        &'voxray;help;check'= {
        }
        &'voxray;help;completions'= {
        }
        &'voxray;help;man'= {
        }
        &'voxray;help;health'= {
        }
        &'voxray;help;models'= {
            cand list 'List the models, whether they are installed, their sizes and paths'
            cand pull 'Download models (default: all) and install them after checking their sha256'
            cand verify 'Re-hash the installed files against their pinned sha256'
            cand remove 'Delete installed models'
        }
        &'voxray;help;models;list'= {
        }
        &'voxray;help;models;pull'= {
        }
        &'voxray;help;models;verify'= {
        }
        &'voxray;help;models;remove'= {
        }
        &'voxray;help;help'= {
        }
    ]
    $completions[$command]
}
