#pragma once
// The engine's door to the image store: resolving a reference to an image and its config,
// the snapshot directories of its layers, short changes under one lock, and long
// operations (load, import, build, save) on a handle of their own.
//
// Thread-safety: short operations are serialised by one mutex (the store's SQLite handle
// is single-threaded). A long operation holds a Job: its own store handle (its own SQLite
// connection; SQLite serialises the writers) and no lock, so containers are created while
// it runs. Garbage collection (blobs and snapshots no image references) must not run while
// a Job has written blobs or snapshots that no image references yet: collect() waits for
// the Jobs in flight, or, asked not to wait, is done by the last Job when it ends.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
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
  // Opens the store under `root` and clears <root>/tmp/ (temp dirs of image operations,
  // build contexts, that a crash left behind).
  static Result<std::unique_ptr<ImageAccess>> open(const std::string& root);
  const std::string& root() const { return root_; }

  // kNotFound "no such image: 'x'" for unknown references.
  Result<ResolvedImage> resolve(const std::string& ref);
  Result<ResolvedImage> byId(const std::string& id_hex);
  // Snapshot directories, top layer first (overlay order); unpacks missing ones.
  Result<std::vector<std::string>> layers(const std::string& id_hex);
  Result<size_t> count();

  // Runs `f(store)` under the lock; for short reads and changes.
  template <typename F>
  auto locked(F&& f) {
    std::lock_guard lock(mu_);
    return f(*store_);
  }

  // A long operation's handle. Ending it (destruction) may run a collection that was
  // asked for meanwhile.
  class Job {
   public:
    ~Job();
    Job(const Job&) = delete;
    Job& operator=(const Job&) = delete;
    image::ImageStore& store() { return *store_; }

   private:
    friend class ImageAccess;
    Job(ImageAccess* owner, std::unique_ptr<image::ImageStore> s)
        : owner_(owner), store_(std::move(s)) {}
    ImageAccess* owner_;
    std::unique_ptr<image::ImageStore> store_;
  };
  // Waits while a collection runs.
  Result<std::unique_ptr<Job>> beginJob();

  // Removes blobs and snapshots that no image references; returns the bytes freed. With
  // `wait` false and Jobs in flight it returns 0 at once and the last Job collects.
  Result<uint64_t> collect(bool wait);

  // Runs `fn` once no Job runs, and lets none begin until it returns (as a collection
  // does): the builder's own files (its layer cache, cache mounts) can be removed then.
  template <class F>
  auto whileNoJobs(F&& fn) -> decltype(fn()) {
    beginExclusive(true);
    auto result = fn();
    endExclusive();
    return result;
  }

 private:
  ImageAccess(std::string root, std::unique_ptr<image::ImageStore> s)
      : root_(std::move(root)), store_(std::move(s)) {}
  void endJob();
  Result<uint64_t> collectNow();
  // Waits until no Job runs and no other exclusive section does, then holds new Jobs back
  // until endExclusive. With `wait` false and Jobs in flight it marks a collection pending
  // (the last Job runs it) and returns false instead.
  bool beginExclusive(bool wait);
  void endExclusive();

  std::string root_;
  std::mutex mu_;  // guards store_ (and the snapshot directories while collecting)
  std::unique_ptr<image::ImageStore> store_;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  int jobs_ = 0;             // Jobs in flight
  bool collecting_ = false;  // a collection runs: no Job may begin
  bool pending_ = false;     // a collection was asked for while Jobs ran
};

}  // namespace berth::engine
