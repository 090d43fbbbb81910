#!/usr/bin/env bash
# Loading and saving a ~100 MB image of 5 layers (busybox + 4 layers of 24 MiB of random
# data, uncompressed docker-archive): berth vs podman (overlay storage) vs skopeo, side by
# side with hyperfine. Then berth's layer unpack against GNU tar and the disk's write speed:
# bench/layer_unpack.sh (BENCH_CHRT=1 reaches it).
# Usage: bash bench/image_load_save.sh [RUNS]   (as root, after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
scripts/deps.sh >/dev/null
berth=$PWD/build/bin/berth
[ -x "$berth" ] || scripts/build.sh
work=$(mktemp -d /var/tmp/berth-bench-img.XXXXXX)
cleanup() {
  set +e
  [ -n "${berthd_pid:-}" ] && kill "$berthd_pid" && wait "$berthd_pid"
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/containers.conf" <<'CONF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$work/containers.conf
podman="podman --root $work/pm/storage --runroot $work/pm/run --tmpdir $work/pm/tmp --storage-driver overlay"

# The archive: config + manifest.json + 5 uncompressed layers.
mkdir -p "$work/arch" "$work/l0"
scripts/busybox-rootfs.sh "$work/l0" >/dev/null
tar -C "$work/l0" -cf "$work/arch/l0.tar" .
layers='"l0.tar"'
for i in 1 2 3 4; do
  mkdir -p "$work/l$i/data"
  head -c $((24 << 20)) /dev/urandom > "$work/l$i/data/blob$i"
  tar -C "$work/l$i" -cf "$work/arch/l$i.tar" .
  layers="$layers,\"l$i.tar\""
done
diff_ids=$(for i in 0 1 2 3 4; do printf '"sha256:%s",' "$(sha256sum "$work/arch/l$i.tar" | cut -d' ' -f1)"; done)
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "${diff_ids%,}" > "$work/arch/config.json"
printf '[{"Config":"config.json","RepoTags":["bench/big:1"],"Layers":[%s]}]' "$layers" > "$work/arch/manifest.json"
tar -C "$work/arch" -cf "$work/big.tar" manifest.json config.json l0.tar l1.tar l2.tar l3.tar l4.tar
size_mb=$(( $(stat -c %s "$work/big.tar") / 1000000 ))
echo "image: 5 layers, ${size_mb} MB docker-archive"

# berth's images are berthd's: one of its own, on its own root, bridge and table. A load is
# timed from the CLI's start to the image being stored; `rmi` before each run removes the
# image with its blobs and snapshots (nothing else uses them), so every load is a cold one.
export BERTH_HOST=unix://$work/berth.sock
"$PWD/build/bin/berthd" --root "$work/b" --exec-root "$work/run" --socket "$work/berth.sock" \
  --bridge bbench2 --bip 172.30.254.1/24 --nft-table berth_bench2 --cleanup 2>"$work/berthd.log" &
berthd_pid=$!
for _ in $(seq 50); do $berth version >/dev/null 2>&1 && break; sleep 0.1; done
reset_berth="$berth rmi bench/big:1 >/dev/null 2>&1 || true"
reset_podman="$podman rmi -af >/dev/null 2>&1 || true; rm -rf $work/pm"
hyperfine --runs "$runs" --export-json "$work/load.json" \
  -n "berth load" --prepare "$reset_berth" "$berth load -q -i $work/big.tar" \
  -n "podman load" --prepare "$reset_podman" "$podman load -q -i $work/big.tar" >/dev/null
# Stores to save from.
$berth load -q -i "$work/big.tar"
$podman load -q -i "$work/big.tar" >/dev/null
hyperfine --runs "$runs" --export-json "$work/save.json" \
  -n "berth save" --prepare "rm -f $work/out.tar" "$berth save -o $work/out.tar bench/big:1" \
  -n "podman save" --prepare "rm -f $work/out.tar" "$podman save -q -o $work/out.tar bench/big:1" \
  -n "skopeo copy" --prepare "rm -f $work/out.tar" "skopeo copy -q docker-archive:$work/big.tar docker-archive:$work/out.tar:bench/big:1" >/dev/null

report() {  # file, reference name
  jq -r '.results[] | "\(.command) \(.median)"' "$1" | while read -r a b median; do
    echo "$a $b $median"
  done > "$work/m"
  local ours; ours=$(awk 'NR==1{print $3}' "$work/m")
  while read -r a b median; do
    awk -v n="$a $b" -v m="$median" -v o="$ours" 'BEGIN{printf "  %-12s %8.0f ms   %5.2fx berth\n", n, m*1000, m/o}'
  done < "$work/m"
}
echo "load (median of $runs):"; report "$work/load.json"
echo "save (median of $runs):"; report "$work/save.json"

bash bench/layer_unpack.sh "$runs"
