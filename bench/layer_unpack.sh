#!/usr/bin/env bash
# Layer unpack against the disk's write speed (issue 3): berth's layer applier
# (build/bin/unpack_layer, which also hashes the stream for its diff_id and resolves every
# path inside the root) beside GNU tar unpacking, and dd writing, the same bytes. Two
# uncompressed layers:
#   one file    a 24 MiB file of random data, like bench/image_load_save.sh's layers: bytes
#               into the page cache, compared with dd (and dd with fsync: the disk itself);
#   many files  3,000 files of 0-64 KiB (median 2 KiB) in 60 directories: file creation,
#               compared with tar.
# The commands take turns, one run each per round (after a warm-up round), so that the
# machine's drift meets them all alike; medians of wall and CPU (user + system) time.
# Every run unpacks into an empty directory. The one-file layer goes to /var/tmp, deleting
# the previous run's output first. The many-file layer goes to a new ext4 on a loop device:
# ext4 skips inode numbers freed in the last hours when it allocates (find_inode_bit ->
# recently_deleted), so on a long-used file system that has seen thousands of files deleted,
# creating files costs whatever tool ~10x more and the difference between tools drowns.
# Usage: bash bench/layer_unpack.sh [RUNS]   (as root, after building unpack_layer; python3
#        writes the layers)
#   UNPACK=PATH times another unpack_layer binary (an older build, to compare).
#   BENCH_CHRT=1 runs it all at SCHED_FIFO priority (the runs and what prepares them: a
#   delete at normal priority leaves work that slows the next run): on a shared machine the
#   other load decides the wall times otherwise, and berth's hashing thread finds no free core.
set -euo pipefail
if [ "${BENCH_CHRT:-0}" = 1 ] && [ "$(chrt -p $$ | grep -c FIFO)" = 0 ]; then
  exec chrt -f 10 bash "$0" "$@"
fi
cd "$(dirname "$0")/.."
runs=${1:-5}
unpack=${UNPACK:-$PWD/build/bin/unpack_layer}
[ -x "$unpack" ] || { echo "layer_unpack: build the unpack_layer target first" >&2; exit 1; }
work=$(mktemp -d /var/tmp/berth-bench-unpack.XXXXXX)
mnt=$work/fs
cleanup() {
  set +e
  mountpoint -q "$mnt" && umount "$mnt"
  rm -rf "$work"
}
trap cleanup EXIT

# Written straight into the tars: no files to make and delete first.
python3 - "$work" <<'PY'
import io, os, random, sys, tarfile, time
def add(tar, name, data=None):
    info = tarfile.TarInfo(name)
    info.mtime = int(time.time())
    if data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
with tarfile.open(os.path.join(sys.argv[1], "one.tar"), "w", format=tarfile.GNU_FORMAT) as tar:
    add(tar, "./")
    add(tar, "./data/")
    add(tar, "./data/blob", os.urandom(24 << 20))
random.seed(3)
with tarfile.open(os.path.join(sys.argv[1], "many.tar"), "w", format=tarfile.GNU_FORMAT) as tar:
    dirs = set()
    for d in range(60):
        path = "./usr/lib/pkg%02d/sub%d" % (d // 3, d % 3)
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            if "/".join(parts[:i]) not in dirs:
                dirs.add("/".join(parts[:i]))
                add(tar, "/".join(parts[:i]) + "/")
        for f in range(50):
            size = min(int(random.lognormvariate(7.6, 1.5)), 64 << 10)
            add(tar, "%s/f%02d" % (path, f), os.urandom(size))
PY

# bench NAME:PREPARE:COMMAND... — runs every COMMAND once per round, after its PREPARE,
# for a warm-up round and $runs timed ones; prints each one's median wall time, MB/s (of
# $mb) and median CPU time, and leaves "name wall" lines in $work/medians.
bench() {
  local t=$work/times round spec name prep cmd
  : > "$t"
  for round in $(seq 0 "$runs"); do
    for spec in "$@"; do
      IFS=: read -r name prep cmd <<< "$spec"
      eval "$prep"
      TIMEFORMAT="$round:$name:%3R %3U %3S"
      { time eval "$cmd" > /dev/null; } 2>> "$t"
    done
  done
  : > "$work/medians"
  for spec in "$@"; do
    name=${spec%%:*}
    grep -v '^0:' "$t" | awk -F: -v n="$name" '$2 == n {print $3}' > "$t.one"
    wall=$(awk '{print $1}' "$t.one" | median)
    cpu=$(awk '{print $2 + $3}' "$t.one" | median)
    awk -v n="$name" -v w="$wall" -v c="$cpu" -v mb="$mb" \
      'BEGIN {printf "  %-14s %7.1f ms  %5.0f MB/s  cpu %6.1f ms\n", n, w * 1000, mb / w, c * 1000}'
    echo "$name $wall" >> "$work/medians"
  done
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio() {  # name a, name b: how fast a runs next to b (b's median time / a's)
  awk -v a="$1" -v b="$2" '{n = $1; for (i = 2; i < NF; ++i) n = n " " $i; t[n] = $NF}
    END {printf "  %s runs at %.2fx the speed of %s\n", a, t[b] / t[a], b}' "$work/medians"
}
suffix=""
[ "${BENCH_CHRT:-0}" = 1 ] && suffix=", SCHED_FIFO"

one=$work/one.tar
mb=$(( $(stat -c %s "$one") / 1000000 ))
echo "unpack of a ${mb} MB layer of one file (median of $runs$suffix):"
bench "berth unpack:rm -rf $work/u; mkdir $work/u:$unpack $one $work/u" \
  "tar -x:rm -rf $work/u; mkdir $work/u:tar -xf $one -C $work/u" \
  "dd:rm -f $work/dd.out:dd if=$one of=$work/dd.out bs=1M status=none" \
  "dd fsync:rm -f $work/dd.out:dd if=$one of=$work/dd.out bs=1M conv=fsync status=none"
ratio "berth unpack" "dd"
ratio "berth unpack" "dd fsync"
ratio "berth unpack" "tar -x"
rm -rf "$work/u" "$work/dd.out"

many=$work/many.tar
mb=$(( $(stat -c %s "$many") / 1000000 ))
files=$(tar -tf "$many" | grep -vc '/$')
truncate -s 2G "$work/fs.img"
mkfs.ext4 -q "$work/fs.img"
mkdir "$mnt"
mount -o loop "$work/fs.img" "$mnt"
n=0
echo "unpack of a ${mb} MB layer of $files files into a new ext4 (median of $runs$suffix):"
bench "berth unpack:n=\$((n + 1)); mkdir $mnt/\$n:$unpack $many $mnt/\$n" \
  "tar -x:n=\$((n + 1)); mkdir $mnt/\$n:tar -xf $many -C $mnt/\$n"
ratio "berth unpack" "tar -x"
