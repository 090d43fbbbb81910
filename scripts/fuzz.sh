#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs each over its seed
# corpus in fuzz/corpus/<fuzzer>/ for a bounded time; fails on the first crash, leak, hang
# or broken invariant, leaving the input that caused it in $BUILD_DIR/artifacts/.
#
#   scripts/fuzz.sh                       every fuzzer, FUZZ_SECONDS (default 25) each
#   FUZZ_SECONDS=3600 scripts/fuzz.sh dns_message_fuzzer     one fuzzer, for an hour
#   build-fuzz/bin/http_request_fuzzer CRASH_FILE             replays a crash
#
# BUILD_DIR (default build-fuzz) holds the build; new inputs found go to a scratch corpus
# in it (FUZZ_KEEP_CORPUS=1 keeps it, to add the interesting ones to fuzz/corpus/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(realpath -m "${BUILD_DIR:-build-fuzz}")
seconds=${FUZZ_SECONDS:-25}
runs=${FUZZ_RUNS:--1}  # -1: until the time is up
fuzzers=("$@")
if [ ${#fuzzers[@]} -eq 0 ]; then
  fuzzers=(http_request_fuzzer create_config_fuzzer docker_query_fuzzer dns_message_fuzzer)
fi

cxx=${FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}
if [ -z "$cxx" ]; then
  echo "fuzz: no clang++ found (scripts/deps.sh installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" >/dev/null
cmake --build "$build" --target "${fuzzers[@]}" -- --quiet -j"$(nproc)"

mkdir -p "$build/artifacts"
status=0
for f in "${fuzzers[@]}"; do
  scratch=$(mktemp -d "$build/corpus-$f.XXXXXX")
  log="$build/$f.log"
  # The scratch corpus comes first: libFuzzer writes what it finds into the first directory,
  # and fuzz/corpus/ stays as committed.
  if (cd "$build" && "bin/$f" -max_total_time="$seconds" -runs="$runs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=artifacts/"$f"- \
        "$scratch" "$root/fuzz/corpus/$f") >"$log" 2>&1; then
    echo "fuzz $f: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs, no crash"
  else
    status=1
    echo "fuzz $f: FAILED (log: $log)" >&2
    grep -E -A40 '^==[0-9]+==ERROR|runtime error|^SUMMARY|Test unit written to|deadly signal' \
      "$log" | grep -v -E '^\s*$' | head -60 >&2 || tail -40 "$log" >&2
  fi
  if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
    echo "  new corpus: $scratch"
  else
    rm -rf "$scratch"
  fi
done
exit $status
