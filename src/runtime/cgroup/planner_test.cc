#include "runtime/cgroup/planner.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::runtime::cgroup {
namespace {

using Lines = std::vector<std::string>;

// "controller/file=value", with "?" after an optional write: readable in a failure.
Lines render(const std::vector<Write>& writes) {
  Lines out;
  for (const Write& w : writes) {
    out.push_back(w.controller + "/" + w.file + "=" + w.value + (w.optional ? "?" : ""));
  }
  return out;
}

constexpr int64_t kMiB = 1 << 20;

TEST(PlanMemory, V1WritesLimitBeforeMemswAndEverySetting) {
  MemoryResources m;
  m.limit = 64 * kMiB;
  m.swap = 128 * kMiB;
  m.reservation = 32 * kMiB;
  m.swappiness = 10;
  m.disable_oom_killer = true;
  EXPECT_EQ(render(planMemory(m, Version::kV1)),
            (Lines{"memory/memory.limit_in_bytes=67108864",
                   "memory/memory.memsw.limit_in_bytes=134217728",
                   "memory/memory.soft_limit_in_bytes=33554432", "memory/memory.swappiness=10",
                   "memory/memory.oom_control=1"}));
}

TEST(PlanMemory, V1UnlimitedIsMinusOne) {
  MemoryResources m;
  m.limit = -1;
  m.swap = -1;
  EXPECT_EQ(render(planMemory(m, Version::kV1)),
            (Lines{"memory/memory.limit_in_bytes=-1", "memory/memory.memsw.limit_in_bytes=-1"}));
}

TEST(PlanMemory, ZeroMeansUnset) {
  MemoryResources m;
  m.limit = 0;
  m.swap = 0;
  m.reservation = 0;
  EXPECT_TRUE(planMemory(m, Version::kV1).empty());
  EXPECT_TRUE(planMemory(m, Version::kV2).empty());
}

TEST(PlanMemory, V2SwapMaxIsTotalMinusLimit) {
  MemoryResources m;
  m.limit = 64 * kMiB;
  m.swap = 96 * kMiB;
  m.reservation = 16 * kMiB;
  m.swappiness = 10;            // no v2 equivalent
  m.disable_oom_killer = true;  // no v2 equivalent
  EXPECT_EQ(render(planMemory(m, Version::kV2)),
            (Lines{"/memory.max=67108864", "/memory.low=16777216", "/memory.swap.max=33554432"}));
}

TEST(PlanMemory, V2UnlimitedIsMax) {
  MemoryResources m;
  m.limit = -1;
  m.swap = -1;
  m.reservation = -1;
  EXPECT_EQ(render(planMemory(m, Version::kV2)),
            (Lines{"/memory.max=max", "/memory.low=max", "/memory.swap.max=max"}));
}

TEST(PlanMemory, V2SkipsSwapWithoutLimit) {
  MemoryResources m;
  m.swap = 96 * kMiB;
  EXPECT_TRUE(planMemory(m, Version::kV2).empty());
  m.limit = -1;
  EXPECT_EQ(render(planMemory(m, Version::kV2)), (Lines{"/memory.max=max"}));
}

TEST(PlanCpu, V1WritesPeriodBeforeQuota) {
  CpuResources c;
  c.shares = 512;
  c.quota = 25000;
  c.period = 50000;
  EXPECT_EQ(
      render(planCpu(c, Version::kV1)),
      (Lines{"cpu/cpu.shares=512", "cpu/cpu.cfs_period_us=50000", "cpu/cpu.cfs_quota_us=25000"}));
  c.quota = -1;
  EXPECT_EQ(render(planCpu(c, Version::kV1)).back(), "cpu/cpu.cfs_quota_us=-1");
}

TEST(PlanCpu, V2ConvertsSharesToWeight) {
  auto weightOf = [](uint64_t shares) {
    CpuResources c;
    c.shares = shares;
    return render(planCpu(c, Version::kV2));
  };
  EXPECT_EQ(weightOf(2), (Lines{"/cpu.weight=1"}));
  EXPECT_EQ(weightOf(1024), (Lines{"/cpu.weight=39"}));
  EXPECT_EQ(weightOf(262144), (Lines{"/cpu.weight=10000"}));
  EXPECT_EQ(weightOf(1), (Lines{"/cpu.weight=1"}));  // clamped, no underflow
  EXPECT_TRUE(weightOf(0).empty());
}

TEST(PlanCpu, V2MaxJoinsQuotaAndPeriod) {
  CpuResources c;
  c.quota = 25000;
  EXPECT_EQ(render(planCpu(c, Version::kV2)), (Lines{"/cpu.max=25000 100000"}));
  c.period = 50000;
  EXPECT_EQ(render(planCpu(c, Version::kV2)), (Lines{"/cpu.max=25000 50000"}));
  c.quota = -1;
  EXPECT_EQ(render(planCpu(c, Version::kV2)), (Lines{"/cpu.max=max 50000"}));
  EXPECT_TRUE(planCpu(CpuResources{}, Version::kV2).empty());
}

TEST(PlanCpuset, SameFilesOnBothVersions) {
  CpuResources c;
  c.cpus = "0-1";
  c.mems = "0";
  EXPECT_EQ(render(planCpuset(c, Version::kV1)),
            (Lines{"cpuset/cpuset.cpus=0-1", "cpuset/cpuset.mems=0"}));
  EXPECT_EQ(render(planCpuset(c, Version::kV2)), (Lines{"/cpuset.cpus=0-1", "/cpuset.mems=0"}));
  EXPECT_TRUE(planCpuset(CpuResources{}, Version::kV1).empty());
}

TEST(PlanPids, NonPositiveIsMax) {
  EXPECT_EQ(render(planPids(100, Version::kV1)), (Lines{"pids/pids.max=100"}));
  EXPECT_EQ(render(planPids(0, Version::kV1)), (Lines{"pids/pids.max=max"}));
  EXPECT_EQ(render(planPids(-1, Version::kV2)), (Lines{"/pids.max=max"}));
}

TEST(PlanBlkio, WeightIsOptional) {
  EXPECT_EQ(render(planBlkio(500, Version::kV1)), (Lines{"blkio/blkio.weight=500?"}));
  EXPECT_EQ(render(planBlkio(10, Version::kV2)), (Lines{"/io.weight=1?"}));
  EXPECT_EQ(render(planBlkio(500, Version::kV2)), (Lines{"/io.weight=4950?"}));
  EXPECT_EQ(render(planBlkio(1000, Version::kV2)), (Lines{"/io.weight=10000?"}));
  EXPECT_TRUE(planBlkio(0, Version::kV1).empty());
}

TEST(PlanDevices, V1OneWritePerRuleInOrder) {
  DeviceRule deny_all;  // defaults: deny, type a, any number, rwm
  DeviceRule null_dev{.allow = true, .type = "c", .major = 1, .minor = 3, .access = "rwm"};
  DeviceRule ptys{.allow = true, .type = "c", .major = 136, .minor = {}, .access = "rw"};
  DeviceRule wildcard{.allow = false, .type = "b", .major = -1, .minor = -1, .access = "m"};
  std::vector<DeviceRule> rules = {deny_all, null_dev, ptys, wildcard};
  EXPECT_EQ(render(planDevices(rules, Version::kV1)),
            (Lines{"devices/devices.deny=a *:* rwm", "devices/devices.allow=c 1:3 rwm",
                   "devices/devices.allow=c 136:* rw", "devices/devices.deny=b *:* m"}));
  EXPECT_TRUE(planDevices(rules, Version::kV2).empty());
}

TEST(PlanAll, EveryControllerInOrder) {
  Resources r;
  r.memory.emplace().limit = kMiB;
  r.cpu.emplace();
  r.cpu->shares = 256;
  r.cpu->cpus = "0";
  r.pids_limit = 64;
  r.blkio_weight = 100;
  r.devices = {DeviceRule{}};
  EXPECT_EQ(
      render(planAll(r, Version::kV1)),
      (Lines{"memory/memory.limit_in_bytes=1048576", "cpu/cpu.shares=256", "cpuset/cpuset.cpus=0",
             "pids/pids.max=64", "blkio/blkio.weight=100?", "devices/devices.deny=a *:* rwm"}));
  EXPECT_EQ(render(planAll(r, Version::kV2)),
            (Lines{"/memory.max=1048576", "/cpu.weight=10", "/cpuset.cpus=0", "/pids.max=64",
                   "/io.weight=910?"}));
  EXPECT_TRUE(planAll(Resources{}, Version::kV1).empty());
}

// resolvePath is pure too, so its cases live here.
TEST(ResolvePath, Cases) {
  EXPECT_EQ(*resolvePath("", "web"), "/berth/web");
  EXPECT_EQ(*resolvePath("/a/b", "web"), "/a/b");
  EXPECT_EQ(*resolvePath("a/b", "web"), "/a/b");
  EXPECT_EQ(*resolvePath("//a/./b/", "web"), "/a/b");
  EXPECT_EQ(*resolvePath("/machine:1/web", "web"), "/machine:1/web");  // a colon is no slice
}

TEST(ResolvePath, RejectsSystemdForm) {
  Result<std::string> r = resolvePath("system.slice:berth:web", "web");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message().find("systemd cgroup paths are not supported: use a cgroupfs "
                                     "path such as '/berth/web'"),
            std::string::npos)
      << r.error().message();
}

TEST(ResolvePath, RejectsDotDotAndRoot) {
  for (const char* bad : {"/a/../b", "..", "a/.."}) {
    Result<std::string> r = resolvePath(bad, "web");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(r.error().message().find("'..'"), std::string::npos) << r.error().message();
  }
  EXPECT_EQ(resolvePath("/", "web").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(resolvePath("", "../x").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::runtime::cgroup
