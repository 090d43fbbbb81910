#!/usr/bin/env bash
# The main job: set up, build, make the busybox base image, build an image from a
# Dockerfile on it, and run containers (overlayfs root from the image's layers,
# namespaces, cgroups, seccomp).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
berth=$PWD/build/bin/berth
show() { echo; echo "\$ berth $*"; "$berth" "$@"; }

scripts/busybox-image.sh busybox:latest
show images
show run --rm -h demo --env GREETING=hello busybox sh -c '
echo "$GREETING from a berth container"
echo "pid: $$   hostname: $(hostname)   user: $(id -u)"
echo "network interfaces: $(ls /sys/class/net | tr "\n" " ")"
echo "root filesystem: $(awk '"'"'$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i+1); exit } }'"'"' /proc/self/mountinfo)"
echo "processes:"; ps -o pid,user,comm; exit 0'
show build -t hello examples/hello
show run --rm hello
show history hello

echo; echo "\$ berth save -o busybox.tar busybox   (a docker-archive that docker, podman and skopeo load)"
"$berth" save -o /tmp/berth-demo-busybox.tar busybox
tar -tf /tmp/berth-demo-busybox.tar
rm -f /tmp/berth-demo-busybox.tar
