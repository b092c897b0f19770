#!/usr/bin/env bash
# The Pipecat peer of voxray's benchmark (issue 15).
#   bench/pipecat/run.sh setup                  # venv + pipecat-ai[websocket,webrtc]==1.14.* from PyPI
#   bench/pipecat/run.sh serve stock|unpaced [PORT]
# `stock`: Pipecat's output pacing as shipped; `unpaced`: the playback-emulating sleep
# removed (see echo_server.py). The venv lives in $PIPECAT_VENV (target/bench/pipecat-venv).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${PIPECAT_VENV:-${CARGO_TARGET_DIR:-$ROOT/target}/bench/pipecat-venv}
case "${1:-}" in
  setup)
    if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q 'pipecat-ai[websocket,webrtc]==1.14.*' 'uvicorn[standard]>=0.30'
    "$VENV/bin/python" -c 'import importlib.metadata as m; print("pipecat-ai", m.version("pipecat-ai"))'
    ;;
  serve)
    exec "$VENV/bin/python" "$HERE/echo_server.py" "${2:-stock}" "${3:-18080}"
    ;;
  *)
    echo "usage: bench/pipecat/run.sh setup | serve stock|unpaced [PORT]" >&2
    exit 2
    ;;
esac
