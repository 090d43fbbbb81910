#include "cli/berth/run_options.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <regex>

#include "cli/berth/format.h"
#include "cli/berth/net_options.h"
#include "common/signals.h"
#include "common/strings.h"

namespace berth::cli {

using nlohmann::json;

namespace {

bool isAbsolute(std::string_view path) { return !path.empty() && path[0] == '/'; }

bool validVolumeName(std::string_view name) { return checkName(name).ok(); }

Status checkTarget(std::string_view target) {
  if (target.empty()) return invalidArgument("a target path is required");
  if (!isAbsolute(target))
    return invalidArgument("target " + quote(target) + " must be an absolute path");
  return okStatus();
}

Status checkVolumeSource(std::string_view source) {
  if (source.empty() || isAbsolute(source) || validVolumeName(source)) return okStatus();
  return invalidArgument(quote(source) +
                         " is not a volume name (only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed); "
                         "for a host directory give an absolute path");
}

json mountObject(std::string type, std::string source, std::string target, bool ro) {
  return {{"type", std::move(type)},
          {"source", std::move(source)},
          {"target", std::move(target)},
          {"read_only", ro},
          {"tmpfs_size", 0}};
}

Result<bool> parseBool(std::string_view s) {
  if (s == "" || s == "1" || s == "true") return true;
  if (s == "0" || s == "false") return false;
  return invalidArgument(quote(s) + " is not true or false");
}

Result<int64_t> parseCount(std::string_view s, int64_t min) {
  auto n = parseInt(s);
  if (!n) return invalidArgument("not an integer");
  if (*n < min) return invalidArgument("must be at least " + std::to_string(min));
  return static_cast<int64_t>(*n);
}

Result<std::string> envEntry(const std::string& entry, const EnvLookup& env) {
  size_t eq = entry.find('=');
  std::string key = entry.substr(0, eq);
  if (key.empty()) return invalidArgument("the variable name is empty");
  if (key.find_first_of(" \t") != std::string::npos)
    return invalidArgument("variable " + quote(key) + " contains whitespace");
  if (eq != std::string::npos) return entry;
  auto value = env ? env(key) : std::nullopt;
  if (!value) return std::string();  // unset on the host: dropped, as docker does
  return key + "=" + *value;
}

Status addHealthcheck(const RunFlags& f, json& body) {
  bool settings = !f.health_interval.empty() || !f.health_timeout.empty() ||
                  !f.health_retries.empty() || !f.health_start_period.empty();
  if (f.no_healthcheck) {
    if (settings || !f.health_cmd.empty())
      return invalidArgument("--no-healthcheck conflicts with --health-* options");
    body["healthcheck"] = {{"test", {"NONE"}}};
    return okStatus();
  }
  if (!settings && f.health_cmd.empty()) return okStatus();
  json h = json::object();
  if (!f.health_cmd.empty()) h["test"] = {"CMD-SHELL", f.health_cmd};
  struct {
    const char* flag;
    const std::string& value;
    const char* key;
  } durations[] = {{"--health-interval", f.health_interval, "interval_ns"},
                   {"--health-timeout", f.health_timeout, "timeout_ns"},
                   {"--health-start-period", f.health_start_period, "start_period_ns"}};
  for (const auto& d : durations) {
    if (d.value.empty()) continue;
    auto ns = parseDuration(d.value);
    if (!ns) return flagError(d.flag, d.value, ns.error());
    h[d.key] = *ns;
  }
  if (!f.health_retries.empty()) {
    auto n = parseCount(f.health_retries, 0);
    if (!n) return flagError("--health-retries", f.health_retries, n.error());
    h["retries"] = *n;
  }
  body["healthcheck"] = std::move(h);
  return okStatus();
}

// --service and its companions as the labels berthd's registrar reads; berthd checks the
// values (a bad one fails the create with the label named).
Status addServiceLabels(const RunFlags& f, json& body) {
  struct Companion {
    const char* flag;
    const std::string& value;
    const char* label;
  };
  std::string tags = join(f.service_tags, ",");
  const Companion companions[] = {
      {"--service-tag", tags, "berth.service.tags"},
      {"--service-check", f.service_check, "berth.service.check"},
      {"--service-check-interval", f.service_check_interval, "berth.service.check.interval"},
      {"--service-check-timeout", f.service_check_timeout, "berth.service.check.timeout"}};
  if (f.service.empty()) {
    for (const auto& c : companions) {
      if (!c.value.empty())
        return flagError(c.flag, c.value, invalidArgument("needs --service NAME[:PORT]"));
    }
    return okStatus();
  }
  if (!body.contains("labels")) body["labels"] = json::object();
  body["labels"]["berth.service"] = f.service;
  for (const auto& c : companions) {
    if (!c.value.empty()) body["labels"][c.label] = c.value;
  }
  return okStatus();
}

Status addResources(const RunFlags& f, json& body) {
  json r = json::object();
  if (!f.memory.empty()) {
    auto m = parseSize(f.memory);
    if (!m) return flagError("--memory", f.memory, m.error());
    r["memory"] = *m;
  }
  if (!f.cpus.empty()) {
    auto c = parseCpus(f.cpus);
    if (!c) return flagError("--cpus", f.cpus, c.error());
    r["nano_cpus"] = *c;
  }
  if (!f.pids_limit.empty()) {
    auto n = parseCount(f.pids_limit, -1);
    if (!n) return flagError("--pids-limit", f.pids_limit, n.error());
    r["pids_limit"] = *n < 0 ? 0 : *n;  // docker's -1 is "unlimited", the API's 0
  }
  if (!f.cpuset_cpus.empty()) {
    static const std::regex kSet(R"(\d+(-\d+)?(,\d+(-\d+)?)*)");
    if (!std::regex_match(f.cpuset_cpus, kSet))
      return flagError("--cpuset-cpus", f.cpuset_cpus,
                       invalidArgument("expected a list of CPUs such as 0-2,4"));
    r["cpuset_cpus"] = f.cpuset_cpus;
  }
  if (!r.empty()) body["resources"] = std::move(r);
  return okStatus();
}

Status addMounts(const RunFlags& f, json& body) {
  json mounts = json::array();
  for (const auto& v : f.volumes) {
    auto m = parseVolume(v);
    if (!m) return flagError("-v", v, m.error());
    mounts.push_back(std::move(*m));
  }
  for (const auto& v : f.mounts) {
    auto m = parseMount(v);
    if (!m) return flagError("--mount", v, m.error());
    mounts.push_back(std::move(*m));
  }
  for (const auto& v : f.tmpfs) {
    auto m = parseTmpfs(v);
    if (!m) return flagError("--tmpfs", v, m.error());
    mounts.push_back(std::move(*m));
  }
  for (size_t i = 0; i < mounts.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (mounts[i]["target"] == mounts[j]["target"])
        return invalidArgument("duplicate mount point " +
                               quote(mounts[i]["target"].get<std::string>()));
  if (!mounts.empty()) body["mounts"] = std::move(mounts);
  return okStatus();
}

Status addSecurity(const RunFlags& f, json& body) {
  if (!f.cap_add.empty()) body["cap_add"] = f.cap_add;
  if (!f.cap_drop.empty()) body["cap_drop"] = f.cap_drop;
  for (const auto& opt : f.security_opts) {
    std::string_view o = opt;
    if (startsWith(o, "no-new-privileges")) {
      std::string_view rest = o.substr(17);
      if (!rest.empty() && rest[0] != ':' && rest[0] != '=')
        return flagError("--security-opt", opt, invalidArgument("unknown option"));
      auto on = parseBool(rest.empty() ? rest : rest.substr(1));
      if (!on) return flagError("--security-opt", opt, on.error());
      body["no_new_privileges"] = *on;
      continue;
    }
    return flagError("--security-opt", opt,
                     invalidArgument("unsupported option (berth knows no-new-privileges)"));
  }
  return okStatus();
}

// One --publish's ports, refused when a host port one of `taken` (earlier -p) already has.
Status addPublished(const std::string& spec, json& taken) {
  auto ports = parsePublish(spec);
  if (!ports) return flagError("--publish", spec, ports.error());
  for (auto& p : *ports) {
    int host_port = p["host_port"];
    const std::string& ip = p["host_ip"].get_ref<const std::string&>();
    for (const auto& t : taken) {
      const std::string& other = t["host_ip"].get_ref<const std::string&>();
      bool same_address =
          ip == other || ip.empty() || other.empty() || ip == "0.0.0.0" || other == "0.0.0.0";
      if (host_port != 0 && t["host_port"] == host_port && t["protocol"] == p["protocol"] &&
          same_address)
        return flagError("--publish", spec,
                         invalidArgument("host port " + std::to_string(host_port) + "/" +
                                         p["protocol"].get<std::string>() + " is published twice"));
    }
    taken.push_back(std::move(p));
  }
  return okStatus();
}

// --network and the flags that describe the container's endpoint on it; see createBody.
Status addNetworking(const RunFlags& f, json& body) {
  const std::string& mode = f.network;
  bool container_mode = startsWith(mode, "container:");
  bool own_endpoint = !container_mode && mode != "host" && mode != "none";
  if (!mode.empty()) {
    if (auto s = checkName(container_mode ? mode.substr(10) : mode); !s)
      return flagError("--network", mode, s.error());
    body["network_mode"] = mode;
  }
  struct {
    const char* flag;
    bool given;
    bool needs_endpoint;  // else only refused with container:NAME
  } uses[] = {{"--publish", !f.publish.empty(), true},
              {"--publish-all", f.publish_all, true},
              {"--ip", !f.ip.empty(), true},
              {"--mac-address", !f.mac_address.empty(), true},
              {"--network-alias", !f.network_aliases.empty(), true},
              {"--link", !f.links.empty(), true},
              {"--expose", !f.expose.empty(), false},
              {"--dns", !f.dns.empty(), false},
              {"--hostname", !f.hostname.empty(), false}};
  for (const auto& u : uses)
    if (u.given && !own_endpoint && (u.needs_endpoint || container_mode))
      return invalidArgument("conflicting options: " + std::string(u.flag) + " and --network " +
                             mode);

  json ports = json::array();
  for (const auto& p : f.publish) BERTH_RETURN_IF_ERROR(addPublished(p, ports));
  if (!ports.empty()) body["ports"] = std::move(ports);
  if (f.publish_all) body["publish_all"] = true;
  std::vector<std::string> exposed;
  for (const auto& e : f.expose) {
    auto list = parseExpose(e);
    if (!list) return flagError("--expose", e, list.error());
    exposed.insert(exposed.end(), list->begin(), list->end());
  }
  if (!exposed.empty()) body["expose"] = exposed;
  for (const auto& l : f.links)
    if (auto s = checkLink(l); !s) return flagError("--link", l, s.error());
  if (!f.links.empty()) body["links"] = f.links;
  for (const auto& d : f.dns)
    if (auto ip = parseIpv4(d); !ip) return flagError("--dns", d, ip.error());
  if (!f.dns.empty()) body["dns"] = f.dns;

  json endpoint = json::object();
  if (!f.ip.empty()) {
    if (auto ip = parseIpv4(f.ip); !ip) return flagError("--ip", f.ip, ip.error());
    endpoint["ip"] = f.ip;
  }
  if (!f.mac_address.empty()) {
    auto mac = parseMac(f.mac_address);
    if (!mac) return flagError("--mac-address", f.mac_address, mac.error());
    endpoint["mac"] = *mac;
  }
  for (const auto& a : f.network_aliases) {
    if (mode.empty() || mode == "bridge")
      return flagError("--network-alias", a,
                       invalidArgument("network-scoped aliases are supported only on "
                                       "user-defined networks, not on the default bridge"));
    if (auto s = checkName(a); !s) return flagError("--network-alias", a, s.error());
  }
  if (!f.network_aliases.empty()) endpoint["aliases"] = f.network_aliases;
  if (!endpoint.empty()) body["networks"][mode.empty() ? "bridge" : mode] = std::move(endpoint);
  return okStatus();
}

}  // namespace

Error flagError(std::string_view flag, std::string_view value, const Error& why) {
  return invalidArgument("invalid " + std::string(flag) + " " + quote(value) + ": " +
                         why.message());
}

Result<json> keyValues(std::string_view flag, const std::vector<std::string>& entries) {
  json out = json::object();
  for (const auto& kv : entries) {
    size_t eq = kv.find('=');
    if (eq == 0) return flagError(flag, kv, invalidArgument("the key is empty"));
    out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return out;
}

Result<int64_t> parseCpus(std::string_view text) {
  std::string_view rest;
  auto v = leadingNumber(text, rest);
  if (!v || !rest.empty()) return invalidArgument("expected a number of CPUs such as 1.5");
  if (*v > 1e6) return invalidArgument("too large");
  return static_cast<int64_t>(std::llround(*v * 1e9));
}

Result<json> parseVolume(std::string_view text) {
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() > 3) return invalidArgument("expected SRC:DST[:OPTIONS]");
  if (parts.size() == 1) {  // -v /data: an anonymous volume
    BERTH_RETURN_IF_ERROR(checkTarget(parts[0]));
    return mountObject("volume", "", parts[0], false);
  }
  const std::string& source = parts[0];
  const std::string& target = parts[1];
  if (source.empty()) return invalidArgument("the source is empty");
  BERTH_RETURN_IF_ERROR(checkTarget(target));
  BERTH_RETURN_IF_ERROR(checkVolumeSource(source));
  bool ro = false;
  if (parts.size() == 3) {
    for (const auto& opt : split(parts[2], ',')) {
      if (opt == "ro") {
        ro = true;
      } else if (opt == "rw") {
        ro = false;
      } else if (opt == "z" || opt == "Z") {
        // SELinux relabelling: nothing to do on hosts berth runs on.
      } else {
        return invalidArgument("unknown option " + quote(opt) + " (use ro or rw)");
      }
    }
  }
  return mountObject(isAbsolute(source) ? "bind" : "volume", source, target, ro);
}

Result<json> parseMount(std::string_view text) {
  std::string type = "volume", source, target;
  bool ro = false;
  int64_t tmpfs_size = 0;
  bool have_size = false;
  for (const auto& field : split(text, ',')) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
    if (key == "type") {
      if (value != "bind" && value != "volume" && value != "tmpfs")
        return invalidArgument("unknown type " + quote(value) + " (use bind, volume or tmpfs)");
      type = value;
    } else if (key == "source" || key == "src") {
      source = value;
    } else if (key == "target" || key == "destination" || key == "dst") {
      target = value;
    } else if (key == "readonly" || key == "ro") {
      auto b = parseBool(value);
      if (!b) return b.error().context(key);
      ro = *b;
    } else if (key == "tmpfs-size") {
      auto n = parseSize(value);
      if (!n) return n.error().context("tmpfs-size");
      tmpfs_size = *n;
      have_size = true;
    } else if (key == "volume-nocopy" || key == "consistency") {
      // accepted for compatibility; volumes are filled from the image on first use
    } else {
      return invalidArgument("unknown key " + quote(key));
    }
  }
  BERTH_RETURN_IF_ERROR(checkTarget(target));
  if (type == "bind") {
    if (source.empty()) return invalidArgument("a bind mount needs source=");
    if (!isAbsolute(source))
      return invalidArgument("bind source " + quote(source) + " must be an absolute path");
  } else if (type == "volume") {
    BERTH_RETURN_IF_ERROR(checkVolumeSource(source));
    if (isAbsolute(source))
      return invalidArgument("a volume's source is a name; for a host path use type=bind");
  } else if (!source.empty()) {
    return invalidArgument("a tmpfs mount takes no source");
  }
  if (have_size && type != "tmpfs") return invalidArgument("tmpfs-size is only for type=tmpfs");
  json m = mountObject(type, source, target, ro);
  m["tmpfs_size"] = tmpfs_size;
  return m;
}

Result<json> parseTmpfs(std::string_view text) {
  size_t colon = text.find(':');
  std::string target(text.substr(0, colon));
  BERTH_RETURN_IF_ERROR(checkTarget(target));
  json m = mountObject("tmpfs", "", target, false);
  if (colon == std::string_view::npos) return m;
  for (const auto& opt : split(text.substr(colon + 1), ',')) {
    if (startsWith(opt, "size=")) {
      auto n = parseSize(std::string_view(opt).substr(5));
      if (!n) return n.error().context("size");
      m["tmpfs_size"] = *n;
    } else if (opt == "ro" || opt == "rw") {
      m["read_only"] = opt == "ro";
    } else {
      return invalidArgument("unsupported option " + quote(opt) + " (berth knows size=, ro, rw)");
    }
  }
  return m;
}

Result<json> parseRestart(std::string_view text) {
  size_t colon = text.find(':');
  std::string name(text.substr(0, colon));
  if (name != "no" && name != "always" && name != "unless-stopped" && name != "on-failure")
    return invalidArgument("unknown policy (use no, always, unless-stopped or on-failure[:N])");
  int64_t retries = 0;
  if (colon != std::string_view::npos) {
    if (name != "on-failure")
      return invalidArgument("a maximum retry count is only for on-failure");
    auto n = parseCount(text.substr(colon + 1), 0);
    if (!n) return n.error().context("retry count");
    retries = *n;
  }
  return json{{"name", name}, {"max_retries", retries}};
}

Status applyLogOpt(std::string_view text, json& log) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return invalidArgument("expected KEY=VALUE");
  std::string_view key = text.substr(0, eq), value = text.substr(eq + 1);
  if (key == "max-size") {
    if (value == "-1") {
      log["max_size"] = 0;
      return okStatus();
    }
    auto n = parseSize(value);
    if (!n) return n.error();
    log["max_size"] = *n;
  } else if (key == "max-file") {
    auto n = parseCount(value, 1);
    if (!n) return n.error();
    log["max_files"] = *n;
  } else {
    return invalidArgument("unknown option " + quote(key) + " (berth knows max-size, max-file)");
  }
  return okStatus();
}

Result<std::vector<std::string>> parseEnvFile(std::string_view content, const EnvLookup& env) {
  std::vector<std::string> out;
  int line_no = 0;
  for (auto& raw : split(content, '\n')) {
    ++line_no;
    std::string line(raw);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    auto entry = envEntry(line.substr(start), env);
    if (!entry) return entry.error().context("line " + std::to_string(line_no));
    if (!entry->empty()) out.push_back(std::move(*entry));
  }
  return out;
}

Result<json> createBody(const RunFlags& f, const EnvLookup& env, const FileReader& read_file) {
  if (f.image.empty()) return invalidArgument("an image is required");
  json body = {{"image", f.image}};
  if (!f.name.empty()) body["name"] = f.name;
  if (!f.cmd.empty()) body["cmd"] = f.cmd;
  if (f.entrypoint) {
    body["entrypoint"] = f.entrypoint->empty() ? json::array() : json::array({*f.entrypoint});
  }

  std::vector<std::string> vars;
  for (const auto& file : f.env_files) {
    if (!read_file) return invalidArgument("--env-file: cannot read files here");
    auto content = read_file(file);
    if (!content) return content.error().context("read --env-file " + quote(file));
    auto entries = parseEnvFile(*content, env);
    if (!entries) return entries.error().context("--env-file " + quote(file));
    vars.insert(vars.end(), entries->begin(), entries->end());
  }
  for (const auto& e : f.env) {
    auto entry = envEntry(e, env);
    if (!entry) return flagError("-e", e, entry.error());
    if (!entry->empty()) vars.push_back(std::move(*entry));
  }
  if (!vars.empty()) body["env"] = vars;

  if (!f.labels.empty()) body["labels"] = BERTH_TRY(keyValues("--label", f.labels));
  BERTH_RETURN_IF_ERROR(addServiceLabels(f, body));
  if (!f.workdir.empty()) {
    if (!isAbsolute(f.workdir))
      return flagError("--workdir", f.workdir, invalidArgument("must be an absolute path"));
    body["workdir"] = f.workdir;
  }
  if (!f.user.empty()) body["user"] = f.user;
  if (!f.hostname.empty()) body["hostname"] = f.hostname;
  if (f.tty) body["tty"] = true;
  if (f.interactive) body["open_stdin"] = true;
  if (f.rm) body["auto_remove"] = true;
  if (f.init) body["init"] = true;
  if (f.read_only) body["read_only"] = true;

  BERTH_RETURN_IF_ERROR(addResources(f, body));
  BERTH_RETURN_IF_ERROR(addSecurity(f, body));

  if (!f.restart.empty()) {
    auto r = parseRestart(f.restart);
    if (!r) return flagError("--restart", f.restart, r.error());
    if (f.rm && (*r)["name"] != "no")
      return invalidArgument("conflicting options: --restart and --rm");
    body["restart"] = std::move(*r);
  }
  BERTH_RETURN_IF_ERROR(addHealthcheck(f, body));
  BERTH_RETURN_IF_ERROR(addMounts(f, body));

  BERTH_RETURN_IF_ERROR(addNetworking(f, body));
  if (!f.stop_signal.empty()) {
    auto sig = parseSignal(f.stop_signal);
    if (!sig) return flagError("--stop-signal", f.stop_signal, invalidArgument("unknown signal"));
    body["stop_signal"] = f.stop_signal;
  }
  if (!f.stop_timeout.empty()) {
    auto n = parseCount(f.stop_timeout, 0);
    if (!n) return flagError("--stop-timeout", f.stop_timeout, n.error());
    body["stop_timeout"] = *n;
  }
  if (!f.log_opts.empty()) {
    json log = json::object();
    for (const auto& o : f.log_opts) {
      if (auto s = applyLogOpt(o, log); !s) return flagError("--log-opt", o, s.error());
    }
    if (log.value("max_files", int64_t{1}) > 1 && log.value("max_size", int64_t{0}) == 0)
      return invalidArgument("invalid --log-opt: max-file needs max-size");
    body["log"] = std::move(log);
  }
  return body;
}

}  // namespace berth::cli

namespace berth::cli {

Result<std::string> parseTimeFlag(std::string_view text, int64_t now_ns) {
  auto seconds = [](int64_t ns) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%lld.%09lld", static_cast<long long>(ns / 1000000000),
                  static_cast<long long>(ns % 1000000000));
    return std::string(buf);
  };
  static const std::regex kUnix(R"(\d+(\.\d+)?)");
  if (std::regex_match(text.begin(), text.end(), kUnix)) return std::string(text);
  static const std::regex kRfc3339(
      R"((\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.(\d{1,9}))?([Zz]|([+-])(\d{2}):?(\d{2}))?)");
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_match(text.begin(), text.end(), m, kRfc3339)) {
    std::tm tm{};
    tm.tm_year = std::stoi(m[1].str()) - 1900;
    tm.tm_mon = std::stoi(m[2].str()) - 1;
    tm.tm_mday = std::stoi(m[3].str());
    tm.tm_hour = std::stoi(m[4].str());
    tm.tm_min = std::stoi(m[5].str());
    tm.tm_sec = std::stoi(m[6].str());
    int64_t secs = static_cast<int64_t>(::timegm(&tm));
    if (!m[9].matched) {  // no zone: local time, as docker reads it
      std::tm local = tm;
      local.tm_isdst = -1;
      secs = static_cast<int64_t>(::mktime(&local));
    } else if (m[10].matched) {
      int64_t off = std::stoi(m[11].str()) * 3600 + std::stoi(m[12].str()) * 60;
      secs -= m[10].str() == "+" ? off : -off;
    }
    std::string frac = m[8].matched ? m[8].str() : "";
    frac.resize(9, '0');
    return seconds(secs * 1000000000 + std::stoll(frac));
  }
  auto d = parseDuration(text);
  if (!d)
    return invalidArgument("expected a time (unix seconds or RFC 3339) or a duration such as 10m");
  return seconds(now_ns - *d);
}

}  // namespace berth::cli

namespace berth::cli {

Result<std::string> timeRangeQuery(const std::string& since, const std::string& until) {
  std::string q;
  int64_t now = nowNs();
  for (auto [flag, value] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
    if (value->empty()) continue;
    auto t = parseTimeFlag(*value, now);
    if (!t)
      return invalidArgument("invalid --" + std::string(flag) + " " + quote(*value) + ": " +
                             t.error().message());
    q += "&" + std::string(flag) + "=" + *t;
  }
  return q;
}

}  // namespace berth::cli
