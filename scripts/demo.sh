#!/usr/bin/env bash
# The main job: set up, build, make a busybox bundle and run a container in it with
# berth-runtime, showing its isolation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
rt=$PWD/build/bin/berth-runtime
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/busybox-rootfs.sh "$work/bundle/rootfs"
cd "$work/bundle"
"$rt" spec
# The safe default spec, plus a command, a hostname and a 64 MiB memory limit.
script='echo "hello from a berth container"
echo "pid: $$   hostname: $(hostname)   user: $(id -u)"
echo "network interfaces: $(ls /sys/class/net | tr "\n" " ")"
echo "memory limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"
echo "processes:"; ps -o pid,user,comm; exit 0'
jq --arg s "$script" '.process.args = ["sh", "-c", $s] | .process.terminal = false
  | .hostname = "berth-demo" | .linux.resources.memory = {"limit": 67108864}' config.json > config.new
mv config.new config.json
echo "\$ berth-runtime run demo-$$"
"$rt" --root "$work/state" run "demo-$$"
