#pragma once
// `berth import`: a root filesystem tarball (uncompressed, gzip, zstd or xz) becomes a
// one-layer image, with Dockerfile-style changes to its config (CMD, ENTRYPOINT, ENV,
// WORKDIR, USER, EXPOSE, LABEL).

#include <string>
#include <vector>

#include "common/result.h"
#include "image/archive_stream.h"
#include "image/image_store.h"

namespace berth::image {

// Applies one change ("CMD [\"sh\"]", "CMD=sh -c x", "ENV A=b", "WORKDIR=/app") to an
// image config's "config" object. An unknown instruction is an error naming it.
Status applyChange(nlohmann::json& config, const std::string& change);

// `path` "-" reads stdin. The layer is stored uncompressed (its digest is its diff_id) and
// unpacked into its snapshot — which refuses "../" entries, device nodes… — before the
// image becomes visible. A non-empty `message` becomes the history entry's comment.
Result<ImageRecord> importRootfs(ImageStore& store, const std::string& path,
                                 const std::string& name, const std::vector<std::string>& changes,
                                 const std::string& message = "");
// The same from a stream; `label` names it in messages, `size` (0: unknown) is for
// progress.
Result<ImageRecord> importRootfs(ImageStore& store, const ByteReader& read,
                                 const std::string& label, uint64_t size, const std::string& name,
                                 const std::vector<std::string>& changes,
                                 const std::string& message);

}  // namespace berth::image
