#!/usr/bin/env bash
# Networking side by side in one run (issue 5):
#   1. iperf3 throughput: host loopback with no container; berth's published port on
#      127.0.0.1 (the connect redirect, or kernel DNAT where the kernel lacks cgroup BPF);
#      berth's container address directly; dockerd's published port on 127.0.0.1 (its
#      userland proxy, the default) and its container address; from another namespace
#      routed through the host (as another host would): berth's published port on the
#      host's address (kernel DNAT) and the container's address;
#   2. what joining the bridge adds to `run --rm` (bridge vs --network none), berth's and
#      docker's.
# dockerd (Debian's docker.io) runs on a private socket, data root and bridge. The iperf3
# image is the host's iperf3 and its libraries, imported into both.
# Usage: bash bench/network.sh [SECONDS] [RUNS] [ROUNDS]   (as root, after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
runs=${2:-20}
rounds=${3:-3}
scripts/deps.sh >/dev/null
dpkg -s docker.io >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null
source bench/lib.sh
bin=$PWD/build/bin
work=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
export BERTH_HOST=unix://$work/berth.sock
berth() { "$bin/berth" "$@"; }
docker() { command /usr/bin/docker -H "unix://$work/docker.sock" "$@"; }
cleanup() {
  set +e
  pkill -f "iperf3 -s -p 5301" 2>/dev/null
  for id in $(berth ps -aq --no-trunc 2>/dev/null); do berth rm -f "$id" >/dev/null 2>&1; done
  [ -n "${berthd_pid:-}" ] && kill "$berthd_pid" && wait "$berthd_pid"
  if [ -n "${dockerd_pid:-}" ]; then docker rm -f $(docker ps -aq) >/dev/null 2>&1; kill "$dockerd_pid"; wait "$dockerd_pid"; fi
  ip link del bbench0 2>/dev/null; ip link del dbench0 2>/dev/null
  ip netns del "$remote" 2>/dev/null; ip link del bnrem0 2>/dev/null
  iptables -D FORWARD -i bnrem0 -j ACCEPT 2>/dev/null; iptables -D FORWARD -o bnrem0 -j ACCEPT 2>/dev/null
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
remote=bnrem$$
trap cleanup EXIT

# An image with iperf3: the host's binary and the libraries it loads.
mkdir -p "$work/iperf/bin"
cp /usr/bin/iperf3 "$work/iperf/bin/"
for lib in $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
  mkdir -p "$work/iperf$(dirname "$lib")"; cp -L "$lib" "$work/iperf$lib"
done
mkdir -p "$work/iperf/tmp" "$work/iperf/etc"; echo 'root:x:0:0::/:/bin/sh' > "$work/iperf/etc/passwd"
tar -C "$work/iperf" -cf "$work/iperf.tar" .
ip netns del "$remote" 2>/dev/null || true

"$bin/berthd" --root "$work/root" --exec-root "$work/run" --socket "$work/berth.sock" \
  --bridge bbench0 --bip 172.30.250.1/24 --nft-table berth_bench --cleanup --log-level debug \
  2>"$work/berthd.log" &
berthd_pid=$!
for _ in $(seq 50); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
scripts/busybox-image.sh >/dev/null 2>&1  # into the berthd above (BERTH_HOST)
berth import "$work/iperf.tar" iperf:latest >/dev/null
berth save -o "$work/busybox.tar" busybox 2>/dev/null
/usr/sbin/dockerd -H "unix://$work/docker.sock" --data-root "$work/docker" --exec-root "$work/docker-run" \
  --pidfile "$work/docker.pid" --bridge none --iptables=true >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
docker network create -o com.docker.network.bridge.name=dbench0 --subnet 172.30.251.0/24 bench >/dev/null
docker import "$work/iperf.tar" iperf:latest >/dev/null
docker load -q -i "$work/busybox.tar" >/dev/null

gbits() {  # NAME [--in NETNS] ARGS… : an iperf3 client run; records Gbit/s received
  local name=$1; shift
  local v in=()
  if [ "$1" = --in ]; then in=(ip netns exec "$2"); shift 2; fi
  v=$("${in[@]}" iperf3 -J -t "$secs" "$@" | jq '.end.sum_received.bits_per_second / 1e9')
  echo "$name|$v" >> "$work/gbits"
}
iperf3 -s -p 5301 -D; sleep 0.3
berth run -d --name ip1 -p 15201:5201 iperf:latest /bin/iperf3 -s >/dev/null
ip1=$(berth inspect ip1 | jq -r '.[0].network_settings.networks.bridge.ip')
docker run -d --name ip1 --network bench -p 15202:5201 iperf:latest /bin/iperf3 -s >/dev/null
dip1=$(docker inspect ip1 | jq -r '.[0].NetworkSettings.Networks.bench.IPAddress')
# "Another host": a namespace joined to the host by a veth and routed through it. Its
# clients reach a published port through the DNAT rules (the host's own TCP clients are
# redirected at connect() instead, src/sys/connect_redirect.h).
ip netns add "$remote"
ip link add bnrem0 type veth peer name bnrem1 netns "$remote"
ip addr add 172.29.249.1/24 dev bnrem0; ip link set bnrem0 up
ip -n "$remote" addr add 172.29.249.2/24 dev bnrem1; ip -n "$remote" link set bnrem1 up
ip -n "$remote" link set lo up; ip -n "$remote" route add default via 172.29.249.1
# dockerd set iptables' FORWARD policy to DROP: let the namespace's traffic through.
iptables -I FORWARD -i bnrem0 -j ACCEPT; iptables -I FORWARD -o bnrem0 -j ACCEPT
sleep 0.5
# Rounds of all paths, one after the other, so that the machine's noise falls on each
# alike; the median of each.
echo "== iperf3, $secs s each, median of $rounds rounds"
for _ in $(seq "$rounds"); do
  gbits "host loopback" -c 127.0.0.1 -p 5301
  gbits "berth published 127.0.0.1" -c 127.0.0.1 -p 15201
  gbits "berth container address" -c "$ip1" -p 5201
  gbits "docker published 127.0.0.1" -c 127.0.0.1 -p 15202
  gbits "docker container address" -c "$dip1" -p 5201
  gbits "other netns: berth published" --in "$remote" -c 172.29.249.1 -p 15201
  gbits "other netns: container addr" --in "$remote" -c "$ip1" -p 5201
done
awk -F'|' '{v[$1] = v[$1] " " $2; n[$1]++; order[$1] = order[$1] ? order[$1] : ++k; name[k] = $1}
  function median(s,   a, c, i, j, t) { c = split(s, a, " ");
    for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2 }
  END { for (i = 1; i <= k; i++) { m[name[i]] = median(v[name[i]]); printf "  %-28s %6.1f Gbit/s  (%s )\n", name[i], m[name[i]], v[name[i]] }
    printf "  published / direct (berth): %.2f   berth published / docker published: %.2f\n",
      m["berth published 127.0.0.1"] / m["berth container address"],
      m["berth published 127.0.0.1"] / m["docker published 127.0.0.1"]
    printf "  from another namespace (DNAT): published / direct %.2f\n",
      m["other netns: berth published"] / m["other netns: container addr"] }' "$work/gbits"

echo "== run --rm busybox true: bridge vs --network none (median of $runs)"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/run.json" \
  -n berth-none "$bin/berth run --rm --network none busybox true" \
  -n berth-bridge "$bin/berth run --rm busybox true" \
  -n docker-none "/usr/bin/docker -H unix://$work/docker.sock run --rm --network none busybox true" \
  -n docker-bridge "/usr/bin/docker -H unix://$work/docker.sock run --rm --network bench busybox true" >/dev/null
jq -r '.results[] | "\(.command) \(.median)"' "$work/run.json" | awk '
  {m[$1]=$2; printf "  %-14s %7.1f ms\n", $1, $2*1000}
  END {printf "  network setup added: berth %.1f ms, docker %.1f ms\n",
    (m["berth-bridge"]-m["berth-none"])*1000, (m["docker-bridge"]-m["docker-none"])*1000}'

# The same difference inside berthd, where the noise of two whole runs does not land on it:
# its debug trace of each start times the network step ("root mounted" → "network set
# up"); bridge and --network none starts take turns.
echo "== berthd's network step of a start (its debug trace), median of $runs each"
from=$(($(wc -l <"$work/berthd.log") + 1))
for _ in $(seq "$runs"); do
  berth run --rm busybox true
  berth run --rm --network none busybox true
done
tail -n +"$from" "$work/berthd.log" |
  sed -nE 's/.*start ([0-9a-f]+): root mounted at ([0-9]+) us.*/\1 R \2/p
            s/.*start ([0-9a-f]+): network set up at ([0-9]+) us.*/\1 N \2/p' |
  awk '$2 == "R" { t[$1] = $3; next } { print (n++ % 2 ? "none" : "bridge"), $3 - t[$1] }' \
    >"$work/trace"
bridge_us=$(awk '$1 == "bridge" { print $2 }' "$work/trace" | median)
none_us=$(awk '$1 == "none" { print $2 }' "$work/trace" | median)
printf '  bridge %d us, none %d us: network setup added %.2f ms\n' "$bridge_us" "$none_us" \
  "$(awk -v b="$bridge_us" -v n="$none_us" 'BEGIN { print (b - n) / 1000 }')"
