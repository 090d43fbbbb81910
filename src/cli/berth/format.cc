#include "cli/berth/format.h"

#include <chrono>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "cli/berth/net_options.h"
#include "common/strings.h"

namespace berth::cli {

using nlohmann::json;

namespace {

size_t displayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string unitSize(double bytes, double base, const char* const* units, size_t count) {
  size_t i = 0;
  while (bytes >= base && i + 1 < count) {
    bytes /= base;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g%s", bytes, units[i]);
  return buf;
}

// "ExitCode" → "exit_code".
std::string snakeCase(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (std::isupper(c)) {
      bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(s[i - 1]));
      bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
      if (i > 0 &&
          (prev_lower || (next_lower && std::isupper(static_cast<unsigned char>(s[i - 1])))))
        out += '_';
      out += static_cast<char>(std::tolower(c));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

const json* field(const json& v, std::string_view name) {
  if (!v.is_object()) return nullptr;
  std::string key(name);
  if (auto it = v.find(key); it != v.end()) return &*it;
  std::string snake = snakeCase(name);
  if (auto it = v.find(snake); it != v.end()) return &*it;
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string a = it.key(), b = key;
    std::transform(a.begin(), a.end(), a.begin(), ::tolower);
    std::transform(b.begin(), b.end(), b.begin(), ::tolower);
    if (a == b) return &*it;
  }
  return nullptr;
}

Result<json> resolvePath(const json& root, std::string_view path) {
  if (path == ".") return root;
  if (!startsWith(path, ".")) return invalidArgument("expected a field such as .Name");
  const json* cur = &root;
  for (const auto& part : split(path.substr(1), '.')) {
    if (part.empty()) return invalidArgument("empty field name");
    cur = field(*cur, part);
    if (!cur) return json();  // Go prints <no value>
  }
  return *cur;
}

std::string show(const json& v) {
  if (v.is_null()) return "<no value>";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string labelsText(const json& labels) {
  std::vector<std::string> parts;
  if (labels.is_object())
    for (auto it = labels.begin(); it != labels.end(); ++it)
      parts.push_back(it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump()));
  return join(parts, ",");
}

// An address as docker prints it before ":PORT": "" is every IPv4 address, IPv6 in brackets.
std::string hostAddress(const std::string& ip) {
  if (ip.empty()) return "0.0.0.0";
  if (ip.find(':') != std::string::npos) return "[" + ip + "]";
  return ip;
}

std::string localTime(int64_t ns, const char* fmt) {
  std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[96];
  std::strftime(buf, sizeof(buf), fmt, &tm);
  return buf;
}

}  // namespace

std::string Table::render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_)
    for (size_t i = 0; i + 1 < row.size(); ++i) {
      if (widths.size() <= i) widths.resize(i + 1, 0);
      widths[i] = std::max(widths[i], std::max<size_t>(10, displayWidth(row[i]) + 3));
    }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - displayWidth(row[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string timeAgo(int64_t then_ns, int64_t now_ns) {
  if (then_ns <= 0) return "N/A";
  return humanDuration(std::max<int64_t>(0, now_ns - then_ns)) + " ago";
}

std::string binarySize(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  return unitSize(bytes, 1024, kUnits, 6);
}

std::string decimalSize(double bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  return unitSize(bytes, 1000, kUnits, 6);
}

std::string shortId(std::string_view id) {
  if (startsWith(id, "sha256:")) id.remove_prefix(7);
  return std::string(id.substr(0, 12));
}

std::string ellipsis(std::string_view s, size_t max) {
  if (displayWidth(s) <= max) return std::string(s);
  if (max == 0) return "";
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++chars == max) break;
    out += s[i];
  }
  return out + "…";
}

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string rfc3339Nano(int64_t ns) {
  std::string base = localTime(ns, "%Y-%m-%dT%H:%M:%S");
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%09lld", static_cast<long long>(ns % 1000000000));
  std::string zone = localTime(ns, "%z");  // +0200
  if (zone == "+0000")
    zone = "Z";
  else if (zone.size() == 5)
    zone.insert(3, ":");
  return base + frac + zone;
}

json psObject(const json& s, int64_t now_ns, bool trunc) {
  std::string id = s.value("id", "");
  std::string command = s.value("command", "");
  int64_t created = s.value("created_ns", int64_t{0});
  json names = s.value("name", "");
  return {{"ID", trunc ? shortId(id) : id},
          {"Image", s.value("image", "")},
          {"Command", goQuote(trunc ? ellipsis(command, 20) : command)},
          {"CreatedAt", created ? localTime(created, "%Y-%m-%d %H:%M:%S %z %Z") : ""},
          {"RunningFor", timeAgo(created, now_ns)},
          {"Ports", formatPorts(s.value("ports", json::array()))},
          {"State", s.value("state", "")},
          {"Status", s.value("status", "")},
          {"Names", names},
          {"Labels", labelsText(s.value("labels", json::object()))}};
}

std::vector<std::string> psHeader() {
  return {"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"};
}

std::vector<std::string> psRow(const json& ps) {
  return {ps.value("ID", ""),         ps.value("Image", ""),  ps.value("Command", ""),
          ps.value("RunningFor", ""), ps.value("Status", ""), ps.value("Ports", ""),
          ps.value("Names", "")};
}

std::string formatPorts(const json& ports) {
  struct Run {
    std::string ip, protocol;
    int host_first, host_last, first, last;  // host ports 0: not published
  };
  std::vector<Run> runs;
  if (!ports.is_array()) return "";
  for (const auto& p : ports) {
    std::string ip = p.value("host_ip", ""), protocol = p.value("protocol", "tcp");
    int host_port = p.value("host_port", 0), port = p.value("container_port", 0);
    if (!runs.empty()) {
      Run& r = runs.back();
      bool next_host =
          host_port == 0 ? r.host_last == 0 : r.host_last && host_port == r.host_last + 1;
      if (r.ip == ip && r.protocol == protocol && port == r.last + 1 && next_host) {
        r.host_last = host_port;
        r.last = port;
        continue;
      }
    }
    runs.push_back({ip, protocol, host_port, host_port, port, port});
  }
  auto range = [](int first, int last) {
    return std::to_string(first) + (first == last ? "" : "-" + std::to_string(last));
  };
  std::vector<std::string> parts;
  for (const auto& r : runs) {
    std::string container = range(r.first, r.last) + "/" + r.protocol;
    if (r.host_first == 0)
      parts.push_back(container);
    else
      parts.push_back(hostAddress(r.ip) + ":" + range(r.host_first, r.host_last) + "->" +
                      container);
  }
  return join(parts, ", ");
}

Result<std::vector<std::string>> portLines(const json& ports, std::string_view private_port,
                                           std::string_view container) {
  std::string wanted;
  if (!private_port.empty()) {
    auto one = parseExpose(private_port);
    if (!one || one->size() != 1)
      return invalidArgument("invalid port " + quote(private_port) +
                             ": expected PRIVATE_PORT[/PROTOCOL] such as 80/tcp");
    wanted = one->front();
  }
  std::vector<std::string> lines;
  for (const auto& p : ports.is_array() ? ports : json::array()) {
    int host_port = p.value("host_port", 0);
    if (host_port == 0) continue;
    std::string port =
        std::to_string(p.value("container_port", 0)) + "/" + p.value("protocol", "tcp");
    std::string host = hostAddress(p.value("host_ip", "")) + ":" + std::to_string(host_port);
    if (wanted.empty())
      lines.push_back(port + " -> " + host);
    else if (port == wanted)
      lines.push_back(host);
  }
  if (!wanted.empty() && lines.empty())
    return notFound("no public port " + quote(wanted) + " published for " + quote(container));
  return lines;
}

json networkObject(const json& n, bool trunc) {
  std::string id = n.value("id", "");
  int64_t created = n.value("created_ns", int64_t{0});
  return {{"ID", trunc ? shortId(id) : id},
          {"Name", n.value("name", "")},
          {"Driver", n.value("driver", "")},
          {"Scope", "local"},
          {"IPv6", false},
          {"Internal", n.value("internal", false)},
          {"Labels", labelsText(n.value("labels", json::object()))},
          {"CreatedAt", created ? localTime(created, "%Y-%m-%d %H:%M:%S %z %Z") : ""}};
}

std::vector<std::string> networkHeader() { return {"NETWORK ID", "NAME", "DRIVER", "SCOPE"}; }

std::vector<std::string> networkRow(const json& n) {
  return {n.value("ID", ""), n.value("Name", ""), n.value("Driver", ""), n.value("Scope", "")};
}

Result<std::string> renderInspect(const json& objects, std::string_view format) {
  if (format.empty() || format == "json") return objects.dump(4) + "\n";
  std::string out;
  for (const auto& obj : objects) {
    auto line = renderTemplate(format, obj);
    if (!line) return line.error();
    out += *line + "\n";
  }
  return out;
}

Result<std::string> renderLines(const std::vector<json>& objects, std::string_view format) {
  if (format == "json") {
    std::string out;
    for (const auto& obj : objects) out += obj.dump() + "\n";
    return out;
  }
  return renderInspect(json(objects), format);
}

double cpuPercent(const json& prev, const json& cur) {
  if (!prev.is_object() || !cur.is_object()) return 0;
  auto num = [](const json& sample, const char* key) {
    const json& cpu = sample.value("cpu", json::object());
    return cpu.value(key, 0.0);
  };
  double du = num(cur, "usage_ns") - num(prev, "usage_ns");
  double ds = num(cur, "system_ns") - num(prev, "system_ns");
  double cpus = num(cur, "online_cpus");
  if (cpus <= 0) cpus = 1;
  if (du <= 0 || ds <= 0) return 0;
  return du / ds * cpus * 100.0;
}

std::vector<std::string> statsHeader() {
  return {"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS"};
}

std::vector<std::string> statsRow(const std::string& id, const std::string& name, const json& prev,
                                  const json& cur) {
  const json mem = cur.value("memory", json::object());
  double usage = mem.value("usage", 0.0), limit = mem.value("limit", 0.0);
  char cpu[32], memp[32];
  std::snprintf(cpu, sizeof(cpu), "%.2f%%", cpuPercent(prev, cur));
  std::snprintf(memp, sizeof(memp), "%.2f%%", limit > 0 ? usage / limit * 100.0 : 0.0);
  const json pids = cur.value("pids", json::object());
  return {shortId(id), name,
          cpu,         binarySize(usage) + " / " + (limit > 0 ? binarySize(limit) : "unlimited"),
          memp,        std::to_string(pids.value("current", int64_t{0}))};
}

std::string eventLine(const json& e) {
  std::string line = rfc3339Nano(e.value("time_ns", int64_t{0})) + " " + e.value("type", "") + " " +
                     e.value("action", "") + " " + e.value("id", "");
  const json attrs = e.value("attributes", json::object());
  std::vector<std::string> parts;
  for (auto it = attrs.begin(); it != attrs.end(); ++it)  // nlohmann keeps keys sorted
    parts.push_back(it.key() + "=" + show(*it));
  if (!parts.empty()) line += " (" + join(parts, ", ") + ")";
  return line;
}

Result<std::string> renderTemplate(std::string_view tmpl, const json& value) {
  std::string out;
  while (!tmpl.empty()) {
    size_t open = tmpl.find("{{");
    if (open == std::string_view::npos) {
      out.append(tmpl);
      break;
    }
    out.append(tmpl.substr(0, open));
    size_t close = tmpl.find("}}", open);
    if (close == std::string_view::npos) return invalidArgument("template: unclosed action");
    std::string_view action = trim(tmpl.substr(open + 2, close - open - 2));
    if (!action.empty() && action.front() == '-') action = trim(action.substr(1));
    if (!action.empty() && action.back() == '-') action = trim(action.substr(0, action.size() - 1));
    bool as_json = false;
    if (startsWith(action, "json ")) {
      as_json = true;
      action = trim(action.substr(5));
    }
    auto v = resolvePath(value, action);
    if (!v) return v.error().context("template: " + quote(action));
    out += as_json ? v->dump() : show(*v);
    tmpl.remove_prefix(close + 2);
  }
  return out;
}

}  // namespace berth::cli
