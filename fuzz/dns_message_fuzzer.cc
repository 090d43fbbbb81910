// DNS packet bytes → the embedded resolver's message code, as dns_server.cc uses it:
// decodeQuery on what a client sent; for a query, the handler's name, the UDP limit, an
// answer (records naming the asked name, as berth's service records do) in every rotation,
// NXDOMAIN and SERVFAIL replies; readHeader as on an upstream's reply. Every reply must be
// a DNS response that ldns parses back, within the size it was given, carrying the
// question as it was asked. Where the hand-written parser (decodeCommonQuery) takes a
// packet, ldns must read the same query from it.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "network/dns_message.h"
#include "network/ldns.h"

namespace {

using namespace berth::network;

void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

void checkReply(const std::vector<uint8_t>& wire, size_t limit, const char* what,
                const DnsQuery* asked = nullptr) {
  if (wire.size() > limit) {
    std::fprintf(stderr, "%s: reply of %zu bytes over the limit of %zu\n", what, wire.size(),
                 limit);
    std::abort();
  }
  ldns_pkt* p = nullptr;
  ldns_status s = ldns_wire2pkt(&p, wire.data(), wire.size());
  if (s != LDNS_STATUS_OK || !ldns_pkt_qr(p)) {
    std::fprintf(stderr, "%s: reply does not parse as a response: %s\n", what,
                 ldns_get_errorstr_by_id(s));
    std::abort();
  }
  if (asked != nullptr) {
    const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
    const ldns_rdf* owner = q ? ldns_rr_owner(q) : nullptr;
    if (ldns_pkt_id(p) != asked->id || owner == nullptr ||
        std::string(reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner)) !=
            asked->qname ||
        ldns_rr_get_type(q) != asked->qtype)
      fail("reply does not carry the question as asked");
  }
  ldns_pkt_free(p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> wire(data, size);
  if (size >= kDnsHeaderSize) (void)readHeader(wire);

  DecodedQuery d = decodeQuery(wire);
  if (std::optional<DnsQuery> fast = decodeCommonQuery(wire)) {
    DecodedQuery slow = decodeQueryWithLdns(wire);
    if (slow.action != DecodedQuery::Action::kQuery || !(slow.query == *fast))
      fail("decodeCommonQuery and ldns read different queries");
  }
  if (d.action == DecodedQuery::Action::kReply) checkReply(d.reply, kDnsMaxMessage, "decode");
  if (d.action != DecodedQuery::Action::kQuery) return 0;

  const DnsQuery& q = d.query;
  std::string name = handlerName(q);
  std::string owner = name.empty() ? "." : name;
  DnsReply reply;
  reply.verdict = DnsVerdict::kAnswer;
  for (int i = 0; i < 40; ++i)
    reply.answers.push_back({owner, 1, 600, "10.89.0." + std::to_string(i + 2)});
  reply.answers.push_back({owner, 28, 600, "fd00::2"});
  reply.additional.push_back({"web-1.node.berth", 1, 600, "10.89.0.2"});
  reply.additional.push_back({owner, 33, 600, "0 0 80 web-1.node.berth"});

  // The asked name can be anything a packet carries; a record naming it may not parse,
  // which the server answers with SERVFAIL.
  if (auto records = encodeRecords(q, reply); records.ok()) {
    std::vector<uint8_t> w;
    for (size_t limit : {udpLimit(q), kDnsMaxMessage}) {
      for (size_t rotate : {size_t{0}, size_t{1}, size_t{40}, size_t{1000}}) {
        writeReply(q, *records, rotate, limit, w);
        checkReply(w, limit, "answer", &q);
      }
    }
  }
  auto nx = encodeReply(q, DnsReply{DnsVerdict::kNxDomain, {}, {}}, udpLimit(q));
  if (!nx.ok()) {
    std::fprintf(stderr, "nxdomain: %s\n", nx.error().message().c_str());
    std::abort();
  }
  checkReply(*nx, udpLimit(q), "nxdomain", &q);
  checkReply(encodeError(q, kRcodeServFail), kDnsMaxMessage, "servfail", &q);
  return 0;
}
