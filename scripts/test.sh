#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, root, e2e). Benchmarks are not tests: see bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 300 -j"$(nproc)" -LE slow "$@"
