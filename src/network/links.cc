#include "network/links.h"

#include <algorithm>
#include <cctype>

namespace berth::network {

std::vector<std::string> linkEnv(const std::string& container_name, const LinkPeer& peer) {
  std::string prefix;
  for (char ch : peer.alias)
    prefix += std::isalnum(static_cast<unsigned char>(ch))
                  ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch)))
                  : '_';
  std::vector<std::string> out;
  out.push_back(prefix + "_NAME=/" + container_name + "/" + peer.alias);
  auto ports = peer.ports;
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  if (!ports.empty()) {
    out.push_back(prefix + "_PORT=" + ports[0].second + "://" + peer.ip + ":" +
                  std::to_string(ports[0].first));
  }
  for (const auto& [port, proto] : ports) {
    std::string upper = proto;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::string p = prefix + "_PORT_" + std::to_string(port) + "_" + upper;
    out.push_back(p + "=" + proto + "://" + peer.ip + ":" + std::to_string(port));
    out.push_back(p + "_ADDR=" + peer.ip);
    out.push_back(p + "_PORT=" + std::to_string(port));
    out.push_back(p + "_PROTO=" + proto);
  }
  for (const auto& kv : peer.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string key = kv.substr(0, eq);
    // What every container has says nothing about the peer.
    if (key == "HOME" || key == "PATH" || key == "HOSTNAME") continue;
    out.push_back(prefix + "_ENV_" + kv);
  }
  return out;
}

}  // namespace berth::network
