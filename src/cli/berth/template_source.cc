#include "cli/berth/template_source.h"

#include <cstdio>
#include <thread>

#include "common/base64.h"
#include "common/strings.h"

namespace berth::cli::tmpl {

using nlohmann::json;

namespace {

// Reports a failing watch once (until it works again) and spaces out the retries.
class Backoff {
 public:
  explicit Backoff(std::string what) : what_(std::move(what)) {}

  void failed(const Error& e) {
    if (!reported_)
      std::fprintf(stderr, "berth template: %s: %s (retrying)\n", what_.c_str(),
                   e.message().c_str());
    reported_ = true;
    std::this_thread::sleep_for(delay_);
    delay_ = std::min(delay_ * 2, std::chrono::milliseconds(30000));
  }
  void succeeded() {
    if (reported_) std::fprintf(stderr, "berth template: %s: working again\n", what_.c_str());
    reported_ = false;
    delay_ = std::chrono::milliseconds(1000);
  }

 private:
  std::string what_;
  bool reported_ = false;
  std::chrono::milliseconds delay_{1000};
};

std::string servicePath(const std::string& name) {
  return "/v1/catalog/services/" + urlEncode(name);
}

}  // namespace

void ApiSource::newRound() {
  keys_.clear();
  lists_.clear();
  services_.clear();
  indexes_.clear();
}

Result<std::string> ApiSource::plain(const std::string& key, const std::string& base64) const {
  auto raw = base64Decode(base64);
  if (!raw) return raw.error().context("kv key " + quote(key));
  return openValue(key, std::move(*raw), secret_ ? &*secret_ : nullptr);
}

Result<std::optional<std::string>> ApiSource::key(const std::string& key) {
  if (auto it = keys_.find(key); it != keys_.end()) return it->second;
  auto kv = api_.json("GET", "/v1/kv?key=" + urlEncode(key));
  std::optional<std::string> value;
  if (kv)
    value = BERTH_TRY(plain(key, kv->value("value", "")));
  else if (kv.error().code() != ErrorCode::kNotFound)
    return kv.error();
  keys_[key] = value;
  return value;
}

Result<std::vector<KeyValue>> ApiSource::list(const std::string& prefix) {
  if (auto it = lists_.find(prefix); it != lists_.end()) return it->second;
  json answer = BERTH_TRY(api_.json("GET", "/v1/kv/list?prefix=" + urlEncode(prefix)));
  std::vector<KeyValue> out;
  for (const auto& kv : answer.value("kvs", json::array())) {
    std::string key = kv.value("key", "");
    out.push_back({key, BERTH_TRY(plain(key, kv.value("value", "")))});
  }
  lists_[prefix] = out;
  return out;
}

Result<std::vector<ServiceInstance>> ApiSource::service(const std::string& name) {
  if (auto it = services_.find(name); it != services_.end()) return it->second;
  json answer = BERTH_TRY(api_.json("GET", servicePath(name)));
  auto instances = BERTH_TRY(instancesFromJson(answer));
  indexes_[name] = answer.value("index", int64_t{0});
  services_[name] = instances;
  return instances;
}

Result<std::vector<ServiceInstance>> instancesFromJson(const json& answer) {
  if (!answer.is_object() || !answer.contains("instances") || !answer["instances"].is_array())
    return internalError("the catalog's answer has no list of instances");
  std::vector<ServiceInstance> out;
  for (const auto& j : answer["instances"]) {
    if (!j.is_object())
      return internalError("the catalog's answer has an instance that is not an object");
    ServiceInstance in;
    in.id = j.value("id", "");
    in.service = j.value("service", "");
    in.address = j.value("address", "");
    in.port = j.value("port", 0);
    in.node = j.value("node", "");
    in.health = j.value("health", "passing");
    for (const auto& t : j.value("tags", json::array()))
      if (t.is_string()) in.tags.push_back(t.get<std::string>());
    json meta = j.value("meta", json::object());
    for (const auto& [k, v] : meta.items())
      if (v.is_string()) in.meta[k] = v.get<std::string>();
    out.push_back(std::move(in));
  }
  return out;
}

void ChangeQueue::key(std::string key) {
  std::lock_guard lock(mu_);
  batch_.keys.push_back(std::move(key));
  cv_.notify_all();
}

void ChangeQueue::service(std::string name) {
  std::lock_guard lock(mu_);
  batch_.services.insert(std::move(name));
  cv_.notify_all();
}

void ChangeQueue::resync() {
  std::lock_guard lock(mu_);
  batch_.resync = true;
  cv_.notify_all();
}

void ChangeQueue::stop() {
  std::lock_guard lock(mu_);
  batch_.stop = true;
  cv_.notify_all();
}

bool ChangeQueue::pendingLocked() const {
  return !batch_.keys.empty() || !batch_.services.empty() || batch_.resync || batch_.stop;
}

ChangeQueue::Batch ChangeQueue::take(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(mu_);
  if (deadline)
    cv_.wait_until(lock, *deadline, [this] { return pendingLocked(); });
  else
    cv_.wait(lock, [this] { return pendingLocked(); });
  return std::exchange(batch_, Batch());
}

void watchKv(std::unique_ptr<Api> api, std::string prefix, std::shared_ptr<ChangeQueue> queue) {
  std::thread([api = std::move(api), prefix = std::move(prefix), queue = std::move(queue)] {
    Backoff backoff("watch kv keys" + (prefix.empty() ? "" : " under " + quote(prefix)));
    std::string target = "/v1/kv/watch" + (prefix.empty() ? "" : "?prefix=" + urlEncode(prefix));
    for (;;) {
      auto stream = api->stream("GET", target);
      if (!stream) {
        backoff.failed(stream.error());
        continue;
      }
      backoff.succeeded();
      queue->resync();  // what changed while not watching is read again
      Status s = forEachJsonLine(**stream, [&](const json& ev) -> Status {
        if (ev.contains("error")) return unavailable(ev.value("error", ""));
        queue->key(ev.value("key", ""));
        return okStatus();
      });
      backoff.failed(s ? unavailable("berthd ended the stream") : s.error());
    }
  }).detach();
}

void watchService(std::unique_ptr<Api> api, std::string service, int64_t index,
                  std::shared_ptr<ChangeQueue> queue) {
  std::thread([api = std::move(api), service = std::move(service), index,
               queue = std::move(queue)]() mutable {
    Backoff backoff("watch service " + quote(service));
    for (;;) {
      auto answer =
          api->json("GET", servicePath(service) + "?index=" + std::to_string(index) + "&wait=5m");
      if (!answer) {
        backoff.failed(answer.error());
        continue;
      }
      backoff.succeeded();
      int64_t now = answer->value("index", int64_t{0});
      if (now == index) continue;  // the wait passed without a change
      index = now;
      queue->service(service);
    }
  }).detach();
}

}  // namespace berth::cli::tmpl
