#include "network/ruleset.h"

namespace berth::network {
namespace {

std::string q(const std::string& s) { return "\"" + s + "\""; }

void declare(std::string& s, const std::string& t) {
  s += "add table ip " + t + "\n";
  s += "add map ip " + t +
       " pub_any { type inet_proto . inet_service : ipv4_addr . inet_service; }\n";
  s += "add map ip " + t +
       " pub_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }\n";
  s += "add chain ip " + t + " publish\n";
  s += "add chain ip " + t +
       " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n";
  s += "add chain ip " + t + " output { type nat hook output priority -100; policy accept; }\n";
  s += "add chain ip " + t +
       " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n";
  s += "add chain ip " + t +
       " forward { type filter hook forward priority filter; policy accept; }\n";
}

std::string element(const PortMap& p) {
  std::string key = p.protocol + " . " + std::to_string(p.host_port);
  if (!p.host_ip.empty()) key = p.host_ip + " . " + key;
  return key + " : " + p.container_ip + " . " + std::to_string(p.container_port);
}

void elements(std::string& s, const std::string& t, const std::vector<PortMap>& ports,
              const char* verb) {
  for (const char* map : {"pub_any", "pub_ip"}) {
    std::string list;
    for (const auto& p : ports) {
      if (p.host_ip.empty() != (std::string(map) == "pub_any")) continue;
      if (std::string(verb) == "delete") {
        // Deleting takes the key only.
        std::string e = element(p);
        list += (list.empty() ? "" : ", ") + e.substr(0, e.find(" : "));
      } else {
        list += (list.empty() ? "" : ", ") + element(p);
      }
    }
    if (!list.empty())
      s += std::string(verb) + " element ip " + t + " " + map + " { " + list + " }\n";
  }
}

}  // namespace

std::string chainsScript(const std::string& table, const std::vector<BridgeRules>& bridges) {
  const std::string& t = table;
  std::string s;
  declare(s, t);
  for (const char* c : {"publish", "prerouting", "output", "postrouting", "forward"})
    s += "flush chain ip " + t + " " + c + "\n";
  s += "add rule ip " + t + " publish dnat ip to ip daddr . meta l4proto . th dport map @pub_ip\n";
  s += "add rule ip " + t + " publish dnat ip to meta l4proto . th dport map @pub_any\n";
  s += "add rule ip " + t + " prerouting fib daddr type local jump publish\n";
  s += "add rule ip " + t + " output fib daddr type local jump publish\n";

  s += "add rule ip " + t + " forward ct state established,related accept\n";
  s += "add rule ip " + t + " forward ct status dnat accept\n";
  for (const auto& b : bridges) {
    std::string i = q(b.interface);
    s += "add rule ip " + t + " postrouting oifname " + i +
         " ct status dnat ip saddr 127.0.0.0/8 masquerade\n";
    s += "add rule ip " + t + " postrouting oifname " + i + " ct status dnat ip saddr " + b.subnet +
         " masquerade\n";
    if (b.internal) {
      s += "add rule ip " + t + " forward iifname " + i + " oifname != " + i + " drop\n";
      s += "add rule ip " + t + " forward oifname " + i + " iifname != " + i + " drop\n";
    } else {
      s += "add rule ip " + t + " postrouting ip saddr " + b.subnet + " oifname != " + i +
           " masquerade\n";
      std::string others;
      for (const auto& o : bridges)
        if (o.interface != b.interface) others += (others.empty() ? "" : ", ") + q(o.interface);
      if (!others.empty())
        s += "add rule ip " + t + " forward iifname " + i + " oifname { " + others + " } drop\n";
    }
  }
  return s;
}

std::string portsScript(const std::string& table, const std::vector<PortMap>& ports, bool add) {
  std::string s;
  elements(s, table, ports, add ? "add" : "delete");
  return s;
}

std::string resetPortsScript(const std::string& table, const std::vector<PortMap>& ports) {
  std::string s = "flush map ip " + table + " pub_any\nflush map ip " + table + " pub_ip\n";
  elements(s, table, ports, "add");
  return s;
}

std::string deleteTableScript(const std::string& table) {
  return "add table ip " + table + "\ndelete table ip " + table + "\n";
}

}  // namespace berth::network
