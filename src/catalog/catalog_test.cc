// The catalog (catalog.h) against the embedded store in a temp dir and, where leases and
// watches matter, against a real etcd started on loopback. Nothing is timed: every wait is
// for an event, with a deadline only a broken catalog reaches.

#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "catalog/catalog_testing.h"
#include "catalog/mirror.h"
#include "store/embedded_store.h"
#include "store/etcd_store.h"
#include "store/test_etcd.h"
#include "sys/fs.h"

namespace berth::catalog {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using nlohmann::json;

// How each backend is made. The etcd is shared by the tests of a suite; each test starts
// from an empty catalog.
class EmbeddedBackend {
 public:
  static constexpr const char* kName = "embedded";
  Result<std::unique_ptr<store::Store>> open() {
    auto s = BERTH_TRY(store::EmbeddedStore::open(dir_.path() + "/store.db"));
    return std::unique_ptr<store::Store>(std::move(s));
  }

 private:
  TempDir dir_;
};

class EtcdBackend {
 public:
  static constexpr const char* kName = "etcd";
  Result<std::unique_ptr<store::Store>> open() {
    static auto etcd = store::testing::EtcdProcess::start();
    if (!etcd) return etcd.error();
    store::EtcdOptions o;
    o.endpoint = (*etcd)->endpoint();
    auto s = BERTH_TRY(store::EtcdStore::open(o));
    BERTH_RETURN_IF_ERROR(s->delPrefix(std::string(kCatalogRoot)));
    return std::unique_ptr<store::Store>(std::move(s));
  }
};

template <class Backend>
class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = backend_.open();
    if (!s && s.error().code() == ErrorCode::kUnsupported) GTEST_SKIP() << s.error().message();
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  std::unique_ptr<Catalog> open(CatalogOptions o) {
    auto c = Catalog::open(*store_, std::move(o));
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }

  // Registers and waits until the catalog's own mirror shows it.
  void registerAndSee(Catalog& c, Instance in, bool persist = false) {
    auto r = c.registerInstance(std::move(in), persist);
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(eventually(c, [&] { return c.index() >= *r; }));
  }

  Backend backend_;
  std::unique_ptr<store::Store> store_;
};

class BackendNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Backends = ::testing::Types<EmbeddedBackend, EtcdBackend>;
TYPED_TEST_SUITE(CatalogTest, Backends, BackendNames);

using EmbeddedCatalogTest = CatalogTest<EmbeddedBackend>;

TYPED_TEST(CatalogTest, ARegistrationShowsInTheMirrorWithThisNode) {
  auto c = this->open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  auto r = c->registerInstance(web("web-1", {"v1"}));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(eventually(*c, [&] { return c->index() >= *r; }));

  auto list = c->instances("web", false);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].id, "web-1");
  EXPECT_EQ(list[0].node, "h1");
  EXPECT_EQ(list[0].health, Health::kPassing);
  EXPECT_EQ(list[0].tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(c->serviceIndex("web"), *r);
  EXPECT_EQ(c->serviceIndex("db"), 0);
  EXPECT_TRUE(c->instances("db", false).empty());

  // In the Store, under the catalog's key, bound to a lease.
  auto kv = this->store_->get(instanceKey("web", "web-1"));
  ASSERT_TRUE(kv && *kv);
  EXPECT_NE((*kv)->lease, 0);
  EXPECT_EQ(json::parse((*kv)->value)["address"], "10.89.0.2");
}

TYPED_TEST(CatalogTest, AnotherNodeSeesTheInstancesUntilTheirNodeCloses) {
  auto h1 = this->open(nodeOptions("h1"));
  auto h2 = this->open(nodeOptions("h2"));
  ASSERT_TRUE(h1 && h2);
  ASSERT_TRUE(h1->registerInstance(web("web-1")));
  ASSERT_TRUE(h2->registerInstance(web("web-2")));
  ASSERT_TRUE(eventually(*h2, [&] { return h2->instances("web", false).size() == 2; }));
  auto list = h2->instances("web", false);
  EXPECT_EQ(list[0].node, "h1");
  EXPECT_EQ(list[1].node, "h2");

  h1.reset();  // revokes its lease
  ASSERT_TRUE(eventually(
      *h2, [&] { return ids(h2->instances("web", false)) == std::vector<std::string>{"web-2"}; }));
}

TYPED_TEST(CatalogTest, InstancesVanishWhenTheirLeaseExpires) {
  auto h1 = this->open(nodeOptions("h1", 1s));
  auto h2 = this->open(nodeOptions("h2"));
  ASSERT_TRUE(h1 && h2);
  ASSERT_TRUE(h1->registerInstance(web("web-1")));
  ASSERT_TRUE(eventually(*h2, [&] { return h2->instances("web", false).size() == 1; }));

  h1->stopKeepAliveForTest();  // as a hung host
  ASSERT_TRUE(eventually(*h2, [&] { return h2->instances("web", false).empty(); }));
  EXPECT_TRUE(h2->services().empty());
}

TYPED_TEST(CatalogTest, ALostLeaseIsReplacedAndTheInstancesPutBack) {
  auto h1 = this->open(nodeOptions("h1", 1s));
  ASSERT_TRUE(h1);
  this->registerAndSee(*h1, web("web-1"));
  auto kv = this->store_->get(instanceKey("web", "web-1"));
  ASSERT_TRUE(kv && *kv);
  store::LeaseId old_lease = (*kv)->lease;

  ASSERT_TRUE(this->store_->revokeLease(old_lease));
  // The keeper notices within a third of the TTL and puts the instance back.
  ASSERT_TRUE(eventually(*h1, [&] {
    auto now = this->store_->get(instanceKey("web", "web-1"));
    return now && *now && (*now)->lease != old_lease && h1->instances("web", false).size() == 1;
  }));
}

TYPED_TEST(CatalogTest, WaitChangeWakesOnAChangeOfItsServiceOnly) {
  auto c = this->open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  this->registerAndSee(*c, web("web-1"));
  store::Revision seen = c->serviceIndex("web");

  // Nothing changes: the wait times out and answers the same index.
  EXPECT_EQ(c->waitChange("web", seen, 100ms, nullptr), seen);
  // A cancelled wait returns though nothing changed.
  EXPECT_EQ(c->waitChange("web", seen, kDeadline, [] { return true; }), seen);

  std::atomic<store::Revision> woke{0};
  std::thread waiter([&] { woke = c->waitChange("web", seen, kDeadline, nullptr); });
  Instance db = web("db-1");
  db.service = "db";
  ASSERT_TRUE(c->registerInstance(db));  // another service: the waiter sleeps on
  auto r = c->registerInstance(web("web-2"));
  ASSERT_TRUE(r);
  waiter.join();
  EXPECT_EQ(woke.load(), *r);
  EXPECT_EQ(c->serviceIndex("web"), *r);
  EXPECT_GT(c->serviceIndex("db"), seen);
}

TEST_F(EmbeddedCatalogTest, InstancesAreSortedAndFiltered) {
  auto c = open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->registerInstance(web("web-c", {"v2"})));
  ASSERT_TRUE(c->registerInstance(failing(web("web-a", {"v1", "canary"}))));
  registerAndSee(*c, web("web-b", {"v1"}));

  EXPECT_EQ(ids(c->instances("web", false)), (std::vector<std::string>{"web-a", "web-b", "web-c"}));
  EXPECT_EQ(ids(c->instances("web", true)), (std::vector<std::string>{"web-b", "web-c"}));
  EXPECT_EQ(ids(c->instances("web", false, "v1")), (std::vector<std::string>{"web-a", "web-b"}));
  EXPECT_EQ(ids(c->instances("web", true, "v1")), (std::vector<std::string>{"web-b"}));
  EXPECT_TRUE(c->instances("web", false, "v3").empty());

  auto critical = c->instances("web", false)[0];
  EXPECT_EQ(critical.health, Health::kCritical);  // a checked instance starts critical

  auto services = c->services();
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].name, "web");
  EXPECT_EQ(services[0].tags, (std::vector<std::string>{"canary", "v1", "v2"}));
  EXPECT_EQ(services[0].instances, 3);
  EXPECT_EQ(services[0].passing, 2);
}

TEST_F(EmbeddedCatalogTest, ARegistrationWithTheSameIdReplacesTheInstance) {
  auto c = open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  registerAndSee(*c, web("web-1", {"v1"}));
  registerAndSee(*c, web("web-1", {"v2"}));
  auto list = c->instances("web", false);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tags, std::vector<std::string>{"v2"});
}

TEST_F(EmbeddedCatalogTest, DeregisterRemovesAndNamesWhatIsMissing) {
  auto c = open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  registerAndSee(*c, web("web-1"));
  registerAndSee(*c, web("web-2"));
  auto r = c->deregister("web", "web-1");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(eventually(*c, [&] { return c->index() >= *r; }));
  EXPECT_EQ(ids(c->instances("web", false)), std::vector<std::string>{"web-2"});
  EXPECT_EQ(c->serviceIndex("web"), *r);

  auto again = c->deregister("web", "web-1");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(again.error().message(), "service 'web' has no instance 'web-1'");

  // The last instance gone: the service is no longer listed.
  r = c->deregister("web", "web-2");
  ASSERT_TRUE(r);
  ASSERT_TRUE(eventually(*c, [&] { return c->services().empty(); }));
}

TEST_F(EmbeddedCatalogTest, AnotherNodesInstanceIsDeregisteredThereOnly) {
  auto h1 = open(nodeOptions("h1"));
  auto h2 = open(nodeOptions("h2"));
  ASSERT_TRUE(h1 && h2);
  ASSERT_TRUE(h1->registerInstance(web("web-1")));
  auto r = h2->deregister("web", "web-1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kConflict);
  EXPECT_NE(r.error().message().find("belongs to node 'h1'"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(*store_->get(instanceKey("web", "web-1")));
}

TEST_F(EmbeddedCatalogTest, DeregisterContainerRemovesItsInstancesOnly) {
  auto c = open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  Instance a = web("web-1");
  a.container = "aaa";
  Instance api = web("api-1");
  api.service = "api";
  api.container = "aaa";
  Instance b = web("web-2");
  b.container = "bbb";
  for (const Instance& in : {a, api, b}) ASSERT_TRUE(c->registerInstance(in));

  ASSERT_TRUE(c->deregisterContainer("aaa"));
  ASSERT_TRUE(eventually(
      *c, [&] { return c->services().size() == 1 && c->instances("web", false).size() == 1; }));
  EXPECT_EQ(ids(c->instances("web", false)), std::vector<std::string>{"web-2"});
  EXPECT_TRUE(c->deregisterContainer("nothing-here"));
}

TEST_F(EmbeddedCatalogTest, OnChangeIsCalledForEachChange) {
  auto c = open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  std::atomic<int> calls{0};
  c->onChange([&] { ++calls; });
  ASSERT_TRUE(c->registerInstance(web("web-1")));
  EXPECT_TRUE(eventually(*c, [&] { return calls > 0; }));
}

TEST_F(EmbeddedCatalogTest, ApiRegistrationsSurviveARestart) {
  TempDir dir;
  CatalogOptions o = nodeOptions("h1");
  o.state_file = dir.path() + "/catalog.json";
  {
    auto c = open(o);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->registerInstance(web("kept", {"v1"}), true));
    ASSERT_TRUE(c->registerInstance(web("gone-too"), true));
    ASSERT_TRUE(c->registerInstance(web("container-one")));  // its registrar brings it back
    ASSERT_TRUE(c->deregister("web", "gone-too"));
  }
  auto state = sys::readFile(o.state_file);
  ASSERT_TRUE(state);
  json j = json::parse(*state);
  EXPECT_EQ(j["version"], 1);
  ASSERT_EQ(j["instances"].size(), 1u);
  EXPECT_EQ(j["instances"][0]["id"], "kept");

  auto c = open(o);
  ASSERT_TRUE(c);
  ASSERT_TRUE(eventually(*c, [&] { return !c->instances("web", false).empty(); }));
  auto list = c->instances("web", false);
  ASSERT_EQ(ids(list), std::vector<std::string>{"kept"});
  EXPECT_EQ(list[0].tags, std::vector<std::string>{"v1"});
}

TEST_F(EmbeddedCatalogTest, ACorruptStateFileIsNamed) {
  TempDir dir;
  CatalogOptions o = nodeOptions("h1");
  o.state_file = dir.path() + "/catalog.json";
  ASSERT_TRUE(sys::writeFileAtomic(o.state_file, R"({"version":1,"instances":[{"port":"80"}]})"));
  auto c = Catalog::open(*store_, o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message().find(o.state_file), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("field 'port'"), std::string::npos) << c.error().message();
}

TEST_F(EmbeddedCatalogTest, AnEarlierRunsInstancesGoUnlessRegisteredAgain) {
  // What a crashed daemon leaves: its instances under a lease that lives on.
  auto old_lease = store_->grantLease(3600s);
  ASSERT_TRUE(old_lease);
  for (const char* id : {"back", "stale"}) {
    Instance in = web(id);
    in.node = "h1";
    ASSERT_TRUE(store_->put(instanceKey("web", id), toJson(in).dump(), old_lease->id));
  }
  Instance other = web("elsewhere");
  other.node = "h2";
  ASSERT_TRUE(store_->put(instanceKey("web", "elsewhere"), toJson(other).dump(), old_lease->id));

  auto c = open(nodeOptions("h1", 1s));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->instances("web", false).size(), 3u);  // loaded at open
  ASSERT_TRUE(c->registerInstance(web("back")));
  ASSERT_TRUE(eventually(*c, [&] {
    return ids(c->instances("web", false)) == std::vector<std::string>{"back", "elsewhere"};
  }));
  auto back = store_->get(instanceKey("web", "back"));
  ASSERT_TRUE(back && *back);
  EXPECT_NE((*back)->lease, old_lease->id);
}

TEST_F(EmbeddedCatalogTest, BadRegistrationsAreRefusedAndLeaveNothing) {
  auto c = open(nodeOptions("h1"));
  ASSERT_TRUE(c);
  struct Case {
    std::function<void(Instance&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](Instance& in) { in.service = "Web"; },
       "service name 'Web': use 1-63 lowercase letters, digits and '-', not starting or ending "
       "with '-'"},
      {[](Instance& in) { in.service = "-web"; }, "service name '-web'"},
      {[](Instance& in) { in.service = std::string(64, 'a'); }, "service name 'aaaa"},
      {[](Instance& in) { in.id = ""; }, "instance id '': use 1-128 letters"},
      {[](Instance& in) { in.id = "a/b"; }, "instance id 'a/b'"},
      {[](Instance& in) { in.id = ".."; }, "instance id '..'"},
      {[](Instance& in) { in.address = "10.89.0.300"; },
       "address '10.89.0.300': expected an IPv4 address such as 10.89.0.2"},
      {[](Instance& in) { in.address = ""; }, "address ''"},
      {[](Instance& in) {
         in.tags = {"ok", "not ok"};
       },
       "tag 'not ok'"},
      {[](Instance& in) { in.meta[""] = "x"; }, "meta: a key is empty"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kTcp;
         in.check.interval = 50ms;
       },
       "check interval 50ms: must be at least 100ms"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kTcp;
         in.check.timeout = 20s;
       },
       "check timeout 20s: must be above 0 and at most the interval (10s)"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kHttp;
         in.check.timeout = 0ms;
       },
       "check timeout 0s"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kTcp;
         in.check.failures = 0;
       },
       "check failures 0: must be at least 1"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kTcp;
         in.check.successes = -1;
       },
       "check successes -1: must be at least 1"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kTcp;
         in.port = 0;
       },
       "a tcp check needs the instance's port"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kHttp;
         in.check.path = "/x\r\nHost: evil";
       },
       "must start with '/' and hold no spaces or control characters"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kCommand;
         in.check.command = {"true"};
       },
       "a command check needs a container"},
      {[](Instance& in) {
         in.check.kind = Check::Kind::kCommand;
         in.container = "c0ffee";
       },
       "a command check needs a command"},
  };
  for (const Case& k : cases) {
    Instance in = web("web-1");
    k.change(in);
    auto r = c->registerInstance(in);
    ASSERT_FALSE(r) << k.message;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(k.message), std::string::npos) << r.error().message();
    EXPECT_EQ(r.error().message().rfind("register instance '", 0), 0u) << r.error().message();
  }
  auto all = store_->range(std::string(kCatalogRoot));
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->kvs.empty());

  auto zero = Catalog::open(*store_, nodeOptions("h1", 0s));
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().message(), "open the catalog: lease TTL 0s: must be at least 1s");
}

// etcd goes away for longer than the lease's TTL and comes back: the keeper and the watch
// retry meanwhile, and nothing registered before is lost.
TEST(CatalogOnEtcd, NothingIsLostWhileEtcdIsAway) {
  auto etcd = store::testing::EtcdProcess::start();
  if (!etcd && etcd.error().code() == ErrorCode::kUnsupported)
    GTEST_SKIP() << etcd.error().message();
  ASSERT_TRUE(etcd) << etcd.error().message();
  store::EtcdOptions o;
  o.endpoint = (*etcd)->endpoint();
  auto store = store::EtcdStore::open(o);
  ASSERT_TRUE(store);
  auto h1 = Catalog::open(**store, nodeOptions("h1", 1s));
  ASSERT_TRUE(h1) << h1.error().message();
  auto r = (*h1)->registerInstance(web("web-1"));
  ASSERT_TRUE(r);

  (*etcd)->kill();
  // The outage itself, not a wait for a result: three lease TTLs without etcd.
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE((*etcd)->restart());

  auto h2 = Catalog::open(**store, nodeOptions("h2"));
  ASSERT_TRUE(h2) << h2.error().message();
  ASSERT_TRUE((*h2)->registerInstance(web("web-2")));
  // h1's watch resumed (it sees h2's registration) and its instance is in the Store again.
  ASSERT_TRUE(eventually(**h1, [&] {
    return ids((*h1)->instances("web", false)) == std::vector<std::string>{"web-1", "web-2"};
  }));
  ASSERT_TRUE(eventually(**h2, [&] { return (*h2)->instances("web", false).size() == 2; }));
}

TEST(InstanceJson, RoundTripsEveryKindOfCheck) {
  Instance in = web("web-1", {"v1", "canary"});
  in.node = "h1";
  in.meta = {{"version", "1.2"}};
  in.container = "c0ffee";
  in.health = Health::kCritical;
  in.output = "HTTP 503 Service Unavailable";
  EXPECT_EQ(*instanceFromJson(toJson(in)), in);
  EXPECT_FALSE(toJson(in).contains("check"));

  in.check.kind = Check::Kind::kHttp;
  in.check.path = "/health";
  in.check.interval = 1500ms;
  in.check.timeout = 1s;
  in.check.failures = 3;
  in.check.successes = 2;
  json j = toJson(in);
  EXPECT_EQ(j["check"], json::parse(R"({"type":"http","path":"/health","interval":"1500ms",
      "timeout":"1s","failures":3,"successes":2})"));
  EXPECT_EQ(*instanceFromJson(j), in);

  in.check = {};
  in.check.kind = Check::Kind::kCommand;
  in.check.command = {"sh", "-c", "test -f /ready"};
  in.check.interval = 60s;
  EXPECT_EQ(toJson(in)["check"]["interval"], "1m");
  EXPECT_EQ(*instanceFromJson(toJson(in)), in);

  in.check = {};
  in.check.kind = Check::Kind::kTcp;
  EXPECT_EQ(*instanceFromJson(toJson(in)), in);
}

TEST(InstanceJson, MissingFieldsKeepTheirDefaults) {
  auto in = instanceFromJson(json::parse(R"({"service":"web","check":{"type":"tcp"}})"));
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(in->service, "web");
  EXPECT_EQ(in->port, 0);
  EXPECT_EQ(in->check.kind, Check::Kind::kTcp);
  EXPECT_EQ(in->check.interval, 10s);
  EXPECT_EQ(in->check.timeout, 2s);
  EXPECT_EQ(in->health, Health::kPassing);
}

TEST(InstanceJson, WrongFieldsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([])", "expected an instance object, not array"},
      {R"({"port":"80"})", "field 'port': expected an integer, not string"},
      {R"({"port":70000})", "field 'port': expected 0 to 65535, not 70000"},
      {R"({"port":-1})", "field 'port': expected 0 to 65535, not -1"},
      {R"({"tags":"v1"})", "field 'tags': expected an array of strings, not string"},
      {R"({"tags":[1]})", "field 'tags': expected an array of strings, not number"},
      {R"({"meta":{"a":1}})", "field 'meta.a': expected a string, not number"},
      {R"({"adress":"10.0.0.1"})", "unknown field 'adress'"},
      {R"({"health":"ok"})", "field 'health': expected passing or critical, not 'ok'"},
      {R"({"check":"tcp"})", "field 'check': expected an object, not string"},
      {R"({"check":{"interval":"5s"}})", "field 'check.type': missing (tcp, http or command)"},
      {R"({"check":{"type":"ping"}})",
       "field 'check.type': expected tcp, http or command, not 'ping'"},
      {R"({"check":{"type":"tcp","interval":"10"}})",
       "field 'check.interval': '10': missing unit (use ms, s, m or h)"},
      {R"({"check":{"type":"tcp","interval":10}})", "field 'check.interval': expected a string"},
      {R"({"check":{"type":"tcp","timeout":"5us"}})",
       "field 'check.timeout': '5us': use whole milliseconds"},
      {R"({"check":{"type":"tcp","failures":1.5}})",
       "field 'check.failures': expected an integer, not number"},
      {R"({"check":{"type":"tcp","retries":3}})", "unknown field 'check.retries'"},
  };
  for (const auto& [text, message] : cases) {
    auto in = instanceFromJson(json::parse(text));
    ASSERT_FALSE(in) << text;
    EXPECT_EQ(in.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(in.error().message().find(message), std::string::npos)
        << text << " → " << in.error().message();
  }
}

TEST(Mirror, AReloadMovesTheIndexOfChangedServicesOnly) {
  auto kv = [](const std::string& service, const std::string& id, store::Revision rev) {
    Instance in = web(id);
    in.service = service;
    return store::KeyValue{instanceKey(service, id), toJson(in).dump(), rev, rev, 1, 0};
  };
  Mirror m;
  m.load({kv("api", "a1", 3), kv("db", "d1", 4), kv("web", "w1", 5)}, 7);
  EXPECT_EQ(m.index(), 7);
  EXPECT_EQ(m.serviceIndex("web"), 7);

  // At 20: db unchanged, web has another instance, api is gone, cache is new.
  m.load({kv("cache", "c1", 12), kv("db", "d1", 4), kv("web", "w1", 5), kv("web", "w2", 15)}, 20);
  EXPECT_EQ(m.index(), 20);
  EXPECT_EQ(m.serviceIndex("db"), 7);
  EXPECT_EQ(m.serviceIndex("web"), 20);
  EXPECT_EQ(m.serviceIndex("api"), 20);
  EXPECT_EQ(m.serviceIndex("cache"), 20);
  EXPECT_TRUE(m.instances("api", false, "").empty());
  std::vector<std::string> names;
  for (const auto& s : m.services()) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"cache", "db", "web"}));

  // Something else under the catalog's prefix is ignored.
  m.apply(
      {{store::Event::Type::kPut, {std::string(kCatalogRoot) + "web/w3", "not json", 21, 21, 1, 0}},
       {store::Event::Type::kPut, {std::string(kCatalogRoot) + "junk", "{}", 22, 22, 1, 0}}});
  EXPECT_EQ(ids(m.instances("web", false, "")), (std::vector<std::string>{"w1", "w2"}));
}

}  // namespace
}  // namespace berth::catalog
