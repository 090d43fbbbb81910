#include "sys/process.h"

#include <fcntl.h>
#include <spawn.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "sys/fs.h"

extern char** environ;

namespace berth::sys {

std::optional<ProcStat> procStat(pid_t pid) {
  auto text = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  auto fields = split(std::string_view(*text).substr(close + 2), ' ');
  // fields[0] is field 3 (state); start time is field 22 → fields[19].
  if (fields.size() < 20 || fields[0].empty()) return std::nullopt;
  ProcStat st;
  st.state = fields[0][0];
  st.start_time = std::strtoull(fields[19].c_str(), nullptr, 10);
  return st;
}

Result<pid_t> spawn(const std::string& path, const std::vector<std::string>& argv, int in, int out,
                    int err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const int fds[3] = {in, out, err};
  for (int target = 0; target < 3; ++target) {
    if (fds[target] < 0)
      posix_spawn_file_actions_addopen(&fa, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY,
                                       0);
    else
      posix_spawn_file_actions_adddup2(&fa, fds[target], target);
  }
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t child = 0;
  int rc = ::posix_spawn(&child, path.c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return errnoError("start " + quote(path), rc);
  return child;
}

Result<int> waitChild(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errnoError("wait for process " + std::to_string(pid), errno);
  }
  return status;
}

Status closeInheritedFds(int preserve, const std::vector<int>& keep) {
  std::vector<int> k;
  for (int fd : keep) {
    if (fd >= 3 + preserve) k.push_back(fd);
  }
  std::sort(k.begin(), k.end());
  unsigned lo = static_cast<unsigned>(3 + preserve);
  for (int fd : k) {
    if (static_cast<unsigned>(fd) > lo && ::close_range(lo, static_cast<unsigned>(fd) - 1, 0) != 0)
      return errnoError("close inherited descriptors", errno);
    lo = static_cast<unsigned>(fd) + 1;
  }
  if (::close_range(lo, ~0U, 0) != 0) return errnoError("close inherited descriptors", errno);
  return okStatus();
}

Status cloexecFrom(int preserve) {
  for (int fd = 3; fd < 3 + preserve; ++fd) {
    if (::fcntl(fd, F_SETFD, 0) != 0)
      return errnoError("pass descriptor " + std::to_string(fd), errno);
  }
  if (::close_range(static_cast<unsigned>(3 + preserve), ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    return errnoError("mark descriptors close-on-exec", errno);
  return okStatus();
}

int exitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

Result<int> runProgram(const std::string& path, const std::vector<std::string>& argv,
                       const std::vector<std::string>& env, const std::string& stdin_data,
                       int timeout_sec) {
  int in[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return errnoError("create pipe", errno);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  if (cargv.empty()) cargv.push_back(const_cast<char*>(path.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(in[0]);
    ::close(in[1]);
    return errnoError("fork", err);
  }
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::execve(path.c_str(), cargv.data(), cenv.data());
    _exit(127);
  }
  ::close(in[0]);
  // The program may not read its stdin at all: ignore EPIPE.
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  (void)!::write(in[1], stdin_data.data(), stdin_data.size());
  ::sigaction(SIGPIPE, &old, nullptr);
  ::close(in[1]);
  if (timeout_sec <= 0) return waitChild(pid);
  struct timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return errnoError("wait for " + quote(path), errno);
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - start.tv_sec >= timeout_sec) {
      ::kill(pid, SIGKILL);
      (void)waitChild(pid);
      return Error(ErrorCode::kUnavailable,
                   "run " + quote(path) + ": timed out after " + std::to_string(timeout_sec) + "s");
    }
    ::poll(nullptr, 0, 5);
  }
}

}  // namespace berth::sys
