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
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand keygen" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand audit" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s q -l quiet -d 'Only warnings and errors (same as --log-level warn)'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s v -l verbose -d 'More output: -v debug, -vv trace'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c voxray -n "__fish_voxray_using_subcommand audit" -s V -l version -d 'Print version'
complete -c voxray -n "__fish_voxray_using_subcommand check" -l config -d 'Config file (JSON). Default: $VOXRAY_CONFIG, else ./config.json when it exists, else none' -r -F
complete -c voxray -n "__fish_voxray_using_subcommand check" -l log-level -d 'Log level: trace, debug, info, warn or error' -r -f -a "trace\t''
debug\t''
info\t''
warn\t''
error\t''"
complete -c voxray -n "__fish_voxray_using_subcommand check" -l log-format -d 'Log line format' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object per line'"
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
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "serve" -d 'Run the voice server (HTTP, WebSocket and WebRTC sessions)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "keygen" -d 'Generate strong server API keys (vxr_ + 32 base62 + checksum)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "audit" -d 'Find committed secrets in config files and git history'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "check" -d 'Validate a configuration before it goes to production'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "man" -d 'Write the man pages (voxray.1, voxray-serve.1, ...)'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "health" -d 'Probe the local server\'s /health (the container HEALTHCHECK): exit 0 on 200, else 1'
complete -c voxray -n "__fish_voxray_using_subcommand help; and not __fish_seen_subcommand_from serve keygen audit check completions man health help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
