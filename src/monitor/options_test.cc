#include "monitor/options.h"

#include <gtest/gtest.h>

#include <list>
#include <string>
#include <vector>

namespace berth::monitor {
namespace {

// Options point into argv: the strings live as long as the test binary.
bool parse(std::vector<std::string> args, Options* o, std::string* err) {
  static std::list<std::vector<std::string>> keep;
  keep.push_back(std::move(args));
  keep.back().insert(keep.back().begin(), "berth-monitor");
  std::vector<char*> argv;
  for (auto& a : keep.back()) argv.push_back(a.data());
  char buf[256];
  bool ok = parseOptions(static_cast<int>(argv.size()), argv.data(), o, buf, sizeof buf);
  if (!ok) *err = buf;
  return ok;
}

const std::vector<std::string> kRequired = {
    "--id", "c1", "--bundle", "/b", "--dir", "/d", "--runtime", "/r", "--runtime-root", "/rr"};

TEST(Options, ParsesEverything) {
  auto args = kRequired;
  for (const char* a :
       {"--tty", "--stdin", "--log-max-size=1000", "--log-max-files", "3", "--sync-fd", "5"})
    args.push_back(a);
  Options o;
  std::string err;
  ASSERT_TRUE(parse(args, &o, &err)) << err;
  EXPECT_STREQ(o.id, "c1");
  EXPECT_STREQ(o.runtime_root, "/rr");
  EXPECT_TRUE(o.tty);
  EXPECT_TRUE(o.stdin_open);
  EXPECT_EQ(o.log_max_size, 1000u);
  EXPECT_EQ(o.log_max_files, 3);
  EXPECT_EQ(o.sync_fd, 5);
}

TEST(Options, Defaults) {
  Options o;
  std::string err;
  ASSERT_TRUE(parse(kRequired, &o, &err)) << err;
  EXPECT_FALSE(o.tty);
  EXPECT_EQ(o.log_max_size, 0u);
  EXPECT_EQ(o.log_max_files, 1);
  EXPECT_EQ(o.sync_fd, -1);
}

TEST(Options, RefusesWithAReason) {
  Options o;
  std::string err;
  EXPECT_FALSE(parse({"--id", "x"}, &o, &err));
  EXPECT_EQ(err, "missing --bundle");
  auto rel = kRequired;
  rel[3] = "bundle";
  EXPECT_FALSE(parse(rel, &o, &err));
  EXPECT_EQ(err, "--bundle must be an absolute path: bundle");
  auto bad = kRequired;
  bad.push_back("--log-max-size=12k");
  EXPECT_FALSE(parse(bad, &o, &err));
  EXPECT_EQ(err, "bad number '12k'");
  auto unknown = kRequired;
  unknown.push_back("--detach");
  EXPECT_FALSE(parse(unknown, &o, &err));
  EXPECT_EQ(err, "unknown option '--detach'");
  // The sync descriptor is known even when the rest is wrong, so berthd gets its answer.
  EXPECT_FALSE(parse({"--sync-fd", "7", "--id"}, &o, &err));
  EXPECT_EQ(o.sync_fd, 7);
}

TEST(Options, PooledMonitorsLearnTheirContainerLater) {
  Options o;
  std::string err;
  ASSERT_TRUE(parse(
      {"--id", "----", "--pool", "--runtime", "/r", "--runtime-root", "/rr", "--sync-fd", "3"}, &o,
      &err))
      << err;
  EXPECT_TRUE(o.pool);
  EXPECT_EQ(o.bundle, nullptr);
  EXPECT_EQ(o.dir, nullptr);
  // The runtime is still needed up front: the pool loads it.
  EXPECT_FALSE(parse({"--id", "----", "--pool", "--runtime-root", "/rr"}, &o, &err));
  EXPECT_EQ(err, "missing --runtime");
  // Paths that come are still checked.
  EXPECT_FALSE(
      parse({"--id", "----", "--pool", "--dir", "d", "--runtime", "/r", "--runtime-root", "/rr"},
            &o, &err));
  EXPECT_EQ(err, "--dir must be an absolute path: d");
}

}  // namespace
}  // namespace berth::monitor
