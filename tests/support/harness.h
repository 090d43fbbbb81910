#pragma once
// Test support for the root and e2e suites: run commands with captured output, and make
// busybox bundles with a private state root that are removed (with every container still
// in them) when the test ends, pass or fail.

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::test {

struct CmdResult {
  int code = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv (argv[0] a path) with `input` on stdin; kills it after `timeout_sec`.
CmdResult runCmd(const std::vector<std::string>& argv, const std::string& input = "",
                 int timeout_sec = 60, const std::vector<std::string>& extra_env = {});

// A unique name with a prefix, safe for container ids, cgroups and temp dirs.
std::string uniqueName(const std::string& prefix);

// The berth-runtime under test, or another runtime (runc) for validating the tests.
std::string runtimePath();

// A fresh temp dir removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "berth-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A bundle with its own busybox rootfs and a config.json from `berth-runtime spec`,
// plus a private --root for the runtime. Deletes every container of that root on
// destruction.
class Bundle {
 public:
  explicit Bundle(std::string runtime = runtimePath());
  ~Bundle();

  nlohmann::json& config() { return config_; }
  const std::string& dir() const { return dir_.path(); }
  std::string rootfs() const { return dir_.path() + "/rootfs"; }
  std::string stateRoot() const { return dir_.path() + "/state"; }
  // Sets process.args to ["sh", "-c", script].
  void shell(const std::string& script);
  // Writes config.json.
  void save() const;
  // Runs `runtime --root <state> args…` (after saving config.json).
  CmdResult rt(const std::vector<std::string>& args, int timeout_sec = 60,
               const std::string& input = "") const;

 private:
  std::string runtime_;
  TempDir dir_;
  nlohmann::json config_;
};

// True when the host uses cgroup v2 (affects where tests look for cgroup files).
bool cgroupV2();
// Host directory of a controller's cgroup, e.g. ("memory", "/berth/x").
std::string cgroupDir(const std::string& controller, const std::string& path);

// Removes an (empty) test cgroup directory from every hierarchy.
void removeCgroupEverywhere(const std::string& path);

// Base fixture of the root suites: fails loudly (never skips) without root.
class RootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "this test needs root: it makes namespaces, mounts and cgroups";
  }
};

}  // namespace berth::test
