#pragma once
// The host's images: blobs in a ContentStore, names and image records in SQLite.
//
// Layout under <root> (default /var/lib/berth):
//   blobs/sha256/<hex>, ingest/      ContentStore (manifests, configs, layers)
//   images.db                        SQLite, schema version 1:
//     images(id TEXT PRIMARY KEY      config digest hex — the image ID, as Docker's
//            manifest TEXT NOT NULL   manifest digest hex
//            created INTEGER)         when it was added (unix seconds)
//     tags(name TEXT PRIMARY KEY      normalised NAME:TAG
//          image TEXT NOT NULL REFERENCES images(id))
//
// Crash safety: every blob is written (and fsynced) before the one transaction that makes
// an image visible; a crash in between leaves only unreferenced blobs, which gc() removes.
// Single-writer per process; SQLite serialises writers across processes.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "image/content_store.h"
#include "image/sqlite.h"

namespace berth::image {

namespace media {
constexpr const char* kManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kIndex = "application/vnd.oci.image.index.v1+json";
constexpr const char* kConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kLayer = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media

struct ImageRecord {
  Digest id;        // config digest
  Digest manifest;  // manifest digest
  std::vector<std::string> tags;
  int64_t added = 0;
};

struct GcStats {
  size_t blobs_removed = 0;
  uint64_t bytes_freed = 0;
};

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(const std::string& root);
  // Another handle on the same open store, with its own SQLite connection, for a long
  // operation on another thread. Unlike open(), it leaves ingest/ alone (writes of other
  // handles may be in progress there).
  Result<std::unique_ptr<ImageStore>> another() const;

  const ContentStore& content() const { return content_; }
  const std::string& root() const { return root_; }

  // Makes an image visible: `manifest_json` is stored as a blob after checking that it is
  // an OCI (or Docker v2) image manifest whose config and layers are all in the store;
  // then, in one transaction, the image record is added and each of `names` (already
  // normalised) points at it (a name moves from whatever image had it).
  Result<ImageRecord> addImage(const std::string& manifest_json,
                               const std::vector<std::string>& names);

  // A name (normalised here), a full or short image id, or a manifest digest.
  Result<ImageRecord> resolve(const std::string& ref) const;
  Result<std::vector<ImageRecord>> list() const;
  Result<nlohmann::json> manifest(const ImageRecord& image) const;
  Result<nlohmann::json> config(const ImageRecord& image) const;

  Status tag(const std::string& ref, const std::string& new_name);
  // Docker's rmi: a name removes that name, and the image with its last name; an id
  // removes the image, which must have at most one name unless `force`. Returns what was
  // untagged and deleted, one line each ("Untagged: x", "Deleted: sha256:…").
  Result<std::vector<std::string>> remove(const std::string& ref, bool force);
  // Removes one name (normalised); the image stays, even without a name.
  Status untag(const std::string& name);
  // Removes every blob no image references (and leftovers of interrupted writes).
  Result<GcStats> gc();

 private:
  ImageStore(std::string root, std::unique_ptr<Db> db)
      : root_(std::move(root)), content_(root_), db_(std::move(db)) {}
  Result<ImageRecord> byId(const std::string& id_hex) const;

  std::string root_;
  ContentStore content_;
  std::unique_ptr<Db> db_;
};

// Parses a manifest and returns (config digest, layer digests), checking its shape.
struct ManifestRefs {
  Digest config;
  std::vector<Digest> layers;
  std::vector<std::string> layer_media_types;
};
Result<ManifestRefs> parseManifest(const std::string& manifest_json);

}  // namespace berth::image
