# shellcheck shell=bash
# Sourced by the benchmarks: free ports, medians and percentiles, and private berthds.
#
# port: a loopback port nothing listens on (TCP or UDP).
port() {
  local p
  while :; do
    p=$(shuf -i 20000-60000 -n 1)
    ss -lntuH "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

# median: of the numbers on stdin (separated by spaces or newlines).
median() { percentile 50; }

# percentile P: the P-th percentile (nearest rank) of the numbers on stdin; "-" if none.
percentile() {
  tr ' ' '\n' | grep . | sort -n |
    awk -v p="$1" '{ v[NR] = $1 } END {
      if (NR == 0) { print "-"; exit }
      r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}

# etcd_start DIR: Debian's etcd with its defaults (fsync on every commit) on loopback, its
# data in DIR, on free ports; waits until its JSON gateway answers. Sets etcd_pid and
# etcd_endpoint (127.0.0.1:PORT). etcd_stop (from the caller's EXIT trap) kills it.
etcd_start() {
  local dir=$1 cport pport
  cport=$(port)
  pport=$(port)
  etcd --name bench --data-dir "$dir" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "bench=http://127.0.0.1:$pport" >"$dir.log" 2>&1 &
  etcd_pid=$!
  etcd_endpoint=127.0.0.1:$cport
  for _ in $(seq 100); do
    curl -sf "http://$etcd_endpoint/v3/kv/range" -d '{"key":"AA=="}' >/dev/null && return 0
    sleep 0.1
  done
  echo "etcd did not start; its log:" >&2
  cat "$dir.log" >&2
  return 1
}

etcd_stop() {
  [ -n "${etcd_pid:-}" ] && kill -9 "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
  return 0
}

# Private berthds that meet neither the host's berthd nor another run's, and their
# removal. Each has its own root, exec root and API socket under $work/NAME, its own
# bridge, bridge subnet, address pool and nftables table (named after this shell's pid),
# and a resolv.conf naming 127.0.0.1, so that names it forwards go to loopback, where
# nothing answers: no query leaves the machine.
#
# REQUIRES: $work (a temp dir) and $bin (the build's bin/) set before berthd_start.
# berthd_stop_all runs from the caller's EXIT trap: it stops every berthd started here
# (SIGTERM: with --cleanup it removes its bridge and table itself) and then removes what a
# crashed one left: the bridge, the table, mounts under $work.

berthd_names=()
declare -A berthd_pid=() berthd_bridge=() berthd_table=()

# berthd_start NAME SLOT [FLAG…]: starts one and waits until its API answers. SLOT (0-9)
# picks its subnets: 172.30.(230+SLOT).0/24 for the bridge, 10.(230+SLOT).0.0/16 for the
# pool. Its socket is $work/NAME/berth.sock, its log $work/NAME/berthd.log.
berthd_start() {
  local name=$1 slot=$2
  shift 2
  local dir=${work:?}/$name
  mkdir -p "$dir"
  echo 'nameserver 127.0.0.1' >"$dir/resolv.conf"
  berthd_names+=("$name")
  berthd_bridge[$name]=bb$$s$slot
  berthd_table[$name]=berth_bench_$$_$slot
  "${bin:?}/berthd" --root "$dir/root" --exec-root "$dir/run" --socket "$dir/berth.sock" \
    --bridge "${berthd_bridge[$name]}" --bip "172.30.$((230 + slot)).1/24" \
    --address-pool "10.$((230 + slot)).0.0/16" --nft-table "${berthd_table[$name]}" \
    --resolv-conf "$dir/resolv.conf" --cleanup "$@" >"$dir/berthd.log" 2>&1 &
  berthd_pid[$name]=$!
  for _ in $(seq 100); do
    curl -sf --unix-socket "$dir/berth.sock" http://berth/v1/version >/dev/null 2>&1 && return 0
    kill -0 "${berthd_pid[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "berthd $name did not start; its log:" >&2
  cat "$dir/berthd.log" >&2
  return 1
}

berthd_socket() { echo "$work/$1/berth.sock"; }

berthd_stop_all() {
  local name
  for name in "${berthd_names[@]}"; do
    kill "${berthd_pid[$name]}" 2>/dev/null && wait "${berthd_pid[$name]}" 2>/dev/null
    ip link del "${berthd_bridge[$name]}" 2>/dev/null
    nft delete table ip "${berthd_table[$name]}" 2>/dev/null
  done
  grep -o " ${work}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  return 0
}
