// The v2 manager against a fake unified hierarchy in a temp dir. The kernel creates each
// cgroup's interface files on mkdir; here each test creates the ones it expects.

#include <stdlib.h>

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

class V2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cgroup-v2-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    manager_ = newV2Manager(root_, "/berth/web");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
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
  std::unique_ptr<Manager> manager_;
};

TEST_F(V2Test, CreateEnablesControllersInEveryAncestor) {
  put("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  put("cgroup.subtree_control", "");
  // What the kernel would show in /berth once the root enabled a subset.
  put("berth/cgroup.controllers", "cpu memory pids\n");
  put("berth/cgroup.subtree_control", "");
  Status s = manager_->create();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(get("cgroup.subtree_control"), "+cpuset +cpu +io +memory +pids");
  EXPECT_EQ(get("berth/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_TRUE(fs::is_directory(root_ + "/berth/web"));
  EXPECT_FALSE(exists("berth/web/cgroup.subtree_control")) << "the leaf enables nothing";
}

TEST_F(V2Test, CreateEnablesOnlyWhatIsMissing) {
  put("cgroup.controllers", "cpuset cpu io memory pids\n");
  put("cgroup.subtree_control", "cpu memory\n");
  put("berth/cgroup.controllers", "cpu io memory\n");
  put("berth/cgroup.subtree_control", "cpu io memory\n");
  ASSERT_TRUE(manager_->create().ok());
  EXPECT_EQ(get("cgroup.subtree_control"), "+cpuset +io +pids");
  EXPECT_EQ(get("berth/cgroup.subtree_control"), "cpu io memory\n") << "left unwritten";
  EXPECT_TRUE(manager_->create().ok()) << "creating an existing cgroup is not an error";
}

TEST_F(V2Test, CreateNamesAMissingControllersFile) {
  put("cgroup.controllers", "cpu memory\n");
  put("cgroup.subtree_control", "");
  Status s = manager_->create();  // makes berth/, which the fake leaves without files
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(contains(s.error().message(), root_ + "/berth/cgroup.controllers"))
      << s.error().message();
}

TEST_F(V2Test, ApplyWritesEachLimit) {
  for (const char* f : {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max",
                        "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight"}) {
    put(std::string("berth/web/") + f, "");
  }
  Resources r;
  MemoryResources& mem = r.memory.emplace();
  mem.limit = 64 << 20;
  mem.swap = 96 << 20;
  mem.reservation = 16 << 20;
  CpuResources& cpu = r.cpu.emplace();
  cpu.shares = 1024;
  cpu.quota = 50000;
  cpu.cpus = "0-1";
  cpu.mems = "0";
  r.pids_limit = -1;
  r.blkio_weight = 1000;
  std::vector<std::string> warnings;
  Status s = manager_->apply(r, &warnings);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(get("berth/web/memory.max"), "67108864");
  EXPECT_EQ(get("berth/web/memory.low"), "16777216");
  EXPECT_EQ(get("berth/web/memory.swap.max"), "33554432");
  EXPECT_EQ(get("berth/web/cpu.weight"), "39");
  EXPECT_EQ(get("berth/web/cpu.max"), "50000 100000");
  EXPECT_EQ(get("berth/web/cpuset.cpus"), "0-1");
  EXPECT_EQ(get("berth/web/cpuset.mems"), "0");
  EXPECT_EQ(get("berth/web/pids.max"), "max");
  EXPECT_EQ(get("berth/web/io.weight"), "10000");
}

TEST_F(V2Test, ApplyNamesAMissingFile) {
  fs::create_directories(root_ + "/berth/web");
  Resources r;
  r.memory.emplace().limit = 1 << 20;
  Status s = manager_->apply(r, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(contains(s.error().message(), "'" + root_ + "/berth/web/memory.max'"))
      << s.error().message();
}

TEST_F(V2Test, ApplyWarnsAboutWhatV2CannotDo) {
  put("berth/web/memory.max", "");
  Resources r;
  MemoryResources& mem = r.memory.emplace();
  mem.limit = 64 << 20;
  mem.disable_oom_killer = true;
  mem.swappiness = 0;
  r.devices.push_back(DeviceRule{});
  r.blkio_weight = 500;  // no io.weight file: optional
  std::vector<std::string> warnings;
  Status s = manager_->apply(r, &warnings);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_TRUE(contains(warnings[0], "'memory.disableOOMKiller'")) << warnings[0];
  EXPECT_TRUE(contains(warnings[1], "'memory.swappiness'")) << warnings[1];
  EXPECT_TRUE(contains(warnings[2], "'devices'")) << warnings[2];
  EXPECT_TRUE(contains(warnings[3], "'io.weight'")) << warnings[3];
  EXPECT_EQ(get("berth/web/memory.max"), "67108864");
}

TEST_F(V2Test, ApplyWarnsAboutSwapWithoutALimit) {
  Resources r;
  r.memory.emplace().swap = 96 << 20;
  std::vector<std::string> warnings;
  ASSERT_TRUE(manager_->apply(r, &warnings).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(contains(warnings[0], "'memory.swap'")) << warnings[0];
}

TEST_F(V2Test, AddProcessAndPids) {
  put("berth/web/cgroup.procs", "");
  ASSERT_TRUE(manager_->addProcess(4242).ok());
  EXPECT_EQ(get("berth/web/cgroup.procs"), "4242");
  put("berth/web/cgroup.procs", "1\n4242\n");
  Result<std::vector<pid_t>> pids = manager_->pids();
  ASSERT_TRUE(pids.ok()) << pids.error().message();
  EXPECT_EQ(*pids, (std::vector<pid_t>{1, 4242}));
  put("berth/web/cgroup.procs", "");
  EXPECT_TRUE(manager_->pids()->empty());
}

TEST_F(V2Test, OomKilledReadsMemoryEvents) {
  put("berth/web/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
  EXPECT_TRUE(*manager_->oomKilled());
  put("berth/web/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 0\noom_group_kill 1\n");
  EXPECT_FALSE(*manager_->oomKilled()) << "oom_group_kill is another key";
  fs::remove(root_ + "/berth/web/memory.events");
  EXPECT_EQ(manager_->oomKilled().error().code(), ErrorCode::kNotFound);
}

TEST_F(V2Test, FreezeWritesCgroupFreezeAndWaitsForEvents) {
  put("berth/web/cgroup.freeze", "0\n");
  // The fake's cgroup.events does not follow cgroup.freeze: each step sets what the
  // kernel would report once it settled.
  put("berth/web/cgroup.events", "populated 1\nfrozen 1\n");
  ASSERT_TRUE(manager_->freeze(true).ok());
  EXPECT_EQ(get("berth/web/cgroup.freeze"), "1");
  put("berth/web/cgroup.events", "populated 1\nfrozen 0\n");
  ASSERT_TRUE(manager_->freeze(false).ok());
  EXPECT_EQ(get("berth/web/cgroup.freeze"), "0");
}

TEST_F(V2Test, DestroyRemovesTheCgroupAndItsChildren) {
  fs::create_directories(root_ + "/berth/web/nested/deeper");
  Status s = manager_->destroy();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(exists("berth/web"));
  EXPECT_TRUE(exists("berth")) << "parents stay";
  EXPECT_TRUE(manager_->destroy().ok()) << "a missing cgroup is not an error";
}

TEST_F(V2Test, DestroyRefusesTheRoot) {
  EXPECT_EQ(newV2Manager(root_, "/")->destroy().error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(V2Test, PathAndHostDirs) {
  EXPECT_EQ(manager_->version(), Version::kV2);
  EXPECT_EQ(manager_->path(), "/berth/web");
  EXPECT_EQ(manager_->hostDirs(), (std::map<std::string, std::string>{{"", root_ + "/berth/web"}}));
  auto relative = newV2Manager(root_, "berth/web/");
  EXPECT_EQ(relative->path(), "/berth/web");
}

}  // namespace
}  // namespace berth::runtime::cgroup
