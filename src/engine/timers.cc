#include "engine/timers.h"

namespace berth::engine {

Timers::Timers() : thread_([this] { loop(); }) {}

Timers::~Timers() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  thread_.join();
}

void Timers::after(std::chrono::milliseconds delay, std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.emplace(std::chrono::steady_clock::now() + delay, std::move(job));
  cv_.notify_all();
}

void Timers::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (jobs_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = jobs_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    auto job = std::move(first->second);
    jobs_.erase(first);
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace berth::engine
