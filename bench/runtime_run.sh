#!/usr/bin/env bash
# berth-runtime run vs crun run vs runc run of /bin/true on the same busybox bundle
# (berth's default spec: new pid/net/ipc/uts/mount/cgroup namespaces, seccomp, masked
# paths), 50 runs each in one go, with hyperfine. Prints medians and ratios.
# Usage: bash bench/runtime_run.sh [RUNS]   (as root, after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
scripts/deps.sh >/dev/null
rt=$PWD/build/bin/berth-runtime
[ -x "$rt" ] || scripts/build.sh
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$rt" spec --bundle "$work/bundle"
jq '.process.args = ["/bin/true"] | .process.terminal = false' "$work/bundle/config.json" > "$work/c"
mv "$work/c" "$work/bundle/config.json"

# crun 1.8 refuses the hybrid cgroup layout while hugetlb sits on the v2 mount
# (../shared/reference/machine-notes.md): give hugetlb a v1 hierarchy, as the notes say.
if [ -d /sys/fs/cgroup/unified ] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mountpoint -q /sys/fs/cgroup/hugetlb || mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi

cd "$work/bundle"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/out.json" \
  -n berth-runtime "$rt --root $work/berth run bench-berth" \
  -n crun "crun --root $work/crun run bench-crun" \
  -n runc "runc --root $work/runc run bench-runc" >/dev/null
jq -r '.results[] | "\(.command) \(.median)"' "$work/out.json" > "$work/medians"
berth=$(awk '$1=="berth-runtime"{print $2}' "$work/medians")
printf '%-14s %10s %14s\n' runtime "median ms" "vs berth"
while read -r name median; do
  awk -v n="$name" -v m="$median" -v b="$berth" 'BEGIN{printf "%-14s %10.2f %13.2fx\n", n, m*1000, m/b}'
done < "$work/medians"
