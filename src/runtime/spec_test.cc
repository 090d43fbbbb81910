#include "runtime/spec.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace berth::runtime {
namespace {

const char* kMinimal = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh", "-c", "echo hi"], "cwd": "/", "user": {"uid": 1, "gid": 2, "additionalGids": [3]},
              "capabilities": {"bounding": ["CAP_KILL", "NET_RAW"]},
              "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}], "oomScoreAdj": 5},
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "box",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "network", "path": "/run/netns/x"}],
            "resources": {"memory": {"limit": 33554432}, "pids": {"limit": 20},
                          "cpu": {"quota": 50000, "period": 100000}}}
})";

std::string errorOf(const std::string& json) {
  auto r = parseSpec(json, "/b");
  return r.ok() ? std::string("(parsed)") : r.error().message();
}

TEST(Spec, ParsesTheFieldsTheRuntimeUses) {
  auto r = parseSpec(kMinimal, "/bundle");
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Spec& s = *r;
  EXPECT_EQ(s.root_path, "/bundle/rootfs");
  EXPECT_TRUE(s.root_readonly);
  EXPECT_EQ(s.process.args.size(), 3u);
  EXPECT_EQ(s.process.user.uid, 1u);
  EXPECT_EQ(s.process.user.additional_gids, std::vector<uint32_t>{3});
  EXPECT_EQ(s.process.capabilities->bounding, (std::vector<int>{5, 13}));
  ASSERT_EQ(s.process.rlimits.size(), 1u);
  EXPECT_EQ(s.process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(s.process.oom_score_adj, 5);
  EXPECT_EQ(s.linux.findNamespace(NamespaceType::kNetwork)->path, "/run/netns/x");
  EXPECT_EQ(*s.linux.resources.memory->limit, 33554432);
  EXPECT_EQ(*s.linux.resources.pids_limit, 20);
  EXPECT_EQ(*s.linux.resources.cpu->quota, 50000);
}

TEST(Spec, MalformedJsonSaysSo) {
  EXPECT_NE(errorOf("{\"ociVersion\": ").find("malformed JSON"), std::string::npos);
}

TEST(Spec, ErrorsNameTheJsonPath) {
  EXPECT_EQ(errorOf(R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":[1]}})"),
            "process.args[0]: expected a string");
  EXPECT_EQ(
      errorOf(
          R"({"ociVersion":"1","root":{"path":"r"},"linux":{"namespaces":[{"type":"pid"},{"type":"bogus"}]}})"),
      "linux.namespaces[1].type: unknown namespace type 'bogus' (known: pid, network, mount, "
      "ipc, uts, user, cgroup, time)");
  EXPECT_EQ(
      errorOf(
          R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":["x"],"capabilities":{"effective":["CAP_FLY"]}}})"),
      "process.capabilities.effective[0]: unknown capability 'CAP_FLY'");
  EXPECT_EQ(
      errorOf(
          R"({"ociVersion":"1","root":{"path":"r"},"linux":{"resources":{"memory":{"limit":"big"}}}})"),
      "linux.resources.memory.limit: expected an integer");
  EXPECT_EQ(errorOf(R"({"ociVersion":"1"})"),
            "(top level): 'root' is required: the container's root filesystem");
}

TEST(Spec, RejectsInconsistentSettings) {
  EXPECT_NE(errorOf(R"({"ociVersion":"1","root":{"path":"r"},"hostname":"h"})")
                .find("needs a 'uts' namespace"),
            std::string::npos);
  EXPECT_NE(
      errorOf(
          R"({"ociVersion":"1","root":{"path":"r"},"linux":{"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]}})")
          .find("need a new 'user' namespace"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":["x"],"rlimits":[{"type":"RLIMIT_NOFILE","soft":2,"hard":1}]}})")
          .find("soft limit is above the hard limit"),
      std::string::npos);
  EXPECT_NE(
      errorOf(
          R"({"ociVersion":"1","root":{"path":"r"},"linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}})")
          .find("listed twice"),
      std::string::npos);
}

TEST(Spec, ParsesAProcessFileForExec) {
  auto p = parseProcess(R"({"args":["ls"],"cwd":"/tmp","terminal":true})");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->terminal);
  EXPECT_EQ(p->cwd, "/tmp");
  auto bad = parseProcess(R"({"cwd":"/"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "process: 'args' is required: the command to run");
}

}  // namespace
}  // namespace berth::runtime
