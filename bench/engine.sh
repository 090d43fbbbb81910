#!/usr/bin/env bash
# berthd end to end, side by side with podman and dockerd (Debian's docker.io, on a private
# socket and data root) in one run:
#   1. `run --rm --network none busybox true`, CLI to exit (and crun running the same rootfs
#      directly); bench/network.sh measures what the bridge adds;
#   2. N detached starts in parallel (starts per second);
#   3. memory per running container: PSS of the monitors plus berthd's growth, over N
#      sleeping containers (podman: conmon's PSS);
#   4. berthd's RSS idle and its CPU time while N containers sleep for 10 s.
# Usage: bash bench/engine.sh [RUNS] [N]   (as root, after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
n=${2:-100}
scripts/deps.sh >/dev/null
dpkg -s docker.io >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
bin=$PWD/build/bin
work=$(mktemp -d /tmp/berth-bench-engine.XXXXXX)
export BERTH_HOST=unix://$work/berth.sock
berth() { "$bin/berth" "$@"; }
podman_cmd="/usr/bin/podman --root $work/podman --runroot $work/podman-run --cgroup-manager cgroupfs --events-backend file --storage-driver overlay"
podman() { $podman_cmd "$@"; }
export CONTAINERS_CONF=$work/containers.conf
printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\nnetns = "none"\n' > "$CONTAINERS_CONF"
docker() { command /usr/bin/docker -H "unix://$work/docker.sock" "$@"; }
cleanup() {
  set +e
  for id in $(berth ps -aq --no-trunc 2>/dev/null); do berth rm -f "$id" >/dev/null 2>&1; done
  [ -n "${berthd_pid:-}" ] && kill "$berthd_pid" && wait "$berthd_pid"
  podman rm -af >/dev/null 2>&1
  if [ -n "${dockerd_pid:-}" ]; then docker rm -f $(docker ps -aq) >/dev/null 2>&1; kill "$dockerd_pid"; wait "$dockerd_pid"; fi
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT

# crun 1.8 refuses the hybrid cgroup layout while hugetlb sits on the v2 mount.
if [ -d /sys/fs/cgroup/unified ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mountpoint -q /sys/fs/cgroup/hugetlb || mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi

"$bin/berthd" --root "$work/root" --exec-root "$work/run" --socket "$work/berth.sock" \
  --bridge bbench1 --bip 172.30.252.1/24 --nft-table berth_bench1 --cleanup 2>"$work/berthd.log" &
berthd_pid=$!
for _ in $(seq 50); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
scripts/busybox-image.sh >/dev/null 2>&1  # into the berthd above (BERTH_HOST)
berth save -o "$work/busybox.tar" busybox 2>/dev/null
podman load -q -i "$work/busybox.tar" >/dev/null
/usr/sbin/dockerd -H "unix://$work/docker.sock" --data-root "$work/docker" --exec-root "$work/docker-run" \
  --pidfile "$work/docker.pid" --bridge none --iptables=false --ip6tables=false >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker load -q -i "$work/busybox.tar" >/dev/null

# The same rootfs for crun, with berth's default spec.
mkdir -p "$work/bundle"
scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$bin/berth-runtime" spec --bundle "$work/bundle"
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$work/bundle/config.json" > "$work/c"
mv "$work/c" "$work/bundle/config.json"

echo "== run --rm busybox true (median of $runs, CLI to exit)"
(cd "$work/bundle" && hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/run.json" ${BENCH_SHOW:+--show-output} \
  -n berth "$bin/berth run --rm --network none busybox true" \
  -n crun-direct "crun --root $work/crun run bench-crun" \
  -n podman "$podman_cmd run --rm --network none busybox true" \
  -n docker "/usr/bin/docker -H unix://$work/docker.sock run --rm --network none busybox true" >/dev/null)
b=$(jq -r '.results[] | select(.command=="berth") | .median' "$work/run.json")
jq -r '.results[] | "\(.command) \(.median)"' "$work/run.json" | while read -r name m; do
  awk -v n="$name" -v m="$m" -v b="$b" 'BEGIN{printf "  %-12s %8.1f ms  %6.2fx berth\n", n, m*1000, m/b}'
done

busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }  # user nice system irq softirq
starts() {  # NAME COUNT CMD… : COUNT parallel starts (4 at a time), prints starts/s and the
  # machine's CPU per start (every process involved: CLI, daemon, shims, runtime, container)
  local name=$1 count=$2; shift 2
  local t0 t1 c0 c1
  t0=$(date +%s.%N); c0=$(busy_ticks)
  seq "$count" | xargs -P 4 -I{} "$@" >/dev/null
  t1=$(date +%s.%N); c1=$(busy_ticks)
  awk -v n="$name" -v c="$count" -v a="$t0" -v b="$t1" -v cpu=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN{printf "  %-12s %4d starts in %6.2f s = %7.1f starts/s, %5.1f ms of CPU each\n", n, c, b-a, c/(b-a), cpu*1000/hz/c}'
}
pss() { awk '/^Pss:/ {s+=$2} END {print s+0}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
d0=$(pss "$berthd_pid")
idle_rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$berthd_pid/status")
idle_anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$berthd_pid/status")
echo "== the berth CLI alone (median of $runs): one request to berthd, and /bin/true's exec"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/cli.json" \
  -n "berth ps -q" "$bin/berth ps -q" -n /bin/true /bin/true >/dev/null 2>&1
jq -r '.results[] | "  \(.command): \(.median * 10000 | round / 10) ms"' "$work/cli.json"
echo "== detached starts"
starts berth "$n" "$bin/berth" run -d --network none busybox sleep 1000
starts podman 20 $podman_cmd run -d --network none busybox sleep 1000
starts docker 20 /usr/bin/docker -H "unix://$work/docker.sock" run -d --network none busybox sleep 1000

echo "== memory per running container (PSS)"
# Containers' monitors only: the pool's idle ones (berthd keeps two ready, each with a
# runtime loaded) still show the placeholder id and are a fixed cost, printed apart.
mons=$(pgrep -f "berth-monitor --id [0-9a-f]{64}" || true)
total=0; count=0
for p in $mons; do total=$((total + $(pss "$p"))); count=$((count + 1)); done
d=$(pss "$berthd_pid")
berth_count=$count
awk -v t="$total" -v c="$count" -v d="$d" -v d0="$d0" 'BEGIN{printf "  berth          %d monitors, %.3f MB each; berthd grew %.2f MB: %.3f MB per container\n", c, t/c/1024, (d-d0)/1024, (t+d-d0)/c/1024}'
pool=0; pool_count=0
for p in $(pgrep -f "berth-monitor --id -{64}" || true); do
  pool_count=$((pool_count + 1)); pool=$((pool + $(pss "$p")))
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do pool=$((pool + $(pss "$c"))); done
done
awk -v t="$pool" -v c="$pool_count" 'BEGIN{printf "  berth pool     %d idle monitors with their runtimes: %.2f MB in all\n", c, t/1024}'
conmons=$(pgrep -x conmon || true); total=0; count=0
for p in $conmons; do total=$((total + $(pss "$p"))); count=$((count + 1)); done
[ "$count" -gt 0 ] && awk -v t="$total" -v c="$count" 'BEGIN{printf "  conmon         %d monitors, %.3f MB each\n", c, t/c/1024}'
shims=$(pgrep -f containerd-shim || true); total=0; count=0
for p in $shims; do total=$((total + $(pss "$p"))); count=$((count + 1)); done
[ "$count" -gt 0 ] && awk -v t="$total" -v c="$count" 'BEGIN{printf "  containerd-shim %d shims, %.3f MB each\n", c, t/c/1024}'

echo "== berthd with $berth_count containers sleeping"
cpu0=$(awk '{print $14+$15}' "/proc/$berthd_pid/stat")
sleep 10
cpu1=$(awk '{print $14+$15}' "/proc/$berthd_pid/stat")
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$berthd_pid/status")
echo "  berthd RSS idle $((idle_rss / 1024)) MB ($((idle_anon / 1024)) MB anonymous), with $berth_count containers $((rss / 1024)) MB; CPU over 10 s: $((cpu1 - cpu0)) ticks"
rss_of() { awk '/^VmRSS:/ {print int($2 / 1024)}' "/proc/$1/status"; }
containerd_pid=$(pgrep -x containerd -P "$dockerd_pid" || true)
echo "  for comparison: dockerd RSS $(rss_of "$dockerd_pid") MB${containerd_pid:+, its containerd $(rss_of "$containerd_pid") MB} (20 containers)"
