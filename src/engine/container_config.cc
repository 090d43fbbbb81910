#include "engine/container_config.h"

#include <charconv>
#include <regex>

#include "common/signals.h"
#include "common/strings.h"
#include "runtime/capabilities.h"

namespace berth::engine {

using nlohmann::json;

namespace {

// Reads the fields of one JSON object with type checks; the first error wins and names
// the field by its path.
class Reader {
 public:
  Reader(const json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {}

  void str(const char* key, std::string& out) {
    if (const json* v = get(key)) {
      if (v->is_string())
        out = v->get<std::string>();
      else
        fail(key, "must be a string");
    }
  }
  void boolean(const char* key, bool& out) {
    if (const json* v = get(key)) {
      if (v->is_boolean())
        out = v->get<bool>();
      else
        fail(key, "must be true or false");
    }
  }
  template <typename Int>
  void integer(const char* key, Int& out, long long min = 0) {
    if (const json* v = get(key)) {
      if (!v->is_number_integer() || v->get<long long>() < min)
        fail(key, "must be an integer of at least " + std::to_string(min));
      else
        out = static_cast<Int>(v->get<long long>());
    }
  }
  void strings(const char* key, std::vector<std::string>& out) {
    if (const json* v = get(key)) {
      if (auto s = stringList(*v))
        out = *s;
      else
        fail(key, "must be an array of strings");
    }
  }
  void stringMap(const char* key, std::map<std::string, std::string>& out) {
    if (const json* v = get(key)) {
      if (!v->is_object()) return fail(key, "must be an object of strings");
      for (const auto& [k, val] : v->items()) {
        if (!val.is_string()) return fail(std::string(key) + "." + k, "must be a string");
        out[k] = val.get<std::string>();
      }
    }
  }
  // The object at `key`, or nullptr when absent or null.
  const json* object(const char* key) {
    const json* v = get(key);
    if (v && !v->is_object()) {
      fail(key, "must be an object");
      return nullptr;
    }
    return v;
  }
  // Calls read(element reader) for each object of the array at `key`.
  template <typename F>
  void eachObject(const char* key, F read) {
    const json* v = get(key);
    if (!v) return;
    if (!v->is_array()) return fail(key, "must be an array");
    for (size_t i = 0; i < v->size() && error_.empty(); ++i) {
      std::string where = std::string(key) + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object()) return fail(where, "must be an object");
      Reader element((*v)[i], prefix_ + where + ".");
      read(element);
      absorb(element.status());
    }
  }
  const json* get(const char* key) {
    if (!error_.empty() || !j_.contains(key) || j_[key].is_null()) return nullptr;
    return &j_[key];
  }
  void fail(const std::string& key, const std::string& why) {
    if (error_.empty()) error_ = "field " + quote(prefix_ + key) + ": " + why;
  }
  static std::optional<std::vector<std::string>> stringList(const json& v) {
    if (!v.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& s : v) {
      if (!s.is_string()) return std::nullopt;
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  Status status() const { return error_.empty() ? okStatus() : invalidArgument(error_); }
  void absorb(const Status& s) {
    if (!s && error_.empty()) error_ = s.error().message();
  }

 private:
  const json& j_;
  std::string prefix_;
  std::string error_;
};

}  // namespace

bool validName(const std::string& name) {
  static const std::regex kName("[a-zA-Z0-9][a-zA-Z0-9_.-]*");
  return std::regex_match(name, kName);
}

Result<Healthcheck> healthcheckFromJson(const json& j, const std::string& where) {
  Healthcheck h;
  if (!j.is_object()) return invalidArgument("field " + quote(where) + ": must be an object");
  Reader r(j, where + ".");
  r.strings("test", h.test);
  r.integer("interval_ns", h.interval_ns);
  r.integer("timeout_ns", h.timeout_ns);
  r.integer("start_period_ns", h.start_period_ns);
  r.integer("retries", h.retries);
  BERTH_RETURN_IF_ERROR(r.status());
  return h;
}

json toJson(const Healthcheck& h) {
  return {{"test", h.test},
          {"interval_ns", h.interval_ns},
          {"timeout_ns", h.timeout_ns},
          {"start_period_ns", h.start_period_ns},
          {"retries", h.retries}};
}

Result<ContainerConfig> configFromJson(const json& j) {
  if (!j.is_object()) return invalidArgument("container config: must be a JSON object");
  ContainerConfig c;
  Reader r(j, "");
  r.str("image", c.image);
  r.str("name", c.name);
  r.strings("cmd", c.cmd);
  if (const json* e = r.get("entrypoint")) {
    if (auto s = Reader::stringList(*e))
      c.entrypoint = *s;
    else
      r.fail("entrypoint", "must be an array of strings or null");
  }
  r.strings("env", c.env);
  r.str("workdir", c.workdir);
  r.str("user", c.user);
  r.str("hostname", c.hostname);
  r.stringMap("labels", c.labels);
  r.boolean("tty", c.tty);
  r.boolean("open_stdin", c.open_stdin);
  r.boolean("auto_remove", c.auto_remove);
  r.boolean("init", c.init);
  r.boolean("read_only", c.read_only);
  r.boolean("no_new_privileges", c.no_new_privileges);
  r.strings("cap_add", c.cap_add);
  r.strings("cap_drop", c.cap_drop);
  if (const json* res = r.object("resources")) {
    Reader rr(*res, "resources.");
    rr.integer("memory", c.resources.memory);
    rr.integer("nano_cpus", c.resources.nano_cpus);
    rr.integer("pids_limit", c.resources.pids_limit);
    rr.str("cpuset_cpus", c.resources.cpuset_cpus);
    r.absorb(rr.status());
  }
  if (const json* rp = r.object("restart")) {
    Reader rr(*rp, "restart.");
    rr.str("name", c.restart.name);
    rr.integer("max_retries", c.restart.max_retries);
    r.absorb(rr.status());
  }
  if (const json* h = r.get("healthcheck")) {
    auto hc = healthcheckFromJson(*h, "healthcheck");
    if (hc)
      c.healthcheck = *hc;
    else
      r.absorb(hc.error());
  }
  r.eachObject("mounts", [&](Reader& mr) {
    MountSpec m;
    mr.str("type", m.type);
    mr.str("source", m.source);
    mr.str("target", m.target);
    mr.boolean("read_only", m.read_only);
    mr.integer("tmpfs_size", m.tmpfs_size);
    c.mounts.push_back(m);
  });
  r.str("network_mode", c.network_mode);
  if (c.network_mode == "default") c.network_mode = "bridge";
  if (const json* ns = r.object("networks")) {
    for (const auto& [name, v] : ns->items()) {
      std::string where = "networks." + name;
      if (!v.is_object()) {
        r.fail(where, "must be an object");
        break;
      }
      EndpointConfig ep;
      Reader er(v, where + ".");
      er.strings("aliases", ep.aliases);
      er.str("ip", ep.ip);
      er.str("mac", ep.mac);
      r.absorb(er.status());
      c.networks[name] = ep;
    }
  }
  r.eachObject("ports", [&](Reader& pr) {
    PortBinding p;
    pr.integer("container_port", p.container_port);
    pr.str("protocol", p.protocol);
    pr.str("host_ip", p.host_ip);
    pr.integer("host_port", p.host_port);
    c.ports.push_back(p);
  });
  r.boolean("publish_all", c.publish_all);
  r.strings("expose", c.expose);
  r.strings("links", c.links);
  r.strings("dns", c.dns);
  r.str("stop_signal", c.stop_signal);
  r.integer("stop_timeout", c.stop_timeout, -1);
  if (const json* l = r.object("log")) {
    Reader lr(*l, "log.");
    lr.integer("max_size", c.log.max_size);
    lr.integer("max_files", c.log.max_files, 1);
    r.absorb(lr.status());
  }
  BERTH_RETURN_IF_ERROR(r.status());
  if (c.image.empty()) return invalidArgument("field 'image': required");
  return c;
}

json toJson(const PortBinding& p) {
  return {{"container_port", p.container_port},
          {"protocol", p.protocol},
          {"host_ip", p.host_ip},
          {"host_port", p.host_port}};
}

json toJson(const ContainerConfig& c) {
  json mounts = json::array();
  for (const auto& m : c.mounts)
    mounts.push_back({{"type", m.type},
                      {"source", m.source},
                      {"target", m.target},
                      {"read_only", m.read_only},
                      {"tmpfs_size", m.tmpfs_size}});
  json networks = json::object();
  for (const auto& [name, ep] : c.networks)
    networks[name] = {{"aliases", ep.aliases}, {"ip", ep.ip}, {"mac", ep.mac}};
  json ports = json::array();
  for (const auto& p : c.ports) ports.push_back(toJson(p));
  json j = {{"image", c.image},
            {"name", c.name},
            {"cmd", c.cmd},
            {"entrypoint", c.entrypoint ? json(*c.entrypoint) : json(nullptr)},
            {"env", c.env},
            {"workdir", c.workdir},
            {"user", c.user},
            {"hostname", c.hostname},
            {"labels", c.labels},
            {"tty", c.tty},
            {"open_stdin", c.open_stdin},
            {"auto_remove", c.auto_remove},
            {"init", c.init},
            {"read_only", c.read_only},
            {"no_new_privileges", c.no_new_privileges},
            {"cap_add", c.cap_add},
            {"cap_drop", c.cap_drop},
            {"resources",
             {{"memory", c.resources.memory},
              {"nano_cpus", c.resources.nano_cpus},
              {"pids_limit", c.resources.pids_limit},
              {"cpuset_cpus", c.resources.cpuset_cpus}}},
            {"restart", {{"name", c.restart.name}, {"max_retries", c.restart.max_retries}}},
            {"healthcheck", c.healthcheck ? toJson(*c.healthcheck) : json(nullptr)},
            {"mounts", mounts},
            {"network_mode", c.network_mode},
            {"networks", networks},
            {"ports", ports},
            {"publish_all", c.publish_all},
            {"expose", c.expose},
            {"links", c.links},
            {"dns", c.dns},
            {"stop_signal", c.stop_signal},
            {"stop_timeout", c.stop_timeout},
            {"log", {{"max_size", c.log.max_size}, {"max_files", c.log.max_files}}}};
  return j;
}

namespace {

Status validateCaps(const std::vector<std::string>& caps, const char* field) {
  for (const auto& cap : caps) {
    std::string name = cap;
    for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (name == "ALL") continue;
    if (!name.starts_with("CAP_")) name = "CAP_" + name;
    if (!runtime::capabilityNumber(name))
      return invalidArgument(std::string("field ") + quote(field) + ": unknown capability " +
                             quote(cap));
  }
  return okStatus();
}

}  // namespace

Result<std::pair<int, std::string>> parseExpose(const std::string& text) {
  auto slash = text.find('/');
  std::string proto = slash == std::string::npos ? "tcp" : text.substr(slash + 1);
  std::string num = text.substr(0, slash);
  int port = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), port);
  if (ec != std::errc() || end != num.data() + num.size() || port < 1 || port > 65535 ||
      (proto != "tcp" && proto != "udp"))
    return invalidArgument("field 'expose': " + quote(text) + " is not PORT[/tcp|udp]");
  return std::make_pair(port, proto);
}

namespace {

Status validateNetworking(const ContainerConfig& c) {
  const std::string& mode = c.network_mode;
  if (mode.empty()) return invalidArgument("field 'network_mode': must not be empty");
  bool isolated = mode == "none" || mode == "host" || mode.starts_with("container:");
  if (mode == "container:")
    return invalidArgument("field 'network_mode': container: needs a container's name or id");
  if (isolated && (!c.ports.empty() || c.publish_all))
    return invalidArgument("conflicting options: published ports and the network mode " +
                           quote(mode) + " (ports are published on bridge networks only)");
  if (isolated && !c.networks.empty() && !(c.networks.size() == 1 && c.networks.count(mode)))
    return invalidArgument("conflicting options: the network mode " + quote(mode) +
                           " cannot be combined with other networks");
  if (isolated && !c.links.empty())
    return invalidArgument("conflicting options: --link and the network mode " + quote(mode));
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const PortBinding& p = c.ports[i];
    std::string where = "field 'ports[" + std::to_string(i) + "]'";
    if (p.container_port < 1 || p.container_port > 65535)
      return invalidArgument(where + ": container_port must be 1-65535");
    if (p.host_port < 0 || p.host_port > 65535)
      return invalidArgument(where + ": host_port must be 0-65535 (0: any free port)");
    if (p.protocol != "tcp" && p.protocol != "udp")
      return invalidArgument(where + ": protocol must be tcp or udp (got " + quote(p.protocol) +
                             ")");
    if (!p.host_ip.empty() && p.host_ip.find(':') != std::string::npos)
      return unsupported(where + ": IPv6 host addresses are not supported yet");
  }
  for (const auto& e : c.expose) BERTH_RETURN_IF_ERROR(parseExpose(e));
  for (const auto& l : c.links) {
    if (l.empty() || l[0] == ':' || l.back() == ':')
      return invalidArgument("field 'links': " + quote(l) + " is not NAME[:ALIAS]");
  }
  auto bridge = c.networks.find("bridge");
  if (bridge != c.networks.end() && !bridge->second.aliases.empty())
    return invalidArgument("network-scoped aliases are only supported for user-defined networks");
  return okStatus();
}

}  // namespace

Status validate(const ContainerConfig& c) {
  if (!c.name.empty() && !validName(c.name))
    return invalidArgument("invalid container name " + quote(c.name) +
                           ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  for (const auto& e : c.env) {
    if (e.empty() || e[0] == '=')
      return invalidArgument("field 'env': " + quote(e) + " is not KEY=VALUE");
  }
  if (!c.workdir.empty() && c.workdir[0] != '/')
    return invalidArgument("field 'workdir': " + quote(c.workdir) + " must be an absolute path");
  static const char* kPolicies[] = {"no", "on-failure", "always", "unless-stopped"};
  if (std::find(std::begin(kPolicies), std::end(kPolicies), c.restart.name) == std::end(kPolicies))
    return invalidArgument("field 'restart.name': unknown restart policy " + quote(c.restart.name) +
                           " (use no, on-failure[:N], always or unless-stopped)");
  if (c.restart.max_retries > 0 && c.restart.name != "on-failure")
    return invalidArgument("field 'restart.max_retries': only on-failure takes a retry count");
  if (c.auto_remove && c.restart.name != "no")
    return conflict("conflicting options: --rm and a restart policy cannot be combined");
  if (c.resources.memory != 0 && c.resources.memory < 6 * 1024 * 1024)
    return invalidArgument("field 'resources.memory': minimum memory limit is 6 MB");
  if (!c.stop_signal.empty() && !parseSignal(c.stop_signal))
    return invalidArgument("field 'stop_signal': unknown signal " + quote(c.stop_signal));
  BERTH_RETURN_IF_ERROR(validateNetworking(c));
  BERTH_RETURN_IF_ERROR(validateCaps(c.cap_add, "cap_add"));
  BERTH_RETURN_IF_ERROR(validateCaps(c.cap_drop, "cap_drop"));
  if (c.healthcheck && !c.healthcheck->test.empty()) {
    const std::string& kind = c.healthcheck->test[0];
    if (kind != "CMD" && kind != "CMD-SHELL" && kind != "NONE")
      return invalidArgument("field 'healthcheck.test': must start with CMD, CMD-SHELL or NONE");
  }
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    const MountSpec& m = c.mounts[i];
    std::string where = "field 'mounts[" + std::to_string(i) + "]'";
    if (m.type != "bind" && m.type != "volume" && m.type != "tmpfs")
      return invalidArgument(where + ": type " + quote(m.type) +
                             " is not one of bind, volume, tmpfs");
    if (m.target.empty() || m.target[0] != '/')
      return invalidArgument(where + ": target " + quote(m.target) + " must be an absolute path");
    if (m.type == "bind" && (m.source.empty() || m.source[0] != '/'))
      return invalidArgument(where + ": bind source " + quote(m.source) +
                             " must be an absolute host path");
    if (m.type == "volume" && !m.source.empty() && !validName(m.source))
      return invalidArgument(where + ": invalid volume name " + quote(m.source));
  }
  return okStatus();
}

}  // namespace berth::engine
