#pragma once
// Where `berth template` gets its data and hears of changes: berthd's native API (kv and
// the service catalog, native_api.md).
//
// Watching (--watch) never misses a change: the kv watch stream is open before the first
// render reads anything, and each service is watched with a blocking query from the index
// the render read it at, so whatever changes after a read comes back as an event. After a
// reconnection everything is read again (a resync). Events the loop finds irrelevant (a
// key no template read) are dropped; a spurious render only costs a read, since outputs
// are written only when their content changes.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/berth/client.h"
#include "cli/berth/kv_crypto.h"
#include "cli/berth/template.h"

namespace berth::cli::tmpl {

// The data of one render round, from berthd. Thread-compatible (the loop's thread).
class ApiSource : public DataSource {
 public:
  // `secret`: the key of --key-file, for values written with `berth kv put --encrypt`.
  ApiSource(Api& api, std::optional<SecretKey> secret) : api_(api), secret_(std::move(secret)) {}

  // Forgets what the last round read: a round reads everything once, afresh.
  void newRound();

  Result<std::optional<std::string>> key(const std::string& key) override;
  Result<std::vector<KeyValue>> list(const std::string& prefix) override;
  Result<std::vector<ServiceInstance>> service(const std::string& name) override;

  // The catalog index each service was read at in this round.
  const std::map<std::string, int64_t>& serviceIndexes() const { return indexes_; }

 private:
  Result<std::string> plain(const std::string& key, const std::string& base64) const;

  Api& api_;
  std::optional<SecretKey> secret_;
  std::map<std::string, std::optional<std::string>> keys_;
  std::map<std::string, std::vector<KeyValue>> lists_;
  std::map<std::string, std::vector<ServiceInstance>> services_;
  std::map<std::string, int64_t> indexes_;
};

// What changed since the loop last looked; filled by the watcher threads and the signal
// handler's thread. Thread-safe.
class ChangeQueue {
 public:
  struct Batch {
    std::vector<std::string> keys;  // kv keys put or deleted
    std::set<std::string> services;
    bool resync = false;  // a watch (re)connected: anything may have changed
    bool stop = false;    // SIGINT or SIGTERM
  };
  void key(std::string key);
  void service(std::string name);
  void resync();
  void stop();
  // Waits until something is queued or `deadline` passes (none: no limit), and takes it.
  Batch take(std::optional<std::chrono::steady_clock::time_point> deadline);

 private:
  bool pendingLocked() const;

  std::mutex mu_;
  std::condition_variable cv_;
  Batch batch_;  // GUARDED_BY(mu_)
};

// Follows kv changes under `prefix` on a thread of its own, for as long as the process
// runs: every event's key goes to `queue`, and after each connection (the first one too)
// a resync. A failure is reported on stderr once and retried with back-off (1 s to 30 s).
void watchKv(std::unique_ptr<Api> api, std::string prefix, std::shared_ptr<ChangeQueue> queue);

// Follows `service` with blocking queries from catalog index `index`, on a thread of its
// own: each change goes to `queue`. Failures as for watchKv.
void watchService(std::unique_ptr<Api> api, std::string service, int64_t index,
                  std::shared_ptr<ChangeQueue> queue);

// The instance objects of GET /v1/catalog/services/NAME as the template sees them.
Result<std::vector<ServiceInstance>> instancesFromJson(const nlohmann::json& answer);

}  // namespace berth::cli::tmpl
