#include "engine/container_spec.h"

#include <gtest/gtest.h>

namespace berth::engine {
namespace {

using nlohmann::json;

const json kImage = {{"config",
                      {{"Env", {"PATH=/bin", "A=1"}},
                       {"Entrypoint", {"/bin/app"}},
                       {"Cmd", {"--serve"}},
                       {"WorkingDir", "/srv"},
                       {"User", "web"}}}};

std::optional<std::string> files(const std::string& path) {
  if (path == "/etc/passwd") return "root:x:0:0::/root:/bin/sh\nweb:x:1000:1001::/srv:/bin/sh\n";
  if (path == "/etc/group") return "root:x:0:\nstaff:x:50:\n";
  return std::nullopt;
}

RunSpec base() {
  RunSpec r;
  r.id = "abc";
  r.hostname = "abc";
  r.rootfs = "/var/lib/berth/containers/abc/rootfs";
  return r;
}

TEST(ContainerSpec, ImageConfigBecomesTheProcess) {
  auto spec = containerSpec(kImage, base(), files);
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  const json& p = (*spec)["process"];
  EXPECT_EQ(p["args"], json({"/bin/app", "--serve"}));
  EXPECT_EQ(p["cwd"], "/srv");
  EXPECT_EQ(p["user"]["uid"], 1000);
  EXPECT_EQ(p["user"]["gid"], 1001);
  EXPECT_EQ(p["env"][0], "PATH=/bin");
  EXPECT_EQ((*spec)["root"]["path"], "/var/lib/berth/containers/abc/rootfs");
  EXPECT_EQ((*spec)["linux"]["cgroupsPath"], "/berth/abc");
}

TEST(ContainerSpec, RunOptionsOverrideTheImage) {
  RunSpec r = base();
  r.command = {"--check"};
  r.env = {"A=2"};
  r.user = "1:staff";
  r.workdir = "/tmp";
  r.host_network = true;
  auto spec = containerSpec(kImage, r, files);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ((*spec)["process"]["args"], json({"/bin/app", "--check"}));
  EXPECT_EQ((*spec)["process"]["env"][1], "A=2");
  EXPECT_EQ((*spec)["process"]["user"]["uid"], 1);
  EXPECT_EQ((*spec)["process"]["user"]["gid"], 50);
  for (const auto& ns : (*spec)["linux"]["namespaces"]) EXPECT_NE(ns["type"], "network");
  r.entrypoint = std::vector<std::string>{"/bin/sh"};
  r.command.clear();
  EXPECT_EQ((*containerSpec(kImage, r, files))["process"]["args"], json({"/bin/sh"}));
}

TEST(ContainerSpec, ClearErrors) {
  RunSpec r = base();
  r.user = "ghost";
  EXPECT_EQ(containerSpec(kImage, r, files).error().message(),
            "user 'ghost': no such user in the image's /etc/passwd");
  EXPECT_NE(containerSpec(json::object(), base(), files).error().message().find("no command"),
            std::string::npos);
}

}  // namespace
}  // namespace berth::engine
