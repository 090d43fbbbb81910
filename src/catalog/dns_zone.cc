#include "catalog/dns_zone.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "common/strings.h"

namespace berth::catalog {
namespace {

using network::DnsQuestion;
using network::DnsRecord;
using network::DnsReply;
using network::DnsVerdict;

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kTypeSrv = 33;
constexpr uint16_t kTypeAny = 255;

// SRV priority and weight: every instance alike. Weight 1 rather than 0: RFC 2782 keeps 0
// for "no load balancing intended", and with equal non-zero weights clients pick evenly.
constexpr std::string_view kSrvPriorityWeight = "1 1 ";

DnsReply reply(DnsVerdict verdict) {
  DnsReply r;
  r.verdict = verdict;
  r.cacheable = true;  // a function of the name, the type and the catalog alone
  return r;
}

// A lowercase hex digit's value, -1 for anything else.
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The address as DNS carries it: the record type (A or AAAA) and its text; type 0 for
// anything that is not an IP literal.
struct Address {
  uint16_t type = 0;
  std::string text;
};

Address classify(const std::string& address) {
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, address.c_str(), bytes.data()) == 1) return {kTypeA, address};
  if (inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) return {kTypeAaaa, address};
  return {};
}

// HEX.addr.berth: the address the hex digits spell.
DnsReply answerAddr(std::string_view label, const DnsQuestion& q) {
  if (label.size() != 8 && label.size() != 32) return reply(DnsVerdict::kNxDomain);
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < label.size() / 2; ++i) {
    int hi = hexValue(label[2 * i]), lo = hexValue(label[2 * i + 1]);
    if (hi < 0 || lo < 0) return reply(DnsVerdict::kNxDomain);
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  const uint16_t type = label.size() == 8 ? kTypeA : kTypeAaaa;
  char text[INET6_ADDRSTRLEN];
  inet_ntop(type == kTypeA ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  DnsReply r = reply(DnsVerdict::kAnswer);
  if (q.type == type || q.type == kTypeAny) r.answers.push_back({q.name, type, 0, text});
  return r;
}

// What a name under service.berth asks for.
struct ServiceName {
  std::string service;
  std::string tag;
  bool srv_only = false;  // _NAME._tcp
};

std::optional<ServiceName> parseServiceName(std::string_view prefix) {
  std::vector<std::string> labels = split(prefix, '.');
  auto underscored = [](const std::string& l) { return l.size() > 1 && l[0] == '_'; };
  if (labels.size() == 1 && !labels[0].starts_with('_')) return ServiceName{labels[0], "", false};
  if (labels.size() != 2) return std::nullopt;
  const std::string& first = labels[0];
  const std::string& second = labels[1];
  if (underscored(first) && (second == "_tcp" || second == "_udp"))
    return ServiceName{first.substr(1), "", true};
  if (first.starts_with('_') || second.starts_with('_')) return std::nullopt;
  return ServiceName{second, first, false};
}

void addUnique(std::vector<DnsRecord>& records, DnsRecord r) {
  for (const DnsRecord& have : records)
    if (have.type == r.type && have.data == r.data) return;
  records.push_back(std::move(r));
}

DnsReply answerService(const ServiceName& n, const DnsQuestion& q,
                       const std::vector<Instance>& instances) {
  DnsReply r = reply(DnsVerdict::kAnswer);
  const bool any = q.type == kTypeAny;
  for (const Instance& in : instances) {
    Address a = classify(in.address);
    if (a.type == 0) continue;  // validate() keeps these out of the catalog
    if (!n.srv_only && (q.type == a.type || any)) addUnique(r.answers, {q.name, a.type, 0, a.text});
    if ((q.type == kTypeSrv || any) && in.port != 0) {
      std::string target = addrName(a.text);
      addUnique(r.answers,
                {q.name, kTypeSrv, 0,
                 std::string(kSrvPriorityWeight) + std::to_string(in.port) + " " + target + "."});
      addUnique(r.additional, {target, a.type, 0, a.text});
    }
  }
  return r;
}

}  // namespace

std::string addrName(std::string_view address) {
  std::array<uint8_t, 16> bytes{};
  std::string text(address);
  size_t n = 0;
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1)
    n = 4;
  else if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1)
    n = 16;
  else
    return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out + "." + std::string(kAddrDomain);
}

std::optional<DnsReply> DnsZone::answer(const DnsQuestion& question) const {
  DnsQuestion q = question;
  q.name = toLower(q.name);
  if (q.name.ends_with('.')) q.name.pop_back();
  const std::string_view name = q.name;
  auto under = [&](std::string_view domain) {
    return name.size() > domain.size() + 1 && name.ends_with(domain) &&
           name[name.size() - domain.size() - 1] == '.';
  };
  if (name == kServiceDomain || name == kAddrDomain) return reply(DnsVerdict::kAnswer);
  if (under(kAddrDomain)) {
    std::string_view label = name.substr(0, name.size() - kAddrDomain.size() - 1);
    if (label.find('.') != std::string_view::npos) return reply(DnsVerdict::kNxDomain);
    return answerAddr(label, q);
  }
  if (!under(kServiceDomain)) return std::nullopt;
  std::optional<ServiceName> n =
      parseServiceName(name.substr(0, name.size() - kServiceDomain.size() - 1));
  if (!n) return reply(DnsVerdict::kNxDomain);
  std::vector<Instance> instances = lookup_(n->service, n->tag);
  if (instances.empty()) return reply(DnsVerdict::kNxDomain);
  return answerService(*n, q, instances);
}

}  // namespace berth::catalog
