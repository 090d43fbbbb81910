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

uint16_t read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

// A byte that decodeCommonQuery takes in a label: those ldns prints as they are, and that
// no name of ours lacks.
bool plainLabelByte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '*';
}

uint8_t asciiLower(uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

// Two names in wire form, equal but for ASCII case (RFC 4343). Length bytes are below 64,
// so lowering them changes nothing.
bool sameName(std::string_view a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (asciiLower(static_cast<uint8_t>(a[i])) != asciiLower(b[i])) return false;
  return true;
}

// The header and question of every reply to `q`; the question goes back as sent.
void writeHead(const DnsQuery& q, uint8_t rcode, bool authoritative, bool truncated,
               uint16_t answers, uint16_t additional, std::vector<uint8_t>& out) {
  out.clear();
  put16(out, q.id);
  // QR, opcode QUERY, AA, TC, RD | RA, Z, AD, CD, RCODE (RFC 1035 §4.1.1, RFC 4035 §3.2).
  out.push_back(static_cast<uint8_t>(0x80 | (authoritative ? 0x04 : 0) | (truncated ? 0x02 : 0) |
                                     (q.rd ? 0x01 : 0)));
  out.push_back(static_cast<uint8_t>(0x80 | (q.cd ? 0x10 : 0) | (rcode & 0x0f)));
  put16(out, 1);
  put16(out, answers);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(additional + (q.edns ? 1 : 0)));
  out.insert(out.end(), q.qname.begin(), q.qname.end());
  put16(out, q.qtype);
  put16(out, q.qclass);
}

// Our OPT record (RFC 6891 §6.1.2): the root, our payload size, no extended rcode, version
// 0, no flags, no options.
constexpr size_t kOptSize = 11;
void writeOpt(std::vector<uint8_t>& out) {
  out.push_back(0);
  put16(out, 41);
  put16(out, static_cast<uint16_t>(kDnsEdnsSize));
  for (int i = 0; i < 6; ++i) out.push_back(0);
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

// Appends `rr` in wire form, its owner a pointer to the question's name when it is that
// name (RFC 1035 §4.1.4); rdata is never compressed (RFC 3597 §4).
void appendRecord(const DnsQuery& q, const ldns_rr* rr, WireRecords& out) {
  uint8_t* data = nullptr;
  size_t size = 0;
  if (ldns_rr2wire(&data, rr, LDNS_SECTION_ANSWER, &size) != LDNS_STATUS_OK) {
    std::free(data);
    std::abort();  // out of memory: see toWire
  }
  std::unique_ptr<uint8_t, CFree> owned(data);
  const ldns_rdf* owner = ldns_rr_owner(rr);
  const size_t owner_size = ldns_rdf_size(owner);
  if (sameName(q.qname, std::span<const uint8_t>(ldns_rdf_data(owner), owner_size))) {
    out.bytes += "\xc0\x0c";
    out.bytes.append(reinterpret_cast<const char*>(data) + owner_size, size - owner_size);
  } else {
    out.bytes.append(reinterpret_cast<const char*>(data), size);
  }
  out.ends.push_back(static_cast<uint32_t>(out.bytes.size()));
}

// The name of a question ldns read, in wire form.
std::string nameOf(const ldns_rdf* name) {
  return std::string(reinterpret_cast<const char*>(ldns_rdf_data(name)), ldns_rdf_size(name));
}

}  // namespace

std::optional<DnsQuery> decodeCommonQuery(std::span<const uint8_t> wire) {
  const uint8_t* w = wire.data();
  const size_t size = wire.size();
  if (size < kDnsHeaderSize || (w[2] & 0x80) != 0 || ((w[2] >> 3) & 0x0f) != LDNS_PACKET_QUERY)
    return std::nullopt;
  const uint16_t additional = read16(w + 10);
  if (read16(w + 4) != 1 || read16(w + 6) != 0 || read16(w + 8) != 0 || additional > 1)
    return std::nullopt;
  size_t pos = kDnsHeaderSize;
  while (true) {
    if (pos >= size) return std::nullopt;
    const uint8_t len = w[pos];
    if (len == 0) break;
    if (len > 63 || pos + 1 + len > size) return std::nullopt;  // a pointer, or cut short
    for (size_t i = pos + 1; i <= pos + len; ++i)
      if (!plainLabelByte(w[i])) return std::nullopt;
    pos += 1 + len;
  }
  ++pos;  // the root
  if (pos - kDnsHeaderSize > 255 || pos + 4 > size) return std::nullopt;
  DnsQuery q;
  q.id = read16(w);
  q.rd = (w[2] & 0x01) != 0;
  q.cd = (w[3] & 0x10) != 0;
  q.qname.assign(reinterpret_cast<const char*>(w + kDnsHeaderSize), pos - kDnsHeaderSize);
  q.qtype = read16(w + pos);
  q.qclass = read16(w + pos + 2);
  pos += 4;
  if (additional == 1) {
    // OPT (RFC 6891 §6.1.2): root owner, type 41, payload size, extended rcode and flags,
    // then options, each a code and a length, filling the rdata exactly.
    if (pos + 11 > size || w[pos] != 0 || read16(w + pos + 1) != 41) return std::nullopt;
    q.edns = true;
    q.edns_size = read16(w + pos + 3);
    const size_t rdata_end = pos + 11 + read16(w + pos + 9);
    pos += 11;
    if (rdata_end != size) return std::nullopt;
    while (pos < rdata_end) {
      if (pos + 4 > rdata_end) return std::nullopt;
      pos += 4 + read16(w + pos + 2);
    }
    if (pos != rdata_end) return std::nullopt;
  }
  if (pos != size) return std::nullopt;
  return q;
}

DecodedQuery decodeQuery(std::span<const uint8_t> wire) {
  if (std::optional<DnsQuery> q = decodeCommonQuery(wire)) {
    DecodedQuery out;
    out.action = DecodedQuery::Action::kQuery;
    out.query = std::move(*q);
    return out;
  }
  return decodeQueryWithLdns(wire);
}

DecodedQuery decodeQueryWithLdns(std::span<const uint8_t> wire) {
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
  out.action = DecodedQuery::Action::kQuery;
  DnsQuery& q = out.query;
  q.id = ldns_pkt_id(p.get());
  q.rd = ldns_pkt_rd(p.get());
  q.cd = ldns_pkt_cd(p.get());
  q.edns = ldns_pkt_edns(p.get());
  q.edns_size = ldns_pkt_edns_udp_size(p.get());
  q.qname = nameOf(ldns_rr_owner(question));
  q.qtype = ldns_rr_get_type(question);
  q.qclass = ldns_rr_get_class(question);
  return out;
}

std::string handlerName(const DnsQuery& query) {
  const std::string& w = query.qname;
  std::string name;
  bool plain = true;
  for (size_t pos = 0; pos < w.size() && w[pos] != 0 && plain;) {
    const size_t len = static_cast<uint8_t>(w[pos]);
    if (!name.empty()) name += '.';
    for (size_t i = pos + 1; i <= pos + len && i < w.size(); ++i) {
      plain = plain && plainLabelByte(static_cast<uint8_t>(w[i]));
      name += static_cast<char>(asciiLower(static_cast<uint8_t>(w[i])));
    }
    pos += 1 + len;
  }
  if (plain) return name;
  // Bytes that need escaping: ldns's presentation form, as the handler has always seen it.
  Rdf rdf(ldns_dname_new_frm_data(static_cast<uint16_t>(w.size()), w.data()));
  std::unique_ptr<char, CFree> text(rdf ? ldns_rdf2str(rdf.get()) : nullptr);
  if (!text) return "";
  name = text.get();
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (char& c : name) c = static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
  return name;
}

std::optional<std::string> wireName(std::string_view name) {
  Rdf rdf(ldns_dname_new_frm_str(std::string(name).c_str()));
  if (!rdf) return std::nullopt;
  return nameOf(rdf.get());
}

size_t udpLimit(const DnsQuery& query) {
  if (!query.edns || query.edns_size <= kDnsUdpMinSize) return kDnsUdpMinSize;
  return std::min<size_t>(query.edns_size, kDnsEdnsSize);
}

Result<WireRecords> encodeRecords(const DnsQuery& query, const DnsReply& reply) {
  WireRecords out;
  if (reply.verdict == DnsVerdict::kNxDomain) {
    out.rcode = kRcodeNxDomain;
    return out;
  }
  Rdf origin(ldns_dname_new_frm_str("."));
  for (const auto* section : {&reply.answers, &reply.additional}) {
    for (const DnsRecord& r : *section) {
      Rr rr = BERTH_TRY(parseRecord(r, origin.get()));
      appendRecord(query, rr.get(), out);
    }
  }
  out.answers = reply.answers.size();
  return out;
}

void writeReply(const DnsQuery& query, const WireRecords& records, size_t rotate, size_t limit,
                std::vector<uint8_t>& out) {
  const size_t n = records.answers;
  auto start = [&](size_t i) -> size_t { return i == 0 ? 0 : records.ends[i - 1]; };
  const size_t answer_bytes = start(n);
  const size_t additional = records.ends.size() - n;
  const size_t base = kDnsHeaderSize + query.qname.size() + 4 + (query.edns ? kOptSize : 0);
  // Additional records are a courtesy; dropping them needs no TC (RFC 2181 §9). Then the
  // most answers that fit: zero always does, the question being at most 255 + 4 bytes.
  const bool with_additional = base + records.bytes.size() <= limit;
  size_t count = n, used = base;
  if (base + answer_bytes > limit) {
    count = 0;
    while (count < n) {
      const size_t i = (count + rotate) % n;
      const size_t len = records.ends[i] - start(i);
      if (used + len > limit) break;
      used += len;
      ++count;
    }
  }
  writeHead(query, records.rcode, true, count < n, static_cast<uint16_t>(count),
            static_cast<uint16_t>(with_additional ? additional : 0), out);
  const auto* bytes = reinterpret_cast<const uint8_t*>(records.bytes.data());
  for (size_t k = 0; k < count; ++k) {
    const size_t i = (k + rotate) % n;
    out.insert(out.end(), bytes + start(i), bytes + records.ends[i]);
  }
  if (with_additional) out.insert(out.end(), bytes + answer_bytes, bytes + records.bytes.size());
  if (query.edns) writeOpt(out);
}

Result<std::vector<uint8_t>> encodeReply(const DnsQuery& query, const DnsReply& reply,
                                         size_t limit) {
  WireRecords records = BERTH_TRY(encodeRecords(query, reply));
  std::vector<uint8_t> out;
  writeReply(query, records, 0, limit, out);
  return out;
}

std::vector<uint8_t> encodeError(const DnsQuery& query, uint8_t rcode) {
  std::vector<uint8_t> out;
  writeHead(query, rcode, false, false, 0, 0, out);
  if (query.edns) writeOpt(out);
  return out;
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
