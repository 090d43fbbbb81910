// Health checks (health.h) through the catalog, against real listeners on loopback: a TCP
// socket and a tiny HTTP server whose answers the test sets. Thresholds are checked by
// counting what the server answered, never by time.

#include "catalog/health.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>

#include "catalog/catalog_testing.h"
#include "store/embedded_store.h"

namespace berth::catalog {
namespace {

using namespace std::chrono_literals;
using namespace testing;

// A listening TCP socket on 127.0.0.1, its port chosen by the kernel; connects to it
// succeed without an accept. fd -1 when it could not be made.
struct Listener {
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd, 64) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      close();
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  int fd = -1;
  uint16_t port = 0;
};

// An HTTP/1.0 server on loopback, a thread per connection, answering every request with the
// status the test set; while held, requests wait (their connections open) for release.
class TinyHttp {
 public:
  TinyHttp() {
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~TinyHttp() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    acceptor_.join();
    for (std::thread& t : connections_) t.join();
  }

  uint16_t port() const { return listener_.port; }
  void answer(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  void hold(bool on) {
    {
      std::lock_guard lock(mu_);
      hold_ = on;
    }
    cv_.notify_all();
  }
  struct Counts {
    std::map<int, int> served;       // answers sent, by status
    std::vector<std::string> lines;  // the request lines received
    int waiting = 0;                 // requests held now
    int closed_by_peer = 0;          // connections the client closed after the answer
  };
  Counts counts() {
    std::lock_guard lock(mu_);
    return counts_;
  }
  // Waits (up to kDeadline) until `pred` holds for the counts.
  bool waitUntil(const std::function<bool(const Counts&)>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return pred(counts_); });
  }

 private:
  void acceptLoop() {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      pollfd p{listener_.fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) connections_.emplace_back([this, c] { serve(c); });
    }
  }

  void serve(int c) {
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    std::string reply;
    {
      std::unique_lock lock(mu_);
      counts_.lines.push_back(request.substr(0, request.find("\r\n")));
      ++counts_.waiting;
      cv_.notify_all();
      cv_.wait(lock, [&] { return !hold_ || stopping_; });
      --counts_.waiting;
      // Counted before it is sent: a client that has read it sees the count.
      ++counts_.served[status_];
      reply = "HTTP/1.0 " + std::to_string(status_) + (status_ == 200 ? " OK" : " Unavailable") +
              "\r\nContent-Length: 0\r\n\r\n";
    }
    (void)!::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::shutdown(c, SHUT_WR);
    while (::recv(c, buf, sizeof buf, 0) > 0) {
    }
    ::close(c);
    std::lock_guard lock(mu_);
    ++counts_.closed_by_peer;
    cv_.notify_all();
  }

  Listener listener_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // the acceptor's

  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 200;
  bool hold_ = false;
  bool stopping_ = false;
  Counts counts_;
};

Instance checked(const std::string& id, Check::Kind kind, uint16_t port) {
  Instance in = web(id);
  in.address = "127.0.0.1";
  in.port = port;
  in.check.kind = kind;
  in.check.interval = 100ms;
  in.check.timeout = 100ms;
  return in;
}

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::EmbeddedStore::open(dir_.path() + "/store.db");
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
  }

  std::unique_ptr<Catalog> open(CommandRunner run = nullptr) {
    CatalogOptions o = nodeOptions("h1");
    o.run_command = std::move(run);
    auto c = Catalog::open(*store_, std::move(o));
    EXPECT_TRUE(c) << c.error().message();
    return c ? std::move(*c) : nullptr;
  }

  // Waits until the instance `id` of web shows `health` with an output containing `output`.
  static bool healthIs(Catalog& c, const std::string& id, Health health,
                       const std::string& output = "") {
    return eventually(c, [&] {
      for (const Instance& in : c.instances("web", false))
        if (in.id == id && in.health == health && in.output.find(output) != std::string::npos)
          return true;
      return false;
    });
  }

  TempDir dir_;
  std::unique_ptr<store::EmbeddedStore> store_;
};

TEST(Tally, CountsConsecutiveResultsOnly) {
  Check check;
  check.failures = 2;
  check.successes = 3;
  Tally t(check);
  EXPECT_TRUE(t.record(true));  // the first result is always written
  EXPECT_EQ(t.health(), Health::kCritical);
  EXPECT_FALSE(t.record(true));
  EXPECT_FALSE(t.record(false));  // breaks the run of passes
  EXPECT_FALSE(t.record(true));
  EXPECT_FALSE(t.record(true));
  EXPECT_TRUE(t.record(true));
  EXPECT_EQ(t.health(), Health::kPassing);
  EXPECT_FALSE(t.record(false));
  EXPECT_FALSE(t.record(true));
  EXPECT_FALSE(t.record(false));
  EXPECT_TRUE(t.record(false));
  EXPECT_EQ(t.health(), Health::kCritical);
}

TEST_F(HealthTest, ATcpCheckFollowsItsListener) {
  Listener listener;
  ASSERT_GE(listener.fd, 0);
  auto c = open();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->registerInstance(checked("web-1", Check::Kind::kTcp, listener.port)));
  std::string target = "connect 127.0.0.1:" + std::to_string(listener.port);
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kPassing, target + ": ok"));
  EXPECT_EQ(c->instances("web", true).size(), 1u);

  listener.close();
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kCritical, target + ": connection refused"));
  EXPECT_TRUE(c->instances("web", true).empty());
}

TEST_F(HealthTest, TheFirstCheckRunsAtOnceAndARepeatedRegistrationKeepsItsHealth) {
  Listener listener;
  ASSERT_GE(listener.fd, 0);
  auto c = open();
  ASSERT_TRUE(c);
  Instance in = checked("web-1", Check::Kind::kTcp, listener.port);
  in.check.interval = 1h;  // so only the first run can make it pass
  ASSERT_TRUE(c->registerInstance(in));
  ASSERT_TRUE(healthIs(*c, "web-1", Health::kPassing));

  in.tags = {"v2"};
  auto r = c->registerInstance(in);
  ASSERT_TRUE(r);
  ASSERT_TRUE(eventually(*c, [&] { return c->index() >= *r; }));
  auto list = c->instances("web", true);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].tags, std::vector<std::string>{"v2"});
}

TEST_F(HealthTest, AnHttpCheckPassesOn2xxAfterItsThresholds) {
  TinyHttp server;
  auto c = open();
  ASSERT_TRUE(c);
  Instance in = checked("web-1", Check::Kind::kHttp, server.port());
  in.check.path = "/health?deep=1";
  in.check.successes = 3;
  in.check.failures = 2;
  ASSERT_TRUE(c->registerInstance(in));

  ASSERT_TRUE(healthIs(*c, "web-1", Health::kPassing, "HTTP 200 OK"));
  auto counts = server.counts();
  EXPECT_GE(counts.served[200], 3);  // passing only after three passes in a row
  EXPECT_EQ(counts.lines.front(), "GET /health?deep=1 HTTP/1.0");

  server.answer(503);
  ASSERT_TRUE(healthIs(*c, "web-1", Health::kCritical, "HTTP 503 Unavailable"));
  EXPECT_GE(server.counts().served[503], 2);
}

TEST_F(HealthTest, ASilentServerTimesOut) {
  TinyHttp server;
  server.hold(true);
  auto c = open();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->registerInstance(checked("web-1", Check::Kind::kHttp, server.port())));
  std::string expected =
      "GET http://127.0.0.1:" + std::to_string(server.port()) + "/: timed out after 100ms";
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kCritical, expected));
  c.reset();
  server.hold(false);
}

TEST_F(HealthTest, ASlowCheckDoesNotHoldUpTheOthers) {
  TinyHttp slow;
  slow.hold(true);
  TinyHttp fast;
  auto c = open();
  ASSERT_TRUE(c);
  Instance stuck = checked("web-slow", Check::Kind::kHttp, slow.port());
  stuck.check.interval = stuck.check.timeout = 1h;
  ASSERT_TRUE(c->registerInstance(stuck));
  ASSERT_TRUE(slow.waitUntil([](const auto& n) { return n.waiting == 1; }));

  ASSERT_TRUE(c->registerInstance(checked("web-fast", Check::Kind::kHttp, fast.port())));
  // Checked again and again while the slow check still waits for its answer.
  EXPECT_TRUE(
      fast.waitUntil([](const auto& n) { return n.served.count(200) && n.served.at(200) >= 3; }));
  EXPECT_TRUE(slow.waitUntil([](const auto& n) { return n.waiting == 1; }));
  c.reset();
  slow.hold(false);
}

TEST_F(HealthTest, CommandChecksRunThroughTheEngine) {
  std::atomic<int> status{1};
  std::mutex mu;
  std::vector<std::string> seen;
  auto c = open([&](const std::string& container, const std::vector<std::string>& command,
                    std::chrono::milliseconds timeout, std::string* output) -> Result<int> {
    std::lock_guard lock(mu);
    seen = command;
    seen.push_back(container);
    seen.push_back(formatDuration(timeout));
    *output = status == 0 ? "" : "not ready\n";
    return status.load();
  });
  ASSERT_TRUE(c);
  Instance in = web("web-1");
  in.container = "c0ffee";
  in.check.kind = Check::Kind::kCommand;
  in.check.command = {"test", "-f", "/ready"};
  in.check.interval = 100ms;
  in.check.timeout = 100ms;
  ASSERT_TRUE(c->registerInstance(in));
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kCritical, "exit status 1: not ready"));
  status = 0;
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kPassing, "exit status 0"));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"test", "-f", "/ready", "c0ffee", "100ms"}));
}

TEST_F(HealthTest, ACommandCheckWithoutTheEngineFails) {
  auto c = open();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->registerInstance(failing(web("web-1"))));
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kCritical, "command checks need the engine"));
}

TEST_F(HealthTest, ARegistrationWithoutACheckStopsTheOldOne) {
  auto c = open();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->registerInstance(failing(web("web-1"))));
  ASSERT_TRUE(healthIs(*c, "web-1", Health::kCritical, "command checks need the engine"));
  ASSERT_TRUE(c->registerInstance(web("web-1")));
  EXPECT_TRUE(healthIs(*c, "web-1", Health::kPassing));
}

// A check that answers after its instance was deregistered, or deleted from the Store
// behind the catalog's back, must not write it back.
TEST_F(HealthTest, ALateResultDoesNotResurrectAnInstance) {
  TinyHttp held;
  held.hold(true);
  auto c = open();
  ASSERT_TRUE(c);
  for (const char* id : {"deregistered", "deleted"}) {
    Instance in = checked(id, Check::Kind::kHttp, held.port());
    in.check.interval = in.check.timeout = 1h;
    ASSERT_TRUE(c->registerInstance(in));
  }
  ASSERT_TRUE(held.waitUntil([](const auto& n) { return n.waiting == 2; }));
  ASSERT_TRUE(c->deregister("web", "deregistered"));
  ASSERT_TRUE(store_->del(instanceKey("web", "deleted")));
  ASSERT_TRUE(eventually(*c, [&] { return c->instances("web", false).empty(); }));

  held.hold(false);
  // The client closes once it has the answer, and has queued its report by then.
  ASSERT_TRUE(held.waitUntil([](const auto& n) { return n.closed_by_peer == 2; }));
  // Reports are written in order: once a later one shows, the late ones were handled.
  TinyHttp other;
  Instance later = checked("later", Check::Kind::kHttp, other.port());
  later.service = "api";
  ASSERT_TRUE(c->registerInstance(later));
  ASSERT_TRUE(eventually(*c, [&] { return c->instances("api", true).size() == 1; }));

  EXPECT_TRUE(c->instances("web", false).empty());
  EXPECT_FALSE(*store_->get(instanceKey("web", "deregistered")));
  EXPECT_FALSE(*store_->get(instanceKey("web", "deleted")));
}

}  // namespace
}  // namespace berth::catalog
