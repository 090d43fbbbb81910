// The Store's contract (store.h), run against every implementation: the embedded SQLite
// store and a real etcd started on loopback. A test that passes on etcd and fails on the
// embedded store (or the reverse) is a bug in our store, since etcd defines the semantics.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "store/embedded_store.h"
#include "store/etcd_store.h"
#include "store/test_etcd.h"

namespace berth::store {
namespace {

using namespace std::chrono_literals;

// Generous: only a broken store reaches it.
constexpr auto kDeadline = 20s;

// How each backend is made, and what "losing the connection" means for it.
class EmbeddedBackend {
 public:
  static constexpr const char* kName = "embedded";
  Status setUp() {
    char tmpl[] = "/tmp/berth-store-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return errnoError("mkdtemp", errno);
    dir_ = tmpl;
    return okStatus();
  }
  ~EmbeddedBackend() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  Result<std::unique_ptr<Store>> open() {
    auto s = BERTH_TRY(EmbeddedStore::open(dir_ + "/store.db"));
    return std::unique_ptr<Store>(std::move(s));
  }
  // The embedded store has no connection to lose: its watches read the database.
  Status disconnect() { return okStatus(); }
  Status reconnect() { return okStatus(); }

 private:
  std::string dir_;
};

class EtcdBackend {
 public:
  static constexpr const char* kName = "etcd";
  Status setUp() {
    auto e = testing::EtcdProcess::start();
    if (!e) return e.error();
    etcd_ = std::move(*e);
    return okStatus();
  }
  Result<std::unique_ptr<Store>> open() {
    EtcdOptions o;
    o.endpoint = etcd_->endpoint();
    auto s = BERTH_TRY(EtcdStore::open(o));
    return std::unique_ptr<Store>(std::move(s));
  }
  Status disconnect() {
    etcd_->kill();
    return okStatus();
  }
  Status reconnect() { return etcd_->restart(); }
  std::string endpoint() const { return etcd_->endpoint(); }

 private:
  std::unique_ptr<testing::EtcdProcess> etcd_;
};

template <class Backend>
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = backend_.setUp();
    if (!s && s.error().code() == ErrorCode::kUnsupported) GTEST_SKIP() << s.error().message();
    ASSERT_TRUE(s) << s.error().message();
    auto st = backend_.open();
    ASSERT_TRUE(st) << st.error().message();
    store_ = std::move(*st);
  }
  void TearDown() override { store_.reset(); }

  Revision put(const std::string& k, const std::string& v, LeaseId lease = 0) {
    auto r = store_->put(k, v, lease);
    EXPECT_TRUE(r) << r.error().message();
    return r.value_or(-1);
  }
  std::optional<KeyValue> get(const std::string& k, Revision at = 0) {
    auto r = store_->get(k, at);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::nullopt;
  }
  // Reads the watch until `count` events arrived (or the deadline).
  std::vector<Event> collect(Watch& w, size_t count) {
    std::vector<Event> all;
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (all.size() < count && std::chrono::steady_clock::now() < deadline) {
      auto r = w.next(200ms);
      if (!r) {
        ADD_FAILURE() << r.error().message();
        break;
      }
      all.insert(all.end(), r->begin(), r->end());
    }
    return all;
  }

  Backend backend_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<EmbeddedBackend, EtcdBackend>;
class BackendNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

TYPED_TEST(StoreTest, EveryWriteBumpsTheRevisionAndTheKeysVersion) {
  Revision r1 = this->put("/t/a", "1");
  Revision r2 = this->put("/t/b", "2");
  EXPECT_EQ(r2, r1 + 1);
  Revision r3 = this->put("/t/a", "3");
  EXPECT_EQ(r3, r2 + 1);

  auto a = this->get("/t/a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, "3");
  EXPECT_EQ(a->create_revision, r1);
  EXPECT_EQ(a->mod_revision, r3);
  EXPECT_EQ(a->version, 2);
  EXPECT_FALSE(this->get("/t/missing"));

  auto old = this->get("/t/a", r2);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->value, "1");
  EXPECT_EQ(old->mod_revision, r1);

  // Values are bytes, not text.
  std::string binary("\x00\xff\x01zero\x00", 8);
  this->put("/t/bin", binary);
  EXPECT_EQ(this->get("/t/bin")->value, binary);
}

TYPED_TEST(StoreTest, RangeReturnsThePrefixInKeyOrderWithLimitAndRevision) {
  this->put("/p/b", "b1");
  this->put("/p/a", "a1");
  Revision before_c = this->put("/pa", "not under /p/");
  this->put("/p/c", "c1");
  this->put("/p/b", "b2");
  this->put("/q", "other");

  auto all = this->store_->range("/p/");
  ASSERT_TRUE(all) << all.error().message();
  ASSERT_EQ(all->kvs.size(), 3u);
  EXPECT_EQ(all->kvs[0].key, "/p/a");
  EXPECT_EQ(all->kvs[1].key, "/p/b");
  EXPECT_EQ(all->kvs[1].value, "b2");
  EXPECT_EQ(all->kvs[2].key, "/p/c");
  EXPECT_FALSE(all->more);
  EXPECT_EQ(all->revision, this->get("/q")->mod_revision);

  auto two = this->store_->range("/p/", {.limit = 2});
  ASSERT_TRUE(two);
  ASSERT_EQ(two->kvs.size(), 2u);
  EXPECT_TRUE(two->more);

  auto then = this->store_->range("/p/", {.revision = before_c});
  ASSERT_TRUE(then) << then.error().message();
  ASSERT_EQ(then->kvs.size(), 2u);
  EXPECT_EQ(then->kvs[1].key, "/p/b");
  EXPECT_EQ(then->kvs[1].value, "b1");

  auto everything = this->store_->range("");
  ASSERT_TRUE(everything);
  EXPECT_EQ(everything->kvs.size(), 5u);
}

TYPED_TEST(StoreTest, AReadAtAnOldRevisionSeesKeysAsTheyWereThen) {
  Revision a1 = this->put("/old/a", "a1");
  Revision b1 = this->put("/old/b", "b1");
  ASSERT_TRUE(this->store_->del("/old/a"));
  this->put("/old/c", "c1");
  Revision a2 = this->put("/old/a", "a2");  // a new life: created again
  this->put("/old/b", "b2");

  auto then = this->store_->range("/old/", {.revision = b1});
  ASSERT_TRUE(then) << then.error().message();
  ASSERT_EQ(then->kvs.size(), 2u);
  EXPECT_EQ(then->kvs[0], (KeyValue{"/old/a", "a1", a1, a1, 1, 0}));
  EXPECT_EQ(then->kvs[1], (KeyValue{"/old/b", "b1", b1, b1, 1, 0}));
  auto limited = this->store_->range("/old/", {.limit = 1, .revision = b1});
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited->kvs.size(), 1u);
  EXPECT_TRUE(limited->more);

  EXPECT_FALSE(this->get("/old/a", b1 + 1));  // deleted then
  EXPECT_FALSE(this->get("/old/c", b1));      // not created yet
  auto a = this->get("/old/a", a2);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->create_revision, a2);
  EXPECT_EQ(a->version, 1);
  auto now = this->store_->range("/old/");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->kvs.size(), 3u);
}

TYPED_TEST(StoreTest, DeletesCountWhatTheyRemoveAndOnlyThenBumpTheRevision) {
  this->put("/d/1", "x");
  this->put("/d/2", "x");
  Revision last = this->put("/d/3", "x");

  auto none = this->store_->del("/d/none");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->deleted, 0);
  EXPECT_EQ(none->revision, last);

  auto one = this->store_->del("/d/1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->deleted, 1);
  EXPECT_EQ(one->revision, last + 1);
  EXPECT_FALSE(this->get("/d/1"));

  auto rest = this->store_->delPrefix("/d/");
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->deleted, 2);
  EXPECT_EQ(rest->revision, last + 2);  // one transaction, one revision
  EXPECT_TRUE(this->store_->range("/d/")->kvs.empty());

  // A recreated key starts a new life: new create_revision, version 1.
  Revision again = this->put("/d/1", "y");
  EXPECT_EQ(this->get("/d/1")->create_revision, again);
  EXPECT_EQ(this->get("/d/1")->version, 1);
}

TYPED_TEST(StoreTest, CompareAndSwapOnAStaleRevisionIsAConflictNamingTheCurrentOne) {
  auto created = this->store_->putIfRevision("/cas", "v1", 0);
  ASSERT_TRUE(created) << created.error().message();
  auto second = this->store_->putIfRevision("/cas", "v2", *created);
  ASSERT_TRUE(second) << second.error().message();

  auto stale = this->store_->putIfRevision("/cas", "v3", *created);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), ErrorCode::kConflict);
  EXPECT_NE(stale.error().message().find("revision is " + std::to_string(*second)),
            std::string::npos)
      << stale.error().message();
  EXPECT_EQ(this->get("/cas")->value, "v2");

  auto exists = this->store_->putIfRevision("/cas", "v4", 0);
  ASSERT_FALSE(exists);
  EXPECT_EQ(exists.error().code(), ErrorCode::kConflict);
}

TYPED_TEST(StoreTest, TransactionsRunOneBranchAtomicallyAtOneRevision) {
  Revision r = this->put("/tx/a", "1");

  Txn t;
  t.compares = {Compare::valueIs("/tx/a", "1"), Compare::absent("/tx/b"),
                Compare::modRevisionIs("/tx/a", r)};
  t.then = {Op::put("/tx/b", "2"), Op::put("/tx/c", "3"), Op::del("/tx/a")};
  t.otherwise = {Op::put("/tx/failed", "yes")};
  auto ok = this->store_->txn(t);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_TRUE(ok->succeeded);
  EXPECT_EQ(ok->revision, r + 1);
  EXPECT_EQ(ok->deleted, 1);
  EXPECT_EQ(this->get("/tx/b")->mod_revision, r + 1);
  EXPECT_EQ(this->get("/tx/c")->mod_revision, r + 1);
  EXPECT_FALSE(this->get("/tx/a"));

  // The same transaction again: every compare now fails, so the else branch runs.
  auto otherwise = this->store_->txn(t);
  ASSERT_TRUE(otherwise);
  EXPECT_FALSE(otherwise->succeeded);
  EXPECT_EQ(otherwise->revision, r + 2);
  EXPECT_EQ(this->get("/tx/failed")->value, "yes");

  Txn version;
  version.compares = {{"/tx/b", Compare::Target::kVersion, Compare::Op::kGreater, 0, {}},
                      Compare::exists("/tx/c")};
  auto v = this->store_->txn(version);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->succeeded);
  EXPECT_EQ(v->revision, r + 2);  // nothing written, no new revision

  Txn twice;
  twice.then = {Op::put("/tx/x", "1"), Op::put("/tx/x", "2")};
  auto dup = this->store_->txn(twice);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(this->get("/tx/x"));
}

TYPED_TEST(StoreTest, AWatchFromAnOldRevisionReplaysEveryChangeInOrder) {
  Revision first = this->put("/w/k0", "v0");
  std::vector<std::pair<std::string, std::string>> want = {{"/w/k0", "v0"}};
  for (int i = 1; i < 40; ++i) {
    std::string k = "/w/k" + std::to_string(i % 7);
    if (i % 5 == 0 && this->get(k)) {
      ASSERT_TRUE(this->store_->del(k));
      want.emplace_back(k, "<deleted>");
    } else {
      this->put(k, "v" + std::to_string(i));
      want.emplace_back(k, "v" + std::to_string(i));
    }
    this->put("/elsewhere/" + std::to_string(i), "x");  // not under the prefix
  }
  auto w = this->store_->watch("/w/", first);
  ASSERT_TRUE(w) << w.error().message();
  auto events = this->collect(**w, want.size());
  ASSERT_EQ(events.size(), want.size());
  Revision prev = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    EXPECT_EQ(e.kv.key, want[i].first) << i;
    if (want[i].second == "<deleted>") {
      EXPECT_EQ(e.type, Event::Type::kDelete) << i;
    } else {
      EXPECT_EQ(e.type, Event::Type::kPut) << i;
      EXPECT_EQ(e.kv.value, want[i].second) << i;
    }
    EXPECT_GT(e.kv.mod_revision, prev) << i;
    prev = e.kv.mod_revision;
  }
  auto nothing = (*w)->next(50ms);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
}

TYPED_TEST(StoreTest, ALiveWatchSeesEveryConcurrentWriteOnce) {
  auto w = this->store_->watch("/live/", 0);
  ASSERT_TRUE(w) << w.error().message();
  constexpr int kWriters = 4, kEach = 40;
  std::vector<std::thread> writers;
  for (int t = 0; t < kWriters; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        (void)this->store_->put("/live/" + std::to_string(t), std::to_string(i));
    });
  auto events = this->collect(**w, kWriters * kEach);
  for (auto& t : writers) t.join();
  ASSERT_EQ(events.size(), static_cast<size_t>(kWriters * kEach));
  std::vector<int> next(kWriters, 0);
  Revision prev = 0;
  for (const Event& e : events) {
    EXPECT_GT(e.kv.mod_revision, prev);
    prev = e.kv.mod_revision;
    int writer = std::stoi(e.kv.key.substr(6));
    EXPECT_EQ(e.kv.value, std::to_string(next[writer]++));  // each writer's puts in order
  }
}

TYPED_TEST(StoreTest, HistoryBeforeACompactionIsGoneWithAClearError) {
  Revision r1 = this->put("/c/a", "1");
  Revision r2 = this->put("/c/a", "2");
  Revision r3 = this->put("/c/b", "3");
  Status s = this->store_->compact(r2);
  ASSERT_TRUE(s) << s.error().message();

  auto old = this->store_->watch("/c/", r1);
  ASSERT_TRUE(old);  // the error comes from next(), as the backend learns it
  auto r = (*old)->next(kDeadline);
  ASSERT_FALSE(r);
  EXPECT_TRUE(isCompacted(r.error())) << r.error().message();

  auto range = this->store_->range("/c/", {.revision = r1});
  ASSERT_FALSE(range);
  EXPECT_TRUE(isCompacted(range.error())) << range.error().message();

  // From the compaction on, history is whole.
  auto kept = this->store_->range("/c/", {.revision = r2});
  ASSERT_TRUE(kept) << kept.error().message();
  ASSERT_EQ(kept->kvs.size(), 1u);
  EXPECT_EQ(kept->kvs[0].value, "2");
  auto w = this->store_->watch("/c/", r2);
  ASSERT_TRUE(w);
  auto events = this->collect(**w, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv.mod_revision, r2);
  EXPECT_EQ(events[1].kv.mod_revision, r3);
}

TYPED_TEST(StoreTest, AWatchResumesAfterADisconnectWithoutAGap) {
  auto w = this->store_->watch("/r/", 0);
  ASSERT_TRUE(w) << w.error().message();
  this->put("/r/before", "1");
  auto first = this->collect(**w, 1);
  ASSERT_EQ(first.size(), 1u);

  ASSERT_TRUE(this->backend_.disconnect());
  // Writes while the backend is away wait for it and succeed when it is back.
  std::thread writer([&] { (void)this->store_->put("/r/during", "2"); });
  ASSERT_TRUE(this->backend_.reconnect());
  writer.join();
  this->put("/r/after", "3");

  auto rest = this->collect(**w, 2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].kv.key, "/r/during");
  EXPECT_EQ(rest[1].kv.key, "/r/after");
  EXPECT_EQ(rest[0].kv.mod_revision, first[0].kv.mod_revision + 1);
  EXPECT_EQ(rest[1].kv.mod_revision, first[0].kv.mod_revision + 2);
}

TYPED_TEST(StoreTest, AnExpiredLeaseDeletesItsKeysWithDeleteEvents) {
  auto lease = this->store_->grantLease(1s);
  ASSERT_TRUE(lease) << lease.error().message();
  EXPECT_GE(lease->ttl, 1s);
  Revision r = this->put("/l/instance", "10.0.0.2:80", lease->id);
  this->put("/l/static", "stays");
  EXPECT_EQ(this->get("/l/instance")->lease, lease->id);

  auto w = this->store_->watch("/l/", r + 2);
  ASSERT_TRUE(w);
  auto events = this->collect(**w, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, Event::Type::kDelete);
  EXPECT_EQ(events[0].kv.key, "/l/instance");
  EXPECT_FALSE(this->get("/l/instance"));
  EXPECT_TRUE(this->get("/l/static"));

  auto alive = this->store_->keepAlive(lease->id);
  ASSERT_FALSE(alive);
  EXPECT_EQ(alive.error().code(), ErrorCode::kNotFound);
  auto late = this->store_->put("/l/late", "x", lease->id);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code(), ErrorCode::kNotFound);
}

TYPED_TEST(StoreTest, KeepAliveKeepsALeaseAndRevokeEndsItAtOnce) {
  auto lease = this->store_->grantLease(1s);
  ASSERT_TRUE(lease) << lease.error().message();
  this->put("/ka/a", "1", lease->id);
  this->put("/ka/b", "2", lease->id);
  // Kept alive for twice its TTL: still there.
  auto until = std::chrono::steady_clock::now() + 2 * lease->ttl;
  while (std::chrono::steady_clock::now() < until) {
    auto ttl = this->store_->keepAlive(lease->id);
    ASSERT_TRUE(ttl) << ttl.error().message();
    EXPECT_EQ(*ttl, lease->ttl);
    std::this_thread::sleep_for(lease->ttl / 4);
  }
  EXPECT_TRUE(this->get("/ka/a"));

  Revision before = this->store_->range("/ka/")->revision;
  Status s = this->store_->revokeLease(lease->id);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(this->store_->range("/ka/")->kvs.empty());
  auto w = this->store_->watch("/ka/", before + 1);
  ASSERT_TRUE(w);
  auto events = this->collect(**w, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, Event::Type::kDelete);
  EXPECT_EQ(events[1].type, Event::Type::kDelete);

  Status again = this->store_->revokeLease(lease->id);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), ErrorCode::kNotFound);
}

TYPED_TEST(StoreTest, BadInputIsRefusedBeforeAnythingIsWritten) {
  auto empty = this->store_->put("", "x");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidArgument);
  auto nul = this->store_->put(std::string("/a\0b", 4), "x");
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error().code(), ErrorCode::kInvalidArgument);
  auto ttl = this->store_->grantLease(0s);
  ASSERT_FALSE(ttl);
  EXPECT_EQ(ttl.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(ttl.error().message().find("TTL"), std::string::npos);
  auto big = this->store_->put("/big", std::string(kMaxValueBytes + 1, 'x'));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), ErrorCode::kInvalidArgument);
  auto future = this->store_->range("/", {.revision = 1000000});
  ASSERT_FALSE(future);
  EXPECT_EQ(future.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(this->store_->range("")->kvs.empty());
}

TYPED_TEST(StoreTest, CancelWakesABlockedWatch) {
  auto w = this->store_->watch("/cancel/", 0);
  ASSERT_TRUE(w);
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    (*w)->cancel();
  });
  auto r = (*w)->next(kDeadline);
  canceller.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace berth::store
