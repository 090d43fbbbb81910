#pragma once
// DNS messages as the embedded server reads and writes them. Pure functions, no sockets.
//
// Speed decides the split between ldns and our own code. The common query (one question,
// at most an OPT record, plain names) is read by a small parser of our own, anything else
// by ldns; the fuzzer holds the two to the same result on every input. Records are
// encoded by ldns from their text, once per answer the server keeps; a reply is then put
// together from those encoded records by hand: a 12-byte header, the question as it was
// sent, the records, and an OPT record.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  // The asked name in wire form as sent: length-prefixed labels, then the root's 0, at
  // most 255 bytes, never compressed. Replies carry it back byte for byte (resolvers match
  // it exactly: 0x20 case randomisation).
  std::string qname;
  uint16_t qtype = 0;
  uint16_t qclass = 0;

  bool operator==(const DnsQuery&) const = default;
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

// The common query alone, read without ldns: QUERY opcode, one question whose name has
// only letters, digits, '-', '_' and '*' in its labels, no answer or authority records,
// at most one additional record, an OPT at the root, and nothing after it. nullopt for
// anything else. decodeQuery tries it first.
std::optional<DnsQuery> decodeCommonQuery(std::span<const uint8_t> wire);
// decodeQuery without that fast path: ldns reads every query. The reference that the
// fuzzer holds decodeCommonQuery to.
DecodedQuery decodeQueryWithLdns(std::span<const uint8_t> wire);

// The name the handler is asked about: presentation form escaped as ldns prints it,
// lowercase, without the final dot ("" for the root).
std::string handlerName(const DnsQuery& query);

// A name in wire form from its presentation form ("web.berth", "web.berth."); nullopt when
// it is not a valid name.
std::optional<std::string> wireName(std::string_view name);

// The largest UDP reply the client takes: 512, or its EDNS size capped at kDnsEdnsSize.
size_t udpLimit(const DnsQuery& query);

// A reply's records in wire form, each independent of where it lands in a message: an
// owner equal to the question's name is a pointer to it (always at offset 12), and nothing
// else is compressed. So a reply can put them in any order, and leave any out, without
// encoding them again.
struct WireRecords {
  uint8_t rcode = 0;
  std::string bytes;           // the records one after the other, answers first
  std::vector<uint32_t> ends;  // where each record ends in `bytes`
  size_t answers = 0;          // how many of them are answers; the rest are additional
};

// The records of a kAnswer or kNxDomain verdict for `query`. kInvalidArgument when a record
// does not parse: "encode dns record 'web. 0 IN A 10.0.0': <ldns's reason>".
Result<WireRecords> encodeRecords(const DnsQuery& query, const DnsReply& reply);

// Writes into `out` (replacing what it held) the reply to `query` carrying `records`,
// answers starting at the one numbered `rotate` (modulo their count) and wrapping around,
// at most `limit` bytes: when the whole reply is larger, the additional section goes, then
// the answers that do not fit, and TC is set if any answer went. AA is set.
void writeReply(const DnsQuery& query, const WireRecords& records, size_t rotate, size_t limit,
                std::vector<uint8_t>& out);

// encodeRecords then writeReply, answers in the order given.
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
