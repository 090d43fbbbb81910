#pragma once
// Unpacked layers ("snapshots"), one directory per layer in the overlay format, keyed by
// the layer's chain id (OCI image spec: chain(L0) = diff_id(L0), chain(Ln) =
// sha256(chain(Ln-1) + " " + diff_id(Ln))), so images that share a base share its
// snapshots.
//
// Layout under <root>/snapshots:
//   <chainid hex>/     the layer's files (whiteouts as overlayfs expects them); never changed
//   tmp-<pid>-<n>/     an unpack in progress; renamed into place when complete, so a crash
//                      leaves either nothing or a whole snapshot (leftovers go at gc)

#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "image/image_store.h"

namespace berth::image {

std::vector<Digest> chainIds(const std::vector<Digest>& diff_ids);

class Snapshotter {
 public:
  explicit Snapshotter(std::string root) : dir_(std::move(root) + "/snapshots") {}

  // Unpacks each layer of `image` that has no snapshot yet, checking it against the
  // config's diff_id. Returns the snapshot directories top layer first (overlay order).
  Result<std::vector<std::string>> prepare(const ImageStore& store, const ImageRecord& image) const;
  // The same for an image not yet added: its manifest and config blobs must be stored.
  // Loading unpacks before the image becomes visible, so that a layer that fails to unpack
  // (a "../" entry, a device node, a wrong diff_id) leaves no image behind.
  Result<std::vector<std::string>> prepareManifest(const ImageStore& store,
                                                   const std::string& manifest_json) const;
  // Removes snapshots whose chain id is not in `keep`, and unpack leftovers.
  Result<size_t> removeExcept(const std::set<std::string>& keep_hex) const;

 private:
  std::string dir_;
};

// The chain ids (hex) of every image in the store: what gc must keep.
Result<std::set<std::string>> chainIdsInUse(const ImageStore& store);

}  // namespace berth::image
