#include "catalog/mirror.h"

#include <algorithm>
#include <optional>
#include <set>

#include "common/log.h"
#include "common/strings.h"

namespace berth::catalog {
namespace {

using Clock = std::chrono::steady_clock;

// "/berth/v1/catalog/web/web-1" → {"web", "web-1"}; nullopt for a key of another shape.
std::optional<std::pair<std::string, std::string>> splitKey(const std::string& key) {
  if (!startsWith(key, kCatalogRoot)) return std::nullopt;
  std::string rest = key.substr(kCatalogRoot.size());
  size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string::npos || slash + 1 == rest.size()) return std::nullopt;
  return std::make_pair(rest.substr(0, slash), rest.substr(slash + 1));
}

}  // namespace

std::optional<Instance> readInstance(const store::KeyValue& kv) {
  auto name = splitKey(kv.key);
  if (!name) return std::nullopt;
  auto j = nlohmann::json::parse(kv.value, nullptr, false);
  auto in = j.is_discarded() ? Result<Instance>(invalidArgument("not JSON")) : instanceFromJson(j);
  if (!in) {
    log::warn("catalog: ignoring " + quote(kv.key) + ": " + in.error().message());
    return std::nullopt;
  }
  in->service = name->first;
  in->id = name->second;
  return std::move(*in);
}

void Mirror::load(const std::vector<store::KeyValue>& kvs, store::Revision revision) {
  std::map<std::string, std::map<std::string, Instance>> fresh;
  for (const store::KeyValue& kv : kvs) {
    auto in = readInstance(kv);
    if (in) fresh[in->service][in->id] = std::move(*in);
  }
  {
    std::lock_guard lock(mu_);
    for (auto& [name, service] : services_) {
      std::map<std::string, Instance> now;
      if (auto it = fresh.find(name); it != fresh.end()) now = std::move(it->second);
      if (now == service.instances) continue;
      service.instances = std::move(now);
      service.index = revision;
    }
    for (auto& [name, instances] : fresh)
      if (!services_.contains(name)) services_[name] = {std::move(instances), revision};
    index_ = std::max(index_, revision);
  }
  changed();
}

void Mirror::apply(const std::vector<store::Event>& events) {
  {
    std::lock_guard lock(mu_);
    for (const store::Event& e : events) {
      auto name = splitKey(e.kv.key);
      if (!name) continue;
      Service& service = services_[name->first];
      service.index = e.kv.mod_revision;
      index_ = std::max(index_, e.kv.mod_revision);
      std::optional<Instance> in;
      if (e.type == store::Event::Type::kPut) in = readInstance(e.kv);
      if (in) {
        service.instances[name->second] = std::move(*in);
      } else {
        service.instances.erase(name->second);
      }
    }
  }
  changed();
}

void Mirror::changed() {
  {
    std::lock_guard lock(callbacks_mu_);
    for (const auto& fn : callbacks_) fn();
  }
  cv_.notify_all();
}

store::Revision Mirror::index() const {
  std::lock_guard lock(mu_);
  return index_;
}

store::Revision Mirror::indexLocked(const std::string& service) const {
  if (service.empty()) return index_;
  auto it = services_.find(service);
  return it == services_.end() ? 0 : it->second.index;
}

store::Revision Mirror::serviceIndex(const std::string& service) const {
  std::lock_guard lock(mu_);
  return indexLocked(service);
}

std::vector<ServiceSummary> Mirror::services() const {
  std::lock_guard lock(mu_);
  std::vector<ServiceSummary> out;
  for (const auto& [name, service] : services_) {
    if (service.instances.empty()) continue;
    std::set<std::string> tags;
    ServiceSummary s{name, {}, 0, 0};
    for (const auto& [id, in] : service.instances) {
      tags.insert(in.tags.begin(), in.tags.end());
      ++s.instances;
      if (in.health == Health::kPassing) ++s.passing;
    }
    s.tags.assign(tags.begin(), tags.end());
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Instance> Mirror::instances(const std::string& service, bool passing_only,
                                        const std::string& tag) const {
  std::lock_guard lock(mu_);
  std::vector<Instance> out;
  auto it = services_.find(service);
  if (it == services_.end()) return out;
  for (const auto& [id, in] : it->second.instances) {
    if (passing_only && in.health != Health::kPassing) continue;
    if (!tag.empty() && std::find(in.tags.begin(), in.tags.end(), tag) == in.tags.end()) continue;
    out.push_back(in);
  }
  return out;
}

store::Revision Mirror::waitChange(const std::string& service, store::Revision after,
                                   std::chrono::milliseconds timeout,
                                   const std::function<bool()>& cancelled) {
  constexpr auto kPoll = std::chrono::milliseconds(100);  // how often `cancelled` is asked
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    store::Revision now = indexLocked(service);
    if (now > after || Clock::now() >= deadline || (cancelled && cancelled())) return now;
    cv_.wait_until(lock, std::min(deadline, Clock::now() + kPoll));
  }
}

void Mirror::onChange(std::function<void()> fn) {
  std::lock_guard lock(callbacks_mu_);
  callbacks_.push_back(std::move(fn));
}

}  // namespace berth::catalog
