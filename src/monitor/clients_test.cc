#include "monitor/clients.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace berth::monitor {
namespace {

constexpr uint64_t kTagBase = 100;

struct FakeSink : AttachSink {
  size_t room = 4096;
  std::string stdin_data;
  int closes = 0;
  std::vector<std::pair<int, int>> sizes;
  size_t stdinRoom() const override { return room; }
  void stdinData(const char* d, size_t n) override { stdin_data.append(d, n); }
  void closeStdin() override { ++closes; }
  void resize(uint16_t r, uint16_t c) override { sizes.emplace_back(r, c); }
};

std::string frame(uint8_t type, const std::string& payload) {
  uint32_t n = static_cast<uint32_t>(payload.size());
  std::string f(kFrameHeader, '\0');
  f[0] = static_cast<char>(type);
  for (int i = 0; i < 4; ++i) f[4 + i] = static_cast<char>(n >> (24 - 8 * i));
  return f + payload;
}

class Clients : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-clients-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    addr_.sun_family = AF_UNIX;
    std::strcpy(addr_.sun_path, (dir_ + "/s").c_str());
    listen_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_), 0);
    ASSERT_EQ(::listen(listen_, 16), 0);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    set_ = std::make_unique<ClientSet>(epoll_, kTagBase);
  }
  void TearDown() override {
    set_.reset();
    for (int fd : conns_) ::close(fd);
    ::close(listen_);
    ::close(epoll_);
    std::filesystem::remove_all(dir_);
  }
  int connectClient() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_), 0);
    set_->acceptAll(listen_);
    conns_.push_back(fd);
    return fd;
  }
  void pump(FakeSink& sink, int rounds = 5) {
    for (int r = 0; r < rounds; ++r) {
      epoll_event ev[8];
      int n = ::epoll_wait(epoll_, ev, 8, 1);
      for (int i = 0; i < n; ++i)
        set_->onEvent(static_cast<int>(ev[i].data.u64 - kTagBase), ev[i].events, sink);
    }
  }
  std::string readSome(int fd, size_t want) {
    std::string out;
    char buf[65536];
    while (out.size() < want) {
      ssize_t n = ::read(fd, buf, std::min(sizeof buf, want - out.size()));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  std::string dir_;
  sockaddr_un addr_{};
  int listen_ = -1, epoll_ = -1;
  std::unique_ptr<ClientSet> set_;
  std::vector<int> conns_;
};

TEST_F(Clients, FramesFromAClientReachTheSinkWhateverTheSplit) {
  FakeSink sink;
  int c = connectClient();
  std::string bytes = frame(kStdin, "hello ") + frame(kResize, std::string("\0\x18\0\x50", 4)) +
                      frame(kStdin, "world") + frame(99, "ignored") + frame(kCloseStdin, "");
  // One byte at a time: headers and payloads arrive in pieces.
  for (char ch : bytes) {
    ASSERT_EQ(::write(c, &ch, 1), 1);
    pump(sink, 1);
  }
  pump(sink);
  EXPECT_EQ(sink.stdin_data, "hello world");
  ASSERT_EQ(sink.sizes.size(), 1u);
  EXPECT_EQ(sink.sizes[0], std::make_pair(24, 80));
  EXPECT_EQ(sink.closes, 1);
}

TEST_F(Clients, AResizeOfTheWrongSizeIsIgnored) {
  FakeSink sink;
  int c = connectClient();
  std::string bytes = frame(kResize, "abc") + frame(kStdin, "x");
  ASSERT_EQ(::write(c, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  pump(sink);
  EXPECT_TRUE(sink.sizes.empty());
  EXPECT_EQ(sink.stdin_data, "x");
}

TEST_F(Clients, BroadcastFramesGoToEveryClient) {
  FakeSink sink;
  int a = connectClient();
  int b = connectClient();
  EXPECT_EQ(set_->count(), 2);
  set_->broadcast(kStderr, "oops", 4);
  EXPECT_EQ(readSome(a, 12), frame(kStderr, "oops"));
  EXPECT_EQ(readSome(b, 12), frame(kStderr, "oops"));
}

TEST_F(Clients, ASlowClientIsDroppedAndTheOthersKeepGoing) {
  FakeSink sink;
  int slow = connectClient();
  int fast = connectClient();
  std::string chunk(16384, 'z');
  size_t got = 0;
  auto drainFast = [&] {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fast, buf, sizeof buf, MSG_DONTWAIT)) > 0) got += static_cast<size_t>(n);
  };
  for (int i = 0; i < 200; ++i) {  // 3.2 MB: far past the socket buffer and the queue
    set_->broadcast(kStdout, chunk.data(), chunk.size());
    drainFast();
    pump(sink, 1);
  }
  for (int i = 0; i < 100 && set_->anyQueued(); ++i) {
    drainFast();
    pump(sink, 1);
  }
  drainFast();
  EXPECT_EQ(got, 200 * (8 + chunk.size()));
  EXPECT_EQ(set_->count(), 1);
  // The slow one gets what was sent before its queue overflowed, then end of file.
  std::string rest;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(slow, buf, sizeof buf)) > 0) rest.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(n, 0);
  EXPECT_GT(rest.size(), 0u);
  EXPECT_LE(rest.size(), 200 * (8 + chunk.size()));
}

TEST_F(Clients, QueuedOutputIsSentWhenTheClientReads) {
  FakeSink sink;
  int c = connectClient();
  std::string chunk(100000, 'q');
  for (int i = 0; i < 5; ++i) set_->broadcast(kStdout, chunk.data(), chunk.size());
  EXPECT_TRUE(set_->anyQueued());
  std::string all;
  for (int i = 0; i < 2000 && all.size() < 5 * (8 + chunk.size()); ++i) {
    char buf[4096];
    ssize_t n = ::recv(c, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) all.append(buf, static_cast<size_t>(n));
    pump(sink, 1);
  }
  EXPECT_EQ(all.size(), 5 * (8 + chunk.size()));
  EXPECT_FALSE(set_->anyQueued());
  EXPECT_EQ(all.substr(0, 8 + chunk.size()), frame(kStdout, chunk));
}

TEST_F(Clients, PausedInputIsLeftInTheSocket) {
  FakeSink sink;
  int c = connectClient();
  set_->pauseInput(true);
  std::string f = frame(kStdin, "later");
  ASSERT_EQ(::write(c, f.data(), f.size()), static_cast<ssize_t>(f.size()));
  pump(sink);
  EXPECT_EQ(sink.stdin_data, "");
  set_->pauseInput(false);
  pump(sink);
  EXPECT_EQ(sink.stdin_data, "later");
}

TEST_F(Clients, AHalfClosedClientStillGetsOutput) {
  FakeSink sink;
  int c = connectClient();
  ::shutdown(c, SHUT_WR);
  pump(sink);
  EXPECT_EQ(set_->count(), 1);
  set_->broadcast(kStdout, "hi", 2);
  EXPECT_EQ(readSome(c, 10), frame(kStdout, "hi"));
  ::close(c);
  conns_.pop_back();
  pump(sink);
  EXPECT_EQ(set_->count(), 0);
}

}  // namespace
}  // namespace berth::monitor
