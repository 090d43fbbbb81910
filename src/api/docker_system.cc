// The Docker API's system endpoints (/_ping, /version, /info, /events, /system/df). What
// every handler shares (the version prefix, filters, times) is in docker_util.cc.

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "api/docker_routes.h"
#include "api/docker_util.h"
#include "common/log.h"
#include "common/strings.h"
#include "sys/fs.h"

namespace berth::api {

using engine::Engine;
using nlohmann::json;

namespace docker {

namespace {

// Go's names for the machine (what docker prints as Arch).
std::string goArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine.size() == 4 && machine[0] == 'i' && machine.substr(2) == "86") return "386";
  return machine;
}

std::string osName() {
  auto text = sys::readFile("/etc/os-release");
  if (!text) return "Linux";
  for (const auto& line : split(*text, '\n')) {
    if (line.starts_with("PRETTY_NAME=")) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

std::string hostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

json eventJson(const engine::Event& ev) {
  json j = {{"Type", ev.type},
            {"Action", ev.action},
            {"Actor", {{"ID", ev.id}, {"Attributes", ev.attributes}}},
            {"scope", "local"},
            {"time", ev.time_ns / 1000000000},
            {"timeNano", ev.time_ns}};
  // The fields of API < 1.22 that the CLI still prints from for containers.
  if (ev.type == "container") {
    j["status"] = ev.action;
    j["id"] = ev.id;
    if (auto it = ev.attributes.find("image"); it != ev.attributes.end()) j["from"] = it->second;
  }
  return j;
}

}  // namespace

void addSystem(Router& r, Engine& e) {
  auto ping = [](Request& req, Response& res) {
    res.setHeader("Docker-Experimental", "false");
    res.setHeader("Cache-Control", "no-cache, no-store, must-revalidate");
    res.setHeader("Pragma", "no-cache");
    res.send(200, "text/plain; charset=utf-8", req.method == "HEAD" ? "" : "OK");
  };
  r.add("GET", "/_ping", ping);
  r.add("HEAD", "/_ping", ping);
  r.add("GET", "/version", [](Request&, Response& res) {
    utsname u{};
    ::uname(&u);
    std::string arch = goArch(u.machine);
    json details = {{"ApiVersion", kApiVersion},
                    {"Arch", arch},
                    {"BuildTime", ""},
                    {"Experimental", "false"},
                    {"GitCommit", BERTH_COMMIT},
                    {"GoVersion", "none (C++20)"},
                    {"KernelVersion", u.release},
                    {"MinAPIVersion", kMinApiVersion},
                    {"Os", "linux"}};
    res.json(200, {{"Platform", {{"Name", "berth"}}},
                   {"Components",
                    {{{"Name", "Engine"}, {"Version", BERTH_VERSION}, {"Details", details}}}},
                   {"Version", BERTH_VERSION},
                   {"ApiVersion", kApiVersion},
                   {"MinAPIVersion", kMinApiVersion},
                   {"GitCommit", BERTH_COMMIT},
                   {"GoVersion", "none (C++20)"},
                   {"Os", "linux"},
                   {"Arch", arch},
                   {"KernelVersion", u.release},
                   {"BuildTime", ""}});
  });
  r.add("GET", "/info", handle([&e](Request&, Response& res) -> Status {
          json info = BERTH_TRY(e.info());
          utsname u{};
          ::uname(&u);
          json runtimes = {{"berth", {{"path", info["runtime"]}}}};
          res.json(200, {{"ID", BERTH_COMMIT},
                         {"Name", hostName()},
                         {"ServerVersion", BERTH_VERSION},
                         {"Containers", info["containers"]},
                         {"ContainersRunning", info["running"]},
                         {"ContainersPaused", info["paused"]},
                         {"ContainersStopped", info["stopped"]},
                         {"Images", info["images"]},
                         {"Driver", "overlay2"},
                         {"DriverStatus", json::array({{"Backing Filesystem", "overlayfs"}})},
                         {"DockerRootDir", info["root"]},
                         {"Plugins",
                          {{"Volume", {"local"}},
                           {"Network", {"bridge", "host", "macvlan", "null"}},
                           {"Log", {"json-file"}}}},
                         {"MemoryLimit", true},
                         {"SwapLimit", false},
                         {"CpuCfsPeriod", true},
                         {"CpuCfsQuota", true},
                         {"PidsLimit", true},
                         {"IPv4Forwarding", true},
                         {"LoggingDriver", "json-file"},
                         {"CgroupDriver", "cgroupfs"},
                         {"CgroupVersion", info["cgroup_version"]},
                         {"KernelVersion", u.release},
                         {"OperatingSystem", osName()},
                         {"OSType", "linux"},
                         {"OSVersion", ""},
                         {"Architecture", u.machine},
                         {"NCPU", info["cpus"]},
                         {"MemTotal", info["memory"]},
                         {"IndexServerAddress", "https://index.docker.io/v1/"},
                         {"RegistryConfig",
                          {{"IndexConfigs", json::object()},
                           {"InsecureRegistryCIDRs", json::array()},
                           {"Mirrors", json::array()}}},
                         {"Runtimes", runtimes},
                         {"DefaultRuntime", "berth"},
                         {"Swarm",
                          {{"LocalNodeState", "inactive"},
                           {"NodeID", ""},
                           {"NodeAddr", ""},
                           {"ControlAvailable", false},
                           {"Error", ""},
                           {"RemoteManagers", nullptr}}},
                         {"LiveRestoreEnabled", true},
                         {"Isolation", ""},
                         {"InitBinary", "berth-init"},
                         {"SecurityOptions", {"name=seccomp,profile=default"}},
                         {"Labels", json::array()},
                         {"ExperimentalBuild", false},
                         {"HttpProxy", ""},
                         {"HttpsProxy", ""},
                         {"NoProxy", ""},
                         {"Warnings", json::array()}});
          return okStatus();
        }));
  r.add(
      "GET", "/system/df", handle([&e](Request&, Response& res) -> Status {
        json images = json::array(), containers = json::array(), volumes = json::array();
        int64_t layers = 0;
        for (const auto& i : BERTH_TRY(e.imageList(false, {}))) {
          layers += i.size;
          images.push_back({{"Id", i.id},
                            {"ParentId", i.parent},
                            {"RepoTags", i.repo_tags},
                            {"RepoDigests", i.repo_digests},
                            {"Created", i.created},
                            {"Size", i.size},
                            {"SharedSize", 0},
                            {"VirtualSize", i.size},
                            {"Labels", i.labels},
                            {"Containers", i.containers}});
        }
        for (const auto& c : BERTH_TRY(e.list(true, {})))
          containers.push_back({{"Id", c.id},
                                {"Names", {"/" + c.name}},
                                {"Image", c.config.image},
                                {"ImageID", imageId(c.image_id)},
                                {"Command", commandText(c)},
                                {"Created", c.created_ns / 1000000000},
                                {"State", engine::runStateName(c.state.status)},
                                {"Status", statusText(c)},
                                {"SizeRw", e.sizeRw(c.id).value_or(0)},
                                {"SizeRootFs", 0},
                                {"Labels", c.config.labels},
                                {"Mounts", json::array()}});
        for (const auto& v : BERTH_TRY(e.volumeList()))
          volumes.push_back({{"Name", v.name},
                             {"Driver", "local"},
                             {"Mountpoint", v.mountpoint},
                             {"CreatedAt", timeText(v.created_ns)},
                             {"Labels", v.labels},
                             {"Scope", "local"},
                             {"Options", nullptr},
                             {"UsageData",
                              {{"Size", sys::treeSize(v.mountpoint)},
                               {"RefCount", static_cast<int64_t>(e.volumeUsers(v.name).size())}}}});
        res.json(200, {{"LayersSize", layers},
                       {"Images", images},
                       {"Containers", containers},
                       {"Volumes", volumes},
                       {"BuildCache", json::array()}});
        return okStatus();
      }));
  r.add("GET", "/events", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(
              f, {"container", "event", "image", "label", "type", "volume", "network", "daemon"}));
          engine::EventFilter ef;
          for (const auto& [k, v] : f) ef.add(k, v);
          return streamEvents(e, req, res, ef, eventJson);
        }));
}

}  // namespace docker

void addDockerRoutes(Router& router, Engine& engine) {
  docker::addSystem(router, engine);
  docker::addContainers(router, engine);
  docker::addExec(router, engine);
  docker::addNetworks(router, engine);
  docker::addVolumes(router, engine);
  docker::addImages(router, engine);
}

}  // namespace berth::api
