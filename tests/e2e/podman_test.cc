// Scenario 5 of the runtime issue: Debian's podman drives berth-runtime (through conmon)
// for run --rm, run -d, exec, logs, stop and rm. podman runs with private storage, run
// and tmp directories and no network, so the host's podman state is never touched.

#include <fstream>

#include "support/harness.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

class Podman : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(sys::exists("/usr/bin/podman")) << "podman is missing: run scripts/deps.sh";
    dir_ = std::make_unique<TempDir>("berth-podman");
    std::ofstream(dir_->path() + "/containers.conf")
        << "[containers]\n"
           "default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
           "[engine]\n"
           "cgroup_manager = \"cgroupfs\"\n"
           "events_logger = \"file\"\n"
           "runtime_supports_json = [\"crun\", \"runc\", \"berth-runtime\"]\n";
    auto mk = runCmd({BERTH_SOURCE_DIR "/scripts/busybox-rootfs.sh", dir_->path() + "/rootfs"});
    ASSERT_EQ(mk.code, 0) << mk.err;
    auto imp = runCmd({"/bin/sh", "-c",
                       "tar -C " + dir_->path() + "/rootfs -c . | /usr/bin/podman " + flags() +
                           " import - " + kImage});
    ASSERT_EQ(imp.code, 0) << imp.err;
  }

  void TearDown() override {
    if (!dir_) return;
    podman({"rm", "--all", "--force", "--time", "0"});
    // podman mounts a /dev/shm per container under its run root; none may outlive us.
    runCmd({"/bin/sh", "-c",
            "grep -o ' " + dir_->path() +
                "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"});
    dir_.reset();
  }

  std::string flags() const {
    const std::string& d = dir_->path();
    return "--root " + d + "/storage --runroot " + d + "/run --tmpdir " + d + "/tmp " +
           "--storage-driver vfs --cgroup-manager cgroupfs --events-backend file " + "--runtime " +
           runtimePath();
  }

  CmdResult podman(const std::vector<std::string>& args, int timeout = 120) {
    std::string cmd = "/usr/bin/podman " + flags();
    for (const auto& a : args) {
      std::string quoted;
      for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      cmd += " '" + quoted + "'";
    }
    return runCmd({"/bin/sh", "-c", cmd}, "", timeout,
                  {"CONTAINERS_CONF=" + dir_->path() + "/containers.conf"});
  }

  static constexpr const char* kImage = "localhost/berth-busybox:test";
  std::unique_ptr<TempDir> dir_;
};

TEST_F(Podman, RunRemoveEcho) {
  auto r = podman({"run", "--rm", "--network", "none", kImage, "echo", "ok"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n") << r.err;
}

TEST_F(Podman, ExitCodeComesThrough) {
  auto r = podman({"run", "--rm", "--network", "none", kImage, "sh", "-c", "exit 5"});
  EXPECT_EQ(r.code, 5) << r.err;
}

TEST_F(Podman, DetachedExecLogsStopRm) {
  auto run = podman({"run", "-d", "--name", "web", "--network", "none", kImage, "sh", "-c",
                     "echo logged-line; trap 'exit 0' TERM; while :; do sleep 0.1; done"});
  ASSERT_EQ(run.code, 0) << run.err;
  auto exec = podman({"exec", "web", "sh", "-c", "echo in-exec; hostname"});
  EXPECT_EQ(exec.code, 0) << exec.err;
  EXPECT_EQ(exec.out.substr(0, 8), "in-exec\n") << exec.out;
  auto logs = podman({"logs", "web"});
  EXPECT_EQ(logs.code, 0) << logs.err;
  EXPECT_NE(logs.out.find("logged-line"), std::string::npos) << logs.out << logs.err;
  auto ps = podman({"ps", "--format", "{{.Names}} {{.Status}}"});
  EXPECT_NE(ps.out.find("web Up"), std::string::npos) << ps.out;
  auto stop = podman({"stop", "-t", "5", "web"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  auto inspect = podman({"inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "web"});
  EXPECT_EQ(inspect.out, "exited 0\n") << inspect.err;
  auto rm = podman({"rm", "web"});
  EXPECT_EQ(rm.code, 0) << rm.err;
  EXPECT_NE(podman({"inspect", "web"}).code, 0);
}

}  // namespace
}  // namespace berth::test
