#!/usr/bin/env bash
# How soon the service catalog's changes are seen (issue 7), side by side in one run, with
# bench/catalog_latency.cc driving each target one change at a time:
#   register → DNS     from the registration's send to the DNS listener answering the new
#                      address (lat.service.berth A, asked every 0.2 ms); deregister → DNS
#                      the same until the address is gone; "ack" is the registration's own
#                      answer (PUT/DELETE; for dnsmasq the durable file write).
#   watch              from a registration's send to the answer of a blocking
#                      GET /v1/catalog/services/NAME?index=N&wait=30s sent before it.
# Targets:
#   berthd-embedded    a private berthd (bench/lib.sh) on its default store (SQLite in its
#                      root), --dns-listen on loopback;
#   berthd-etcd        another on --store etcd://… (Debian's etcd on loopback, defaults:
#                      fsync on every commit);
#   dnsmasq-hostsdir   reference for DNS: Debian's dnsmasq with --hostsdir, which rereads
#                      a hosts file written into that directory (inotify); the file is
#                      fsync'd and renamed in, durable as berth's registration (Consul,
#                      the issue's model, is not in Debian);
#   etcd-watch         reference for the watch: an etcd watch (its JSON gateway's
#                      /v3/watch stream) woken by a put on another connection.
# Every berthd registration goes through the API with persistence (the instance is kept in
# <root>/catalog.json for restarts), as `berth catalog register` does.
# ROUNDS rounds in which each target takes its turn for N/ROUNDS changes, so that the
# shared machine's busy minutes fall on all of them; percentiles over all N samples.
# Usage: bash bench/catalog.sh [N] [ROUNDS]
#   (as root, after: cmake --build build --target berthd berth-runtime catalog_latency)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
rounds=${2:-4}
per_round=$(((n + rounds - 1) / rounds))
if ! command -v dnsmasq >/dev/null || ! command -v etcd >/dev/null; then scripts/deps.sh >/dev/null; fi
bin=$PWD/build/bin
for b in berthd berth-runtime catalog_latency; do
  [ -x "$bin/$b" ] || { echo "build $b first: cmake --build build --target berthd berth-runtime catalog_latency" >&2; exit 1; }
done
source bench/lib.sh
# On disk, not tmpfs: the fsyncs are part of what is measured.
work=$(mktemp -d /var/tmp/berth-bench-catalog.XXXXXX)
cleanup() {
  set +e
  [ -n "${dnsmasq_pid:-}" ] && kill "$dnsmasq_pid" 2>/dev/null && wait "$dnsmasq_pid" 2>/dev/null
  berthd_stop_all
  etcd_stop
  rm -rf "$work"
}
trap cleanup EXIT

etcd_start "$work/etcd"
embedded_dns=$(port)
berthd_start berthd-embedded 0 --dns-listen "127.0.0.1:$embedded_dns"
etcd_dns=$(port)
berthd_start berthd-etcd 1 --dns-listen "127.0.0.1:$etcd_dns" --store "etcd://$etcd_endpoint"
mkdir "$work/hosts"
dnsmasq_port=$(port)
# -k: stay in the foreground; no resolv.conf, no /etc/hosts, no upstream: only the hosts
# files, NXDOMAIN for other names under service.berth.
dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --pid-file= --user=root --group=root \
  --listen-address=127.0.0.1 --bind-interfaces --port="$dnsmasq_port" \
  --local=/service.berth/ --hostsdir="$work/hosts" --log-facility="$work/dnsmasq.log" &
dnsmasq_pid=$!
for _ in $(seq 50); do
  dig +time=1 +tries=1 @127.0.0.1 -p "$dnsmasq_port" lat.service.berth >/dev/null 2>&1 && break
  sleep 0.1
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# One file of samples per target and metric: $work/samples/TARGET.METRIC, microseconds.
mkdir "$work/samples"
record() {  # TARGET: the driver's "METRIC US" lines on stdin
  while read -r metric us; do echo "$us" >>"$work/samples/$1.$metric"; done
}
drive() {  # TARGET MODE ARGS…
  local target=$1
  shift
  "$bin/catalog_latency" "$@" >"$work/out" || { echo "catalog_latency $*: failed" >&2; exit 1; }
  record "$target" <"$work/out"
}
for _ in $(seq "$rounds"); do
  drive berthd-embedded dns "$(berthd_socket berthd-embedded)" "127.0.0.1:$embedded_dns" "$per_round"
  drive berthd-etcd dns "$(berthd_socket berthd-etcd)" "127.0.0.1:$etcd_dns" "$per_round"
  drive dnsmasq-hostsdir hostsdir "$work/hosts" "127.0.0.1:$dnsmasq_port" "$per_round"
  drive berthd-embedded watch "$(berthd_socket berthd-embedded)" "$per_round"
  drive berthd-etcd watch "$(berthd_socket berthd-etcd)" "$per_round"
  drive etcd-watch etcd-watch "$etcd_endpoint" "$per_round"
done

ms() {  # PERCENTILE FILE: in milliseconds
  percentile "$1" <"$2" | awk '{ if ($1 == "-") print "-"; else printf "%.2f", $1 / 1000 }'
}
echo "$rounds rounds of $per_round changes per target; $(nproc) cores; load average before: $load_before"
printf '%-16s %-17s %5s %8s %8s %8s  %s\n' metric target n p50_ms p99_ms max_ms goal
row() {  # METRIC-LABEL TARGET SAMPLE-METRIC [GOAL]: the goal is berthd's
  local f=$work/samples/$2.$3 goal=${4:-}
  [ -s "$f" ] || return 0
  [[ $2 == berthd* ]] || goal=""
  printf '%-16s %-17s %5s %8s %8s %8s  %s\n' "$1" "$2" "$(wc -l <"$f")" "$(ms 50 "$f")" \
    "$(ms 99 "$f")" "$(ms 100 "$f")" "$goal"
}
for t in berthd-embedded berthd-etcd dnsmasq-hostsdir; do row "register->DNS" "$t" register_dns "p99 ≤ 50 ms"; done
for t in berthd-embedded berthd-etcd dnsmasq-hostsdir; do row "register ack" "$t" register_ack; done
for t in berthd-embedded berthd-etcd dnsmasq-hostsdir; do row "deregister->DNS" "$t" deregister_dns; done
for t in berthd-embedded berthd-etcd dnsmasq-hostsdir; do row "deregister ack" "$t" deregister_ack; done
for t in berthd-embedded berthd-etcd etcd-watch; do row "watch" "$t" watch "≤ 100 ms"; done
row "put ack" etcd-watch put_ack
