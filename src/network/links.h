#pragma once
// Legacy links (`--link NAME[:ALIAS]`): the environment variables docker defines for a
// linked container, so that programs written for docker's links find their peer.
//
//   ALIAS_NAME=/<this container>/<alias>
//   ALIAS_PORT=tcp://IP:PORT                   (the lowest exposed port)
//   ALIAS_PORT_80_TCP=tcp://IP:80, _ADDR=IP, _PORT=80, _PROTO=tcp   (each exposed port)
//   ALIAS_ENV_K=V                              (each of the peer's own variables)

#include <string>
#include <utility>
#include <vector>

namespace berth::network {

struct LinkPeer {
  std::string alias;  // as given; upper-cased with non-alphanumerics as '_' for variables
  std::string ip;
  std::vector<std::pair<int, std::string>> ports;  // (port, "tcp"|"udp")
  std::vector<std::string> env;                    // the peer's K=V
};

std::vector<std::string> linkEnv(const std::string& container_name, const LinkPeer& peer);

}  // namespace berth::network
