#!/usr/bin/env bash
# The docker CLI itself (Debian's 20.10) driving berthd's Docker API and driving dockerd
# (Debian's docker.io on a private socket and data root), in one run (issue 6):
#   1. `docker run --rm --network none busybox true`, CLI to exit;
#   2. `docker ps` with N running containers.
# Usage: bash bench/docker_api.sh [RUNS] [N]   (as root, after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
n=${2:-100}
scripts/deps.sh >/dev/null
bin=$PWD/build/bin
work=$(mktemp -d /tmp/berth-bench-docker.XXXXXX)
to_berth="/usr/bin/docker -H unix://$work/berth.sock"
to_dockerd="/usr/bin/docker -H unix://$work/docker.sock"
cleanup() {
  set +e
  [ -n "${berthd_pid:-}" ] && { $to_berth rm -f $($to_berth ps -aq) >/dev/null 2>&1; kill "$berthd_pid"; wait "$berthd_pid"; }
  [ -n "${dockerd_pid:-}" ] && { $to_dockerd rm -f $($to_dockerd ps -aq) >/dev/null 2>&1; kill "$dockerd_pid"; wait "$dockerd_pid"; }
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/berthd" --root "$work/root" --exec-root "$work/run" --socket "$work/berth.sock" \
  --bridge bbench2 --bip 172.30.253.1/24 --nft-table berth_bench2 --cleanup 2>"$work/berthd.log" &
berthd_pid=$!
for _ in $(seq 50); do $to_berth version >/dev/null 2>&1 && break; sleep 0.1; done
BERTH="$bin/berth" BERTH_HOST="unix://$work/berth.sock" scripts/busybox-image.sh >/dev/null
$to_berth save -o "$work/busybox.tar" busybox
/usr/sbin/dockerd -H "unix://$work/docker.sock" --data-root "$work/docker" --exec-root "$work/docker-run" \
  --pidfile "$work/docker.pid" --bridge none --iptables=false --ip6tables=false >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 100); do $to_dockerd version >/dev/null 2>&1 && break; sleep 0.2; done
$to_dockerd load -q -i "$work/busybox.tar" >/dev/null

ratio() {  # JSON: prints each command's median and dockerd's time over berthd's
  local b
  b=$(jq -r '.results[] | select(.command=="berthd") | .median' "$1")
  jq -r '.results[] | "\(.command) \(.median)"' "$1" | while read -r name m; do
    awk -v n="$name" -v m="$m" -v b="$b" 'BEGIN{printf "  %-8s %8.1f ms  %6.2fx berthd\n", n, m*1000, m/b}'
  done
}

echo "== docker run --rm --network none busybox true (median of $runs, CLI to exit)"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/run.json" \
  -n berthd "$to_berth run --rm --network none busybox true" \
  -n dockerd "$to_dockerd run --rm --network none busybox true" >/dev/null
ratio "$work/run.json"

echo "== docker ps with $n running containers (median of $runs)"
for d in "$to_berth" "$to_dockerd"; do
  seq "$n" | xargs -P 4 -I{} $d run -d --network none busybox sleep 600 >/dev/null
done
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/ps.json" \
  -n berthd "$to_berth ps" -n dockerd "$to_dockerd ps" >/dev/null
ratio "$work/ps.json"
echo "  (containers listed: berthd $($to_berth ps -q | wc -l), dockerd $($to_dockerd ps -q | wc -l))"
# The daemons' own share: the same request without the CLI (whose start-up, ~40 ms of Go
# runtime and config loading, is in both figures above alike).
echo "== GET /v1.41/containers/json with $n running containers, curl (median of $runs)"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/list.json" \
  -n berthd "curl -s -o /dev/null --unix-socket $work/berth.sock http://d/v1.41/containers/json" \
  -n dockerd "curl -s -o /dev/null --unix-socket $work/docker.sock http://d/v1.41/containers/json" >/dev/null
ratio "$work/list.json"
echo "== the docker CLI alone: docker --version (median of $runs)"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/cli.json" -n cli "/usr/bin/docker --version" >/dev/null
jq -r '.results[] | "  \(.command) \(.median*1000) ms"' "$work/cli.json"
# The daemons' own answer, without any client's start-up: one curl process sends the
# list request $runs+1 times on one kept-alive connection; the first (connect) is dropped.
echo "== GET /v1.41/containers/json with $n running containers, one connection (median of $runs)"
for d in berthd:berth dockerd:docker; do
  urls=()
  for _ in $(seq $((runs + 1))); do urls+=(-o /dev/null http://d/v1.41/containers/json); done
  curl -s --unix-socket "$work/${d#*:}.sock" -w '%{time_total}\n' "${urls[@]}" |
    tail -n +2 | sort -n | awk -v n="${d%%:*}" '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "  %-8s %8.2f ms\n", n, m * 1000}'
done | tee "$work/server.txt"
awk '{m[$1] = $2} END {printf "  dockerd / berthd: %.1fx\n", m["dockerd"] / m["berthd"]}' "$work/server.txt"
