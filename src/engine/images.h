#pragma once
// What the engine's image methods (Engine::image*, engine.h; images.cc) take and return.
// Shapes follow Docker's image API so that both the native and the Docker handlers are a
// field-by-field translation; ids are "sha256:<hex>" throughout.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::engine {

// Pulls the next bytes of a stream (an HTTP request body): returns how many it put in
// `buf` (at most `size`), 0 at the end, or an error.
using ByteReader = std::function<Result<size_t>(char* buf, size_t size)>;
// Pushes bytes out (an HTTP response body); an error (the client went away) stops the
// operation.
using ByteWriter = std::function<Status(std::string_view data)>;
// Receives one progress line at a time, without a trailing newline ("Step 1/3 : FROM x",
// "Loading layer 1a2b3c4d5e6f 12.3MB"). Called on the caller's thread.
using LineSink = std::function<void(const std::string& line)>;

struct ImageSummary {
  std::string id;                             // "sha256:<hex>" (the config digest)
  std::string parent;                         // "sha256:<hex>" of the build parent, or empty
  std::vector<std::string> repo_tags;         // normalised "NAME:TAG" (docker.io/library/ dropped)
  std::vector<std::string> repo_digests;      // "NAME@sha256:<manifest digest>", one per repo
  int64_t created = 0;                        // unix seconds, from the config's "created"
                                              // (when absent: when it was added to the store)
  int64_t size = 0;                           // bytes: sum of the layer blobs as stored — the
                                              // uncompressed tar for docker archives, builds and
                                              // imports; compressed for OCI archives with gzip or
                                              // zstd layers (docker's Size/VirtualSize)
  std::map<std::string, std::string> labels;  // the config's config.Labels
  int containers = 0;                         // containers (any state) created from it
};

struct ImageDetail {
  ImageSummary summary;
  std::string manifest_digest;        // "sha256:<hex>"
  nlohmann::json config;              // the whole OCI image config (architecture, os, config,
                                      // rootfs, history, created, author…)
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, bottom layer first
  std::string architecture, os, author;
  std::string created_rfc3339;  // the config's "created" as written there
};

// One line of `history`, newest first as docker prints it.
struct ImageHistoryEntry {
  std::string id;       // "sha256:<hex>" of the local image whose top this entry is, or
                        // "<missing>"
  int64_t created = 0;  // unix seconds
  std::string created_by;
  int64_t size = 0;  // bytes of the entry's layer blob; 0 for an empty layer
  std::string comment;
  std::vector<std::string> tags;  // the tags of `id` (empty for "<missing>")
};

// One item of rmi's and prune's reports: exactly one of the two is set.
struct ImageDeleteItem {
  std::string untagged;  // "NAME:TAG"
  std::string deleted;   // "sha256:<hex>"
};

// What a build cache prune removed: the layer cache's keys and the cache mounts' ids
// (hex), and the bytes freed (cache mounts, and layers no image held any more).
struct BuildPruneReport {
  std::vector<std::string> deleted;
  uint64_t space_reclaimed = 0;
};

struct ImagePruneReport {
  std::vector<ImageDeleteItem> deleted;
  uint64_t space_reclaimed = 0;  // bytes of the blobs removed (snapshots not counted)
};

enum class ImageArchiveFormat { kDocker, kOci };

struct ImageImportOptions {
  std::string name;                  // "NAME[:TAG]"; empty: untagged
  std::vector<std::string> changes;  // Dockerfile-style: `CMD ["sh"]`, `ENV A=b`, `CMD=sh`
  std::string message;               // recorded as the history entry's comment
};

struct ImageBuildOptions {
  std::string dockerfile = "Dockerfile";  // path inside the context
  std::vector<std::string> tags;          // "NAME[:TAG]"
  std::map<std::string, std::string> build_args;
  std::string target;  // stage name; empty: the last stage
  bool no_cache = false;
  std::map<std::string, std::string> labels;   // added to the final image's config
  std::map<std::string, std::string> secrets;  // id → content, for RUN --mount=type=secret
};

}  // namespace berth::engine
