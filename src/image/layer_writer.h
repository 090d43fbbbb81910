#pragma once
// The reverse of layer.h: a directory becomes a layer (an uncompressed tar) in the content
// store. Used by `berth build`: the upper directory of a RUN step's overlay, or a
// directory COPY filled, is the layer's change set.
//
// Overlay upper directories carry deletions the way overlayfs writes them: a 0/0
// character device NAME means "NAME was deleted" → tar entry ".wh.NAME"; a directory with
// the xattr trusted.overlay.opaque="y" replaced the lower one → its entries plus
// "DIR/.wh..wh..opq". Other device nodes are written as device entries.
//
// The tar is reproducible: entries sorted by name, uid/gid/mode/mtime/xattrs (user.* and
// security.capability) from the files, no atime/ctime, PAX format; so the same tree gives
// the same diff_id, which the build cache relies on.

#include <string>

#include "common/result.h"
#include "image/content_store.h"

namespace berth::image {

enum class SourceKind { kPlain, kOverlayUpper };

// Writes the tar into the store; the returned digest is the layer's diff_id (the blob is
// uncompressed). An empty directory gives a valid empty layer.
Result<BlobInfo> writeLayer(const ContentStore& store, const std::string& dir, SourceKind kind);

}  // namespace berth::image
