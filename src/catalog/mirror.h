#pragma once
// The in-memory copy of the whole catalog that every daemon keeps (catalog.h), fed by the
// Catalog's Store watch: service → id → Instance, each service's last-change revision and
// the revision the mirror reflects. Readers never wait for the Store.
//
// Thread-safety: every method may be called from any thread at once; load() and apply()
// come from one thread (the watch's), in revision order.

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace berth::catalog {

// The instance a catalog key holds (service and id from the key); nullopt, with a warning
// in the log, for a key or value of another shape.
std::optional<Instance> readInstance(const store::KeyValue& kv);

class Mirror {
 public:
  // Replaces the content with a full read of the catalog at `revision` (after a start or a
  // compacted watch): a service whose instances differ from what the mirror held gets
  // `revision` as its index.
  void load(const std::vector<store::KeyValue>& kvs, store::Revision revision);
  // Applies a watch's events, in order.
  void apply(const std::vector<store::Event>& events);

  store::Revision index() const;
  store::Revision serviceIndex(const std::string& service) const;
  std::vector<ServiceSummary> services() const;
  std::vector<Instance> instances(const std::string& service, bool passing_only,
                                  const std::string& tag) const;
  // See Catalog::waitChange.
  store::Revision waitChange(const std::string& service, store::Revision after,
                             std::chrono::milliseconds timeout,
                             const std::function<bool()>& cancelled);
  void onChange(std::function<void()> fn);

 private:
  struct Service {
    std::map<std::string, Instance> instances;  // by id
    store::Revision index = 0;                  // its last change
  };

  store::Revision indexLocked(const std::string& service) const;
  // Calls the onChange callbacks, then wakes waiters; without mu_ held.
  void changed();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Service> services_;  // GUARDED_BY(mu_); kept when empty (its index)
  store::Revision index_ = 0;                // GUARDED_BY(mu_)

  std::mutex callbacks_mu_;
  std::vector<std::function<void()>> callbacks_;  // GUARDED_BY(callbacks_mu_)
};

}  // namespace berth::catalog
