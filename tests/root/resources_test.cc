// Scenario 3 of the runtime issue: memory, pids and cpu limits hold.

#include "support/harness.h"

namespace berth::test {
namespace {

class Resources : public RootTest {};

TEST_F(Resources, MemoryLimitOomKillsAndIsReported) {
  Bundle b;
  b.config()["linux"]["resources"]["memory"] = {{"limit", 32 << 20}, {"swap", 32 << 20}};
  // dd fills a 64 MiB buffer in one read: twice the limit.
  b.config()["process"]["args"] = {"dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"};
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("oom")});
  EXPECT_EQ(r.code, 137) << r.out << r.err;
  EXPECT_NE(r.err.find("killed by the OOM killer"), std::string::npos) << r.err;
}

TEST_F(Resources, MemoryWithinTheLimitIsFine) {
  Bundle b;
  b.config()["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  b.shell("dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo fine");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("mem")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "fine\n");
  EXPECT_EQ(r.err.find("OOM"), std::string::npos);
}

TEST_F(Resources, PidsLimitContainsAForkBomb) {
  Bundle b;
  b.config()["linux"]["resources"]["pids"] = {{"limit", 20}};
  // A subshell tries to start 100 sleepers (ash gives up at the first failed fork), then
  // PID 1 counts the processes with shell builtins only: at the limit nothing can fork.
  b.shell(
      "(i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done) 2>/dev/null; "
      "n=0; for d in /proc/[0-9]*; do n=$((n+1)); done; echo $n");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("pids")});
  ASSERT_EQ(r.code, 0) << r.err;
  int running = std::stoi(r.out);
  EXPECT_LE(running, 20);
  EXPECT_GE(running, 15) << "the limit should still allow some processes";
}

TEST_F(Resources, CpuQuotaGivesAboutHalfACore) {
  Bundle b;
  b.config()["linux"]["resources"]["cpu"] = {{"quota", 50000}, {"period", 100000}};
  // Busy-loop for 2 s of wall time, then report the loop's CPU ticks (utime+stime) and
  // the ticks per second.
  b.shell(
      "(while :; do :; done) & p=$!; sleep 2; "
      "set -- $(cut -d' ' -f14,15 /proc/$p/stat); kill $p; echo $(( $1 + $2 ))");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("cpu")});
  ASSERT_EQ(r.code, 0) << r.err;
  double ticks = std::stod(r.out);
  double share = ticks / (2.0 * static_cast<double>(::sysconf(_SC_CLK_TCK)));
  EXPECT_GT(share, 0.3) << ticks;
  EXPECT_LT(share, 0.7) << ticks << " ticks: the quota did not hold";
}

TEST_F(Resources, CpusetPinsTheContainer) {
  Bundle b;
  b.config()["linux"]["resources"]["cpu"] = {{"cpus", "0"}};
  b.shell("grep Cpus_allowed_list /proc/self/status | tr -d '\\t'");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("cpuset")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Cpus_allowed_list:0\n");
}

}  // namespace
}  // namespace berth::test
