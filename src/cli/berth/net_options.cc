#include "cli/berth/net_options.h"

#include <cctype>
#include <regex>
#include <utility>

#include "cli/berth/run_options.h"
#include "common/strings.h"

namespace berth::cli {

using nlohmann::json;

namespace {

constexpr std::string_view kPublishSyntax = "[IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]";

Error ipv6NotYet() { return invalidArgument("IPv6 addresses are not supported yet"); }

uint32_t netmask(int prefix_len) { return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len); }

std::string dotted(uint32_t ip) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8)
    out += std::to_string(ip >> shift & 0xff) + (shift ? "." : "");
  return out;
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// "80" or "8000-8002"; `what` names it in errors ("container port").
Result<std::pair<int, int>> parsePortRange(std::string_view text, std::string_view what) {
  std::string w(what);
  if (text.empty()) return invalidArgument(w + " is missing");
  size_t dash = text.find('-');
  std::string_view first = text.substr(0, dash);
  std::string_view last = dash == std::string_view::npos ? first : text.substr(dash + 1);
  int ports[2] = {0, 0};
  int i = 0;
  for (std::string_view p : {first, last}) {
    auto n = allDigits(p) && p.size() <= 5 ? parseInt(p) : std::nullopt;
    if (!n || *n < 1 || *n > 65535) return invalidArgument(w + " must be a number 1-65535");
    ports[i++] = static_cast<int>(*n);
  }
  if (ports[1] < ports[0])
    return invalidArgument(w + " range " + std::string(text) + " ends before it starts");
  return std::pair{ports[0], ports[1]};
}

// "tcp" or "udp", lower-cased as docker does.
Result<std::string> parseProtocol(std::string_view text) {
  std::string p;
  for (char c : text) p += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (p.empty()) return invalidArgument("the protocol after '/' is missing (use tcp or udp)");
  if (p != "tcp" && p != "udp")
    return invalidArgument("protocol " + quote(text) + " is not supported (use tcp or udp)");
  return p;
}

// Splits "SPEC/PROTO" into SPEC and the protocol (tcp when none is given).
Result<std::pair<std::string_view, std::string>> splitProtocol(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::pair{text, std::string("tcp")};
  auto proto = parseProtocol(text.substr(slash + 1));
  if (!proto) return proto.error();
  return std::pair{text.substr(0, slash), *proto};
}

// One address as a /32.
Result<Cidr> hostRoute(std::string_view text) {
  auto ip = parseIpv4(text);
  if (!ip) return ip.error();
  return Cidr{.address = *ip, .prefix_len = 32};
}

Status checkKeyValues(std::string_view flag, const std::vector<std::string>& entries) {
  for (const auto& kv : entries)
    if (kv.find('=') == std::string::npos)
      return flagError(flag, kv, invalidArgument("expected KEY=VALUE"));
  return okStatus();
}

}  // namespace

Result<std::vector<json>> parsePublish(std::string_view text) {
  if (!text.empty() && text.front() == '[') return ipv6NotYet();
  auto split_proto = splitProtocol(text);
  if (!split_proto) return split_proto.error();
  auto [spec, proto] = *split_proto;
  std::vector<std::string> parts = split(spec, ':');
  if (parts.size() > 3)
    return invalidArgument("expected " + std::string(kPublishSyntax) +
                           " (IPv6 addresses are not supported yet)");
  std::string host_ip = parts.size() == 3 ? parts[0] : "";
  std::string host = parts.size() >= 2 ? parts[parts.size() - 2] : "";
  if (!host_ip.empty()) {
    if (auto ip = parseIpv4(host_ip); !ip) return ip.error().context("host IP " + quote(host_ip));
  }
  auto container = parsePortRange(parts.back(), "container port");
  if (!container) return container.error();
  int count = container->second - container->first + 1;
  int host_first = 0;
  if (!host.empty()) {
    auto range = parsePortRange(host, "host port");
    if (!range) return range.error();
    int host_count = range->second - range->first + 1;
    if (host_count != count) {
      if (count == 1)
        return invalidArgument(
            "a host port range needs a container port range of the same size (berth cannot "
            "pick one free port out of a range yet)");
      return invalidArgument("host ports " + host + " and container ports " + parts.back() +
                             " are ranges of different sizes");
    }
    host_first = range->first;
  }
  std::vector<json> out;
  for (int i = 0; i < count; ++i)
    out.push_back({{"container_port", container->first + i},
                   {"protocol", proto},
                   {"host_ip", host_ip},
                   {"host_port", host_first ? host_first + i : 0}});
  return out;
}

Result<std::vector<std::string>> parseExpose(std::string_view text) {
  auto split_proto = splitProtocol(text);
  if (!split_proto) return split_proto.error();
  auto [spec, proto] = *split_proto;
  if (spec.find(':') != std::string_view::npos)
    return invalidArgument("expected PORT[-END][/PROTOCOL] (no host part: that is --publish)");
  auto range = parsePortRange(spec, "port");
  if (!range) return range.error();
  std::vector<std::string> out;
  for (int p = range->first; p <= range->second; ++p)
    out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

Result<uint32_t> parseIpv4(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return ipv6NotYet();
  std::vector<std::string> parts = split(text, '.');
  uint32_t address = 0;
  for (const auto& p : parts) {
    // Leading zeros are refused: some tools read them as octal.
    auto n = allDigits(p) && p.size() <= 3 && (p.size() == 1 || p[0] != '0') ? parseInt(p)
                                                                             : std::nullopt;
    if (parts.size() != 4 || !n || *n > 255)
      return invalidArgument("not an IPv4 address such as 10.89.0.9");
    address = address << 8 | static_cast<uint32_t>(*n);
  }
  return address;
}

bool Cidr::contains(uint32_t ip) const { return (ip & netmask(prefix_len)) == address; }

bool Cidr::contains(const Cidr& other) const {
  return other.prefix_len >= prefix_len && contains(other.address);
}

Result<Cidr> parseCidr(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos)
    return invalidArgument("expected ADDRESS/PREFIX such as 10.89.0.0/24");
  auto ip = parseIpv4(text.substr(0, slash));
  if (!ip) return ip.error();
  std::string_view len = text.substr(slash + 1);
  auto n = allDigits(len) && len.size() <= 2 ? parseInt(len) : std::nullopt;
  if (!n || *n > 32) return invalidArgument("the prefix length must be a number 0-32");
  Cidr cidr{.address = *ip, .prefix_len = static_cast<int>(*n)};
  if (!cidr.contains(*ip))
    return invalidArgument(
        "host bits are set (the network is " +
        quote(dotted(*ip & netmask(cidr.prefix_len)) + "/" + std::to_string(cidr.prefix_len)) +
        ")");
  return cidr;
}

Result<std::string> parseMac(std::string_view text) {
  char sep = text.find('-') != std::string_view::npos ? '-' : ':';
  std::vector<std::string> parts = split(text, sep);
  std::string out;
  for (const auto& p : parts) {
    if (parts.size() != 6 || p.size() != 2 || !std::isxdigit(static_cast<unsigned char>(p[0])) ||
        !std::isxdigit(static_cast<unsigned char>(p[1])))
      return invalidArgument("not a MAC address such as 02:42:0a:59:00:09");
    if (!out.empty()) out += ':';
    for (char c : p) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (std::stoi(out.substr(0, 2), nullptr, 16) & 1)
    return invalidArgument("a multicast address (its first octet is odd); use a unicast one");
  return out;
}

Status checkName(std::string_view text) {
  static const std::regex kName("[a-zA-Z0-9][a-zA-Z0-9_.-]*");
  if (std::regex_match(text.begin(), text.end(), kName)) return okStatus();
  if (text.empty()) return invalidArgument("the name is empty");
  return invalidArgument(quote(text) + " is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
}

Status checkLink(std::string_view text) {
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() > 2) return invalidArgument("expected NAME[:ALIAS]");
  for (const auto& p : parts) BERTH_RETURN_IF_ERROR(checkName(p));
  return okStatus();
}

Result<json> networkCreateBody(const NetworkCreateFlags& f) {
  if (auto s = checkName(f.name); !s) return s.error().context("invalid network name");
  if (f.driver != "bridge" && f.driver != "macvlan")
    return flagError("--driver", f.driver, invalidArgument("use bridge or macvlan"));
  std::optional<Cidr> subnet;
  if (!f.subnet.empty()) {
    auto c = parseCidr(f.subnet);
    if (!c) return flagError("--subnet", f.subnet, c.error());
    subnet = *c;
  }
  struct {
    const char* flag;
    const std::string& value;
    bool is_range;  // else one address
  } within[] = {{"--gateway", f.gateway, false}, {"--ip-range", f.ip_range, true}};
  for (const auto& w : within) {
    if (w.value.empty()) continue;
    Result<Cidr> c = w.is_range ? parseCidr(w.value) : hostRoute(w.value);
    if (!c) return flagError(w.flag, w.value, c.error());
    if (!subnet) return flagError(w.flag, w.value, invalidArgument("needs --subnet"));
    if (!subnet->contains(*c))
      return flagError(w.flag, w.value, invalidArgument("outside the subnet " + quote(f.subnet)));
  }
  BERTH_RETURN_IF_ERROR(checkKeyValues("--opt", f.options));
  auto options = keyValues("--opt", f.options);
  if (!options) return options.error();
  auto labels = keyValues("--label", f.labels);
  if (!labels) return labels.error();
  return json{{"name", f.name},       {"driver", f.driver},     {"subnet", f.subnet},
              {"gateway", f.gateway}, {"ip_range", f.ip_range}, {"internal", f.internal},
              {"options", *options},  {"labels", *labels}};
}

Result<json> networkConnectBody(const std::string& container, const std::string& ip,
                                const std::vector<std::string>& aliases) {
  if (!ip.empty()) {
    if (auto a = parseIpv4(ip); !a) return flagError("--ip", ip, a.error());
  }
  for (const auto& a : aliases)
    if (auto s = checkName(a); !s) return flagError("--alias", a, s.error());
  return json{{"container", container}, {"aliases", aliases}, {"ip", ip}, {"mac", ""}};
}

Status checkNetworkFilter(std::string_view filter) {
  size_t eq = filter.find('=');
  std::string_view key = filter.substr(0, eq);
  if (eq == std::string_view::npos || (key != "name" && key != "driver" && key != "label"))
    return flagError("--filter", filter, invalidArgument("use name=, driver= or label=K[=V]"));
  return okStatus();
}

}  // namespace berth::cli
