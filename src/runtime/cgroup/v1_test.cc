// The v1 manager against a fake cgroupfs: a temp dir with one directory per hierarchy, and
// the interface files each test expects created as plain files. The kernel creates those
// files on mkdir; a test that runs create() first adds them itself where it needs them.

#include <linux/magic.h>
#include <stdlib.h>
#include <sys/vfs.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/cgroup/manager.h"

namespace berth::runtime::cgroup {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class V1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cgroup-v1-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Mounts fake hierarchies at <root>/<key> and opens a manager for "/berth/web" on them.
  std::unique_ptr<Manager> open(std::initializer_list<const char*> keys) {
    V1Hierarchies h;
    for (const char* key : keys) {
      fs::create_directories(root_ + "/" + key);
      h[key] = root_ + "/" + key;
    }
    return newV1Manager(h, "/berth/web");
  }
  // Creates the file `rel` (relative to the fake root) holding `text`, and its parents.
  void put(const std::string& rel, const std::string& text) {
    fs::path p = root_ + "/" + rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string get(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool exists(const std::string& rel) { return fs::exists(root_ + "/" + rel); }

  std::string root_;
};

TEST_F(V1Test, CreateMakesTheCgroupInEveryHierarchy) {
  auto m = open({"cpu,cpuacct", "memory", "name=systemd"});
  ASSERT_TRUE(m->create().ok());
  EXPECT_TRUE(fs::is_directory(root_ + "/cpu,cpuacct/berth/web"));
  EXPECT_TRUE(fs::is_directory(root_ + "/memory/berth/web"));
  EXPECT_TRUE(fs::is_directory(root_ + "/name=systemd/berth/web"));
  EXPECT_TRUE(m->create().ok()) << "creating an existing cgroup is not an error";
}

TEST_F(V1Test, CreateCopiesCpusetsDownFromTheParent) {
  auto m = open({"cpuset"});
  put("cpuset/cpuset.cpus", "0-3\n");
  put("cpuset/cpuset.mems", "0\n");
  // What the kernel makes on mkdir: empty sets, which would refuse tasks.
  for (const char* dir : {"cpuset/berth", "cpuset/berth/web"}) {
    put(std::string(dir) + "/cpuset.cpus", "");
    put(std::string(dir) + "/cpuset.mems", "");
  }
  Status s = m->create();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(get("cpuset/berth/cpuset.cpus"), "0-3");
  EXPECT_EQ(get("cpuset/berth/cpuset.mems"), "0");
  EXPECT_EQ(get("cpuset/berth/web/cpuset.cpus"), "0-3");
  EXPECT_EQ(get("cpuset/berth/web/cpuset.mems"), "0");
}

TEST_F(V1Test, CreateKeepsCpusetsAlreadySet) {
  auto m = open({"cpuset"});
  put("cpuset/cpuset.cpus", "0-3\n");
  put("cpuset/cpuset.mems", "0\n");
  put("cpuset/berth/cpuset.cpus", "1\n");
  put("cpuset/berth/cpuset.mems", "0\n");
  put("cpuset/berth/web/cpuset.cpus", "");
  put("cpuset/berth/web/cpuset.mems", "");
  ASSERT_TRUE(m->create().ok());
  EXPECT_EQ(get("cpuset/berth/cpuset.cpus"), "1\n");
  EXPECT_EQ(get("cpuset/berth/web/cpuset.cpus"), "1");
}

TEST_F(V1Test, ApplyWritesEachLimitToTheHierarchyListingItsController) {
  auto m = open({"cpu,cpuacct", "cpuset", "memory", "pids"});
  for (const char* f :
       {"memory/berth/web/memory.limit_in_bytes", "memory/berth/web/memory.memsw.limit_in_bytes",
        "memory/berth/web/memory.soft_limit_in_bytes", "memory/berth/web/memory.swappiness",
        "memory/berth/web/memory.oom_control", "cpu,cpuacct/berth/web/cpu.shares",
        "cpu,cpuacct/berth/web/cpu.cfs_period_us", "cpu,cpuacct/berth/web/cpu.cfs_quota_us",
        "cpuset/berth/web/cpuset.cpus", "cpuset/berth/web/cpuset.mems",
        "pids/berth/web/pids.max"}) {
    put(f, "");
  }
  Resources r;
  MemoryResources& mem = r.memory.emplace();
  mem.limit = 64 << 20;
  mem.swap = -1;
  mem.reservation = 32 << 20;
  mem.swappiness = 0;
  mem.disable_oom_killer = true;
  CpuResources& cpu = r.cpu.emplace();
  cpu.shares = 512;
  cpu.quota = 25000;
  cpu.period = 50000;
  cpu.cpus = "0-1";
  cpu.mems = "0";
  r.pids_limit = 100;
  std::vector<std::string> warnings;
  Status s = m->apply(r, &warnings);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(get("memory/berth/web/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(get("memory/berth/web/memory.memsw.limit_in_bytes"), "-1");
  EXPECT_EQ(get("memory/berth/web/memory.soft_limit_in_bytes"), "33554432");
  EXPECT_EQ(get("memory/berth/web/memory.swappiness"), "0");
  EXPECT_EQ(get("memory/berth/web/memory.oom_control"), "1");
  EXPECT_EQ(get("cpu,cpuacct/berth/web/cpu.shares"), "512");
  EXPECT_EQ(get("cpu,cpuacct/berth/web/cpu.cfs_period_us"), "50000");
  EXPECT_EQ(get("cpu,cpuacct/berth/web/cpu.cfs_quota_us"), "25000");
  EXPECT_EQ(get("cpuset/berth/web/cpuset.cpus"), "0-1");
  EXPECT_EQ(get("cpuset/berth/web/cpuset.mems"), "0");
  EXPECT_EQ(get("pids/berth/web/pids.max"), "100");
}

TEST_F(V1Test, ApplyNamesAMissingFile) {
  auto m = open({"memory"});
  fs::create_directories(root_ + "/memory/berth/web");
  Resources r;
  r.memory.emplace().limit = 1 << 20;
  Status s = m->apply(r, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(contains(s.error().message(), root_ + "/memory/berth/web/memory.limit_in_bytes"))
      << s.error().message();
}

TEST_F(V1Test, ApplyFailsWhenTheControllersHierarchyIsNotMounted) {
  auto m = open({"memory"});
  Resources r;
  r.pids_limit = 10;
  Status s = m->apply(r, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(s.error().message(), "write 'pids.max': the 'pids' hierarchy is not mounted");
}

TEST_F(V1Test, ApplyOnlyWarnsWhenBlkioWeightIsMissing) {
  Resources r;
  r.blkio_weight = 500;
  {
    auto m = open({"blkio"});
    fs::create_directories(root_ + "/blkio/berth/web");
    std::vector<std::string> warnings;
    Status s = m->apply(r, &warnings);
    ASSERT_TRUE(s.ok()) << s.error().message();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_TRUE(contains(warnings[0], "blkio.weight")) << warnings[0];
    put("blkio/berth/web/blkio.weight", "");
    warnings.clear();
    ASSERT_TRUE(m->apply(r, &warnings).ok());
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(get("blkio/berth/web/blkio.weight"), "500");
  }
  auto unmounted = newV1Manager({{"memory", root_ + "/memory"}}, "/berth/web");
  std::vector<std::string> warnings;
  ASSERT_TRUE(unmounted->apply(r, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "'blkio' hierarchy is not mounted")) << warnings[0];
}

TEST_F(V1Test, ApplyWritesDeviceRules) {
  auto m = open({"devices"});
  put("devices/berth/web/devices.allow", "");
  put("devices/berth/web/devices.deny", "");
  Resources r;
  r.devices.push_back(DeviceRule{});  // deny all
  DeviceRule null_dev;
  null_dev.allow = true;
  null_dev.type = "c";
  null_dev.major = 1;
  null_dev.minor = 3;
  r.devices.push_back(null_dev);
  ASSERT_TRUE(m->apply(r, nullptr).ok());
  // A plain file keeps only the last write; the order is planner_test's business.
  EXPECT_EQ(get("devices/berth/web/devices.deny"), "a *:* rwm");
  EXPECT_EQ(get("devices/berth/web/devices.allow"), "c 1:3 rwm");
}

TEST_F(V1Test, AddProcessJoinsEveryHierarchy) {
  auto m = open({"memory", "pids", "name=systemd"});
  for (const char* key : {"memory", "pids", "name=systemd"}) {
    put(std::string(key) + "/berth/web/cgroup.procs", "");
  }
  ASSERT_TRUE(m->addProcess(4242).ok());
  EXPECT_EQ(get("memory/berth/web/cgroup.procs"), "4242");
  EXPECT_EQ(get("pids/berth/web/cgroup.procs"), "4242");
  EXPECT_EQ(get("name=systemd/berth/web/cgroup.procs"), "4242");
}

TEST_F(V1Test, PidsReadThePidsHierarchyFirst) {
  auto m = open({"memory", "pids"});
  put("pids/berth/web/cgroup.procs", "10\n20\n");
  put("memory/berth/web/cgroup.procs", "99\n");
  Result<std::vector<pid_t>> pids = m->pids();
  ASSERT_TRUE(pids.ok()) << pids.error().message();
  EXPECT_EQ(*pids, (std::vector<pid_t>{10, 20}));

  auto without_pids = newV1Manager({{"memory", root_ + "/memory"}}, "/berth/web");
  EXPECT_EQ(*without_pids->pids(), (std::vector<pid_t>{99}));

  put("pids/berth/web/cgroup.procs", "10\nzz\n");
  EXPECT_EQ(m->pids().error().code(), ErrorCode::kInternal);
}

TEST_F(V1Test, OomKilledReadsOomControl) {
  auto m = open({"memory"});
  put("memory/berth/web/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  EXPECT_TRUE(*m->oomKilled());
  put("memory/berth/web/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  EXPECT_FALSE(*m->oomKilled());
  put("memory/berth/web/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
  EXPECT_FALSE(*m->oomKilled()) << "kernels before 4.13 have no oom_kill line";
  fs::remove(root_ + "/memory/berth/web/memory.oom_control");
  EXPECT_EQ(m->oomKilled().error().code(), ErrorCode::kNotFound);
}

TEST_F(V1Test, FreezeWritesFreezerState) {
  auto m = open({"freezer"});
  put("freezer/berth/web/freezer.state", "THAWED\n");
  ASSERT_TRUE(m->freeze(true).ok());
  EXPECT_EQ(get("freezer/berth/web/freezer.state"), "FROZEN");
  ASSERT_TRUE(m->freeze(false).ok());
  EXPECT_EQ(get("freezer/berth/web/freezer.state"), "THAWED");

  auto no_freezer = newV1Manager({{"memory", root_ + "/memory"}}, "/berth/web");
  EXPECT_EQ(no_freezer->freeze(true).error().code(), ErrorCode::kUnsupported);
}

TEST_F(V1Test, DestroyRemovesOnlyTheContainersCgroup) {
  auto m = open({"memory", "pids", "name=systemd"});
  fs::create_directories(root_ + "/memory/berth/web/nested");  // a cgroup made inside
  fs::create_directories(root_ + "/pids/berth/web");
  // name=systemd has no directory for this cgroup: a missing one is not an error.
  Status s = m->destroy();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(exists("memory/berth/web"));
  EXPECT_FALSE(exists("pids/berth/web"));
  EXPECT_TRUE(exists("memory/berth"));
  EXPECT_TRUE(exists("pids/berth"));
  EXPECT_TRUE(m->destroy().ok()) << "destroying twice is not an error";
}

TEST_F(V1Test, DestroyGoesOnAndReportsWhatItCannotRemove) {
  auto m = open({"memory", "pids"});
  put("memory/berth/web/stray", "");  // a real cgroupfs never has this: rmdir fails
  fs::create_directories(root_ + "/pids/berth/web");
  Status s = m->destroy();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().message().starts_with("remove cgroup '" + root_ + "/memory/berth/web': "))
      << s.error().message();
  EXPECT_FALSE(exists("pids/berth/web"));
}

TEST_F(V1Test, HostDirsNameEachHierarchy) {
  auto m = open({"cpu,cpuacct", "memory"});
  EXPECT_EQ(m->version(), Version::kV1);
  EXPECT_EQ(m->path(), "/berth/web");
  std::map<std::string, std::string> want = {
      {"cpu,cpuacct", root_ + "/cpu,cpuacct/berth/web"},
      {"memory", root_ + "/memory/berth/web"},
  };
  EXPECT_EQ(m->hostDirs(), want);
}

// Reads the real host's layout; writes nothing.
TEST(OpenHostManager, FollowsTheHostLayout) {
  struct statfs sfs {};
  if (::statfs("/sys/fs/cgroup", &sfs) != 0) GTEST_SKIP() << "no /sys/fs/cgroup";
  Result<std::unique_ptr<Manager>> m = openHostManager("/berth/probe");
  if (!m.ok() && m.error().code() == ErrorCode::kUnsupported) {
    GTEST_SKIP() << m.error().message();
  }
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ((*m)->path(), "/berth/probe");
  if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
    EXPECT_EQ((*m)->version(), Version::kV2);
    EXPECT_EQ((*m)->hostDirs(),
              (std::map<std::string, std::string>{{"", "/sys/fs/cgroup/berth/probe"}}));
    return;
  }
  EXPECT_EQ((*m)->version(), Version::kV1);
  std::map<std::string, std::string> dirs = (*m)->hostDirs();
  EXPECT_FALSE(dirs.empty());
  for (const auto& [key, dir] : dirs) {
    EXPECT_FALSE(key.empty());
    // Keys hold controllers only, never mount flags.
    EXPECT_FALSE(contains("," + key + ",", ",rw,")) << key;
    ASSERT_TRUE(dir.ends_with("/berth/probe")) << dir;
    std::string mount = dir.substr(0, dir.size() - std::string("/berth/probe").size());
    EXPECT_TRUE(fs::is_directory(mount)) << mount;
    EXPECT_FALSE(contains(mount, "/unified")) << "the hybrid cgroup2 mount is not a hierarchy";
  }
}

}  // namespace
// The layout berthd hands to its runtimes reads back exactly, and anything else is refused
// (the runtime then reads mountinfo itself).
TEST(V1Layout, FormatsAndParsesBackExactly) {
  V1Hierarchies layout{{"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"},
                       {"memory", "/sys/fs/cgroup/memory"},
                       {"name=systemd", "/sys/fs/cgroup/systemd"}};
  std::string text = formatV1Layout(layout);
  EXPECT_EQ(text,
            "cpu,cpuacct=/sys/fs/cgroup/cpu,cpuacct;memory=/sys/fs/cgroup/memory;"
            "name=systemd=/sys/fs/cgroup/systemd");
  auto back = parseV1Layout(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, layout);
}

TEST(V1Layout, RefusesWhatItCannotReadBack) {
  EXPECT_EQ(formatV1Layout({{"memory", "/odd;place"}}), "");
  EXPECT_FALSE(parseV1Layout(""));
  EXPECT_FALSE(parseV1Layout("memory"));
  EXPECT_FALSE(parseV1Layout("memory=relative/path"));
  EXPECT_FALSE(parseV1Layout("=/sys/fs/cgroup/memory"));
  EXPECT_FALSE(parseV1Layout("memory=/a;memory=/b"));
  EXPECT_FALSE(parseV1Layout("memory=/sys/fs/cgroup/memory;"));
}

}  // namespace berth::runtime::cgroup
