// Bad input: a clear error naming the JSON path or file, a non-zero exit, nothing left.

#include <fstream>

#include "support/harness.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

class BadInput : public RootTest {
 protected:
  // Runs create and checks the error and that no state or cgroup was left behind.
  void expectRefused(Bundle& b, const std::string& message, bool save = true) {
    std::string id = uniqueName("bad");
    auto r =
        save ? b.rt({"create", "--bundle", "@bundle", id})
             : runCmd({runtimePath(), "--root", b.stateRoot(), "create", "--bundle", b.dir(), id});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find(message), std::string::npos) << "stderr: " << r.err;
    EXPECT_FALSE(sys::exists(b.stateRoot() + "/" + id)) << "state left behind";
    EXPECT_FALSE(sys::exists(cgroupDir("memory", "/berth/" + id))) << "cgroup left behind";
    EXPECT_FALSE(sys::exists(cgroupDir("pids", "/berth/" + id))) << "cgroup left behind";
  }
};

TEST_F(BadInput, MalformedConfig) {
  Bundle b;
  { std::ofstream(b.dir() + "/config.json") << "{\"ociVersion\": \"1.0.2\", \"process\": "; }
  expectRefused(b, "config.json': malformed JSON", false);
}

TEST_F(BadInput, MissingRootfs) {
  Bundle b;
  b.config()["root"]["path"] = "nope";
  expectRefused(b, "root.path: '" + b.dir() + "/nope' is not a directory");
}

TEST_F(BadInput, UnknownNamespaceType) {
  Bundle b;
  b.config()["linux"]["namespaces"].push_back({{"type", "galaxy"}});
  expectRefused(b, "linux.namespaces[6].type: unknown namespace type 'galaxy'");
}

TEST_F(BadInput, UnknownCapability) {
  Bundle b;
  b.config()["process"]["capabilities"]["bounding"].push_back("CAP_TELEPORT");
  expectRefused(b, "process.capabilities.bounding[14]: unknown capability 'CAP_TELEPORT'");
}

TEST_F(BadInput, UnwritableCgroupSetting) {
  Bundle b;
  b.config()["linux"]["resources"]["cpu"] = {{"cpus", "4096"}};
  expectRefused(b, "cpuset.cpus");
}

TEST_F(BadInput, MissingBindSource) {
  Bundle b;
  b.config()["mounts"].push_back({{"destination", "/data"},
                                  {"type", "bind"},
                                  {"source", "/no/such/dir"},
                                  {"options", {"rbind"}}});
  expectRefused(b, "mount '/data': bind source '/no/such/dir' does not exist");
  EXPECT_FALSE(sys::exists(b.rootfs() + "/data")) << "the target was made before the check";
}

TEST_F(BadInput, UnknownContainerAndSystemdCgroups) {
  Bundle b;
  auto r = b.rt({"state", "ghost"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("container 'ghost' does not exist"), std::string::npos) << r.err;
  r = b.rt({"--systemd-cgroup", "state", "ghost"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--systemd-cgroup is not supported"), std::string::npos) << r.err;
}

TEST_F(BadInput, ErrorsGoToTheLogAsJsonLines) {
  Bundle b;
  std::string log = b.dir() + "/oci-log";
  auto r = b.rt({"--log", log, "--log-format", "json", "state", "ghost"});
  EXPECT_NE(r.code, 0);
  auto text = sys::readFile(log);
  ASSERT_TRUE(text.ok());
  auto line = nlohmann::json::parse(text->substr(0, text->find('\n')));
  EXPECT_EQ(line["level"], "error");
  EXPECT_NE(line["msg"].get<std::string>().find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace berth::test
