#!/bin/sh
# Regenerate the shell completions (completions/) and man pages (man/) from the one CLI
# definition (src/cli/). Run after changing any subcommand or flag, then commit the result;
# tests/dist_docs.rs fails while they are stale.
#
#   scripts/gen-docs.sh
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet --bin voxray
voxray() { cargo run --quiet --bin voxray -- "$@"; }
rm -rf man completions
voxray man --out man >/dev/null
for shell in bash zsh fish powershell elvish; do
  voxray completions "$shell" --out completions >/dev/null
done
echo "regenerated: $(ls man | wc -l) man pages in man/, $(ls completions | wc -l) completion scripts in completions/"
