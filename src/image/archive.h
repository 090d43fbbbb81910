#pragma once
// Moving images in and out of the store in the formats the ecosystem uses:
//   docker-archive  `docker save`/`podman save`: manifest.json, <config>.json,
//                   <layer>/layer.tar (or blobs/sha256/<hex> as docker 25+ writes)
//   oci-archive     an OCI image layout in a tar: oci-layout, index.json, blobs/sha256/*
// Archives may themselves be gzip/zstd compressed; layers may be uncompressed, gzip or
// zstd. Every blob is verified: OCI blobs against their names, docker layers against the
// config's diff_ids, and nothing becomes visible until the whole image is in the store.

#include <string>
#include <vector>

#include "common/result.h"
#include "image/archive_stream.h"
#include "image/image_store.h"

namespace berth::image {

// `path` "-" reads stdin. Each image's layers are unpacked into snapshots before the image
// becomes visible. Returns the images loaded, with their names.
Result<std::vector<ImageRecord>> loadArchive(ImageStore& store, const std::string& path);
// The same from a stream (no seeking); `label` names it in messages ("'x.tar'", "stdin").
Result<std::vector<ImageRecord>> loadArchive(ImageStore& store, const ByteReader& read,
                                             const std::string& label);

enum class ArchiveFormat { kDocker, kOci };
// Writes `refs` (names or ids) to `path` ("-" for stdout). Layers stored compressed are
// written uncompressed in a docker-archive, as docker does.
Status saveArchive(const ImageStore& store, const std::vector<std::string>& refs,
                   const std::string& path, ArchiveFormat format);
// The same to a stream. Every ref is resolved before the first byte is written; an error
// of `write` stops the save.
Status saveArchive(const ImageStore& store, const std::vector<std::string>& refs,
                   const ByteWriter& write, const std::string& label, ArchiveFormat format);

}  // namespace berth::image
