#include "engine/image_access.h"

#include "common/strings.h"
#include "image/snapshots.h"

namespace berth::engine {

Result<std::unique_ptr<ImageAccess>> ImageAccess::open(const std::string& root) {
  auto store = BERTH_TRY(image::ImageStore::open(root));
  return std::unique_ptr<ImageAccess>(new ImageAccess(root, std::move(store)));
}

Result<ResolvedImage> ImageAccess::resolve(const std::string& ref) {
  std::lock_guard lock(mu_);
  auto rec = store_->resolve(ref);
  if (!rec) {
    if (rec.error().code() == ErrorCode::kNotFound)
      return notFound("no such image: " + quote(ref) +
                      " (load it with `berth load`, build it or import it first)");
    return rec.error();
  }
  nlohmann::json config = BERTH_TRY(store_->config(*rec));
  return ResolvedImage{rec->id.hex(), std::move(config)};
}

Result<ResolvedImage> ImageAccess::byId(const std::string& id_hex) {
  std::lock_guard lock(mu_);
  auto rec = BERTH_TRY(store_->resolve(id_hex));
  nlohmann::json config = BERTH_TRY(store_->config(rec));
  return ResolvedImage{rec.id.hex(), std::move(config)};
}

Result<std::vector<std::string>> ImageAccess::layers(const std::string& id_hex) {
  std::lock_guard lock(mu_);
  auto rec = BERTH_TRY(store_->resolve(id_hex));
  return image::Snapshotter(root_).prepare(*store_, rec);
}

Result<size_t> ImageAccess::count() {
  std::lock_guard lock(mu_);
  auto all = BERTH_TRY(store_->list());
  return all.size();
}

}  // namespace berth::engine
