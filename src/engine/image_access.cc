#include "engine/image_access.h"

#include "common/strings.h"
#include "image/snapshots.h"
#include "sys/fs.h"

namespace berth::engine {

Result<std::unique_ptr<ImageAccess>> ImageAccess::open(const std::string& root) {
  auto store = BERTH_TRY(image::ImageStore::open(root));
  // Build contexts of builds that a crash interrupted.
  BERTH_RETURN_IF_ERROR(sys::removeAll(root + "/tmp"));
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

Result<std::unique_ptr<ImageAccess::Job>> ImageAccess::beginJob() {
  {
    std::unique_lock lock(jobs_mu_);
    jobs_cv_.wait(lock, [&] { return !collecting_; });
    ++jobs_;
  }
  auto handle = [&] {
    std::lock_guard lock(mu_);
    return store_->another();
  }();
  if (!handle) {
    endJob();
    return handle.error();
  }
  return std::unique_ptr<Job>(new Job(this, std::move(*handle)));
}

ImageAccess::Job::~Job() {
  store_.reset();
  owner_->endJob();
}

void ImageAccess::endJob() {
  {
    std::lock_guard lock(jobs_mu_);
    if (--jobs_ > 0 || !pending_) {
      jobs_cv_.notify_all();
      return;
    }
    pending_ = false;
  }
  // Nobody waits for this result: the rmi that asked has answered already.
  (void)collect(true);
}

bool ImageAccess::beginExclusive(bool wait) {
  std::unique_lock lock(jobs_mu_);
  if (!wait && jobs_ > 0) {
    pending_ = true;
    return false;
  }
  jobs_cv_.wait(lock, [&] { return jobs_ == 0 && !collecting_; });
  collecting_ = true;
  return true;
}

void ImageAccess::endExclusive() {
  {
    std::lock_guard lock(jobs_mu_);
    collecting_ = false;
  }
  jobs_cv_.notify_all();
}

Result<uint64_t> ImageAccess::collect(bool wait) {
  if (!beginExclusive(wait)) return uint64_t{0};
  auto freed = collectNow();
  endExclusive();
  return freed;
}

Result<uint64_t> ImageAccess::collectNow() {
  std::lock_guard lock(mu_);
  auto stats = BERTH_TRY(store_->gc());
  auto keep = BERTH_TRY(image::chainIdsInUse(*store_));
  BERTH_RETURN_IF_ERROR(image::Snapshotter(root_).removeExcept(keep));
  return stats.bytes_freed;
}

}  // namespace berth::engine
