#include "e2e/background.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sys/fs.h"

namespace berth::test {

BackgroundBerth::BackgroundBerth(const Daemon& d, const std::vector<std::string>& args,
                                 const std::string& dir, const std::string& name)
    : out_(dir + "/" + name + ".out"), err_(dir + "/" + name + ".err") {
  std::vector<std::string> argv = {BERTH_CLI, "-H", "unix://" + d.socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
    ::dup2(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
    ::dup2(::open("/dev/null", O_RDONLY), 0);
    ::signal(SIGINT, SIG_DFL);  // a shell may have left them ignored
    ::signal(SIGTERM, SIG_DFL);
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    ::execv(BERTH_CLI, raw.data());
    _exit(127);
  }
}

BackgroundBerth::~BackgroundBerth() {
  if (running()) stop(SIGKILL);
}

namespace {
int exitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
}  // namespace

int BackgroundBerth::stop(int sig) {
  if (pid_ <= 0) return exit_code_;
  ::kill(pid_, sig);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  exit_code_ = exitCode(status);
  return exit_code_;
}

bool BackgroundBerth::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
  pid_ = -1;
  exit_code_ = exitCode(status);
  return false;
}

std::string BackgroundBerth::out() const { return sys::readFile(out_).value_or(""); }
std::string BackgroundBerth::err() const { return sys::readFile(err_).value_or(""); }

}  // namespace berth::test
