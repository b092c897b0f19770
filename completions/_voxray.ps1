
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
        'voxray;audit' {
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
        'voxray;check' {
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
        'voxray;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the voice server (HTTP, WebSocket and WebRTC sessions)')
            [CompletionResult]::new('keygen', 'keygen', [CompletionResultType]::ParameterValue, 'Generate strong server API keys (vxr_ + 32 base62 + checksum)')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'Find committed secrets in config files and git history')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Validate a configuration before it goes to production')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Write the man pages (voxray.1, voxray-serve.1, ...)')
            [CompletionResult]::new('health', 'health', [CompletionResultType]::ParameterValue, 'Probe the local server''s /health (the container HEALTHCHECK): exit 0 on 200, else 1')
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
        'voxray;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
