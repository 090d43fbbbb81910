#pragma once
// The health checker of one daemon: runs the check of every instance this node registered,
// every `interval`, and reports what the catalog must write.
//
// One thread runs every TCP and HTTP check at once on non-blocking sockets (Boost.Asio),
// each bounded by its own timeout, so a slow or silent target delays no other check. A
// command check runs on a thread of its own for its duration (CommandRunner blocks). The
// next run of a check starts `interval` after the previous one started (or at once if it
// ran longer, which its timeout ≤ interval prevents).
//
// Reports are made on another thread of the checker, one at a time, so that a slow Store
// write never holds up the checks.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "catalog/catalog.h"

namespace berth::catalog {

// The thresholds of one check: an instance starts critical; `successes` consecutive passes
// make it passing, `failures` consecutive failures critical again.
class Tally {
 public:
  explicit Tally(const Check& check) : check_(check) {}
  // Counts one result. True when it must be written: the health changed, or it is the
  // first result (so the catalog shows why a new instance is still critical).
  bool record(bool passed);
  Health health() const { return health_; }

 private:
  Check check_;
  Health health_ = Health::kCritical;
  int passes_ = 0;  // consecutive
  int fails_ = 0;   // consecutive
  bool reported_ = false;
};

struct CheckReport {
  std::string key;      // the instance's Store key
  uint64_t generation;  // as given to start(): a report of a replaced check is stale
  Health health;
  std::string output;
};

class HealthChecker {
 public:
  using Report = std::function<void(const CheckReport&)>;
  // `run_command` may be null (command checks then fail); `report` is called from the
  // checker's reporting thread and may block.
  HealthChecker(CommandRunner run_command, Report report);
  // Stops every check, waits for running commands (at most their timeout), drops reports
  // not made yet.
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts checking `in` (which has a check) at once, replacing any check under `key`.
  void start(const std::string& key, uint64_t generation, const Instance& in);
  // Stops the check under `key`, if any; a result it has not reported yet is dropped.
  void stop(const std::string& key);

 private:
  struct Loop;  // the Asio side, in health.cc

  void reportLoop();
  void enqueue(CheckReport r);

  Report report_;
  std::unique_ptr<Loop> loop_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<CheckReport> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  std::thread reporter_;
};

}  // namespace berth::catalog
