#!/usr/bin/env bash
# Builds the busybox base image from Debian's busybox-static and imports it into berthd as
# busybox:latest (or NAME). Usage: busybox-image.sh [NAME]; berthd must be running (the
# CLI finds it through $BERTH_HOST or the default socket).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$here/../build/bin/berth}
if [ "${1:-}" = "--root" ]; then
  echo "busybox-image.sh: --root is gone: images are berthd's; start berthd with --root DIR" \
    "and point BERTH_HOST at its socket" >&2
  exit 2
fi
name=${1:-busybox:latest}
work=$(mktemp -d /tmp/berth-busybox.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$here/busybox-rootfs.sh" "$work/rootfs"
# Fixed times and owners: the same busybox gives the same image id.
tar -C "$work/rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/rootfs.tar" .
"$berth" import "$work/rootfs.tar" "$name" --change 'CMD ["sh"]' >/dev/null
echo "built $name"
