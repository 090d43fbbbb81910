#include "catalog/dns_zone.h"

#include <algorithm>
#include <utility>

#include "gtest/gtest.h"
#include "network/dns_message.h"

namespace berth::catalog {
namespace {

using network::DnsQuestion;
using network::DnsRecord;
using network::DnsReply;
using network::DnsVerdict;

constexpr uint16_t kA = 1, kAaaa = 28, kSrv = 33, kTxt = 16, kAny = 255;

Instance instance(std::string service, std::string id, std::string address, uint16_t port,
                  std::vector<std::string> tags = {}, Health health = Health::kPassing) {
  Instance in;
  in.service = std::move(service);
  in.id = std::move(id);
  in.address = std::move(address);
  in.port = port;
  in.tags = std::move(tags);
  in.health = health;
  return in;
}

// "name TYPE data" for each record, as the tests compare them.
std::vector<std::string> text(const std::vector<DnsRecord>& records) {
  std::vector<std::string> out;
  for (const DnsRecord& r : records) {
    EXPECT_EQ(r.ttl, 0u) << r.name;
    out.push_back(r.name + " " + std::to_string(r.type) + " " + r.data);
  }
  return out;
}

using Strings = std::vector<std::string>;

// A catalog in a vector, answering as Catalog::instances(service, /*passing_only=*/true, tag)
// does, and remembering what it was asked.
class DnsZoneTest : public ::testing::Test {
 protected:
  DnsZoneTest()
      : zone_([this](const std::string& service, const std::string& tag) {
          asked_.emplace_back(service, tag);
          std::vector<Instance> out;
          for (const Instance& in : catalog_) {
            if (in.service != service || in.health != Health::kPassing) continue;
            if (!tag.empty() && std::find(in.tags.begin(), in.tags.end(), tag) == in.tags.end())
              continue;
            out.push_back(in);
          }
          return out;
        }) {
    catalog_ = {
        instance("web", "w1", "10.89.0.2", 80, {"v1"}),
        instance("web", "w2", "10.89.0.3", 8080, {"v2"}),
        instance("web", "w3", "10.89.0.4", 80, {"v1"}, Health::kCritical),
        // Two instances at one address and port: one A and one SRV record.
        instance("db", "d1", "10.89.0.9", 5432),
        instance("db", "d2", "10.89.0.9", 5432),
        // No port: A only.
        instance("cache", "c1", "10.89.0.7", 0),
    };
  }

  DnsReply ask(const std::string& name, uint16_t type) {
    std::optional<DnsReply> r = zone_.answer(DnsQuestion{name, type, "10.89.0.1", "10.89.0.5"});
    EXPECT_TRUE(r) << name << " is the zone's";
    if (!r) return {};
    EXPECT_TRUE(r->cacheable) << name;
    return *r;
  }

  std::vector<Instance> catalog_;
  std::vector<std::pair<std::string, std::string>> asked_;
  DnsZone zone_;
};

TEST_F(DnsZoneTest, AOfEveryPassingInstance) {
  DnsReply r = ask("web.service.berth", kA);
  EXPECT_EQ(r.verdict, DnsVerdict::kAnswer);
  EXPECT_EQ(text(r.answers),
            (Strings{"web.service.berth 1 10.89.0.2", "web.service.berth 1 10.89.0.3"}));
  EXPECT_TRUE(r.additional.empty());
  EXPECT_EQ(asked_, (std::vector<std::pair<std::string, std::string>>{{"web", ""}}));

  EXPECT_EQ(text(ask("db.service.berth", kA).answers), Strings{"db.service.berth 1 10.89.0.9"});
}

TEST_F(DnsZoneTest, AaaaAndOtherTypesAreNoData) {
  for (uint16_t type : {kAaaa, kTxt}) {
    DnsReply r = ask("web.service.berth", type);
    EXPECT_EQ(r.verdict, DnsVerdict::kAnswer) << type;
    EXPECT_TRUE(r.answers.empty()) << type;
  }
}

TEST_F(DnsZoneTest, SrvGivesPortsAndTargetsThatResolve) {
  DnsReply r = ask("web.service.berth", kSrv);
  EXPECT_EQ(text(r.answers), (Strings{"web.service.berth 33 1 1 80 0a590002.addr.berth.",
                                      "web.service.berth 33 1 1 8080 0a590003.addr.berth."}));
  EXPECT_EQ(text(r.additional),
            (Strings{"0a590002.addr.berth 1 10.89.0.2", "0a590003.addr.berth 1 10.89.0.3"}));
  // Each target answers on its own, as a client that drops the additional section asks.
  EXPECT_EQ(text(ask("0a590003.addr.berth", kA).answers),
            Strings{"0a590003.addr.berth 1 10.89.0.3"});

  DnsReply db = ask("db.service.berth", kSrv);
  EXPECT_EQ(text(db.answers), Strings{"db.service.berth 33 1 1 5432 0a590009.addr.berth."});
  EXPECT_EQ(db.additional.size(), 1u);
}

TEST_F(DnsZoneTest, InstancesWithoutPortHaveNoSrv) {
  DnsReply r = ask("cache.service.berth", kSrv);
  EXPECT_EQ(r.verdict, DnsVerdict::kAnswer);
  EXPECT_TRUE(r.answers.empty());
  EXPECT_TRUE(r.additional.empty());
  EXPECT_EQ(text(ask("cache.service.berth", kA).answers),
            Strings{"cache.service.berth 1 10.89.0.7"});
}

TEST_F(DnsZoneTest, AnyGivesEverything) {
  DnsReply r = ask("web.service.berth", kAny);
  EXPECT_EQ(text(r.answers), (Strings{"web.service.berth 1 10.89.0.2",
                                      "web.service.berth 33 1 1 80 0a590002.addr.berth.",
                                      "web.service.berth 1 10.89.0.3",
                                      "web.service.berth 33 1 1 8080 0a590003.addr.berth."}));
  EXPECT_EQ(r.additional.size(), 2u);
}

TEST_F(DnsZoneTest, TagNarrowsTheInstances) {
  EXPECT_EQ(text(ask("v1.web.service.berth", kA).answers),
            Strings{"v1.web.service.berth 1 10.89.0.2"});
  EXPECT_EQ(text(ask("v2.web.service.berth", kSrv).answers),
            Strings{"v2.web.service.berth 33 1 1 8080 0a590003.addr.berth."});
  EXPECT_EQ(asked_.back(), std::make_pair(std::string("web"), std::string("v2")));
  // No passing instance carries it.
  EXPECT_EQ(ask("v3.web.service.berth", kA).verdict, DnsVerdict::kNxDomain);
}

TEST_F(DnsZoneTest, Rfc2782NamesAnswerSrvOnly) {
  for (const char* name : {"_web._tcp.service.berth", "_web._udp.service.berth"}) {
    DnsReply srv = ask(name, kSrv);
    EXPECT_EQ(srv.answers.size(), 2u) << name;
    EXPECT_EQ(srv.answers[0].name, name);
    EXPECT_EQ(srv.additional.size(), 2u) << name;
    DnsReply a = ask(name, kA);
    EXPECT_EQ(a.verdict, DnsVerdict::kAnswer) << name;
    EXPECT_TRUE(a.answers.empty()) << name;
  }
  EXPECT_EQ(ask("_nope._tcp.service.berth", kSrv).verdict, DnsVerdict::kNxDomain);
  EXPECT_EQ(ask("_web._sctp.service.berth", kSrv).verdict, DnsVerdict::kNxDomain);
}

TEST_F(DnsZoneTest, UnknownOrUnhealthyServiceIsNxDomain) {
  catalog_.push_back(instance("down", "x1", "10.89.0.8", 80, {}, Health::kCritical));
  for (const char* name : {"nope.service.berth", "down.service.berth", "a.v1.web.service.berth",
                           "_web.service.berth", "v1._web.service.berth", "x.0a590002.addr.berth",
                           "0a59000.addr.berth", "0a59000g.addr.berth"}) {
    DnsReply r = ask(name, kA);
    EXPECT_EQ(r.verdict, DnsVerdict::kNxDomain) << name;
    EXPECT_TRUE(r.answers.empty()) << name;
  }
}

TEST_F(DnsZoneTest, DomainsThemselvesAreNoData) {
  for (const char* name : {"service.berth", "addr.berth"}) {
    DnsReply r = ask(name, kA);
    EXPECT_EQ(r.verdict, DnsVerdict::kAnswer) << name;
    EXPECT_TRUE(r.answers.empty()) << name;
  }
  EXPECT_TRUE(asked_.empty());
}

TEST_F(DnsZoneTest, AddrNamesSpellTheirAddress) {
  EXPECT_EQ(text(ask("0a590002.addr.berth", kAny).answers),
            Strings{"0a590002.addr.berth 1 10.89.0.2"});
  EXPECT_TRUE(ask("0a590002.addr.berth", kAaaa).answers.empty());
  EXPECT_EQ(text(ask("fd000000000000000000000000000002.addr.berth", kAaaa).answers),
            Strings{"fd000000000000000000000000000002.addr.berth 28 fd00::2"});
  EXPECT_EQ(addrName("10.89.0.2"), "0a590002.addr.berth");
  EXPECT_EQ(addrName("fd00::2"), "fd000000000000000000000000000002.addr.berth");
  EXPECT_EQ(addrName("web"), "");
}

TEST_F(DnsZoneTest, Ipv6InstancesAnswerAaaa) {
  catalog_.push_back(instance("six", "s1", "fd00::5", 443));
  EXPECT_TRUE(ask("six.service.berth", kA).answers.empty());
  EXPECT_EQ(text(ask("six.service.berth", kAaaa).answers), Strings{"six.service.berth 28 fd00::5"});
  DnsReply srv = ask("six.service.berth", kSrv);
  EXPECT_EQ(text(srv.additional),
            Strings{"fd000000000000000000000000000005.addr.berth 28 fd00::5"});
}

TEST_F(DnsZoneTest, NamesAreCaseInsensitive) {
  DnsReply r = ask("WeB.Service.BERTH.", kA);
  EXPECT_EQ(text(r.answers),
            (Strings{"web.service.berth 1 10.89.0.2", "web.service.berth 1 10.89.0.3"}));
  EXPECT_EQ(asked_.back().first, "web");
  EXPECT_EQ(ask("0A590002.ADDR.berth", kA).answers.size(), 1u);
}

TEST_F(DnsZoneTest, OtherNamesAreTheCallers) {
  for (const char* name :
       {"web", "web.berth", "berth", "node.berth", "example.com", "webservice.berth",
        "web.service.berth.example.com", "0a590002addr.berth", ""}) {
    EXPECT_FALSE(zone_.answer(DnsQuestion{name, kA, "10.89.0.1", "10.89.0.5"})) << name;
  }
  EXPECT_TRUE(asked_.empty());
}

// Every kind of reply goes on the wire as it is (the records' text parses).
TEST_F(DnsZoneTest, RepliesEncode) {
  network::DnsQuery q;
  q.qclass = network::kClassIn;
  catalog_.push_back(instance("six", "s1", "fd00::5", 443));
  for (const char* name : {"web.service.berth", "_web._tcp.service.berth", "0a590002.addr.berth",
                           "six.service.berth", "nope.service.berth"}) {
    for (uint16_t type : {kA, kAaaa, kSrv, kAny}) {
      q.qname = *network::wireName(name);
      q.qtype = type;
      DnsReply r = ask(name, type);
      Result<std::vector<uint8_t>> w = network::encodeReply(q, r, network::kDnsMaxMessage);
      EXPECT_TRUE(w.ok()) << name << " " << type << ": " << (w.ok() ? "" : w.error().message());
    }
  }
}

}  // namespace
}  // namespace berth::catalog
