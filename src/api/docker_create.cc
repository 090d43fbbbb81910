// The Docker API's container create body (Config + HostConfig + NetworkingConfig, as the
// docker CLI, docker-py and compose send it) → the engine's ContainerConfig. Fields berth
// does not implement are refused when they ask for something (a clear 400 naming the
// field), and accepted when they carry their default, since clients send every field.

#include "api/docker_create.h"

#include <limits>

#include "common/strings.h"

namespace berth::api::docker {

using engine::ContainerConfig;
using engine::MountSpec;
using nlohmann::json;

namespace {

// Reads body fields with their Go names, naming the path of a field of the wrong type.
class Fields {
 public:
  Fields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  bool has(const char* key) const {
    return obj_.is_object() && obj_.contains(key) && !obj_[key].is_null();
  }
  std::string path(const char* key) const { return where_.empty() ? key : where_ + "." + key; }
  Error wrong(const char* key, const char* expected) const {
    return invalidArgument("field " + quote(path(key)) + ": expected " + expected + ", got " +
                           obj_[key].dump());
  }

  Status get(const char* key, std::string& out) const {
    if (!has(key)) return okStatus();
    if (!obj_[key].is_string()) return wrong(key, "a string");
    out = obj_[key].get<std::string>();
    return okStatus();
  }
  Status get(const char* key, bool& out) const {
    if (!has(key)) return okStatus();
    if (!obj_[key].is_boolean()) return wrong(key, "true or false");
    out = obj_[key].get<bool>();
    return okStatus();
  }
  Status get(const char* key, int64_t& out) const {
    if (!has(key)) return okStatus();
    if (!obj_[key].is_number_integer()) return wrong(key, "an integer");
    out = obj_[key].get<int64_t>();
    return okStatus();
  }
  Status get(const char* key, int& out) const {
    int64_t v = out;
    BERTH_RETURN_IF_ERROR(get(key, v));
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
      return wrong(key, "an integer of 32 bits");
    out = static_cast<int>(v);
    return okStatus();
  }
  // A list of strings; a single string counts as a list of one (docker's StrSlice).
  Status get(const char* key, std::vector<std::string>& out) const {
    if (!has(key)) return okStatus();
    const json& v = obj_[key];
    if (v.is_string()) {
      out = {v.get<std::string>()};
      return okStatus();
    }
    if (!v.is_array()) return wrong(key, "a list of strings");
    out.clear();
    for (const auto& x : v) {
      if (!x.is_string()) return wrong(key, "a list of strings");
      out.push_back(x.get<std::string>());
    }
    return okStatus();
  }
  Status get(const char* key, std::map<std::string, std::string>& out) const {
    if (!has(key)) return okStatus();
    if (!obj_[key].is_object()) return wrong(key, "an object of strings");
    for (const auto& [k, v] : obj_[key].items()) {
      if (!v.is_string()) return wrong(key, "an object of strings");
      out[k] = v.get<std::string>();
    }
    return okStatus();
  }
  Result<Fields> object(const char* key) const {
    if (has(key) && !obj_[key].is_object()) return wrong(key, "an object");
    static const json kEmpty = json::object();
    return Fields(has(key) ? obj_[key] : kEmpty, path(key));
  }
  const json& raw(const char* key) const { return obj_[key]; }

  // Fields berth does not implement: refused unless they carry the value that means "not
  // asked for" (false, 0, "", [], {} or one of `defaults`).
  Status unsupported(const char* key, std::initializer_list<const char*> defaults = {}) const {
    if (!has(key)) return okStatus();
    const json& v = obj_[key];
    bool empty = (v.is_boolean() && !v.get<bool>()) || (v.is_number() && v.get<double>() == 0) ||
                 (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty()) ||
                 (v.is_object() && v.empty());
    for (const char* d : defaults) empty |= v.is_string() && v.get<std::string>() == d;
    if (empty) return okStatus();
    return invalidArgument("field " + quote(path(key)) + " (" + v.dump() +
                           ") is not supported by berth; remove the option");
  }

 private:
  const json& obj_;
  std::string where_;
};

// "80/tcp" → (80, "tcp").
Result<std::pair<int, std::string>> portKey(const std::string& key, const std::string& where) {
  auto p = engine::parseExpose(key);
  if (!p) return invalidArgument(where + ": " + p.error().message());
  return p;
}

Status readPortBindings(const Fields& host, ContainerConfig& c) {
  if (!host.has("PortBindings")) return okStatus();
  const json& pb = host.raw("PortBindings");
  if (!pb.is_object()) return host.wrong("PortBindings", "an object");
  for (const auto& [key, list] : pb.items()) {
    std::string where = "field " + quote("HostConfig.PortBindings." + key);
    auto [port, proto] = BERTH_TRY(portKey(key, where));
    if (list.is_null()) continue;
    if (!list.is_array()) return invalidArgument(where + ": expected a list of bindings");
    for (const auto& b : list) {
      if (!b.is_object()) return invalidArgument(where + ": expected {HostIp, HostPort}");
      engine::PortBinding out;
      out.container_port = port;
      out.protocol = proto;
      out.host_ip = b.value("HostIp", "");
      if (out.host_ip == "0.0.0.0") out.host_ip.clear();
      std::string hp = b.value("HostPort", "");
      if (!hp.empty()) {
        auto n = parseInt(hp);
        if (!n || *n < 1 || *n > 65535)
          return invalidArgument(where + ": HostPort " + quote(hp) + " is not a port number");
        out.host_port = static_cast<int>(*n);
      }
      c.ports.push_back(out);
    }
  }
  return okStatus();
}

// "SRC:DST[:OPTS]": SRC absolute is a bind mount, otherwise a named volume.
Status readBinds(const Fields& host, ContainerConfig& c) {
  std::vector<std::string> binds;
  BERTH_RETURN_IF_ERROR(host.get("Binds", binds));
  for (const auto& b : binds) {
    auto parts = split(b, ':');
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
      return invalidArgument("field 'HostConfig.Binds': " + quote(b) +
                             " is not SOURCE:TARGET[:OPTIONS]");
    MountSpec m;
    m.type = parts[0][0] == '/' ? "bind" : "volume";
    m.source = parts[0];
    m.target = parts[1];
    if (parts.size() == 3) {
      for (const auto& opt : split(parts[2], ',')) {
        if (opt == "ro")
          m.read_only = true;
        else if (opt == "rw" || opt == "z" || opt == "Z" || opt == "rprivate" || opt == "private" ||
                 opt == "nocopy" || opt.empty())
          continue;  // berth's mounts are private already; no SELinux labels here
        else
          return invalidArgument("field 'HostConfig.Binds': option " + quote(opt) + " of " +
                                 quote(b) + " is not supported (use ro or rw)");
      }
    }
    c.mounts.push_back(m);
  }
  return okStatus();
}

Status readMounts(const Fields& host, ContainerConfig& c) {
  if (!host.has("Mounts")) return okStatus();
  const json& list = host.raw("Mounts");
  if (!list.is_array()) return host.wrong("Mounts", "a list");
  for (size_t i = 0; i < list.size(); ++i) {
    Fields m(list[i], "HostConfig.Mounts[" + std::to_string(i) + "]");
    MountSpec out;
    BERTH_RETURN_IF_ERROR(m.get("Type", out.type));
    BERTH_RETURN_IF_ERROR(m.get("Source", out.source));
    BERTH_RETURN_IF_ERROR(m.get("Target", out.target));
    BERTH_RETURN_IF_ERROR(m.get("ReadOnly", out.read_only));
    BERTH_RETURN_IF_ERROR(m.unsupported("Consistency", {"default"}));
    if (out.type != "bind" && out.type != "volume" && out.type != "tmpfs")
      return invalidArgument("field " + quote(m.path("Type")) + ": " + quote(out.type) +
                             " is not supported (use bind, volume or tmpfs)");
    auto tmpfs = BERTH_TRY(m.object("TmpfsOptions"));
    BERTH_RETURN_IF_ERROR(tmpfs.get("SizeBytes", out.tmpfs_size));
    BERTH_RETURN_IF_ERROR(tmpfs.unsupported("Mode"));
    auto vol = BERTH_TRY(m.object("VolumeOptions"));
    BERTH_RETURN_IF_ERROR(vol.unsupported("DriverConfig"));
    c.mounts.push_back(out);
  }
  return okStatus();
}

// {"/run": "size=64m"} → tmpfs mounts.
Status readTmpfs(const Fields& host, ContainerConfig& c) {
  std::map<std::string, std::string> tmpfs;
  BERTH_RETURN_IF_ERROR(host.get("Tmpfs", tmpfs));
  for (const auto& [target, opts] : tmpfs) {
    MountSpec m;
    m.type = "tmpfs";
    m.target = target;
    for (const auto& opt : split(opts, ',')) {
      if (opt.empty() || opt == "rw") continue;
      if (opt == "ro") {
        m.read_only = true;
      } else if (opt.starts_with("size=")) {
        auto size = parseSize(opt.substr(5));
        if (!size)
          return invalidArgument("field 'HostConfig.Tmpfs." + target +
                                 "': " + size.error().message());
        m.tmpfs_size = *size;
      } else {
        return invalidArgument("field 'HostConfig.Tmpfs." + target + "': option " + quote(opt) +
                               " is not supported (use size=, ro or rw)");
      }
    }
    c.mounts.push_back(m);
  }
  return okStatus();
}

Status readResources(const Fields& host, ContainerConfig& c) {
  BERTH_RETURN_IF_ERROR(host.get("Memory", c.resources.memory));
  BERTH_RETURN_IF_ERROR(host.get("NanoCpus", c.resources.nano_cpus));
  BERTH_RETURN_IF_ERROR(host.get("CpusetCpus", c.resources.cpuset_cpus));
  int64_t pids = 0;
  BERTH_RETURN_IF_ERROR(host.get("PidsLimit", pids));
  c.resources.pids_limit = pids > 0 ? pids : 0;  // 0 and -1 are "unlimited"
  int64_t period = 0, quota = 0;
  BERTH_RETURN_IF_ERROR(host.get("CpuPeriod", period));
  BERTH_RETURN_IF_ERROR(host.get("CpuQuota", quota));
  if (quota > 0) {
    if (c.resources.nano_cpus)
      return invalidArgument("fields 'HostConfig.NanoCpus' and 'HostConfig.CpuQuota' conflict");
    c.resources.nano_cpus = quota * 1000000000 / (period > 0 ? period : 100000);
  }
  int64_t swap = 0;
  BERTH_RETURN_IF_ERROR(host.get("MemorySwap", swap));
  if (swap > 0 && swap != c.resources.memory)
    return invalidArgument(
        "field 'HostConfig.MemorySwap' is not supported by berth (swap is "
        "not limited separately); remove --memory-swap");
  for (const char* key : {"CpuShares",
                          "CpuRealtimePeriod",
                          "CpuRealtimeRuntime",
                          "CpusetMems",
                          "BlkioWeight",
                          "BlkioWeightDevice",
                          "BlkioDeviceReadBps",
                          "BlkioDeviceWriteBps",
                          "BlkioDeviceReadIOps",
                          "BlkioDeviceWriteIOps",
                          "Devices",
                          "DeviceCgroupRules",
                          "DeviceRequests",
                          "KernelMemory",
                          "KernelMemoryTCP",
                          "MemoryReservation",
                          "Ulimits",
                          "CpuCount",
                          "CpuPercent",
                          "IOMaximumIOps",
                          "IOMaximumBandwidth",
                          "CgroupParent"})
    BERTH_RETURN_IF_ERROR(host.unsupported(key));
  if (host.has("MemorySwappiness") && host.raw("MemorySwappiness") != -1)
    BERTH_RETURN_IF_ERROR(host.unsupported("MemorySwappiness"));
  BERTH_RETURN_IF_ERROR(host.unsupported("OomKillDisable"));
  return okStatus();
}

Status readHealthcheck(const Fields& cfg, ContainerConfig& c) {
  if (!cfg.has("Healthcheck")) return okStatus();
  auto h = BERTH_TRY(cfg.object("Healthcheck"));
  engine::Healthcheck out;
  BERTH_RETURN_IF_ERROR(h.get("Test", out.test));
  BERTH_RETURN_IF_ERROR(h.get("Interval", out.interval_ns));
  BERTH_RETURN_IF_ERROR(h.get("Timeout", out.timeout_ns));
  BERTH_RETURN_IF_ERROR(h.get("StartPeriod", out.start_period_ns));
  BERTH_RETURN_IF_ERROR(h.get("Retries", out.retries));
  // An empty test inherits the image's check, with these timings: berth keeps the image's.
  if (!out.test.empty()) c.healthcheck = out;
  return okStatus();
}

Status readNetworking(const json& body, const Fields& host, ContainerConfig& c) {
  std::string mode;
  BERTH_RETURN_IF_ERROR(host.get("NetworkMode", mode));
  c.network_mode = mode.empty() || mode == "default" ? "bridge" : mode;
  Fields top(body, "");
  auto net = BERTH_TRY(top.object("NetworkingConfig"));
  if (net.has("EndpointsConfig")) {
    const json& eps = net.raw("EndpointsConfig");
    if (!eps.is_object()) return net.wrong("EndpointsConfig", "an object");
    for (const auto& [name, ep] : eps.items()) {
      Fields f(ep, "NetworkingConfig.EndpointsConfig." + name);
      engine::EndpointConfig cfg;
      BERTH_RETURN_IF_ERROR(f.get("Aliases", cfg.aliases));
      BERTH_RETURN_IF_ERROR(f.get("MacAddress", cfg.mac));
      auto ipam = BERTH_TRY(f.object("IPAMConfig"));
      BERTH_RETURN_IF_ERROR(ipam.get("IPv4Address", cfg.ip));
      BERTH_RETURN_IF_ERROR(ipam.unsupported("IPv6Address"));
      BERTH_RETURN_IF_ERROR(f.unsupported("DriverOpts"));
      std::vector<std::string> links;
      BERTH_RETURN_IF_ERROR(f.get("Links", links));
      c.links.insert(c.links.end(), links.begin(), links.end());
      // The CLI names the default network "default", as its NetworkMode.
      c.networks[name == "default" ? "bridge" : name] = cfg;
    }
  }
  return okStatus();
}

// docker's stored form "/a:/b/db" and the CLI's "a:db" → "a:db".
std::string linkText(const std::string& link) {
  auto colon = link.find(':');
  std::string name = link.substr(0, colon);
  if (name.starts_with("/")) name = name.substr(1);
  if (colon == std::string::npos) return name;
  std::string alias = link.substr(colon + 1);
  if (auto slash = alias.rfind('/'); slash != std::string::npos) alias = alias.substr(slash + 1);
  return name + ":" + alias;
}

}  // namespace

Result<ContainerConfig> createConfig(const json& body, const std::string& name) {
  if (!body.is_object()) return invalidArgument("the request body must be a JSON object");
  Fields cfg(body, "");
  ContainerConfig c;
  c.name = name.starts_with("/") ? name.substr(1) : name;
  BERTH_RETURN_IF_ERROR(cfg.get("Image", c.image));
  if (c.image.empty()) return invalidArgument("field 'Image': required (the image to run)");
  BERTH_RETURN_IF_ERROR(cfg.get("Cmd", c.cmd));
  if (cfg.has("Entrypoint")) {
    std::vector<std::string> ep;
    BERTH_RETURN_IF_ERROR(cfg.get("Entrypoint", ep));
    // --entrypoint "" arrives as [""]: no entrypoint at all.
    if (ep.size() == 1 && ep[0].empty()) ep.clear();
    c.entrypoint = ep;
  }
  BERTH_RETURN_IF_ERROR(cfg.get("Env", c.env));
  BERTH_RETURN_IF_ERROR(cfg.get("WorkingDir", c.workdir));
  BERTH_RETURN_IF_ERROR(cfg.get("User", c.user));
  BERTH_RETURN_IF_ERROR(cfg.get("Hostname", c.hostname));
  BERTH_RETURN_IF_ERROR(cfg.get("Labels", c.labels));
  BERTH_RETURN_IF_ERROR(cfg.get("Tty", c.tty));
  BERTH_RETURN_IF_ERROR(cfg.get("OpenStdin", c.open_stdin));
  BERTH_RETURN_IF_ERROR(cfg.get("StopSignal", c.stop_signal));
  BERTH_RETURN_IF_ERROR(cfg.get("StopTimeout", c.stop_timeout));
  BERTH_RETURN_IF_ERROR(cfg.unsupported("Domainname"));
  BERTH_RETURN_IF_ERROR(cfg.unsupported("OnBuild"));
  BERTH_RETURN_IF_ERROR(cfg.unsupported("Shell"));
  bool no_network = false;
  BERTH_RETURN_IF_ERROR(cfg.get("NetworkDisabled", no_network));
  if (cfg.has("ExposedPorts")) {
    if (!cfg.raw("ExposedPorts").is_object()) return cfg.wrong("ExposedPorts", "an object");
    for (const auto& [key, _] : cfg.raw("ExposedPorts").items()) {
      auto [port, proto] = BERTH_TRY(portKey(key, "field 'ExposedPorts'"));
      c.expose.push_back(std::to_string(port) + "/" + proto);
    }
  }
  BERTH_RETURN_IF_ERROR(readHealthcheck(cfg, c));
  std::string mac;
  BERTH_RETURN_IF_ERROR(cfg.get("MacAddress", mac));

  auto host = BERTH_TRY(cfg.object("HostConfig"));
  BERTH_RETURN_IF_ERROR(readBinds(host, c));
  BERTH_RETURN_IF_ERROR(readMounts(host, c));
  BERTH_RETURN_IF_ERROR(readTmpfs(host, c));
  if (cfg.has("Volumes")) {  // anonymous volumes, unless something else is mounted there
    if (!cfg.raw("Volumes").is_object()) return cfg.wrong("Volumes", "an object");
    for (const auto& volume : cfg.raw("Volumes").items()) {
      const std::string& target = volume.key();  // clang 14 (fuzz/) cannot capture a binding
      bool covered = std::any_of(c.mounts.begin(), c.mounts.end(),
                                 [&](const MountSpec& m) { return m.target == target; });
      if (!covered) c.mounts.push_back(MountSpec{"volume", "", target});
    }
  }
  BERTH_RETURN_IF_ERROR(readPortBindings(host, c));
  BERTH_RETURN_IF_ERROR(host.get("PublishAllPorts", c.publish_all));
  BERTH_RETURN_IF_ERROR(readNetworking(body, host, c));
  if (no_network) c.network_mode = "none";
  if (!mac.empty()) {
    auto& ep = c.networks[c.network_mode];
    if (ep.mac.empty()) ep.mac = mac;
  }
  std::vector<std::string> links;
  BERTH_RETURN_IF_ERROR(host.get("Links", links));
  for (const auto& l : links) c.links.push_back(linkText(l));
  BERTH_RETURN_IF_ERROR(host.get("Dns", c.dns));
  auto restart = BERTH_TRY(host.object("RestartPolicy"));
  BERTH_RETURN_IF_ERROR(restart.get("Name", c.restart.name));
  if (c.restart.name.empty()) c.restart.name = "no";
  BERTH_RETURN_IF_ERROR(restart.get("MaximumRetryCount", c.restart.max_retries));
  BERTH_RETURN_IF_ERROR(host.get("AutoRemove", c.auto_remove));
  BERTH_RETURN_IF_ERROR(host.get("Init", c.init));
  BERTH_RETURN_IF_ERROR(host.get("ReadonlyRootfs", c.read_only));
  BERTH_RETURN_IF_ERROR(host.get("CapAdd", c.cap_add));
  BERTH_RETURN_IF_ERROR(host.get("CapDrop", c.cap_drop));
  std::vector<std::string> security;
  BERTH_RETURN_IF_ERROR(host.get("SecurityOpt", security));
  for (const auto& s : security) {
    if (s == "no-new-privileges" || s == "no-new-privileges:true" || s == "no-new-privileges=true")
      c.no_new_privileges = true;
    else if (s != "no-new-privileges:false" && s != "no-new-privileges=false")
      return invalidArgument("field 'HostConfig.SecurityOpt': " + quote(s) +
                             " is not supported (berth takes no-new-privileges)");
  }
  BERTH_RETURN_IF_ERROR(readResources(host, c));
  auto log = BERTH_TRY(host.object("LogConfig"));
  std::string driver;
  BERTH_RETURN_IF_ERROR(log.get("Type", driver));
  if (!driver.empty() && driver != "json-file")
    return invalidArgument("field 'HostConfig.LogConfig.Type': log driver " + quote(driver) +
                           " is not supported (berth writes json-file logs)");
  std::map<std::string, std::string> log_opts;
  BERTH_RETURN_IF_ERROR(log.get("Config", log_opts));
  for (const auto& [k, v] : log_opts) {
    if (k == "max-size") {
      auto size = parseSize(v);
      if (!size)
        return invalidArgument("log option max-size " + quote(v) + ": " + size.error().message());
      c.log.max_size = *size;
    } else if (k == "max-file") {
      auto n = parseInt(v);
      if (!n || *n < 1) return invalidArgument("log option max-file " + quote(v) + ": not a count");
      c.log.max_files = static_cast<int>(*n);
    } else {
      return invalidArgument("log option " + quote(k) +
                             " is not supported (use max-size, "
                             "max-file)");
    }
  }
  for (const char* key : {"Privileged", "VolumesFrom", "ExtraHosts", "DnsSearch", "DnsOptions",
                          "GroupAdd", "Sysctls", "StorageOpt", "OomScoreAdj", "ShmSize", "UTSMode",
                          "UsernsMode", "PidMode", "Cgroup", "MaskedPaths", "ReadonlyPaths"})
    BERTH_RETURN_IF_ERROR(host.unsupported(key));
  BERTH_RETURN_IF_ERROR(host.unsupported("IpcMode", {"private", "shareable"}));
  BERTH_RETURN_IF_ERROR(host.unsupported("CgroupnsMode", {"private"}));
  BERTH_RETURN_IF_ERROR(host.unsupported("Runtime", {"berth", "runc"}));
  BERTH_RETURN_IF_ERROR(host.unsupported("Isolation", {"default"}));
  BERTH_RETURN_IF_ERROR(host.unsupported("VolumeDriver", {"local"}));
  BERTH_RETURN_IF_ERROR(engine::validate(c));
  return c;
}

}  // namespace berth::api::docker
