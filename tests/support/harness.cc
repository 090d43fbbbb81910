#include "support/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "sys/fs.h"

namespace berth::test {

CmdResult runCmd(const std::vector<std::string>& argv, const std::string& input, int timeout_sec,
                 const std::vector<std::string>& extra_env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::setpgid(0, 0);
    for (const auto& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  (void)!::write(in[1], input.data(), input.size());
  ::close(in[1]);
  CmdResult r;
  // Detached containers inherit our pipes and keep them open: stop reading when the
  // command itself has exited, not at end-of-file.
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  auto drain = [&](int fd, std::string& into) {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) into.append(buf, static_cast<size_t>(n));
  };
  struct timespec start, now;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  int status = 0;
  while (true) {
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    ::poll(fds, 2, 20);
    drain(out[0], r.out);
    drain(err[0], r.err);
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec > timeout_sec) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err += "\n[test harness: killed after timeout]";
      break;
    }
  }
  drain(out[0], r.out);
  drain(err[0], r.err);
  ::close(out[0]);
  ::close(err[0]);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string uniqueName(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

std::string runtimePath() {
  const char* env = std::getenv("BERTH_TEST_RUNTIME");
  return env && *env ? env : BERTH_RUNTIME;
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() { (void)sys::removeAll(path_); }

Bundle::Bundle(std::string runtime) : runtime_(std::move(runtime)), dir_("berth-bundle") {
  // mkdtemp makes 0700: a container whose root is mapped to another uid must get through.
  ::chmod(dir().c_str(), 0755);
  auto mk = runCmd({BERTH_SOURCE_DIR "/scripts/busybox-rootfs.sh", rootfs()});
  if (mk.code != 0) throw std::runtime_error("busybox-rootfs.sh: " + mk.err);
  // Always the berth-runtime's default spec, so runc runs the very same bundle.
  auto spec = runCmd({BERTH_RUNTIME, "spec", "--bundle", dir()});
  if (spec.code != 0) throw std::runtime_error("spec: " + spec.err);
  std::ifstream in(dir() + "/config.json");
  config_ = nlohmann::json::parse(in);
  config_["root"]["readonly"] = false;
}

Bundle::~Bundle() {
  auto ids = runCmd({runtime_, "--root", stateRoot(), "list", "-q"});
  std::istringstream ss(ids.out);
  std::string id;
  while (std::getline(ss, id)) {
    if (!id.empty()) runCmd({runtime_, "--root", stateRoot(), "delete", "--force", id});
  }
}

void Bundle::shell(const std::string& script) { config_["process"]["args"] = {"sh", "-c", script}; }

void Bundle::save() const {
  std::ofstream out(dir() + "/config.json");
  out << config_.dump(2);
}

CmdResult Bundle::rt(const std::vector<std::string>& args, int timeout_sec,
                     const std::string& input) const {
  save();
  std::vector<std::string> argv = {runtime_, "--root", stateRoot()};
  for (const auto& a : args) argv.push_back(a == "@bundle" ? dir() : a);
  return runCmd(argv, input, timeout_sec);
}

bool cgroupV2() {
  struct statfs st;
  return ::statfs("/sys/fs/cgroup", &st) == 0 && st.f_type == 0x63677270;
}

std::string cgroupDir(const std::string& controller, const std::string& path) {
  if (cgroupV2()) return "/sys/fs/cgroup" + path;
  return "/sys/fs/cgroup/" + controller + path;
}

void removeCgroupEverywhere(const std::string& path) {
  if (cgroupV2()) {
    ::rmdir(("/sys/fs/cgroup" + path).c_str());
    return;
  }
  for (const char* h :
       {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd",
        "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc", "unified"}) {
    ::rmdir(("/sys/fs/cgroup/" + std::string(h) + path).c_str());
  }
}

}  // namespace berth::test
