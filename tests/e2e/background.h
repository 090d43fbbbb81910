#pragma once
// `berth ARGS…` left running in the background against a test's daemon (watch modes), its
// stdout and stderr in files, stopped and reaped on destruction even when the test fails.

#include <sys/types.h>

#include <string>
#include <vector>

#include "e2e/daemon.h"

namespace berth::test {

class BackgroundBerth {
 public:
  // Starts `berth -H <d's socket> ARGS…`; its output goes to `dir`/NAME.out and NAME.err.
  BackgroundBerth(const Daemon& d, const std::vector<std::string>& args, const std::string& dir,
                  const std::string& name);
  ~BackgroundBerth();  // SIGKILL if still running, then reaped
  BackgroundBerth(const BackgroundBerth&) = delete;
  BackgroundBerth& operator=(const BackgroundBerth&) = delete;

  // Sends `sig` and waits for the exit: the exit code, or 128+N when killed by signal N
  // (the code it had already exited with, if it had).
  int stop(int sig);
  // True while it has not exited.
  bool running();
  std::string out() const;
  std::string err() const;

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace berth::test
