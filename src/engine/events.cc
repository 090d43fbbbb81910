#include "engine/events.h"

#include <algorithm>

#include "engine/container.h"

namespace berth::engine {

nlohmann::json toJson(const Event& e) {
  return {{"type", e.type},
          {"action", e.action},
          {"id", e.id},
          {"attributes", e.attributes},
          {"time_ns", e.time_ns}};
}

bool EventFilter::matches(const Event& e) const {
  for (const auto& [key, values] : by_key_) {
    auto any = [&](auto pred) { return std::any_of(values.begin(), values.end(), pred); };
    bool ok = true;
    if (key == "type") {
      ok = any([&](const std::string& v) { return v == e.type; });
    } else if (key == "event" || key == "action") {
      ok =
          any([&](const std::string& v) { return e.action == v || e.action.starts_with(v + ":"); });
    } else if (key == "container" || key == "image" || key == "volume" || key == "network") {
      ok = e.type == key && any([&](const std::string& v) {
             auto name = e.attributes.find("name");
             return e.id == v || (v.size() >= 3 && e.id.starts_with(v)) ||
                    (name != e.attributes.end() && name->second == v);
           });
      if (key == "image" && e.type == "container") {
        auto img = e.attributes.find("image");
        ok = img != e.attributes.end() &&
             any([&](const std::string& v) { return img->second == v; });
      }
    } else if (key == "label") {
      ok = any([&](const std::string& v) {
        auto eq = v.find('=');
        auto it = e.attributes.find(v.substr(0, eq));
        if (it == e.attributes.end()) return false;
        return eq == std::string::npos || it->second == v.substr(eq + 1);
      });
    }
    if (!ok) return false;
  }
  return true;
}

std::optional<Event> EventBus::Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  Event e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

void EventBus::Subscription::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

void EventBus::publish(Event e) {
  if (e.time_ns == 0) e.time_ns = nowNs();
  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard lock(mu_);
    history_.push_back(e);
    if (history_.size() > kHistory) history_.pop_front();
    std::erase_if(subs_, [&](const std::weak_ptr<Subscription>& w) {
      auto s = w.lock();
      if (s) live.push_back(s);
      return !s;
    });
  }
  for (auto& s : live) {
    std::lock_guard lock(s->mu_);
    s->queue_.push_back(e);
    s->cv_.notify_all();
  }
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe() {
  auto s = std::make_shared<Subscription>();
  std::lock_guard lock(mu_);
  subs_.push_back(s);
  return s;
}

std::vector<Event> EventBus::history(int64_t since_ns, int64_t until_ns) {
  std::lock_guard lock(mu_);
  std::vector<Event> out;
  for (const auto& e : history_) {
    if (e.time_ns >= since_ns && (until_ns == 0 || e.time_ns <= until_ns)) out.push_back(e);
  }
  return out;
}

}  // namespace berth::engine
