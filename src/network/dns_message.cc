#include "network/dns_message.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>

#include "common/strings.h"
#include "network/ldns.h"

namespace berth::network {
namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct CFree {
  void operator()(void* p) const { std::free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
using Rr = std::unique_ptr<ldns_rr, RrFree>;
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;

std::string lowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// ldns allocates with malloc; we hand out vectors. An encoding failure means ldns ran out
// of memory: there is no sensible reply to send then.
std::vector<uint8_t> toWire(const ldns_pkt* p) {
  uint8_t* data = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&data, p, &size) != LDNS_STATUS_OK) {
    std::free(data);
    std::abort();
  }
  std::unique_ptr<uint8_t, CFree> owned(data);
  return std::vector<uint8_t>(data, data + size);
}

// A reply header echoing what can be read from a query's header alone.
std::vector<uint8_t> headerOnlyReply(std::span<const uint8_t> wire, uint8_t rcode) {
  Pkt p(ldns_pkt_new());
  ldns_pkt_set_id(p.get(), LDNS_ID_WIRE(wire.data()));
  ldns_pkt_set_opcode(p.get(), static_cast<ldns_pkt_opcode>(LDNS_OPCODE_WIRE(wire.data())));
  ldns_pkt_set_qr(p.get(), true);
  ldns_pkt_set_rd(p.get(), LDNS_RD_WIRE(wire.data()) != 0);
  ldns_pkt_set_ra(p.get(), true);
  ldns_pkt_set_rcode(p.get(), rcode);
  return toWire(p.get());
}

// The header and question of every reply to `q`. The question comes back as sent.
Pkt replySkeleton(const DnsQuery& q, uint8_t rcode, bool authoritative) {
  Pkt p(ldns_pkt_new());
  ldns_pkt_set_id(p.get(), q.id);
  ldns_pkt_set_opcode(p.get(), LDNS_PACKET_QUERY);
  ldns_pkt_set_qr(p.get(), true);
  ldns_pkt_set_rd(p.get(), q.rd);
  ldns_pkt_set_cd(p.get(), q.cd);
  ldns_pkt_set_ra(p.get(), true);
  ldns_pkt_set_aa(p.get(), authoritative);
  ldns_pkt_set_rcode(p.get(), rcode);
  // decodeQuery printed the name from a parsed one, so it parses back.
  ldns_rdf* owner = ldns_dname_new_frm_str(q.qname.c_str());
  if (owner == nullptr) std::abort();
  ldns_rr* question = ldns_rr_new();
  ldns_rr_set_owner(question, owner);
  ldns_rr_set_type(question, static_cast<ldns_rr_type>(q.qtype));
  ldns_rr_set_class(question, static_cast<ldns_rr_class>(q.qclass));
  ldns_rr_set_question(question, true);
  ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, question);
  if (q.edns) ldns_pkt_set_edns_udp_size(p.get(), kDnsEdnsSize);
  return p;
}

Result<Rr> parseRecord(const DnsRecord& r, const ldns_rdf* origin) {
  std::string owner = r.name.empty() ? "." : r.name;
  if (owner.back() != '.') owner += '.';
  std::unique_ptr<char, CFree> type(ldns_rr_type2str(static_cast<ldns_rr_type>(r.type)));
  std::string text = owner + " " + std::to_string(r.ttl) + " IN " + type.get() + " " + r.data;
  ldns_rr* rr = nullptr;
  // The origin makes relative names in rdata ("0 0 80 web-1.node.berth") absolute.
  ldns_status s = ldns_rr_new_frm_str(&rr, text.c_str(), 0, origin, nullptr);
  if (s != LDNS_STATUS_OK) {
    ldns_rr_free(rr);
    return invalidArgument("encode dns record " + quote(text) + ": " +
                           lowerFirst(ldns_get_errorstr_by_id(s)));
  }
  return Rr(rr);
}

Result<std::vector<Rr>> parseRecords(const std::vector<DnsRecord>& records,
                                     const ldns_rdf* origin) {
  std::vector<Rr> out;
  out.reserve(records.size());
  for (const DnsRecord& r : records) out.push_back(BERTH_TRY(parseRecord(r, origin)));
  return out;
}

}  // namespace

DecodedQuery decodeQuery(std::span<const uint8_t> wire) {
  DecodedQuery out;
  if (wire.size() < LDNS_HEADER_SIZE || LDNS_QR_WIRE(wire.data())) return out;
  out.action = DecodedQuery::Action::kReply;
  if (LDNS_OPCODE_WIRE(wire.data()) != LDNS_PACKET_QUERY) {
    out.reply = headerOnlyReply(wire, kRcodeNotImp);
    return out;
  }
  ldns_pkt* raw = nullptr;
  ldns_status s = ldns_wire2pkt(&raw, wire.data(), wire.size());
  Pkt p(raw);
  if (s != LDNS_STATUS_OK || ldns_pkt_qdcount(p.get()) == 0) {
    out.reply = headerOnlyReply(wire, kRcodeFormErr);
    return out;
  }
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  std::unique_ptr<char, CFree> name(ldns_rdf2str(ldns_rr_owner(question)));
  if (!name) {
    out.reply = headerOnlyReply(wire, kRcodeFormErr);
    return out;
  }
  out.action = DecodedQuery::Action::kQuery;
  DnsQuery& q = out.query;
  q.id = ldns_pkt_id(p.get());
  q.rd = ldns_pkt_rd(p.get());
  q.cd = ldns_pkt_cd(p.get());
  q.edns = ldns_pkt_edns(p.get());
  q.edns_size = ldns_pkt_edns_udp_size(p.get());
  q.qname = name.get();
  q.qtype = ldns_rr_get_type(question);
  q.qclass = ldns_rr_get_class(question);
  return out;
}

std::string handlerName(const DnsQuery& query) {
  std::string name = query.qname;
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

size_t udpLimit(const DnsQuery& query) {
  if (!query.edns || query.edns_size <= kDnsUdpMinSize) return kDnsUdpMinSize;
  return std::min<size_t>(query.edns_size, kDnsEdnsSize);
}

Result<std::vector<uint8_t>> encodeReply(const DnsQuery& query, const DnsReply& reply,
                                         size_t limit) {
  const bool nx = reply.verdict == DnsVerdict::kNxDomain;
  const uint8_t rcode = nx ? kRcodeNxDomain : kRcodeNoError;
  Rdf origin(ldns_dname_new_frm_str("."));
  std::vector<Rr> answers, additional;
  if (!nx) {
    answers = BERTH_TRY(parseRecords(reply.answers, origin.get()));
    additional = BERTH_TRY(parseRecords(reply.additional, origin.get()));
  }
  // The first `n` answers, with or without the additional section.
  auto build = [&](size_t n, bool with_additional) {
    Pkt p = replySkeleton(query, rcode, true);
    for (size_t i = 0; i < n; ++i)
      ldns_pkt_push_rr(p.get(), LDNS_SECTION_ANSWER, ldns_rr_clone(answers[i].get()));
    if (with_additional)
      for (const Rr& r : additional)
        ldns_pkt_push_rr(p.get(), LDNS_SECTION_ADDITIONAL, ldns_rr_clone(r.get()));
    ldns_pkt_set_tc(p.get(), n < answers.size());
    return toWire(p.get());
  };
  std::vector<uint8_t> whole = build(answers.size(), true);
  if (whole.size() <= limit) return whole;
  // Additional records are a courtesy; dropping them needs no TC (RFC 2181 §9).
  if (!additional.empty()) {
    std::vector<uint8_t> bare = build(answers.size(), false);
    if (bare.size() <= limit) return bare;
  }
  // The most answers that fit: zero always does, the question being at most 255 + 16 bytes.
  size_t lo = 0, hi = answers.size();  // build(lo) fits, build(hi) does not
  std::vector<uint8_t> best = build(0, false);
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    std::vector<uint8_t> w = build(mid, false);
    if (w.size() <= limit) {
      lo = mid;
      best = std::move(w);
    } else {
      hi = mid;
    }
  }
  return best;
}

std::vector<uint8_t> encodeError(const DnsQuery& query, uint8_t rcode) {
  return toWire(replySkeleton(query, rcode, false).get());
}

DnsHeader readHeader(std::span<const uint8_t> wire) {
  DnsHeader h;
  h.id = LDNS_ID_WIRE(wire.data());
  h.qr = LDNS_QR_WIRE(wire.data()) != 0;
  h.tc = LDNS_TC_WIRE(wire.data()) != 0;
  h.rcode = LDNS_RCODE_WIRE(wire.data());
  return h;
}

}  // namespace berth::network
