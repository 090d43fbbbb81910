// An acknowledged write survives kill -9: a child process writes 1,000 keys from several
// threads (so that acknowledgements come from shared group commits) and reports each
// acknowledged key over a pipe; the parent kills it with SIGKILL midway or after the last
// acknowledgement, reopens the store and finds every key it was told about.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "store/embedded_store.h"

namespace berth::store {
namespace {

constexpr int kPuts = 1000;
constexpr int kWriters = 8;

std::string keyOf(int i) { return "/berth/v1/kv/durable/" + std::to_string(i); }
std::string valueOf(int i) { return "value-" + std::to_string(i * 7919); }

// The child: never returns.
[[noreturn]] void writeAndReport(const std::string& path, int report_fd) {
  auto store = EmbeddedStore::open(path);
  if (!store) ::_exit(2);
  std::mutex report_mu;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      for (int i = w; i < kPuts; i += kWriters) {
        if (!(*store)->put(keyOf(i), valueOf(i))) ::_exit(3);
        std::lock_guard lock(report_mu);
        int32_t acked = i;
        if (::write(report_fd, &acked, sizeof acked) != sizeof acked) ::_exit(4);
      }
    });
  for (auto& t : writers) t.join();
  // Stay until killed, as a daemon would: nothing after the acks may matter.
  while (true) ::pause();
}

class DurabilityTest : public ::testing::TestWithParam<int> {};

TEST_P(DurabilityTest, EveryAcknowledgedPutSurvivesSigkill) {
  const int kill_after = GetParam();
  char tmpl[] = "/tmp/berth-durable-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/store.db";
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    writeAndReport(path, fds[1]);
  }
  ::close(fds[1]);
  std::vector<int> acked;
  int32_t i = 0;
  while (static_cast<int>(acked.size()) < kill_after && ::read(fds[0], &i, sizeof i) == sizeof i)
    acked.push_back(i);
  ::kill(child, SIGKILL);
  // Acknowledgements already in the pipe when the child died were acknowledged too.
  while (::read(fds[0], &i, sizeof i) == sizeof i) acked.push_back(i);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed on its own, status " << status;
  ASSERT_GE(static_cast<int>(acked.size()), kill_after);

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
    EXPECT_EQ(all->revision, static_cast<Revision>(found.size()));
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(KillPoint, DurabilityTest, ::testing::Values(500, kPuts),
                         [](const auto& info) {
                           return info.param == kPuts ? std::string("AfterTheLast")
                                                      : std::string("Midway");
                         });

}  // namespace
}  // namespace berth::store
