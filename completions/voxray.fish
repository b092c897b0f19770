# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_voxray_global_optspecs
    string join \n config= log-level= log-format= q/quiet v/verbose h/help V/version
end

function __fish_voxray_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_voxray_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_voxray_using_subcommand
    set -l cmd (__fish_voxray_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c voxray -n "__fish_voxray_needs_command" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_needs_command" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_needs_command" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_needs_command" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_needs_command" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_needs_command" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "serve" -d 'Run the voice server (HTTP, WebSocket and WebRTC sessions)'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "keygen" -d 'Generate strong server API keys (vxr_ + 32 base62 + checksum)'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "audit" -d 'Find committed secrets in config files and git history'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "check" -d 'Validate a configuration before it goes to production'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "man" -d 'Write the man pages (voxray.1, voxray-serve.1, ...)'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "health" -d 'Probe the local server\'s /health (the container HEALTHCHECK): exit 0 on 200, else 1'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "models" -d 'Manage the local model files (STT, TTS, LLM) of the offline voice agent'
complete -c voxray -n "__fish_voxray_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l host -d 'Bind address (default 127.0.0.1; the container image sets 0.0.0.0)' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l port -d 'Port (0 = ephemeral; the chosen port is logged)' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l transport -d 'Which media routes exist: websocket, smallwebrtc or both' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l cors-origin -d 'Allowed browser origin (repeatable; replaces the configured list)' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l max-body-bytes -d 'JSON body limit in bytes' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l max-sessions -d 'Concurrent session slots (0 = unlimited)' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l metrics-listen -d 'Serve /metrics only on this separate host:port' -r
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l tls-cert -d 'TLS certificate chain (PEM)' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l tls-key -d 'TLS private key (PEM)' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand serve" -l tls -d 'Enable on-server TLS (tls_enable)'
complete -c voxray -n "__fish_voxray_using_subcommand serve" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand serve" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand serve" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l format -d 'Output format' -r -f -a "plain\t'The key alone'
env\t'`VOXRAY_SERVER_API_KEY=<key>` (`VOXRAY_SERVER_API_KEYS=k1,k2` for several)'
json\t'`{"key", "env", "fingerprint", "stored"}` (an array for several)'"
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l count -d 'Number of keys to generate (1-100)' -r
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l store -d 'Also store the key in the OS keyring (service "voxray"), where `serve` finds it' -r -f -a "keyring\t'The OS keyring (backend from `VOXRAY_KEYRING_BACKEND`: auto, keyutils, secret-service, none, mock)'"
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l account -d 'Keyring account name' -r
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l verify -d 'Check a key\'s prefix, length, charset and checksum instead of generating one (`-` reads the key from stdin, which keeps it out of the process list)' -r
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l force -d 'Replace an existing keyring entry'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l history-range -d 'Limit --history to a revision range' -r
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l format -d 'Output format' -r -f -a "text\t'One finding per line'
json\t'One JSON document (schemas/audit-report.v1.json)'
sarif\t'SARIF 2.1.0'"
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l baseline -d 'Suppress findings listed in this baseline (or --format json report)' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l write-baseline -d 'Write a baseline of the current findings to FILE and exit 0' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l allowlist -d 'Allowlist file (default: .voxray-audit.toml in the current directory, when present)' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l exclude -d 'Leave out files matching this glob (repeatable)' -r
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l max-decode-depth -d 'Layers of base64 to decode and rescan (0 = off)' -r
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l max-file-size -d 'Skip files larger than this' -r
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l history -d 'Also scan the lines added by every commit of the repository\'s history'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l show-secrets -d 'Print secrets and snippets unredacted'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l no-ignore -d 'Also scan files that git ignores'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l no-git-checks -d 'Do not check whether config.json is tracked or un-ignored'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l no-progress -d 'Never show a progress bar'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l show-suppressed -d 'Also list suppressed findings'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l exit-zero -d 'Exit 0 even when there are findings (report-only use)'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand check" -l format -d 'Output format' -r -f -a "text\t'`[PASS]`/`[FAIL]` lines for terminals (80 columns)'
json\t'One JSON document (`schemas/check-report.v1.json`)'
sarif\t'SARIF 2.1.0'"
complete -c voxray -n "__fish_voxray_using_subcommand check" -l check -d 'Run exactly these checks: comma-separated IDs or prefixes (VXP-TLS-001, VXP-TLS)' -r
complete -c voxray -n "__fish_voxray_using_subcommand check" -l skip -d 'Leave out these checks: comma-separated IDs or prefixes' -r
complete -c voxray -n "__fish_voxray_using_subcommand check" -l dockerfile -d 'Check this Dockerfile\'s final stage for a non-root USER (VXP-RUN-001)' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand check" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand check" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand check" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand check" -l production -d 'Run the whole production checklist (TLS, keys, metrics, git, user, network, …)'
complete -c voxray -n "__fish_voxray_using_subcommand check" -l strict -d 'Treat WARN as failure (exit 1)'
complete -c voxray -n "__fish_voxray_using_subcommand check" -l history -d 'Also scan git history for secrets (VXP-GIT-003)'
complete -c voxray -n "__fish_voxray_using_subcommand check" -l behind-proxy -d 'TLS is terminated by a reverse proxy in front of voxray'
complete -c voxray -n "__fish_voxray_using_subcommand check" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand check" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand check" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand completions" -l out -d 'Write the script into this directory (under its conventional file name, e.g. voxray.bash or _voxray) instead of printing it to stdout' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand completions" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand completions" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand completions" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand completions" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand completions" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand completions" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand man" -l out -d 'Write every page (voxray.1, voxray-serve.1, ...) into this directory, created if missing, and print their paths; without it, print voxray.1 to stdout' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand man" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand man" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand man" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand man" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand man" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand man" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand health" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand health" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand health" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand health" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand health" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand health" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -l manifest -d 'Test hook: read the model manifest from this JSON file instead of the built-in pins' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -f -a "list" -d 'List the models, whether they are installed, their sizes and paths'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -f -a "pull" -d 'Download models (default: all) and install them after checking their sha256'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -f -a "verify" -d 'Re-hash the installed files against their pinned sha256'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -f -a "remove" -d 'Delete installed models'
complete -c voxray -n "__fish_voxray_using_subcommand models; and not __fish_seen_subcommand_from list pull verify remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -l manifest -d 'Test hook: read the model manifest from this JSON file instead of the built-in pins' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -l mirror -d 'A mirror with the layout <model>/<file>: an http(s) base URL or a directory (scripts/build-model-mirror.sh builds one)' -r
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -l manifest -d 'Test hook: read the model manifest from this JSON file instead of the built-in pins' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from pull" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -l manifest -d 'Test hook: read the model manifest from this JSON file instead of the built-in pins' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -l manifest -d 'Test hook: read the model manifest from this JSON file instead of the built-in pins' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -l all -d 'Delete every model and any partial download'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the models, whether they are installed, their sizes and paths'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Download models (default: all) and install them after checking their sha256'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Re-hash the installed files against their pinned sha256'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Delete installed models'
complete -c voxray -n "__fish_voxray_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "serve" -d 'Run the voice server (HTTP, WebSocket and WebRTC sessions)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "keygen" -d 'Generate strong server API keys (vxr_ + 32 base62 + checksum)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "audit" -d 'Find committed secrets in config files and git history'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "check" -d 'Validate a configuration before it goes to production'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "man" -d 'Write the man pages (voxray.1, voxray-serve.1, ...)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "health" -d 'Probe the local server\'s /health (the container HEALTHCHECK): exit 0 on 200, else 1'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "models" -d 'Manage the local model files (STT, TTS, LLM) of the offline voice agent'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health models help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "list" -d 'List the models, whether they are installed, their sizes and paths'
complete -c voxray -n "__fish_voxray_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "pull" -d 'Download models (default: all) and install them after checking their sha256'
complete -c voxray -n "__fish_voxray_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "verify" -d 'Re-hash the installed files against their pinned sha256'
complete -c voxray -n "__fish_voxray_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "remove" -d 'Delete installed models'
