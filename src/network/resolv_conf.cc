#include "network/resolv_conf.h"

#include <arpa/inet.h>

#include "common/strings.h"

namespace berth::network {
namespace {

// The words of a line, split on blanks as the resolver does.
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool isIpLiteral(std::string_view s) {
  std::string addr(s.substr(0, s.find('%')));  // a zone only makes sense after IPv6
  unsigned char buf[16];
  if (addr.size() == s.size() && ::inet_pton(AF_INET, addr.c_str(), buf) == 1) return true;
  return ::inet_pton(AF_INET6, addr.c_str(), buf) == 1;
}

template <typename F>
void forEachLine(std::string_view text, F&& f) {
  for (const std::string& raw : split(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    f(line);
  }
}

}  // namespace

std::vector<std::string> nameserversFrom(std::string_view resolv_conf) {
  std::vector<std::string> out;
  forEachLine(resolv_conf, [&](std::string_view line) {
    auto w = words(line);
    if (w.size() >= 2 && w[0] == "nameserver" && isIpLiteral(w[1])) out.emplace_back(w[1]);
  });
  return out;
}

std::string containerResolvConf(std::string_view host_resolv_conf,
                                const std::vector<std::string>& nameservers) {
  std::string out;
  for (const std::string& ns : nameservers) out += "nameserver " + ns + "\n";
  forEachLine(host_resolv_conf, [&](std::string_view line) {
    auto w = words(line);
    if (w.empty() || (w[0] != "search" && w[0] != "domain" && w[0] != "options")) return;
    out += line;
    out += '\n';
  });
  return out;
}

}  // namespace berth::network
