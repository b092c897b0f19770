#!/usr/bin/env bash
# The one command that reproduces every table of BENCHMARKS.md (`pipeline.md` §10, issue 15):
# release build, voxray WS echo sweep, Pipecat 1.14 sweeps (stock and unpaced), single-session
# latency, memory, Criterion micro-benchmarks; then writes BENCHMARKS.md.
#
#   bench/run.sh                # everything (< 20 min on 2 cores)
#   SECS=30 bench/run.sh        # longer runs (the spec's 30 s capacity runs)
#   SKIP_PIPECAT=1 bench/run.sh # voxray only
#
# Server on core 0 (`taskset -c 0`: one runtime worker), load generator on core 1. Needs
# python3 (venv) and network access to PyPI for the Pipecat peer (bench/pipecat/run.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=${OUT:-$CARGO_TARGET_DIR/bench}
SECS=${SECS:-10}
PORT=${PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
mkdir -p "$OUT"
T0=$(date +%s)
log() { echo "[bench $(($(date +%s) - T0))s] $*" >&2; }

log "release build"
cargo build --release --bin voxray --example loadgen
BIN=$CARGO_TARGET_DIR/release/voxray
LOADGEN=$CARGO_TARGET_DIR/release/examples/loadgen
lg() { taskset -c "$CLIENT_CPU" "$LOADGEN" --url "ws://127.0.0.1:$PORT/ws" --secs "$SECS" --json "$@"; }

wait_port() {
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: nothing listens on 127.0.0.1:$PORT" >&2
  return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cat /proc/loadavg > "$OUT/load-start.txt"

# ---- voxray ----
echo "{\"port\":$PORT,\"max_sessions\":0,\"max_connections_per_ip\":0}" > "$OUT/voxray.json"
taskset -c "$SERVER_CPU" "$BIN" serve --config "$OUT/voxray.json" > "$OUT/voxray.log" 2>&1 &
VPID=$!
trap 'kill $VPID 2>/dev/null || true' EXIT
wait_port
sleep 5
rss_kb $VPID > "$OUT/voxray-idle-rss.txt"
log "voxray: idle RSS $(cat "$OUT/voxray-idle-rss.txt") kB; 1 session"
lg --sessions 1 --server-pid $VPID --metrics "http://127.0.0.1:$PORT/metrics" > "$OUT/voxray-1.json"
log "voxray: 500 sessions (memory)"
lg --sessions 500 --server-pid $VPID > "$OUT/voxray-500.json"
log "voxray: sweep"
lg --sweep --from 100 --to 4000 --server-pid $VPID --metrics "http://127.0.0.1:$PORT/metrics" > "$OUT/voxray-sweep.json"
kill $VPID; wait $VPID 2>/dev/null || true
trap - EXIT

# ---- Pipecat ----
if [ -z "${SKIP_PIPECAT:-}" ]; then
  bench/pipecat/run.sh setup
  for mode in stock unpaced; do
    log "pipecat $mode"
    taskset -c "$SERVER_CPU" bench/pipecat/run.sh serve "$mode" "$PORT" > "$OUT/pipecat-$mode.log" 2>&1 &
    PPID_=$!
    trap 'kill $PPID_ 2>/dev/null || true' EXIT
    wait_port
    sleep 5
    # The python process (run.sh execs it).
    rss_kb $PPID_ > "$OUT/pipecat-$mode-idle-rss.txt"
    lg --sessions 1 --server-pid $PPID_ > "$OUT/pipecat-$mode-1.json"
    lg --sweep --from 10 --to 400 --server-pid $PPID_ > "$OUT/pipecat-$mode-sweep.json"
    kill $PPID_; wait $PPID_ 2>/dev/null || true
    trap - EXIT
  done
fi

# ---- micro-benchmarks ----
log "criterion micro-benchmarks"
cargo bench --bench frames -- --warm-up-time 1 --measurement-time 2 --noplot 2>/dev/null \
  | tee "$OUT/frames-bench.txt" >/dev/null || true
cat /proc/loadavg > "$OUT/load-end.txt"
log "report"
python3 bench/report.py "$OUT" > BENCHMARKS.md
log "done in $(($(date +%s) - T0)) s: BENCHMARKS.md"
