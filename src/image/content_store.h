#pragma once
// Content-addressed blobs, laid out as an OCI image layout's blob directory:
//   <root>/blobs/sha256/<hex>     one file per blob, read-only once written
//   <root>/ingest/                 temp files of writes in progress (cleared at open)
// A blob is verified when written (its sha256 must match the expected digest, if one is
// given, before it becomes visible under its name: write to ingest/, fsync, rename) and
// can be verified when read. Thread-compatible; concurrent writers of the same blob are
// harmless (the rename is atomic and the content identical).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "image/digest.h"

namespace berth::image {

struct BlobInfo {
  Digest digest;
  uint64_t size = 0;
};

class ContentStore {
 public:
  explicit ContentStore(std::string root) : root_(std::move(root)) {}

  // Creates the directories and removes leftovers of interrupted writes.
  Status init() const;

  // Streams a blob in from `read` (returns bytes read, 0 at end). With `expected`, a
  // mismatch is an error ("blob sha256:… does not match its digest: got sha256:…") and
  // nothing is stored.
  using Reader = std::function<Result<size_t>(char* buf, size_t size)>;
  Result<BlobInfo> ingest(const Reader& read, const std::optional<Digest>& expected = {}) const;
  Result<BlobInfo> put(std::string_view data, const std::optional<Digest>& expected = {}) const;

  bool has(const Digest& d) const;
  std::string path(const Digest& d) const;
  Result<uint64_t> size(const Digest& d) const;
  // Reads a whole (small) blob — a manifest or config — and checks its digest.
  Result<std::string> readVerified(const Digest& d) const;
  Status remove(const Digest& d) const;
  Result<std::vector<Digest>> list() const;

 private:
  std::string root_;
};

}  // namespace berth::image
