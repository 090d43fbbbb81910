#!/usr/bin/env bash
# The Store side by side in one run (issue 7): durable puts/s and prefix ranges/s (10 keys of
# 256 bytes) with 32 concurrent clients and with 1 (puts also with 256, which shows how group
# commit scales: with one request in flight per client, a commit can serve at most as many
# puts as there are clients), for
#   embedded  berth's embedded store (SQLite tables, a synced operation log, group commit),
#   etcd      berth's etcd backend (JSON gateway, keep-alive pool) against Debian's etcd,
#   gateway   the same etcd called directly through its JSON gateway (raw HTTP): the reference.
# etcd runs with its defaults (fsync on every commit: the same durability as the embedded
# store) on loopback, in a temp dir on the same disk as the embedded store's file.
# The disk's fsync latency swings by 10× within minutes on a shared machine, so the backends
# take turns: ROUNDS rounds of every backend per row, and the median of each is reported.
# Usage: bash bench/store.sh [SECONDS] [ROUNDS]  (after: cmake --build build --target store_load)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
rounds=${2:-3}
scripts/deps.sh >/dev/null
load=$PWD/build/bin/store_load
[ -x "$load" ] || { echo "build store_load first: cmake --build build --target store_load" >&2; exit 1; }
source bench/lib.sh
work=$(mktemp -d /var/tmp/berth-bench-store.XXXXXX)
cleanup() {
  set +e
  etcd_stop
  rm -rf "$work"
}
trap cleanup EXIT
etcd_start "$work/etcd"
declare -A rate p99
runs=("put 32" "put 1" "put 256" "range 32" "range 1")
for run in "${runs[@]}"; do
  read -r op clients <<<"$run"
  declare -A rates=() p99s=()
  for _ in $(seq "$rounds"); do
    for backend in gateway etcd embedded; do
      target=$etcd_endpoint
      [ "$backend" = embedded ] && target=$work/embedded-$op-$clients.db
      read -r _ _ _ r _ l < <("$load" "$backend" "$op" "$clients" "$secs" "$target")
      rates[$backend]+=" $r"; p99s[$backend]+=" $l"
    done
  done
  for backend in gateway etcd embedded; do
    rate[$backend,$op,$clients]=$(median <<<"${rates[$backend]}")
    p99[$backend,$op,$clients]=$(median <<<"${p99s[$backend]}")
  done
done

echo "medians of $rounds rounds of $secs s each"
printf '%-6s %-8s %-10s %10s %9s %14s\n' op clients backend ops/s p99_us "vs etcd gateway"
for run in "${runs[@]}"; do
  read -r op clients <<<"$run"
  ref=${rate[gateway,$op,$clients]}
  for backend in gateway etcd embedded; do
    r=${rate[$backend,$op,$clients]}
    printf '%-6s %-8s %-10s %10s %9s %13.2fx\n' "$op" "$clients" "$backend" "$r" \
      "${p99[$backend,$op,$clients]}" "$(awk -v a="$r" -v b="$ref" 'BEGIN { print a / b }')"
  done
done
