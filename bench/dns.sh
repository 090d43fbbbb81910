#!/usr/bin/env bash
# DNS queries per second side by side in one run (issue 7):
#   berthd    berthd's host DNS listener (--dns-listen) answering the catalog's zone, the
#             instances registered through its API (PUT /v1/catalog/services/NAME); a
#             private berthd (bench/lib.sh) with the serving threads berthd chooses (one
#             per core, at most 4);
#   dnsmasq   Debian's dnsmasq serving the same records (--host-record, --srv-host), made
#             from the same list.
# Both listen on loopback on free ports; before any load, every query of the mix is asked
# of both with dig and their answers compared. The same load generator (bench/dns_load.cc)
# then drives each in turn: ROUNDS rounds of SECONDS per server and workload, the median
# reported. The generator runs one thread per core, SOCKETS sockets each with WINDOW
# queries in flight. Besides queries/s, the CPU time each server process was charged per
# answered query (utime + stime from /proc/PID/stat): the machine is shared, and what else
# runs moves throughput much more than it moves CPU per query.
# Workloads:
#   a    web.service.berth A (3 instances)
#   mix  web A, web SRV (3 targets in the additional section), v1.web A (a tag),
#        _api._tcp SRV, 0a590005.addr.berth A, nope.service.berth A (NXDOMAIN)
# Usage: bash bench/dns.sh [SECONDS] [ROUNDS] [SOCKETS] [WINDOW]
#   (as root, after: cmake --build build --target berthd berth-runtime dns_load)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
rounds=${2:-3}
sockets=${3:-2}
window=${4:-32}
cores=$(nproc)
command -v dnsmasq >/dev/null || scripts/deps.sh >/dev/null
bin=$PWD/build/bin
for b in berthd berth-runtime dns_load; do
  [ -x "$bin/$b" ] || { echo "build $b first: cmake --build build --target berthd berth-runtime dns_load" >&2; exit 1; }
done
source bench/lib.sh
work=$(mktemp -d /tmp/berth-bench-dns.XXXXXX)
cleanup() {
  set +e
  [ -n "${dnsmasq_pid:-}" ] && kill "$dnsmasq_pid" 2>/dev/null && wait "$dnsmasq_pid" 2>/dev/null
  berthd_stop_all
  rm -rf "$work"
}
trap cleanup EXIT

# The catalog: SERVICE ADDRESS PORT [TAGS].
cat >"$work/instances" <<'EOF'
web 10.89.0.2 80 v1
web 10.89.0.3 8080 v2
web 10.89.0.4 80 v1
api 10.89.0.5 9000
api 10.89.0.6 9000
db 10.89.0.9 5432
EOF

# The same records for dnsmasq, TTL 0 as berth's: A for NAME, TAG.NAME and the addr.berth
# names; SRV for NAME, TAG.NAME and _NAME._tcp (priority 1, weight 1, the addr.berth target).
awk '
  function hex(ip,   o) { split(ip, o, "."); return sprintf("%02x%02x%02x%02x", o[1], o[2], o[3], o[4]) }
  function srv(name) { printf "--srv-host=%s.service.berth,%s.addr.berth,%s,1,1\n", name, hex($2), $3 }
  {
    printf "--host-record=%s.service.berth,%s,0\n", $1, $2
    if (!seen[$2]++) printf "--host-record=%s.addr.berth,%s,0\n", hex($2), $2
    srv($1); srv("_" $1 "._tcp")
    n = split($4, tags, ",")
    for (i = 1; i <= n; i++) { printf "--host-record=%s.%s.service.berth,%s,0\n", tags[i], $1, $2; srv(tags[i] "." $1) }
  }' "$work/instances" >"$work/dnsmasq.conf.args"

berthd_port=$(port)
berthd_start berthd 0 --dns-listen "127.0.0.1:$berthd_port"
# Registered through the API, as a user would: ids SERVICE-N.
n=0
while read -r service address svc_port tags; do
  body=$(jq -nc --arg id "$service-$n" --arg a "$address" --argjson p "$svc_port" --arg t "${tags:-}" \
    '{id: $id, address: $a, port: $p, tags: ($t | split(",") | map(select(. != "")))}')
  curl -sf --unix-socket "$(berthd_socket berthd)" -X PUT -H 'Content-Type: application/json' \
    -d "$body" "http://berth/v1/catalog/services/$service" >/dev/null
  n=$((n + 1))
done <"$work/instances"
dnsmasq_port=$(port)
# -k: stay in the foreground; no resolv.conf, no /etc/hosts, no upstream: only these records,
# NXDOMAIN for other names under the two domains.
mapfile -t records <"$work/dnsmasq.conf.args"
dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --pid-file= --user=root --group=root \
  --listen-address=127.0.0.1 --bind-interfaces --port="$dnsmasq_port" \
  --local=/service.berth/ --local=/addr.berth/ --log-facility="$work/dnsmasq.log" \
  "${records[@]}" &
dnsmasq_pid=$!

servers=(berthd dnsmasq)
declare -A target=([berthd]=127.0.0.1:$berthd_port [dnsmasq]=127.0.0.1:$dnsmasq_port)
declare -A pid=([berthd]=${berthd_pid[berthd]} [dnsmasq]=$dnsmasq_pid)
for server in "${servers[@]}"; do
  for _ in $(seq 50); do
    dig +time=1 +tries=1 @127.0.0.1 -p "${target[$server]#*:}" web.service.berth >/dev/null 2>&1 && break
    sleep 0.1
  done
done

declare -A workload=(
  [a]="web.service.berth/A"
  [mix]="web.service.berth/A web.service.berth/SRV v1.web.service.berth/A _api._tcp.service.berth/SRV 0a590005.addr.berth/A nope.service.berth/A"
)

# Both must give the same answers (as sets: each orders its own way) and the same status.
answers() {  # SERVER NAME TYPE
  local out
  out=$(dig +time=2 +tries=1 @127.0.0.1 -p "${target[$1]#*:}" "$2" "$3")
  echo "$out" | grep -o 'status: [A-Z]*'
  echo "$out" | awk '/^;; (ANSWER|ADDITIONAL) SECTION/ { s = 1; next } /^$/ { s = 0 } s && !/OPT/' |
    awk '{ $2 = ""; print }' | sort
}
for q in ${workload[mix]}; do
  name=${q%/*} type=${q#*/}
  if ! diff <(answers berthd "$name" "$type") <(answers dnsmasq "$name" "$type") >"$work/diff"; then
    echo "berthd and dnsmasq answer $name $type differently (< berthd, > dnsmasq):" >&2
    cat "$work/diff" >&2
    exit 1
  fi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
field() { grep -o "$1=[0-9]*" <<<"$2" | cut -d= -f2; }
hz=$(getconf CLK_TCK)

declare -A qps p50 p99 cpu
for w in a mix; do
  declare -A rates=() p50s=() p99s=() cpus=()
  for _ in $(seq "$rounds"); do
    for server in "${servers[@]}"; do
      before=$(cpu_ticks "${pid[$server]}")
      # shellcheck disable=SC2086
      line=$("$bin/dns_load" "${target[$server]}" "$secs" "$cores" "$sockets" "$window" ${workload[$w]})
      after=$(cpu_ticks "${pid[$server]}")
      answered=$(field answered "$line")
      if [ "$(field other "$line")" != 0 ] || [ "$answered" = 0 ]; then
        echo "$server $w: $line" >&2
        exit 1
      fi
      rates[$server]+=" $(field qps "$line")"
      p50s[$server]+=" $(field p50_us "$line")"
      p99s[$server]+=" $(field p99_us "$line")"
      # The load's 0.3 s warm-up is charged too: count its answers in at the same rate.
      cpus[$server]+=" $(awk -v t=$((after - before)) -v hz="$hz" -v n="$answered" -v s="$secs" \
        'BEGIN { printf "%.2f", t / hz * 1e6 / (n * (s + 0.3) / s) }')"
    done
  done
  for server in "${servers[@]}"; do
    qps[$server,$w]=$(median <<<"${rates[$server]}")
    p50[$server,$w]=$(median <<<"${p50s[$server]}")
    p99[$server,$w]=$(median <<<"${p99s[$server]}")
    cpu[$server,$w]=$(median <<<"${cpus[$server]}")
  done
done

echo "medians of $rounds rounds of $secs s each; load: $cores threads x $sockets sockets x $window queries in flight; $cores cores; load average before: $load_before"
printf '%-9s %-8s %9s %8s %8s %13s %11s\n' workload server queries/s p50_us p99_us cpu_us/query "vs dnsmasq"
for w in a mix; do
  for server in "${servers[@]}"; do
    printf '%-9s %-8s %9s %8s %8s %13s %10.2fx\n' "$w" "$server" "${qps[$server,$w]}" \
      "${p50[$server,$w]}" "${p99[$server,$w]}" "${cpu[$server,$w]}" \
      "$(awk -v a="${qps[$server,$w]}" -v b="${qps[dnsmasq,$w]}" 'BEGIN { print a / b }')"
  done
done
