#!/usr/bin/env bash
# Configures and builds berth into build/ (BUILD_DIR to change; SANITIZE=1 for ASan/UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DBERTH_SANITIZE="${SANITIZE:-OFF}" >/dev/null
cmake --build "$build" -- --quiet -j"$(nproc)"
