
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'voxray' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'voxray'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'voxray' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the voice server (HTTP, WebSocket and WebRTC sessions)')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Generate strong server API keys (vxr_ + 32 base62 + checksum)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Find committed secrets in config files and git history')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate a configuration before it goes to production')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (voxray.1, voxray-serve.1, ...)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Probe the local server''s /health (the container HEALTHCHECK): exit 0 on 200, else 1')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'Manage the local model files (STT, TTS, LLM) of the offline voice agent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'voxray;serve' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Bind address (default 127.0.0.1; the container image sets 0.0.0.0)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port (0 = ephemeral; the chosen port is logged)')
            [CompletionResult]::new('--transport', '--transport', [CompletionResultType]::ParameterName, 'Which media routes exist: websocket, smallwebrtc or both')
            [CompletionResult]::new('--cors-origin', '--cors-origin', [CompletionResultType]::ParameterName, 'Allowed browser origin (repeatable; replaces the configured list)')
            [CompletionResult]::new('--max-body-bytes', '--max-body-bytes', [CompletionResultType]::ParameterName, 'JSON body limit in bytes')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'Concurrent session slots (0 = unlimited)')
            [CompletionResult]::new('--metrics-listen', '--metrics-listen', [CompletionResultType]::ParameterName, 'Serve /metrics only on this separate host:port')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'TLS certificate chain (PEM)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'TLS private key (PEM)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Enable on-server TLS (tls_enable)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;keygen' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Number of keys to generate (1-100)')
            [CompletionResult]::new('--store', '--store', [CompletionResultType]::ParameterName, 'Also store the key in the OS keyring (service "voxray"), where `serve` finds it')
            [CompletionResult]::new('--account', '--account', [CompletionResultType]::ParameterName, 'Keyring account name')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Check a key''s prefix, length, charset and checksum instead of generating one (`-` reads the key from stdin, which keeps it out of the process list)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing keyring entry')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;audit' {
            [CompletionResult]::new('--history-range', '--history-range', [CompletionResultType]::ParameterName, 'Limit --history to a revision range')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Suppress findings listed in this baseline (or --format json report)')
            [CompletionResult]::new('--write-baseline', '--write-baseline', [CompletionResultType]::ParameterName, 'Write a baseline of the current findings to FILE and exit 0')
            [CompletionResult]::new('--allowlist', '--allowlist', [CompletionResultType]::ParameterName, 'Allowlist file (default: .voxray-audit.toml in the current directory, when present)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files matching this glob (repeatable)')
            [CompletionResult]::new('--max-decode-depth', '--max-decode-depth', [CompletionResultType]::ParameterName, 'Layers of base64 to decode and rescan (0 = off)')
            [CompletionResult]::new('--max-file-size', '--max-file-size', [CompletionResultType]::ParameterName, 'Skip files larger than this')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--history', '--history', [CompletionResultType]::ParameterName, 'Also scan the lines added by every commit of the repository''s history')
            [CompletionResult]::new('--show-secrets', '--show-secrets', [CompletionResultType]::ParameterName, 'Print secrets and snippets unredacted')
            [CompletionResult]::new('--no-ignore', '--no-ignore', [CompletionResultType]::ParameterName, 'Also scan files that git ignores')
            [CompletionResult]::new('--no-git-checks', '--no-git-checks', [CompletionResultType]::ParameterName, 'Do not check whether config.json is tracked or un-ignored')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never show a progress bar')
            [CompletionResult]::new('--show-suppressed', '--show-suppressed', [CompletionResultType]::ParameterName, 'Also list suppressed findings')
            [CompletionResult]::new('--exit-zero', '--exit-zero', [CompletionResultType]::ParameterName, 'Exit 0 even when there are findings (report-only use)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;check' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Run exactly these checks: comma-separated IDs or prefixes (VXP-TLS-001, VXP-TLS)')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Leave out these checks: comma-separated IDs or prefixes')
            [CompletionResult]::new('--dockerfile', '--dockerfile', [CompletionResultType]::ParameterName, 'Check this Dockerfile''s final stage for a non-root USER (VXP-RUN-001)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--production', '--production', [CompletionResultType]::ParameterName, 'Run the whole production checklist (TLS, keys, metrics, git, user, network, …)')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Treat WARN as failure (exit 1)')
            [CompletionResult]::new('--history', '--history', [CompletionResultType]::ParameterName, 'Also scan git history for secrets (VXP-GIT-003)')
            [CompletionResult]::new('--behind-proxy', '--behind-proxy', [CompletionResultType]::ParameterName, 'TLS is terminated by a reverse proxy in front of voxray')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;completions' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the script into this directory (under its conventional file name, e.g. voxray.bash or _voxray) instead of printing it to stdout')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;man' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write every page (voxray.1, voxray-serve.1, ...) into this directory, created if missing, and print their paths; without it, print voxray.1 to stdout')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;health' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;models' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Test hook: read the model manifest from this JSON file instead of the built-in pins')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the models, whether they are installed, their sizes and paths')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Download models (default: all) and install them after checking their sha256')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash the installed files against their pinned sha256')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete installed models')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'voxray;models;list' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Test hook: read the model manifest from this JSON file instead of the built-in pins')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;models;pull' {
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'A mirror with the layout <model>/<file>: an http(s) base URL or a directory (scripts/build-model-mirror.sh builds one)')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Test hook: read the model manifest from this JSON file instead of the built-in pins')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;models;verify' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Test hook: read the model manifest from this JSON file instead of the built-in pins')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;models;remove' {
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Test hook: read the model manifest from this JSON file instead of the built-in pins')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Log level: trace, debug, info, warn or error')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Delete every model and any partial download')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Only warnings and errors (same as --log-level warn)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More output: -v debug, -vv trace')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'voxray;models;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the models, whether they are installed, their sizes and paths')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Download models (default: all) and install them after checking their sha256')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash the installed files against their pinned sha256')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete installed models')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'voxray;models;help;list' {
            break
        }
        'voxray;models;help;pull' {
            break
        }
        'voxray;models;help;verify' {
            break
        }
        'voxray;models;help;remove' {
            break
        }
        'voxray;models;help;help' {
            break
        }
        'voxray;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the voice server (HTTP, WebSocket and WebRTC sessions)')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Generate strong server API keys (vxr_ + 32 base62 + checksum)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Find committed secrets in config files and git history')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate a configuration before it goes to production')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (voxray.1, voxray-serve.1, ...)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Probe the local server''s /health (the container HEALTHCHECK): exit 0 on 200, else 1')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'Manage the local model files (STT, TTS, LLM) of the offline voice agent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'voxray;help;serve' {
            break
        }
        'voxray;help;keygen' {
            break
        }
        'voxray;help;audit' {
            break
        }
        'voxray;help;check' {
            break
        }
        'voxray;help;completions' {
            break
        }
        'voxray;help;man' {
            break
        }
        'voxray;help;health' {
            break
        }
        'voxray;help;models' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the models, whether they are installed, their sizes and paths')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Download models (default: all) and install them after checking their sha256')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash the installed files against their pinned sha256')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Delete installed models')
            break
        }
        'voxray;help;models;list' {
            break
        }
        'voxray;help;models;pull' {
            break
        }
        'voxray;help;models;verify' {
            break
        }
        'voxray;help;models;remove' {
            break
        }
        'voxray;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
