#pragma once
// Applying a layer (a tar stream, uncompressed or gzip/zstd/xz compressed: libarchive
// detects which) onto a directory, the way the OCI image spec defines changesets:
//   - ".wh.NAME" deletes NAME of the layers below (the whiteout itself is not written);
//   - ".wh..wh..opq" in a directory hides everything the layers below put there;
//   - every other entry is created or replaces what is there (a directory over a
//     directory merges).
// Safety, since layers come from anywhere: no entry may land outside `dir`, whatever its
// name ("../", absolute paths) or the symlinks already in `dir` (each path is resolved
// inside `dir`, never following a link out of it); hard links must point inside the
// layer's tree; device nodes are refused; ownership and modes, mtimes and xattrs are
// kept (we run as root). A bad entry fails the whole apply with the entry's name; the
// caller unpacks into a fresh directory and discards it on failure.
//
// Details the spec leaves open, as applied here:
//   - entry names "./x" and "x" are the same; "." and "" (the root itself) are skipped;
//     ".." components and absolute names are refused, never cleaned;
//   - symlinks in an entry's parent path are followed as if `dir` were "/" (so "link/x"
//     with link -> / writes `dir`/x); the entry's own name is never followed: a file over a
//     symlink replaces the link;
//   - a whiteout or opaque marker never hides what the same layer writes, in any tar order;
//   - directories are created 0755 where a layer implies them; directory modes and mtimes are
//     set after the last entry, so writing into them does not disturb them;
//   - unprivileged callers keep files as their own (chown EPERM is ignored when euid != 0);
//     security.* xattrs the host refuses (EPERM, ENOTSUP) are dropped, others must land.
// Errors read "apply layer: entry 'name': cause"; a Reader error keeps its code. Calls on
// different directories may run concurrently; nothing else may change `dir` meanwhile. Each
// call hashes the stream on a helper thread of its own, joined before it returns.

#include <cstdint>
#include <functional>
#include <string>

#include "common/result.h"
#include "image/digest.h"

namespace berth::image {

struct LayerStats {
  Digest diff_id;         // sha256 of the uncompressed tar stream, padding after its end included
  uint64_t tar_size = 0;  // bytes of the uncompressed tar stream
  uint64_t entries = 0;   // tar headers read, whiteouts and skipped ones included
};

// Reads the layer from `read` (fills a buffer, returns bytes read, 0 at end).
using Reader = std::function<Result<size_t>(char* buf, size_t size)>;

// How whiteouts end up on disk:
//   kApply    they delete what the layers below put in `dir` (one directory holds the
//             whole stack: a flattened root);
//   kOverlay  `dir` holds this layer alone, for overlayfs to stack: ".wh.NAME" becomes a
//             0/0 character device NAME and an opaque marker the xattr
//             trusted.overlay.opaque="y" on its directory, as the kernel reads them.
enum class Whiteouts { kApply, kOverlay };

Result<LayerStats> applyLayer(const Reader& read, const std::string& dir,
                              Whiteouts mode = Whiteouts::kApply);
// As applyLayer, reading the file at `path`; errors read "apply layer 'path': …".
Result<LayerStats> applyLayerFile(const std::string& path, const std::string& dir,
                                  Whiteouts mode = Whiteouts::kApply);

}  // namespace berth::image
