#pragma once
// DNS messages as the embedded server reads and writes them, built on ldns so that no
// wire format is written by hand here. Pure functions, no sockets.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "network/dns_server.h"

namespace berth::network {

// RFC 1035 limits, and the EDNS payload size we advertise and cap answers at: the 2020
// DNS flag day figure, which avoids IP fragmentation on every common path.
inline constexpr size_t kDnsHeaderSize = 12;
inline constexpr size_t kDnsUdpMinSize = 512;
inline constexpr size_t kDnsEdnsSize = 1232;
inline constexpr size_t kDnsMaxMessage = 65535;

// Response codes we produce (RFC 1035 §4.1.1).
inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;

inline constexpr uint16_t kClassIn = 1;

// The parts of a query a reply needs.
struct DnsQuery {
  uint16_t id = 0;
  bool rd = false;
  bool cd = false;
  bool edns = false;       // the query carried an OPT record
  uint16_t edns_size = 0;  // the client's UDP payload size, 0 without EDNS
  std::string qname;       // presentation form as sent, with the final dot: "Web.Example."
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};

struct DecodedQuery {
  enum class Action {
    kDrop,   // too short for a header, or a response: never answer those
    kReply,  // send `reply` (FORMERR, NOTIMP) as it is
    kQuery,  // `query` is a well-formed query
  };
  Action action = Action::kDrop;
  DnsQuery query;
  std::vector<uint8_t> reply;
};

DecodedQuery decodeQuery(std::span<const uint8_t> wire);

// The name the handler is asked about: lowercase, without the final dot ("" for the root).
std::string handlerName(const DnsQuery& query);

// The largest UDP reply the client takes: 512, or its EDNS size capped at kDnsEdnsSize.
size_t udpLimit(const DnsQuery& query);

// The reply to `query` for a kAnswer or kNxDomain verdict, at most `limit` bytes: when the
// whole reply is larger, the additional section goes, then the answers that do not fit,
// and TC is set if any answer went. kInvalidArgument when a record does not parse:
// "encode dns record 'web. 0 IN A 10.0.0': <ldns's reason>".
Result<std::vector<uint8_t>> encodeReply(const DnsQuery& query, const DnsReply& reply,
                                         size_t limit);

// A reply to `query` carrying only its question and `rcode` (SERVFAIL, REFUSED).
std::vector<uint8_t> encodeError(const DnsQuery& query, uint8_t rcode);

// Header fields of a reply received from an upstream; `wire` holds at least a header.
struct DnsHeader {
  uint16_t id = 0;
  bool qr = false;
  bool tc = false;
  uint8_t rcode = 0;
};
DnsHeader readHeader(std::span<const uint8_t> wire);

}  // namespace berth::network
