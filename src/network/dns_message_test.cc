#include "network/dns_message.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "network/ldns.h"

namespace berth::network {
namespace {

using Wire = std::vector<uint8_t>;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

// A query as ldns writes it; `edns_size` 0: no OPT record.
Wire query(const std::string& name, ldns_rr_type type, uint16_t edns_size = 0, uint16_t id = 77) {
  Pkt p(ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN,
                           LDNS_RD | LDNS_CD));
  ldns_pkt_set_id(p.get(), id);
  if (edns_size != 0) ldns_pkt_set_edns_udp_size(p.get(), edns_size);
  uint8_t* data = nullptr;
  size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&data, p.get(), &size), LDNS_STATUS_OK);
  Wire w(data, data + size);
  free(data);
  return w;
}

Pkt parse(const Wire& w) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, w.data(), w.size()), LDNS_STATUS_OK);
  return Pkt(p);
}

// The answer section as "owner rdata" lines, owners as the reply spells them.
std::vector<std::string> answers(const ldns_pkt* p,
                                 ldns_pkt_section section = LDNS_SECTION_ANSWER) {
  std::vector<std::string> out;
  ldns_rr_list* list = ldns_pkt_get_section_clone(p, section);
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    const size_t n = ldns_rr_rd_count(rr);
    char* data = n == 0 ? nullptr : ldns_rdf2str(ldns_rr_rdf(rr, n - 1));
    out.push_back(std::string(owner) + " " + (data ? data : ""));
    free(owner);
    free(data);
  }
  ldns_rr_list_deep_free(list);
  return out;
}

DnsQuery decoded(const Wire& w) {
  DecodedQuery d = decodeQuery(w);
  EXPECT_EQ(d.action, DecodedQuery::Action::kQuery);
  return d.query;
}

DnsReply threeA(const std::string& owner) {
  DnsReply r;
  r.verdict = DnsVerdict::kAnswer;
  for (int i = 1; i <= 3; ++i) r.answers.push_back({owner, 1, 0, "10.0.0." + std::to_string(i)});
  r.additional.push_back({"x.addr.berth", 1, 0, "10.0.0.9"});
  return r;
}

TEST(DnsMessageTest, CommonQueriesAreReadWithoutLdnsAndAlike) {
  for (uint16_t edns : {0, 1232, 4096}) {
    Wire w = query("Web.Service.berth.", LDNS_RR_TYPE_SRV, edns);
    std::optional<DnsQuery> fast = decodeCommonQuery(w);
    ASSERT_TRUE(fast) << edns;
    DecodedQuery slow = decodeQueryWithLdns(w);
    ASSERT_EQ(slow.action, DecodedQuery::Action::kQuery);
    EXPECT_EQ(*fast, slow.query);
    EXPECT_EQ(fast->id, 77);
    EXPECT_TRUE(fast->rd);
    EXPECT_TRUE(fast->cd);
    EXPECT_EQ(fast->edns, edns != 0);
    EXPECT_EQ(fast->edns_size, edns);
    EXPECT_EQ(fast->qname, std::string("\3Web\7Service\5berth\0", 19));
    EXPECT_EQ(fast->qtype, LDNS_RR_TYPE_SRV);
    EXPECT_EQ(handlerName(*fast), "web.service.berth");
  }
}

TEST(DnsMessageTest, EdnsOptionsAreSkippedAlike) {
  // A cookie (RFC 7873), as dig sends one: option 10, 8 bytes.
  Wire w = query("web.service.berth.", LDNS_RR_TYPE_A, 1232);
  const uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
  w[w.size() - 1] = sizeof cookie;  // the OPT record's rdata length
  w.insert(w.end(), cookie, cookie + sizeof cookie);
  std::optional<DnsQuery> fast = decodeCommonQuery(w);
  ASSERT_TRUE(fast);
  DecodedQuery slow = decodeQueryWithLdns(w);
  ASSERT_EQ(slow.action, DecodedQuery::Action::kQuery);
  EXPECT_EQ(*fast, slow.query);
  EXPECT_EQ(fast->edns_size, 1232);
  // An option running past the rdata is not the common case.
  w[w.size() - sizeof cookie + 3] = 9;
  EXPECT_FALSE(decodeCommonQuery(w));
}

TEST(DnsMessageTest, UnusualQueriesGoToLdns) {
  // Escaped bytes in a label.
  Wire escaped = query("a\\.b\\000c.berth.", LDNS_RR_TYPE_A);
  EXPECT_FALSE(decodeCommonQuery(escaped));
  EXPECT_EQ(handlerName(decoded(escaped)), "a\\.b\\000c.berth");
  // Bytes after the message.
  Wire trailing = query("web.berth.", LDNS_RR_TYPE_A);
  trailing.push_back(0);
  EXPECT_FALSE(decodeCommonQuery(trailing));
  EXPECT_EQ(handlerName(decoded(trailing)), "web.berth");
  // Two questions.
  Wire two = query("web.berth.", LDNS_RR_TYPE_A);
  two[5] = 2;
  Wire second = query("db.berth.", LDNS_RR_TYPE_A);
  two.insert(two.end(), second.begin() + kDnsHeaderSize, second.end());
  EXPECT_FALSE(decodeCommonQuery(two));
  EXPECT_EQ(handlerName(decoded(two)), "web.berth");
  // A name cut short.
  Wire cut = query("web.berth.", LDNS_RR_TYPE_A);
  cut.resize(kDnsHeaderSize + 3);
  EXPECT_FALSE(decodeCommonQuery(cut));
  EXPECT_EQ(decodeQuery(cut).action, DecodedQuery::Action::kReply);  // FORMERR
}

TEST(DnsMessageTest, RepliesCarryTheQuestionAsAskedAndPointAtIt) {
  Wire w = query("WeB.berth.", LDNS_RR_TYPE_A);
  DnsQuery q = decoded(w);
  Result<std::vector<uint8_t>> r = encodeReply(q, threeA("web.berth"), kDnsUdpMinSize);
  ASSERT_TRUE(r.ok()) << r.error().message();
  // Header, question (11 + 4), three A records of 16 bytes each with owner C0 0C, the
  // additional record under its own name.
  EXPECT_EQ(r->size(), 12u + 15u + 3 * 16u + (14 + 14));
  EXPECT_EQ((*r)[27], 0xc0);
  EXPECT_EQ((*r)[28], 0x0c);
  Pkt p = parse(*r);
  EXPECT_EQ(ldns_pkt_id(p.get()), 77);
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_TRUE(ldns_pkt_cd(p.get()));
  EXPECT_EQ(answers(p.get()),
            (std::vector<std::string>{"WeB.berth. 10.0.0.1", "WeB.berth. 10.0.0.2",
                                      "WeB.berth. 10.0.0.3"}));
  EXPECT_EQ(answers(p.get(), LDNS_SECTION_ADDITIONAL),
            std::vector<std::string>{"x.addr.berth. 10.0.0.9"});
}

TEST(DnsMessageTest, RotationStartsOnTheNextAnswer) {
  DnsQuery q = decoded(query("web.berth.", LDNS_RR_TYPE_A, 1232));
  Result<WireRecords> records = encodeRecords(q, threeA("web.berth"));
  ASSERT_TRUE(records.ok());
  std::vector<uint8_t> out;
  std::vector<std::string> firsts;
  for (size_t rotate = 0; rotate < 4; ++rotate) {
    writeReply(q, *records, rotate, kDnsEdnsSize, out);
    Pkt p = parse(out);
    EXPECT_TRUE(ldns_pkt_edns(p.get()));
    EXPECT_EQ(ldns_pkt_edns_udp_size(p.get()), kDnsEdnsSize);
    std::vector<std::string> a = answers(p.get());
    ASSERT_EQ(a.size(), 3u);
    firsts.push_back(a[0]);
  }
  EXPECT_EQ(firsts, (std::vector<std::string>{"web.berth. 10.0.0.1", "web.berth. 10.0.0.2",
                                              "web.berth. 10.0.0.3", "web.berth. 10.0.0.1"}));
}

TEST(DnsMessageTest, TruncationKeepsTheRotatedAnswersThatFit) {
  DnsQuery q = decoded(query("web.berth.", LDNS_RR_TYPE_A));
  DnsReply many;
  many.verdict = DnsVerdict::kAnswer;
  for (int i = 0; i < 40; ++i)
    many.answers.push_back({"web.berth", 1, 0, "10.0.1." + std::to_string(i)});
  Result<WireRecords> records = encodeRecords(q, many);
  ASSERT_TRUE(records.ok());
  std::vector<uint8_t> out;
  writeReply(q, *records, 5, kDnsUdpMinSize, out);
  EXPECT_LE(out.size(), kDnsUdpMinSize);
  Pkt p = parse(out);
  EXPECT_TRUE(ldns_pkt_tc(p.get()));
  std::vector<std::string> a = answers(p.get());
  ASSERT_EQ(a.size(), (kDnsUdpMinSize - 12 - 15) / 16);
  EXPECT_EQ(a.front(), "web.berth. 10.0.1.5");
}

TEST(DnsMessageTest, NxDomainAndErrors) {
  DnsQuery q = decoded(query("nope.berth.", LDNS_RR_TYPE_A, 1232));
  DnsReply nx;
  nx.verdict = DnsVerdict::kNxDomain;
  Result<std::vector<uint8_t>> r = encodeReply(q, nx, kDnsUdpMinSize);
  ASSERT_TRUE(r.ok());
  Pkt p = parse(*r);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);

  Pkt e = parse(encodeError(q, kRcodeServFail));
  EXPECT_EQ(ldns_pkt_get_rcode(e.get()), LDNS_RCODE_SERVFAIL);
  EXPECT_FALSE(ldns_pkt_aa(e.get()));
  EXPECT_TRUE(ldns_pkt_edns(e.get()));
  EXPECT_EQ(answers(e.get(), LDNS_SECTION_QUESTION), std::vector<std::string>{"nope.berth. "});
}

TEST(DnsMessageTest, WireNames) {
  EXPECT_EQ(wireName("web.berth"), std::string("\3web\5berth\0", 11));
  EXPECT_EQ(wireName("web.berth."), std::string("\3web\5berth\0", 11));
  EXPECT_FALSE(wireName(std::string(64, 'a') + ".berth"));
}

}  // namespace
}  // namespace berth::network
