// An acknowledged write survives kill -9: a child process writes 1,000 keys from several
// threads (so that acknowledgements come from shared group commits) and reports each
// acknowledged key over a pipe; the parent kills it with SIGKILL midway or after the last
// acknowledgement, reopens the store and finds every key it was told about. The store
// acknowledges a put once its operation log is synced and commits its tables later,
// unsynced, so three cases matter:
//   - killed while the tables lag behind the log: the reopened store replays the log;
//   - the child folds the log every few KiB and reads as it writes (each read commits the
//     tables): acknowledged writes survive the log starting over while they are written;
//   - the tables lose every commit after the last fold, as after a power loss (the parent
//     puts back the database files it copied when the child opened the store): the log
//     alone brings back every acknowledged put.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "common/temp_dir_testing.h"
#include "store/embedded_store.h"

namespace berth::store {
namespace {

constexpr int kPuts = 1000;
constexpr int kWriters = 8;

std::string keyOf(int i) { return "/berth/v1/kv/durable/" + std::to_string(i); }
std::string valueOf(int i) { return "value-" + std::to_string(i * 7919); }

struct Case {
  const char* name;
  int kill_after;       // acknowledgements before the SIGKILL
  uint64_t fold_bytes;  // the child's store folds its log at this size
  bool read_too;        // the writers read a key after each put
  bool lose_tables;     // the tables go back to how they were when the child opened them
};

// The child: never returns.
[[noreturn]] void writeAndReport(const std::string& path, const Case& c, int report_fd) {
  auto store = EmbeddedStore::open(path, c.fold_bytes);
  if (!store) ::_exit(2);
  std::mutex report_mu;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      for (int i = w; i < kPuts; i += kWriters) {
        if (!(*store)->put(keyOf(i), valueOf(i))) ::_exit(3);
        if (c.read_too) {
          auto got = (*store)->get(keyOf(i));
          if (!got || !*got || (*got)->value != valueOf(i)) ::_exit(5);
        }
        std::lock_guard lock(report_mu);
        int32_t acked = i;
        if (::write(report_fd, &acked, sizeof acked) != sizeof acked) ::_exit(4);
      }
    });
  for (auto& t : writers) t.join();
  // Stay until killed, as a daemon would: nothing after the acks may matter.
  while (true) ::pause();
}

// A child process that runs `body(report_fd)` (which never returns: it stays until killed,
// as a daemon would); the parent reads what it reports from `report_fd`.
struct Child {
  pid_t pid = -1;
  int report_fd = -1;
};

Child spawn(const std::function<void(int)>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    body(fds[1]);
    ::_exit(9);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// SIGKILL, then reap: true when the signal is what ended the child (not a failure of its own).
bool killAndReap(const Child& c) {
  ::kill(c.pid, SIGKILL);
  int status = 0;
  return ::waitpid(c.pid, &status, 0) == c.pid && WIFSIGNALED(status);
}

class DurabilityTest : public ::testing::TestWithParam<Case> {};

TEST_P(DurabilityTest, EveryAcknowledgedPutSurvivesSigkill) {
  const Case& c = GetParam();
  berth::testing::TempDir temp("berth-durable");
  ASSERT_FALSE(temp.path().empty());
  const std::string& dir = temp.path();
  const std::string path = dir + "/store.db";
  namespace fs = std::filesystem;
  if (c.lose_tables) {
    // A store with one key, closed: its tables are durable as they are now.
    {
      auto store = EmbeddedStore::open(path);
      ASSERT_TRUE(store) << store.error().message();
      ASSERT_TRUE((*store)->put("/berth/v1/kv/before", "x"));
    }
    fs::create_directory(dir + "/saved");
    for (const char* suffix : {"", "-wal"})
      if (fs::exists(path + suffix)) fs::copy_file(path + suffix, dir + "/saved/store.db" + suffix);
  }
  Child child = spawn([&](int report_fd) { writeAndReport(path, c, report_fd); });
  ASSERT_GE(child.pid, 0);
  std::vector<int> acked;
  int32_t i = 0;
  while (static_cast<int>(acked.size()) < c.kill_after &&
         ::read(child.report_fd, &i, sizeof i) == sizeof i)
    acked.push_back(i);
  const bool killed = killAndReap(child);
  // Acknowledgements already in the pipe when the child died were acknowledged too.
  while (::read(child.report_fd, &i, sizeof i) == sizeof i) acked.push_back(i);
  ::close(child.report_fd);
  ASSERT_TRUE(killed) << "the writer failed on its own";
  ASSERT_GE(static_cast<int>(acked.size()), c.kill_after);
  if (c.lose_tables) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
    for (const char* suffix : {"", "-wal"})
      if (fs::exists(dir + "/saved/store.db" + suffix))
        fs::copy_file(dir + "/saved/store.db" + suffix, path + suffix);
  }

  {
    auto store = EmbeddedStore::open(path);
    ASSERT_TRUE(store) << store.error().message();
    auto all = (*store)->range("/berth/v1/kv/durable/");
    ASSERT_TRUE(all) << all.error().message();
    std::map<std::string, std::string> found;
    for (auto& kv : all->kvs) found[kv.key] = kv.value;
    for (int k : acked) {
      auto it = found.find(keyOf(k));
      ASSERT_NE(it, found.end()) << "acknowledged put of " << keyOf(k) << " was lost";
      EXPECT_EQ(it->second, valueOf(k));
    }
    // Revisions stayed consistent: one per put that made it to disk.
    const Revision before = c.lose_tables ? 1 : 0;
    EXPECT_EQ(all->revision, before + static_cast<Revision>(found.size()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    KillPoint, DurabilityTest,
    ::testing::Values(Case{"Midway", 500, EmbeddedStore::kFoldBytes, false, false},
                      Case{"AfterTheLast", kPuts, EmbeddedStore::kFoldBytes, false, false},
                      Case{"WhileFoldingAndReading", 700, 4096, true, false},
                      Case{"AfterTheTablesLostTheirCommits", kPuts, EmbeddedStore::kFoldBytes, true,
                           true}),
    [](const auto& info) { return std::string(info.param.name); });

// Every kind of request the log holds replays to the same state: leases granted and revoked,
// a compare-and-swap, a transaction that took its other branch, a delete, a compaction. The
// child is killed right after its last answer, well inside the tables' 250 ms between
// commits (nothing in it reads, which would commit them), so the reopened store has to
// take all of it from the log.
TEST(Replay, EveryKindOfRequestComesBackTheSame) {
  berth::testing::TempDir temp("berth-replay");
  ASSERT_FALSE(temp.path().empty());
  const std::string path = temp.path() + "/store.db";
  Child child = spawn([&](int report_fd) {
    auto store = EmbeddedStore::open(path);
    if (!store) ::_exit(2);
    Store& st = **store;
    auto kept = st.grantLease(std::chrono::seconds(60));
    auto gone = st.grantLease(std::chrono::seconds(60));
    if (!kept || !gone) ::_exit(3);
    bool ok = st.put("/k/leased", "a", kept->id) && st.put("/k/with-gone", "b", gone->id) &&
              st.revokeLease(gone->id);
    auto cas = st.put("/k/cas", "1");
    ok = ok && cas && st.putIfRevision("/k/cas", "2", *cas);
    Txn t;
    t.compares.push_back(Compare::valueIs("/k/cas", "nope"));
    t.then.push_back(Op::put("/k/then", "t"));
    t.otherwise.push_back(Op::put("/k/else", "e"));
    auto txn = st.txn(t);
    ok = ok && txn && !txn->succeeded;
    auto del = st.put("/k/del", "x");
    ok = ok && del && st.del("/k/del") && st.compact(*del);
    auto last = st.put("/k/last", "z");
    if (!ok || !last) ::_exit(4);
    int64_t report[3] = {kept->id, gone->id, *last};
    if (::write(report_fd, report, sizeof report) != sizeof report) ::_exit(5);
    while (true) ::pause();
  });
  ASSERT_GE(child.pid, 0);
  int64_t report[3] = {0, 0, 0};
  ASSERT_EQ(::read(child.report_fd, report, sizeof report), static_cast<ssize_t>(sizeof report));
  ::close(child.report_fd);
  ASSERT_TRUE(killAndReap(child)) << "the child failed on its own";

  auto store = EmbeddedStore::open(path);
  ASSERT_TRUE(store) << store.error().message();
  Store& st = **store;
  auto all = st.range("/k/");
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(all->revision, report[2]);
  std::map<std::string, KeyValue> got;
  for (auto& kv : all->kvs) got[kv.key] = kv;
  ASSERT_EQ(got.size(), 4u);  // leased, cas, else, last
  EXPECT_EQ(got["/k/leased"].value, "a");
  EXPECT_EQ(got["/k/leased"].lease, report[0]);
  EXPECT_EQ(got["/k/cas"].value, "2");
  EXPECT_EQ(got["/k/cas"].version, 2);
  EXPECT_EQ(got["/k/else"].value, "e");
  EXPECT_EQ(got["/k/last"].value, "z");
  EXPECT_TRUE(st.keepAlive(report[0]));
  auto revoked = st.keepAlive(report[1]);
  EXPECT_FALSE(revoked);
  // The compaction came back too: the history before it is gone.
  auto old = st.get("/k/cas", 2);
  ASSERT_FALSE(old);
  EXPECT_TRUE(isCompacted(old.error())) << old.error().message();
  // And the store goes on from there.
  auto next = st.put("/k/after", "n");
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, report[2] + 1);
}

}  // namespace
}  // namespace berth::store
