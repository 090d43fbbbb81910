#pragma once
// One thread that runs small jobs at given times (restart back-offs, health-check
// intervals). Jobs run on the timer thread one after another: a job that may block for
// long hands its work to another thread. Destruction drops pending jobs. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace berth::engine {

class Timers {
 public:
  Timers();
  ~Timers();
  void after(std::chrono::milliseconds delay, std::function<void()> job);

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::engine
