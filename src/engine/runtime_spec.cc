#include "engine/runtime_spec.h"

#include <algorithm>
#include <cctype>

#include "common/signals.h"
#include "common/strings.h"
#include "runtime/capabilities.h"

namespace berth::engine {

using nlohmann::json;

namespace {

std::string capName(std::string cap) {
  for (auto& ch : cap) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (cap != "ALL" && !cap.starts_with("CAP_")) cap = "CAP_" + cap;
  return cap;
}

std::vector<std::string> allCapabilities() {
  std::vector<std::string> out;
  for (int i = 0; i <= 63; ++i) {
    std::string n = runtime::capabilityName(i);
    if (!n.empty() && n.starts_with("CAP_")) out.push_back(n);
  }
  return out;
}

// Docker's rule: start from the defaults, drop (ALL drops everything), then add.
std::vector<std::string> capabilitySet(const ContainerConfig& c) {
  std::vector<std::string> caps = runtime::dockerDefaultCapabilities();
  for (const auto& d : c.cap_drop) {
    std::string n = capName(d);
    if (n == "ALL") caps.clear();
    std::erase(caps, n);
  }
  for (const auto& a : c.cap_add) {
    std::string n = capName(a);
    std::vector<std::string> add = n == "ALL" ? allCapabilities() : std::vector<std::string>{n};
    for (auto& x : add) {
      if (std::find(caps.begin(), caps.end(), x) == caps.end()) caps.push_back(x);
    }
  }
  return caps;
}

json bindMount(const std::string& target, const std::string& source, bool ro) {
  json opts = {"rbind", "rprivate"};
  if (ro) opts.push_back("ro");
  return {{"destination", target}, {"type", "bind"}, {"source", source}, {"options", opts}};
}

}  // namespace

Status applyConfig(json& spec, const ContainerConfig& c, const std::vector<ResolvedMount>& mounts,
                   const SpecPaths& paths) {
  json caps = capabilitySet(c);
  auto& pcaps = spec["process"]["capabilities"];
  pcaps = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  if (c.no_new_privileges) spec["process"]["noNewPrivileges"] = true;
  if (c.read_only) spec["root"]["readonly"] = true;

  json& linux = spec["linux"];
  json res = linux.value("resources", json::object());
  if (c.resources.memory > 0) res["memory"] = {{"limit", c.resources.memory}};
  if (c.resources.nano_cpus > 0) {
    const int64_t period = 100000;
    res["cpu"]["period"] = period;
    res["cpu"]["quota"] = c.resources.nano_cpus * period / 1000000000;
  }
  if (!c.resources.cpuset_cpus.empty()) res["cpu"]["cpus"] = c.resources.cpuset_cpus;
  if (c.resources.pids_limit > 0) res["pids"] = {{"limit", c.resources.pids_limit}};
  linux["resources"] = res;

  json& ms = spec["mounts"];
  if (!paths.hosts.empty()) ms.push_back(bindMount("/etc/hosts", paths.hosts, c.read_only));
  if (!paths.hostname.empty())
    ms.push_back(bindMount("/etc/hostname", paths.hostname, c.read_only));
  if (!paths.resolv_conf.empty())
    ms.push_back(bindMount("/etc/resolv.conf", paths.resolv_conf, c.read_only));
  for (const auto& m : mounts) {
    // A user mount replaces a default one at the same place (a tmpfs on /dev/shm, …).
    json kept = json::array();
    for (const auto& e : ms) {
      if (e.value("destination", "") != m.spec.target) kept.push_back(e);
    }
    ms = kept;
    if (m.spec.type == "tmpfs") {
      json opts = {"nosuid", "nodev", "mode=1777"};
      if (m.spec.tmpfs_size > 0) opts.push_back("size=" + std::to_string(m.spec.tmpfs_size));
      if (m.spec.read_only) opts.push_back("ro");
      ms.push_back({{"destination", m.spec.target},
                    {"type", "tmpfs"},
                    {"source", "tmpfs"},
                    {"options", opts}});
    } else {
      ms.push_back(bindMount(m.spec.target, m.host_path, m.spec.read_only));
    }
  }
  if (c.init) {
    ms.push_back(bindMount("/dev/init", paths.init, true));
    json args = json::array({"/dev/init", "--"});
    for (const auto& a : spec["process"]["args"]) args.push_back(a);
    spec["process"]["args"] = args;
  }
  return okStatus();
}

}  // namespace berth::engine
