
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
        &'voxray;audit'= {
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
        &'voxray;check'= {
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
        &'voxray;help'= {
            cand serve 'Run the voice server (HTTP, WebSocket and WebRTC sessions)'
            cand keygen 'Generate strong server API keys (vxr_ + 32 base62 + checksum)'
            cand audit 'Find committed secrets in config files and git history'
            cand check 'Validate a configuration before it goes to production'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Write the man pages (voxray.1, voxray-serve.1, ...)'
            cand health 'Probe the local server''s /health (the container HEALTHCHECK): exit 0 on 200, else 1'
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
        &'voxray;help;help'= {
        }
    ]
    $completions[$command]
}
