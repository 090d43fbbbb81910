// Reading containers: inspect, list with filters, prune, info.

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>

#include "common/strings.h"
#include "engine/entry.h"
#include "engine/image_access.h"

namespace berth::engine {

Result<Container> Engine::inspect(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard lock(e->mu);
  return e->c;
}

nlohmann::json Engine::imageConfigOf(const Container& c) {
  auto img = images_->byId(c.image_id);
  if (!img || !img->config.contains("config") || !img->config["config"].is_object())
    return nlohmann::json::object();
  return img->config["config"];
}

namespace {

bool matchesFilter(const Container& c, const std::string& key, const std::string& value) {
  if (key == "status") return runStateName(c.state.status) == value;
  if (key == "name") {
    std::string v = value.starts_with("/") ? value.substr(1) : value;
    return c.name.find(v) != std::string::npos;
  }
  if (key == "id") return c.id.starts_with(value);
  if (key == "ancestor") return c.config.image == value || c.image_id.starts_with(value);
  if (key == "label") {
    auto eq = value.find('=');
    auto it = c.config.labels.find(value.substr(0, eq));
    if (it == c.config.labels.end()) return false;
    return eq == std::string::npos || it->second == value.substr(eq + 1);
  }
  if (key == "exited")
    return c.state.status == RunState::kExited && std::to_string(c.state.exit_code) == value;
  if (key == "health") return c.state.health.status == value;
  return false;
}

}  // namespace

Result<std::vector<Container>> Engine::list(
    bool all, const std::multimap<std::string, std::string>& filters) {
  static const char* kKeys[] = {"status", "name", "id", "ancestor", "label", "exited", "health"};
  for (const auto& [k, v] : filters) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k) == std::end(kKeys))
      return invalidArgument("invalid filter " + quote(k) +
                             " (use status, name, id, ancestor, label, exited or health)");
    if (k == "status" && !runStateFromName(v))
      return invalidArgument("invalid filter 'status=" + v +
                             "' (use created, running, paused, restarting, exited, removing "
                             "or dead)");
  }
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : by_id_) entries.push_back(e);
  }
  std::vector<Container> out;
  out.reserve(entries.size());
  for (auto& e : entries) {
    Container c;
    {
      std::lock_guard lock(e->mu);
      if (e->removed) continue;
      c = e->c;
    }
    bool has_status = filters.count("status") > 0;
    if (!all && !has_status && !c.running() && c.state.status != RunState::kRestarting) continue;
    bool ok = true;
    // Values of one key OR, different keys AND.
    for (auto it = filters.begin(); ok && it != filters.end();) {
      auto range = filters.equal_range(it->first);
      bool any = false;
      for (auto r = range.first; r != range.second; ++r)
        any |= matchesFilter(c, r->first, r->second);
      ok = any;
      it = range.second;
    }
    if (ok) out.push_back(std::move(c));
  }
  // Newest first, sorted by index: a Container has dozens of members, and sorting the
  // records themselves moved each several times (7% of a `docker ps` answer).
  std::vector<size_t> order(out.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return out[a].created_ns > out[b].created_ns; });
  std::vector<Container> sorted;
  sorted.reserve(out.size());
  for (size_t i : order) sorted.push_back(std::move(out[i]));
  return sorted;
}

Result<std::vector<std::string>> Engine::prune() {
  auto stopped = BERTH_TRY(list(true, {}));
  std::vector<std::string> removed;
  for (const auto& c : stopped) {
    if (c.running() || c.state.status == RunState::kRestarting) continue;
    if (remove(c.id, false, false)) removed.push_back(c.id);
  }
  return removed;
}

Result<nlohmann::json> Engine::info() {
  auto all = BERTH_TRY(list(true, {}));
  size_t running = 0, paused = 0, stopped = 0;
  for (const auto& c : all) {
    if (c.state.status == RunState::kRunning)
      ++running;
    else if (c.state.status == RunState::kPaused)
      ++paused;
    else
      ++stopped;
  }
  utsname u{};
  ::uname(&u);
  struct sysinfo si {};
  ::sysinfo(&si);
  size_t volumes;
  {
    std::lock_guard lock(mu_);
    volumes = volumes_.size();
  }
  bool v2 = ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  return nlohmann::json{{"containers", all.size()},
                        {"running", running},
                        {"paused", paused},
                        {"stopped", stopped},
                        {"images", images_->count().value_or(0)},
                        {"volumes", volumes},
                        {"root", opts_.root},
                        {"exec_root", opts_.exec_root},
                        {"runtime", opts_.runtime},
                        {"cgroup_version", v2 ? "2" : "1"},
                        {"kernel", u.release},
                        {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
                        {"memory", static_cast<uint64_t>(si.totalram) * si.mem_unit}};
}

}  // namespace berth::engine
