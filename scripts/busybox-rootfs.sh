#!/usr/bin/env bash
# Makes a minimal root filesystem at DIR from Debian's busybox-static: /bin/busybox, one
# link per applet, and the directories a container expects.
set -euo pipefail
dir=${1:?usage: busybox-rootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "busybox-rootfs: $bb is missing: install busybox-static" >&2; exit 1; }
mkdir -p "$dir"/{bin,dev,proc,sys,etc,tmp,root,run,var,usr/bin,sbin}
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$dir/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/false" >> "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
