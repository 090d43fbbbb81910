#pragma once
// The daemon's event stream: container, image, volume and network events, published by
// the engine and read by `GET /v1/events` subscribers. Keeps the last kHistory events so
// that `since` can replay them. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::engine {

struct Event {
  std::string type;    // container, image, volume, network
  std::string action;  // create, start, die, stop, kill, destroy, health_status: healthy, oom…
  std::string id;
  std::map<std::string, std::string> attributes;  // name, image, exitCode, signal, …
  int64_t time_ns = 0;
};

nlohmann::json toJson(const Event& e);

// Event filters as `berth events --filter` gives them: values of one key OR, keys AND.
// Keys: type, event|action, container (id or name), image, volume, label (k or k=v).
class EventFilter {
 public:
  void add(const std::string& key, const std::string& value) { by_key_[key].push_back(value); }
  bool matches(const Event& e) const;
  bool empty() const { return by_key_.empty(); }

 private:
  std::map<std::string, std::vector<std::string>> by_key_;
};

class EventBus {
 public:
  static constexpr size_t kHistory = 1024;

  class Subscription {
   public:
    // The next event, waiting at most `timeout`; nullopt on timeout or after close().
    std::optional<Event> next(std::chrono::milliseconds timeout);
    void close();

   private:
    friend class EventBus;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    bool closed_ = false;
  };

  void publish(Event e);  // sets time_ns when 0
  // Events published from now on. Drop the pointer to unsubscribe.
  std::shared_ptr<Subscription> subscribe();
  // Recent events with since_ns <= time <= until_ns (until 0: no bound).
  std::vector<Event> history(int64_t since_ns, int64_t until_ns);

 private:
  std::mutex mu_;
  std::deque<Event> history_;
  std::vector<std::weak_ptr<Subscription>> subs_;
};

}  // namespace berth::engine
