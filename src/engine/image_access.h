#pragma once
// The engine's door to the image store: resolving a reference to an image and its config,
// and the snapshot directories of its layers. Serialised by one mutex (the store's SQLite
// handle is single-threaded).

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "image/image_store.h"

namespace berth::engine {

struct ResolvedImage {
  std::string id;  // hex
  nlohmann::json config;
};

class ImageAccess {
 public:
  static Result<std::unique_ptr<ImageAccess>> open(const std::string& root);
  // kNotFound "no such image: 'x'" for unknown references.
  Result<ResolvedImage> resolve(const std::string& ref);
  Result<ResolvedImage> byId(const std::string& id_hex);
  // Snapshot directories, top layer first (overlay order); unpacks missing ones.
  Result<std::vector<std::string>> layers(const std::string& id_hex);
  Result<size_t> count();

 private:
  ImageAccess(std::string root, std::unique_ptr<image::ImageStore> s)
      : root_(std::move(root)), store_(std::move(s)) {}
  std::string root_;
  std::mutex mu_;
  std::unique_ptr<image::ImageStore> store_;
};

}  // namespace berth::engine
