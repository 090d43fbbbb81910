// Scenarios 4 and 6 of the runtime issue: the state machine as runc reports it, and
// nothing left behind after delete. Parameterised over runtimes: the same test runs
// against Debian's runc to prove that the test itself describes runc's behaviour.

#include <fstream>
#include <sstream>

#include "support/harness.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

class Lifecycle : public RootTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string runtime() const { return GetParam() == "berth" ? runtimePath() : "/usr/sbin/runc"; }
};

std::string statusOf(const Bundle& b, const std::string& id) {
  auto r = b.rt({"state", id});
  if (r.code != 0) return "error: " + r.err;
  return nlohmann::json::parse(r.out)["status"].get<std::string>();
}

std::string mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_P(Lifecycle, CreatedRunningStoppedDeleted) {
  if (GetParam() == "runc" && !sys::exists("/usr/sbin/runc"))
    GTEST_SKIP() << "runc is not installed";
  Bundle b(runtime());
  b.shell("sleep 60");
  b.config()["linux"]["cgroupsPath"] = "/berth-test/" + uniqueName("lc");
  std::string cg = b.config()["linux"]["cgroupsPath"];
  std::string id = uniqueName("lc");
  std::string pidfile = b.dir() + "/pid";
  auto cr = b.rt({"create", "--bundle", "@bundle", "--pid-file", pidfile, id});
  ASSERT_EQ(cr.code, 0) << cr.err;
  EXPECT_EQ(statusOf(b, id), "created");
  auto state = nlohmann::json::parse(b.rt({"state", id}).out);
  EXPECT_EQ(state["id"], id);
  EXPECT_EQ(state["bundle"], b.dir());
  EXPECT_EQ(std::to_string(state["pid"].get<int>()), *sys::readFile(pidfile));
  EXPECT_TRUE(sys::exists(cgroupDir("memory", cg)));

  // A created container cannot be started twice or deleted without force while running.
  ASSERT_EQ(b.rt({"start", id}).code, 0);
  EXPECT_EQ(statusOf(b, id), "running");
  EXPECT_NE(b.rt({"start", id}).code, 0);
  EXPECT_NE(b.rt({"delete", id}).code, 0);

  ASSERT_EQ(b.rt({"kill", id, "KILL"}).code, 0);
  std::string st;
  for (int i = 0; i < 500 && (st = statusOf(b, id)) != "stopped"; ++i) ::usleep(10000);
  EXPECT_EQ(st, "stopped");
  EXPECT_NE(b.rt({"kill", id, "9"}).code, 0) << "killing a stopped container is an error";

  ASSERT_EQ(b.rt({"delete", id}).code, 0);
  auto gone = b.rt({"state", id});
  EXPECT_NE(gone.code, 0);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
  // Nothing left: no mount, no cgroup, no state.
  EXPECT_EQ(mountinfo().find(b.rootfs()), std::string::npos);
  EXPECT_FALSE(sys::exists(cgroupDir("memory", cg)));
  EXPECT_FALSE(sys::exists(cgroupDir("pids", cg)));
  EXPECT_FALSE(sys::exists(b.stateRoot() + "/" + id));
  removeCgroupEverywhere("/berth-test");
}

TEST_P(Lifecycle, KillTakesNumbersAndNames) {
  if (GetParam() == "runc" && !sys::exists("/usr/sbin/runc"))
    GTEST_SKIP() << "runc is not installed";
  Bundle b(runtime());
  b.shell("trap 'echo got-usr1 > /tmp/sig' USR1; while :; do sleep 0.05; done");
  std::string id = uniqueName("sig");
  ASSERT_EQ(b.rt({"run", "-d", "--bundle", "@bundle", id}).code, 0);
  ::usleep(200000);
  EXPECT_EQ(b.rt({"kill", id, "10"}).code, 0);
  for (int i = 0; i < 200 && !sys::exists(b.rootfs() + "/tmp/sig"); ++i) ::usleep(10000);
  EXPECT_TRUE(sys::exists(b.rootfs() + "/tmp/sig"));
  EXPECT_EQ(b.rt({"kill", id, "SIGKILL"}).code, 0);
  EXPECT_EQ(b.rt({"delete", "--force", id}).code, 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Lifecycle, ::testing::Values("berth", "runc"));

TEST_F(RootTest, DeleteForceOfARunningContainerLeavesNothing) {
  Bundle b;
  b.shell("sleep 60 & sleep 60");
  std::string id = uniqueName("force");
  ASSERT_EQ(b.rt({"run", "-d", "--bundle", "@bundle", id}).code, 0);
  EXPECT_EQ(statusOf(b, id), "running");
  EXPECT_EQ(b.rt({"delete", "--force", id}).code, 0);
  EXPECT_FALSE(sys::exists(cgroupDir("memory", "/berth/" + id)));
  EXPECT_FALSE(sys::exists(b.stateRoot() + "/" + id));
  EXPECT_EQ(mountinfo().find(b.rootfs()), std::string::npos);
  // runc's contract: delete --force of an unknown container succeeds.
  EXPECT_EQ(b.rt({"delete", "--force", id}).code, 0);
}

TEST_F(RootTest, PauseAndResume) {
  Bundle b;
  b.shell("sleep 60");
  std::string id = uniqueName("pause");
  ASSERT_EQ(b.rt({"run", "-d", "--bundle", "@bundle", id}).code, 0);
  ASSERT_EQ(b.rt({"pause", id}).code, 0);
  EXPECT_EQ(statusOf(b, id), "paused");
  ASSERT_EQ(b.rt({"resume", id}).code, 0);
  EXPECT_EQ(statusOf(b, id), "running");
}

}  // namespace
}  // namespace berth::test
