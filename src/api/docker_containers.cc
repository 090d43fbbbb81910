// The Docker API's containers and exec: the engine's containers in the shapes the docker
// CLI, docker-py and compose read (inspect, list, wait, logs, attach, stats, …).

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "api/docker_create.h"
#include "api/docker_util.h"
#include "common/log.h"
#include "common/signals.h"
#include "common/strings.h"
#include "engine/monitor_client.h"

namespace berth::api::docker {

using engine::Container;
using engine::Engine;
using engine::RunState;
using nlohmann::json;

namespace {

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array()) {
    for (const auto& x : j) {
      if (x.is_string()) out.push_back(x.get<std::string>());
    }
  }
  return out;
}

// The container's config merged with its image's, as dockerd stores it at create.
struct Effective {
  std::vector<std::string> entrypoint;  // empty: none
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string workdir;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed;  // "80/tcp"
  std::vector<std::string> volumes;  // image VOLUMEs and anonymous volumes' targets
  std::string stop_signal;
};

Effective effective(const Container& c, const json& img) {
  Effective out;
  out.entrypoint =
      c.config.entrypoint ? *c.config.entrypoint : strings(img.value("Entrypoint", json()));
  out.cmd = c.config.cmd;
  if (out.cmd.empty() && !c.config.entrypoint) out.cmd = strings(img.value("Cmd", json()));
  out.env = strings(img.value("Env", json()));
  for (const auto& kv : c.config.env) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(out.env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    out.env.push_back(kv);
  }
  out.workdir = c.config.workdir.empty() ? img.value("WorkingDir", "") : c.config.workdir;
  if (img.contains("Labels") && img["Labels"].is_object()) {
    for (const auto& [k, v] : img["Labels"].items()) {
      if (v.is_string()) out.labels[k] = v.get<std::string>();
    }
  }
  for (const auto& [k, v] : c.config.labels) out.labels[k] = v;
  if (img.contains("ExposedPorts") && img["ExposedPorts"].is_object()) {
    for (const auto& [k, _] : img["ExposedPorts"].items()) out.exposed.push_back(k);
  }
  for (const auto& x : c.config.expose)
    out.exposed.push_back(x.find('/') == std::string::npos ? x + "/tcp" : x);
  for (const auto& p : c.config.ports)
    out.exposed.push_back(std::to_string(p.container_port) + "/" + p.protocol);
  std::sort(out.exposed.begin(), out.exposed.end());
  out.exposed.erase(std::unique(out.exposed.begin(), out.exposed.end()), out.exposed.end());
  if (img.contains("Volumes") && img["Volumes"].is_object()) {
    for (const auto& [k, _] : img["Volumes"].items()) out.volumes.push_back(k);
  }
  for (const auto& m : c.config.mounts) {
    if (m.type == "volume" && m.source.empty()) out.volumes.push_back(m.target);
  }
  out.stop_signal =
      c.config.stop_signal.empty() ? img.value("StopSignal", "") : c.config.stop_signal;
  return out;
}

json setOf(const std::vector<std::string>& keys) {
  json out = json::object();
  for (const auto& k : keys) out[k] = json::object();
  return out;
}

std::string commandLine(const Effective& x) {
  std::vector<std::string> all = x.entrypoint;
  all.insert(all.end(), x.cmd.begin(), x.cmd.end());
  return join(all, " ");
}

// "80/tcp" → [{HostIp, HostPort}] for what is published; exposed-only ports map to null.
json portMap(const Container& c, const Effective& x) {
  json out = json::object();
  if (!c.running()) return out;
  for (const auto& k : x.exposed) out[k] = nullptr;
  for (const auto& p : c.state.net.ports) {
    std::string key = std::to_string(p.container_port) + "/" + p.protocol;
    if (!out[key].is_array()) out[key] = json::array();
    out[key].push_back({{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
                        {"HostPort", std::to_string(p.host_port)}});
  }
  return out;
}

// The networks a container is on (running) or will join (created, stopped).
// `ids`, when given, remembers network ids across the containers of one list answer.
json networksJson(Engine& e, const Container& c,
                  std::map<std::string, std::string>* ids = nullptr) {
  json out = json::object();
  std::string short_id = c.id.substr(0, 12);
  // Filled key by key: an initializer list copies every value it holds once more.
  auto entry = [](const std::string& network_id, const engine::EndpointConfig& cfg) {
    json j = json::object();
    j["IPAMConfig"] = cfg.ip.empty() ? json(nullptr) : json{{"IPv4Address", cfg.ip}};
    j["Links"] = nullptr;
    j["Aliases"] = cfg.aliases.empty() ? json(nullptr) : json(cfg.aliases);
    j["NetworkID"] = network_id;
    j["EndpointID"] = "";
    j["Gateway"] = "";
    j["IPAddress"] = "";
    j["IPPrefixLen"] = 0;
    j["IPv6Gateway"] = "";
    j["GlobalIPv6Address"] = "";
    j["GlobalIPv6PrefixLen"] = 0;
    j["MacAddress"] = cfg.mac;
    j["DriverOpts"] = nullptr;
    return j;
  };
  const auto& mode = c.config.network_mode;
  if (c.running() && !c.state.net.endpoints.empty()) {
    for (const auto& ep : c.state.net.endpoints) {
      auto cfg_it = c.config.networks.find(ep.network);
      engine::EndpointConfig cfg =
          cfg_it == c.config.networks.end() ? engine::EndpointConfig{} : cfg_it->second;
      json j = entry(ep.network_id, cfg);
      std::vector<std::string> aliases = ep.aliases;
      if (ep.network != "bridge" &&
          std::find(aliases.begin(), aliases.end(), short_id) == aliases.end())
        aliases.insert(aliases.begin(), short_id);
      j["Aliases"] = ep.network == "bridge" ? json(nullptr) : json(aliases);
      j["EndpointID"] = ep.host_if;
      j["Gateway"] = ep.gateway;
      j["IPAddress"] = ep.ip;
      j["IPPrefixLen"] = ep.prefix_len;
      j["MacAddress"] = ep.mac;
      out[ep.network] = j;
    }
    return out;
  }
  if (mode.starts_with("container:")) return out;
  std::vector<std::string> names = {mode};
  for (const auto& [name, _] : c.config.networks) {
    if (name != mode) names.push_back(name);
  }
  auto idOf = [&](const std::string& name) {
    if (ids) {
      if (auto it = ids->find(name); it != ids->end()) return it->second;
    }
    auto n = e.networks().find(name);
    std::string id = n ? n->id : "";
    if (ids) ids->emplace(name, id);
    return id;
  };
  for (const auto& name : names) {
    auto cfg_it = c.config.networks.find(name);
    out[name] = entry(
        idOf(name), cfg_it == c.config.networks.end() ? engine::EndpointConfig{} : cfg_it->second);
  }
  return out;
}

json mountsJson(Engine& e, const Container& c) {
  json out = json::array();
  for (const auto& m : c.config.mounts) {
    json j = {{"Type", m.type},
              {"Destination", m.target},
              {"Mode", m.read_only ? "ro" : ""},
              {"RW", !m.read_only},
              {"Propagation", m.type == "bind" ? "rprivate" : ""}};
    if (m.type == "volume") {
      j["Name"] = m.source;
      j["Source"] = e.options().root + "/volumes/" + m.source + "/_data";
      j["Driver"] = "local";
      j["Mode"] = m.read_only ? "ro" : "z";
    } else {
      j["Source"] = m.source;
    }
    out.push_back(j);
  }
  return out;
}

json hostConfigJson(const Container& c) {
  const auto& k = c.config;
  json binds = json::array(), mounts = json::array(), tmpfs = json::object();
  for (const auto& m : k.mounts) {
    if (m.type == "tmpfs")
      tmpfs[m.target] = m.tmpfs_size ? "size=" + std::to_string(m.tmpfs_size) : "";
    else if (!m.source.empty())
      binds.push_back(m.source + ":" + m.target + (m.read_only ? ":ro" : ""));
  }
  json bindings = json::object();
  for (const auto& p : k.ports) {
    std::string key = std::to_string(p.container_port) + "/" + p.protocol;
    if (!bindings[key].is_array()) bindings[key] = json::array();
    bindings[key].push_back(
        {{"HostIp", p.host_ip}, {"HostPort", p.host_port ? std::to_string(p.host_port) : ""}});
  }
  json log_config = json::object();
  if (k.log.max_size) log_config["max-size"] = std::to_string(k.log.max_size);
  if (k.log.max_size && k.log.max_files > 1)
    log_config["max-file"] = std::to_string(k.log.max_files);
  json security = json::array();
  if (k.no_new_privileges) security.push_back("no-new-privileges");
  return {
      {"Binds", binds.empty() ? json(nullptr) : binds},
      {"ContainerIDFile", ""},
      {"LogConfig", {{"Type", "json-file"}, {"Config", log_config}}},
      {"NetworkMode", k.network_mode},
      {"PortBindings", bindings},
      {"RestartPolicy", {{"Name", k.restart.name}, {"MaximumRetryCount", k.restart.max_retries}}},
      {"AutoRemove", k.auto_remove},
      {"VolumeDriver", ""},
      {"VolumesFrom", nullptr},
      {"CapAdd", k.cap_add.empty() ? json(nullptr) : json(k.cap_add)},
      {"CapDrop", k.cap_drop.empty() ? json(nullptr) : json(k.cap_drop)},
      {"CgroupnsMode", "private"},
      {"Dns", k.dns},
      {"DnsOptions", json::array()},
      {"DnsSearch", json::array()},
      {"ExtraHosts", nullptr},
      {"GroupAdd", nullptr},
      {"IpcMode", "private"},
      {"Cgroup", ""},
      {"Links", k.links.empty() ? json(nullptr) : json(k.links)},
      {"OomScoreAdj", 0},
      {"PidMode", ""},
      {"Privileged", false},
      {"PublishAllPorts", k.publish_all},
      {"ReadonlyRootfs", k.read_only},
      {"SecurityOpt", security.empty() ? json(nullptr) : security},
      {"Tmpfs", tmpfs.empty() ? json(nullptr) : tmpfs},
      {"UTSMode", ""},
      {"UsernsMode", ""},
      {"ShmSize", 67108864},
      {"Runtime", "berth"},
      {"Isolation", ""},
      {"Init", k.init},
      {"Memory", k.resources.memory},
      {"NanoCpus", k.resources.nano_cpus},
      {"CpusetCpus", k.resources.cpuset_cpus},
      {"PidsLimit", k.resources.pids_limit ? json(k.resources.pids_limit) : json(nullptr)},
      {"CpuShares", 0},
      {"CpuPeriod", 0},
      {"CpuQuota", 0},
      {"MemoryReservation", 0},
      {"MemorySwap", 0},
      {"OomKillDisable", false},
      {"Devices", json::array()},
      {"Ulimits", nullptr},
      {"Mounts", mounts.empty() ? json(nullptr) : mounts}};
}

json healthcheckJson(const engine::Healthcheck& h) {
  return {{"Test", h.test},
          {"Interval", h.interval_ns},
          {"Timeout", h.timeout_ns},
          {"StartPeriod", h.start_period_ns},
          {"Retries", h.retries}};
}

json inspectJson(Engine& e, const Container& c) {
  Effective x = effective(c, e.imageConfigOf(c));
  const auto& s = c.state;
  std::vector<std::string> argv = x.entrypoint;
  argv.insert(argv.end(), x.cmd.begin(), x.cmd.end());
  json state = {{"Status", engine::runStateName(s.status)},
                {"Running", c.running()},
                {"Paused", s.status == RunState::kPaused},
                {"Restarting", s.status == RunState::kRestarting},
                {"OOMKilled", s.oom_killed},
                {"Dead", s.status == RunState::kDead},
                {"Pid", c.running() ? s.pid : 0},
                {"ExitCode", s.exit_code},
                {"Error", s.error},
                {"StartedAt", timeText(s.started_ns)},
                {"FinishedAt", timeText(s.finished_ns)}};
  if (!s.health.status.empty()) {
    json log = json::array();
    for (const auto& r : s.health.log)
      log.push_back({{"Start", timeText(r.start_ns)},
                     {"End", timeText(r.end_ns)},
                     {"ExitCode", r.exit_code},
                     {"Output", r.output}});
    state["Health"] = {
        {"Status", s.health.status}, {"FailingStreak", s.health.failing_streak}, {"Log", log}};
  }
  std::string dir = e.options().root + "/containers/" + c.id;
  json config = {{"Hostname", c.config.hostname.empty() ? c.id.substr(0, 12) : c.config.hostname},
                 {"Domainname", ""},
                 {"User", c.config.user},
                 {"AttachStdin", false},
                 {"AttachStdout", false},
                 {"AttachStderr", false},
                 {"ExposedPorts", x.exposed.empty() ? json(nullptr) : setOf(x.exposed)},
                 {"Tty", c.config.tty},
                 {"OpenStdin", c.config.open_stdin},
                 {"StdinOnce", false},
                 {"Env", x.env},
                 {"Cmd", x.cmd.empty() ? json(nullptr) : json(x.cmd)},
                 {"Image", c.config.image},
                 {"Volumes", x.volumes.empty() ? json(nullptr) : setOf(x.volumes)},
                 {"WorkingDir", x.workdir},
                 {"Entrypoint", x.entrypoint.empty() ? json(nullptr) : json(x.entrypoint)},
                 {"OnBuild", nullptr},
                 {"Labels", x.labels}};
  if (!x.stop_signal.empty()) config["StopSignal"] = x.stop_signal;
  if (c.config.stop_timeout >= 0) config["StopTimeout"] = c.config.stop_timeout;
  if (c.config.healthcheck) config["Healthcheck"] = healthcheckJson(*c.config.healthcheck);

  json networks = networksJson(e, c);
  json settings = {{"Bridge", ""},
                   {"SandboxID", c.state.net.sandbox.empty() ? "" : c.id},
                   {"HairpinMode", false},
                   {"LinkLocalIPv6Address", ""},
                   {"LinkLocalIPv6PrefixLen", 0},
                   {"Ports", portMap(c, x)},
                   {"SandboxKey", c.state.net.sandbox},
                   {"SecondaryIPAddresses", nullptr},
                   {"SecondaryIPv6Addresses", nullptr},
                   {"EndpointID", ""},
                   {"Gateway", ""},
                   {"GlobalIPv6Address", ""},
                   {"GlobalIPv6PrefixLen", 0},
                   {"IPAddress", ""},
                   {"IPPrefixLen", 0},
                   {"IPv6Gateway", ""},
                   {"MacAddress", ""},
                   {"Networks", networks}};
  if (networks.contains("bridge")) {  // the default network's address, at the top as docker has it
    for (const char* k : {"EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "MacAddress"})
      settings[k] = networks["bridge"][k];
  }
  return {{"Id", c.id},
          {"Created", timeText(c.created_ns)},
          {"Path", argv.empty() ? "" : argv[0]},
          {"Args", argv.size() > 1 ? json(std::vector<std::string>(argv.begin() + 1, argv.end()))
                                   : json::array()},
          {"State", state},
          {"Image", imageId(c.image_id)},
          {"ResolvConfPath", dir + "/resolv.conf"},
          {"HostnamePath", dir + "/hostname"},
          {"HostsPath", dir + "/hosts"},
          {"LogPath", e.logPath(c)},
          {"Name", "/" + c.name},
          {"RestartCount", s.restart_count},
          {"Driver", "overlay2"},
          {"Platform", "linux"},
          {"MountLabel", ""},
          {"ProcessLabel", ""},
          {"AppArmorProfile", ""},
          {"ExecIDs", nullptr},
          {"HostConfig", hostConfigJson(c)},
          {"GraphDriver",
           {{"Name", "overlay2"},
            {"Data",
             {{"MergedDir", dir + "/rootfs"},
              {"UpperDir", dir + "/upper"},
              {"WorkDir", dir + "/work"}}}}},
          {"Mounts", mountsJson(e, c)},
          {"Config", config},
          {"NetworkSettings", settings}};
}

// What the containers of one list answer share (many containers share an image and
// networks): image configs and network ids, each looked up once.
struct ListLookups {
  std::map<std::string, json> images;
  std::map<std::string, std::string> network_ids;
};

json summaryJson(Engine& e, const Container& c, ListLookups& known) {
  auto& images = known.images;
  auto img = images.find(c.image_id);
  if (img == images.end()) img = images.emplace(c.image_id, e.imageConfigOf(c)).first;
  Effective x = effective(c, img->second);
  json ports = json::array();
  std::set<std::string> published;
  for (const auto& p : c.state.net.ports) {
    ports.push_back({{"IP", p.host_ip.empty() ? "0.0.0.0" : p.host_ip},
                     {"PrivatePort", p.container_port},
                     {"PublicPort", p.host_port},
                     {"Type", p.protocol}});
    published.insert(std::to_string(p.container_port) + "/" + p.protocol);
  }
  if (c.running()) {
    for (const auto& k : x.exposed) {
      if (published.count(k)) continue;
      auto slash = k.find('/');
      ports.push_back({{"PrivatePort", parseInt(k.substr(0, slash)).value_or(0)},
                       {"Type", k.substr(slash + 1)}});
    }
  }
  // Key by key, moving the parts in: this runs once per container of every `docker ps`.
  json s = json::object();
  s["Id"] = c.id;
  s["Names"] = json::array({"/" + c.name});
  s["Image"] = c.config.image;
  s["ImageID"] = imageId(c.image_id);
  s["Command"] = commandLine(x);
  s["Created"] = c.created_ns / 1000000000;
  s["Ports"] = std::move(ports);
  s["Labels"] = std::move(x.labels);
  s["State"] = engine::runStateName(c.state.status);
  s["Status"] = statusText(c);
  s["HostConfig"]["NetworkMode"] = c.config.network_mode;
  s["NetworkSettings"]["Networks"] = networksJson(e, c, &known.network_ids);
  s["Mounts"] = mountsJson(e, c);
  return s;
}

void noContent(Response& res) { res.send(204, "text/plain", ""); }

// The engine's stats sample in docker's shape; `prev` is the sample before (or null).
json statsJson(const Container& c, const json& now, const json& prev) {
  auto cpu = [](const json& s) {
    if (s.is_null())
      return json{{"cpu_usage", {{"total_usage", 0}}}, {"throttling_data", json::object()}};
    return json{
        {"cpu_usage",
         {{"total_usage", s["cpu"]["usage_ns"]},
          {"usage_in_kernelmode", 0},
          {"usage_in_usermode", 0}}},
        {"system_cpu_usage", s["cpu"]["system_ns"]},
        {"online_cpus", s["cpu"]["online_cpus"]},
        {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  };
  // Counters are unsigned in docker's types: "unlimited" (-1 here) is 0 there.
  auto count = [](const json& v) { return v.is_number() && v.get<int64_t>() > 0 ? v : json(0); };
  return {{"read", timeText(now["read_ns"].get<int64_t>())},
          {"preread", prev.is_null() ? timeText(0) : timeText(prev["read_ns"].get<int64_t>())},
          {"pids_stats",
           {{"current", count(now["pids"]["current"])}, {"limit", count(now["pids"]["limit"])}}},
          {"num_procs", 0},
          {"cpu_stats", cpu(now)},
          {"precpu_stats", cpu(prev)},
          {"memory_stats",
           {{"usage", count(now["memory"]["usage"])},
            {"max_usage", count(now["memory"]["max_usage"])},
            {"limit", count(now["memory"]["limit"])},
            {"stats", json::object()}}},
          {"blkio_stats",
           {{"io_service_bytes_recursive", nullptr}, {"io_serviced_recursive", nullptr}}},
          {"storage_stats", json::object()},
          {"name", "/" + c.name},
          {"id", c.id}};
}

Result<engine::WaitCondition> waitCondition(const std::string& text) {
  if (text.empty() || text == "not-running") return engine::WaitCondition::kNotRunning;
  if (text == "next-exit") return engine::WaitCondition::kNextExit;
  if (text == "removed") return engine::WaitCondition::kRemoved;
  return invalidArgument("wait: condition " + quote(text) +
                         " is not one of not-running, next-exit, removed");
}

void addLifecycle(Router& r, Engine& e) {
  r.add("POST", "/containers/create", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(objectBody(req));
          auto config = BERTH_TRY(createConfig(body, req.queryValue("name")));
          auto id = e.create(std::move(config));
          if (!id) {
            // The CLI pulls after a 404 and says "Unable to find image"; say what it lacks.
            if (id.error().code() == ErrorCode::kNotFound &&
                id.error().message().starts_with("no such image"))
              return notFound("No such image: " + body.value("Image", ""));
            return id.error();
          }
          res.json(201, {{"Id", *id}, {"Warnings", json::array()}});
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/start", handle([&e](Request& req, Response& res) -> Status {
          if (!req.queryValue("checkpoint").empty())
            return invalidArgument("start: checkpoints are not supported by berth");
          bool started = BERTH_TRY(e.start(req.params["id"]));
          res.send(started ? 204 : 304, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/stop", handle([&e](Request& req, Response& res) -> Status {
          auto t = BERTH_TRY(intArg(req, "t"));
          bool stopped = BERTH_TRY(e.stop(req.params["id"], t));
          res.send(stopped ? 204 : 304, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/restart", handle([&e](Request& req, Response& res) -> Status {
          auto t = BERTH_TRY(intArg(req, "t"));
          BERTH_RETURN_IF_ERROR(e.restart(req.params["id"], t));
          noContent(res);
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/kill", handle([&e](Request& req, Response& res) -> Status {
          std::string text = req.queryValue("signal", "SIGKILL");
          auto sig = parseSignal(text);
          if (!sig) return invalidArgument("invalid signal " + quote(text));
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          if (!c.running()) return conflict("Container " + c.id + " is not running");
          BERTH_RETURN_IF_ERROR(e.kill(c.id, *sig));
          noContent(res);
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/pause", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.pause(req.params["id"]));
          noContent(res);
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/unpause", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.unpause(req.params["id"]));
          noContent(res);
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/rename", handle([&e](Request& req, Response& res) -> Status {
          std::string name = req.queryValue("name");
          if (name.starts_with("/")) name = name.substr(1);
          if (name.empty()) return invalidArgument("rename: query 'name' is required");
          BERTH_RETURN_IF_ERROR(e.rename(req.params["id"], name));
          noContent(res);
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/wait", handle([&e](Request& req, Response& res) -> Status {
          auto wc = BERTH_TRY(waitCondition(req.queryValue("condition")));
          auto c = BERTH_TRY(e.inspect(req.params["id"]));  // 404 before the stream starts
          // Status and headers at once: the CLI sends start only after it has them.
          BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/json"));
          auto result = e.wait(c.id, wc, [&res] { return res.peerClosed(); });
          json body;
          if (!result)
            body = {{"StatusCode", -1}, {"Error", {{"Message", result.error().message()}}}};
          else
            body = {{"StatusCode", result->exit_code},
                    {"Error",
                     result->error.empty() ? json(nullptr) : json{{"Message", result->error}}}};
          (void)res.write(body.dump() + "\n");
          res.end();
          return okStatus();
        }));
  r.add("DELETE", "/containers/{id}", handle([&e](Request& req, Response& res) -> Status {
          if (req.queryBool("link"))
            return invalidArgument(
                "remove: links are removed with their container in berth; "
                "there is no link=1");
          auto s = e.remove(req.params["id"], req.queryBool("force"), req.queryBool("v"));
          if (!s && s.error().code() == ErrorCode::kConflict)
            return conflict("You cannot remove a running container " + req.params["id"] +
                            ". Stop the container before attempting removal or force remove (" +
                            s.error().message() + ")");
          BERTH_RETURN_IF_ERROR(s);
          noContent(res);
          return okStatus();
        }));
  r.add("POST", "/containers/prune", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(onlyFilters(f, {}));
          auto ids = BERTH_TRY(e.prune());
          res.json(200, {{"ContainersDeleted", ids}, {"SpaceReclaimed", 0}});
          return okStatus();
        }));
}

void addQueries(Router& r, Engine& e) {
  r.add("GET", "/containers/json", handle([&e](Request& req, Response& res) -> Status {
          auto f = BERTH_TRY(dockerFilters(req));
          BERTH_RETURN_IF_ERROR(
              onlyFilters(f, {"status", "label", "name", "id", "ancestor", "network", "exited"}));
          std::multimap<std::string, std::string> engine_filters;
          std::vector<std::string> networks;
          std::vector<int> exited;
          for (const auto& [k, v] : f) {
            if (k == "network") {
              networks.push_back(v);
            } else if (k == "exited") {
              auto n = parseInt(v);
              if (!n) return invalidArgument("filter exited=" + quote(v) + ": not an exit code");
              exited.push_back(static_cast<int>(*n));
            } else {
              engine_filters.emplace(k, v);
            }
          }
          bool all = req.queryBool("all") || f.count("status") || !exited.empty();
          auto list = BERTH_TRY(e.list(all, engine_filters));
          auto limit = BERTH_TRY(intArg(req, "limit"));
          json out = json::array();
          ListLookups known;
          for (const auto& c : list) {
            if (!exited.empty() &&
                (c.state.status != RunState::kExited ||
                 std::find(exited.begin(), exited.end(), c.state.exit_code) == exited.end()))
              continue;
            json s = summaryJson(e, c, known);
            if (!networks.empty()) {
              bool on = false;
              for (const auto& n : networks) on |= s["NetworkSettings"]["Networks"].contains(n);
              if (!on) continue;
            }
            if (req.queryBool("size")) s["SizeRw"] = e.sizeRw(c.id).value_or(0);
            out.push_back(std::move(s));
            if (limit && *limit > 0 && out.size() >= static_cast<size_t>(*limit)) break;
          }
          res.json(200, out);
          return okStatus();
        }));
  r.add("GET", "/containers/{id}/json", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          json j = inspectJson(e, c);
          if (req.queryBool("size")) j["SizeRw"] = e.sizeRw(c.id).value_or(0);
          res.json(200, j);
          return okStatus();
        }));
  r.add("GET", "/containers/{id}/changes", handle([&e](Request& req, Response& res) -> Status {
          json out = json::array();
          for (const auto& [path, kind] : BERTH_TRY(e.changes(req.params["id"])))
            out.push_back({{"Path", path}, {"Kind", kind}});
          res.json(200, out.empty() ? json(nullptr) : out);
          return okStatus();
        }));
  r.add("GET", "/containers/{id}/top", handle([&e](Request& req, Response& res) -> Status {
          std::string args = req.queryValue("ps_args");
          if (!args.empty() && args != "-ef")
            return invalidArgument("top: ps arguments " + quote(args) +
                                   " are not supported (berth lists UID PID PPID TIME CMD)");
          json t = BERTH_TRY(e.top(req.params["id"]));
          res.json(200, {{"Titles", t["titles"]}, {"Processes", t["processes"]}});
          return okStatus();
        }));
  r.add("GET", "/containers/{id}/stats", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          json now = BERTH_TRY(e.stats(c.id));
          json prev;
          bool stream = req.queryBool("stream", true);
          if (!stream) {
            if (!req.queryBool("one-shot") && c.running()) {
              // A CPU percentage needs two samples, as dockerd's collector has them.
              std::this_thread::sleep_for(std::chrono::milliseconds(500));
              prev = now;
              now = BERTH_TRY(e.stats(c.id));
            }
            res.json(200, statsJson(c, now, prev));
            return okStatus();
          }
          BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/json"));
          for (;;) {
            if (!res.write(statsJson(c, now, prev).dump() + "\n")) break;
            std::this_thread::sleep_for(std::chrono::seconds(1));
            auto next = e.stats(c.id);
            if (!next) break;
            prev = now;
            now = *next;
          }
          res.end();
          return okStatus();
        }));
}

void addStreams(Router& r, Engine& e) {
  r.add("GET", "/containers/{id}/logs", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          engine::LogQuery q;
          q.follow = req.queryBool("follow");
          std::string tail = req.queryValue("tail", "all");
          if (tail != "all" && !tail.empty()) {
            auto n = parseInt(tail);
            if (!n)
              return invalidArgument("logs: tail " + quote(tail) + " is not a number or 'all'");
            if (*n >= 0) q.tail = *n;
          }
          q.since_ns = BERTH_TRY(timeArg(req, "since"));
          q.until_ns = BERTH_TRY(timeArg(req, "until"));
          q.stdout_stream = req.queryBool("stdout");
          q.stderr_stream = req.queryBool("stderr");
          if (!q.stdout_stream && !q.stderr_stream)
            return invalidArgument(
                "logs: you must choose at least one stream (stdout=1 or "
                "stderr=1)");
          bool timestamps = req.queryBool("timestamps");
          bool tty = c.config.tty;
          BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/vnd.docker.raw-stream"));
          auto sink = [&](int stream, std::string_view data, int64_t t) {
            std::string payload = timestamps ? log::rfc3339(t) + " " : "";
            payload.append(data);
            if (tty) return res.write(payload).ok();
            return res.write(engine::encodeFrame(static_cast<uint8_t>(stream), payload)).ok();
          };
          (void)e.logs(c.id, q, sink, [&res] { return res.peerClosed(); });
          res.end();
          return okStatus();
        }));
  r.add("POST", "/containers/{id}/attach", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          if (c.state.status == RunState::kExited || c.state.status == RunState::kDead)
            return conflict("You cannot attach to a stopped container, start it first");
          if (req.queryBool("logs"))
            return invalidArgument(
                "attach: logs=1 is not supported by berth; read the logs "
                "with GET /containers/{id}/logs first");
          bool out = req.queryBool("stdout"), err = req.queryBool("stderr");
          std::string id = c.id;
          return hijackAndBridge(
              req, res,
              [&e, id](const engine::Cancelled& gone, const std::function<Status()>& take_over) {
                return e.attach(id, gone, take_over);
              },
              c.config.tty, req.queryBool("stdin") && c.config.open_stdin, out, err);
        }));
  r.add("POST", "/containers/{id}/resize", handle([&e](Request& req, Response& res) -> Status {
          auto h = BERTH_TRY(intArg(req, "h"));
          auto w = BERTH_TRY(intArg(req, "w"));
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          if (!c.running()) return conflict("Container " + c.id + " is not running");
          BERTH_RETURN_IF_ERROR(e.resize(c.id, h.value_or(24), w.value_or(80)));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
}

}  // namespace

void addContainers(Router& r, Engine& e) {
  addLifecycle(r, e);
  addQueries(r, e);
  addStreams(r, e);
}

void addExec(Router& r, Engine& e) {
  r.add("POST", "/containers/{id}/exec", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(objectBody(req));
          engine::ExecConfig x;
          try {
            if (body.contains("Cmd") && body["Cmd"].is_string())
              x.cmd = {body["Cmd"].get<std::string>()};
            else
              x.cmd = body.value("Cmd", std::vector<std::string>{});
            if (body.contains("Env") && !body["Env"].is_null())
              x.env = body["Env"].get<std::vector<std::string>>();
            x.workdir = body.value("WorkingDir", "");
            x.user = body.value("User", "");
            x.tty = body.value("Tty", false);
            x.open_stdin = body.value("AttachStdin", false);
            if (body.value("Privileged", false))
              return invalidArgument("exec: field 'Privileged' is not supported by berth");
          } catch (const json::exception& ex) {
            return invalidArgument(std::string("exec: a field has the wrong type: ") + ex.what());
          }
          if (x.cmd.empty()) return invalidArgument("exec: field 'Cmd' is required");
          std::string id = BERTH_TRY(e.execCreate(req.params["id"], x));
          res.json(201, {{"Id", id}});
          return okStatus();
        }));
  r.add("POST", "/exec/{id}/start", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(objectBody(req));
          bool detach = body.value("Detach", false);
          auto info = BERTH_TRY(e.execInspect(req.params["id"]));
          if (detach) {
            BERTH_TRY(e.execStart(req.params["id"], true));
            res.send(200, "application/json", "");
            return okStatus();
          }
          std::string id = req.params["id"];
          return hijackAndBridge(
              req, res,
              [&e, id](const engine::Cancelled&,
                       const std::function<Status()>& take_over) -> Result<sys::Fd> {
                BERTH_RETURN_IF_ERROR(take_over());
                return e.execStart(id, false);
              },
              info.value("tty", false), true, true, true);
        }));
  r.add("POST", "/exec/{id}/resize", handle([&e](Request& req, Response& res) -> Status {
          auto h = BERTH_TRY(intArg(req, "h"));
          auto w = BERTH_TRY(intArg(req, "w"));
          BERTH_RETURN_IF_ERROR(e.execResize(req.params["id"], h.value_or(24), w.value_or(80)));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
  r.add("GET", "/exec/{id}/json", handle([&e](Request& req, Response& res) -> Status {
          json x = BERTH_TRY(e.execInspect(req.params["id"]));
          res.json(200, {{"ID", x["id"]},
                         {"ContainerID", x["container_id"]},
                         {"Running", x["running"]},
                         {"ExitCode", x["exit_code"]},
                         {"Pid", x["pid"]},
                         {"OpenStdin", true},
                         {"OpenStdout", true},
                         {"OpenStderr", true},
                         {"CanRemove", false},
                         {"DetachKeys", ""},
                         {"ProcessConfig", {{"tty", x["tty"]}, {"privileged", false}}}});
          return okStatus();
        }));
}

}  // namespace berth::api::docker
