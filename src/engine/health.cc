// Health checks: the container's HEALTHCHECK command run by exec every interval; the
// status flips to unhealthy after `retries` consecutive failures (failures during the
// start period do not count), back to healthy on the first success.

#include <poll.h>
#include <unistd.h>

#include <thread>

#include "common/log.h"
#include "common/strings.h"
#include "engine/entry.h"
#include "engine/monitor_client.h"
#include "engine/timers.h"
#include "monitor/protocol.h"

namespace berth::engine {

namespace {

constexpr int64_t kDefaultIntervalNs = 30'000'000'000;
constexpr size_t kMaxOutput = 4096;

// Reads frames from an exec connection until the exit frame; nullopt on timeout.
std::optional<int> collect(int fd, int64_t timeout_ms, std::string& output) {
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    while (auto f = takeFrame(buf)) {
      if (auto code = exitCodeIn(*f)) return code;
      if (output.size() < kMaxOutput) output += f->payload.substr(0, kMaxOutput - output.size());
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) return std::nullopt;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::optional<int>> Engine::execRun(const std::string& ref, const ExecConfig& config,
                                           std::chrono::milliseconds timeout, std::string* output) {
  auto exec_id = BERTH_TRY(execCreate(ref, config));
  auto fd = execStart(exec_id, false);
  std::optional<int> code;
  if (fd) code = collect(fd->get(), timeout.count(), *output);
  {
    std::lock_guard lock(mu_);
    execs_.erase(exec_id);
  }
  if (!fd) return fd.error();
  return code;
}

void Engine::scheduleHealthcheck(const std::string& id, int64_t delay_ms, uint64_t generation) {
  auto found = find(id);
  if (!found) return;
  int64_t interval_ns = 0;
  {
    // Called with the entry locked by start; only the config is read, which start owns.
    const auto& hc = (*found)->c.config.healthcheck;
    if (!hc) return;
    interval_ns = hc->interval_ns > 0 ? hc->interval_ns : kDefaultIntervalNs;
  }
  if (delay_ms == 0) delay_ms = interval_ns / 1'000'000;
  timers_->after(std::chrono::milliseconds(delay_ms), [this, id, generation] {
    std::thread([this, id, generation] { runHealthcheck(id, generation); }).detach();
  });
}

void Engine::runHealthcheck(const std::string& id, uint64_t generation) {
  auto found = find(id);
  if (!found) return;
  auto e = *found;
  Healthcheck hc;
  int64_t started_ns;
  {
    std::lock_guard lock(e->mu);
    if (e->removed || e->health_generation != generation ||
        e->c.state.status != RunState::kRunning || !e->c.config.healthcheck)
      return;
    hc = *e->c.config.healthcheck;
    started_ns = e->c.state.started_ns;
  }
  if (hc.test.empty() || hc.test[0] == "NONE") return;
  ExecConfig x;
  if (hc.test[0] == "CMD-SHELL")
    x.cmd = {"/bin/sh", "-c", hc.test.size() > 1 ? hc.test[1] : "true"};
  else
    x.cmd.assign(hc.test.begin() + 1, hc.test.end());
  int64_t timeout_ns = hc.timeout_ns > 0 ? hc.timeout_ns : 30'000'000'000;
  int retries = hc.retries > 0 ? hc.retries : 3;

  HealthResult r;
  r.start_ns = nowNs();
  std::optional<int> code;
  if (auto ran = execRun(id, x, std::chrono::milliseconds(timeout_ns / 1'000'000), &r.output))
    code = *ran;
  else
    r.output = ran.error().message();
  r.end_ns = nowNs();
  if (!code && r.output.empty())
    r.output = "health check exceeded timeout (" + std::to_string(timeout_ns / 1'000'000) + " ms)";
  r.exit_code = code ? (*code == 0 ? 0 : 1) : -1;

  std::lock_guard lock(e->mu);
  if (e->removed || e->health_generation != generation || e->c.state.status != RunState::kRunning)
    return;
  Health& h = e->c.state.health;
  std::string before = h.status;
  h.log.push_back(r);
  while (h.log.size() > 5) h.log.pop_front();
  if (r.exit_code == 0) {
    h.failing_streak = 0;
    h.status = "healthy";
  } else if (r.start_ns - started_ns >= hc.start_period_ns) {
    if (++h.failing_streak >= retries) h.status = "unhealthy";
  }
  if (auto s = persist(e->c); !s) log::warn(s.error().message());
  if (h.status != before) publish(e->c, "health_status: " + h.status);
  notifyChanged();
  scheduleHealthcheck(id, 0, generation);
}

}  // namespace berth::engine
