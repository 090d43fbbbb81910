// berth-init: a minimal PID 1 for containers run with --init (what tini does).
//
//   berth-init [--] CMD [ARG…]
//
// Runs CMD as its one child (in berth-init's own process group; CMD is found on PATH),
// forwards every signal it can catch to that child (except those a terminal sent to the
// whole process group, which the child already got), reaps every process that is
// reparented to it (as a container's PID 1, or as a child subreaper elsewhere), and when
// the child exits, exits with the child's status: its exit code, or 128+N when signal N
// killed it. If CMD cannot be executed: "berth-init: exec CMD: reason" on stderr and exit
// 127 (not found) or 126 (anything else), like a shell.
//
// Signals are blocked and taken with sigwaitinfo, so no handler runs and nothing races
// with the reaping. As PID 1 of a pid namespace the kernel drops signals without a
// handler; blocked ones are queued, which is what makes forwarding work.

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/io.h"
#include "monitor/text.h"

namespace {

using berth::monitor::TextBuf;
using berth::monitor::writeAll;

int statusCode(int status) {
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (first >= argc) {
    static constexpr char kUsage[] = "usage: berth-init [--] CMD [ARG...]\n";
    writeAll(2, kUsage, sizeof kUsage - 1);
    return 2;
  }

  sigset_t all, original;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &original);
  // Outside a pid namespace (e.g. a test) orphans should still come to us.
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1);

  pid_t child = fork();
  if (child < 0) {
    TextBuf<256> msg;
    msg.add("berth-init: fork: ");
    berth::monitor::addErrno(msg, errno);
    msg.add('\n');
    writeAll(2, msg.c_str(), msg.size());
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &original, nullptr);
    execvp(argv[first], argv + first);
    int err = errno;
    TextBuf<4400> msg;
    msg.add("berth-init: exec ")
        .add(argv[first])
        .add(": ")
        .add(strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error")
        .add('\n');
    writeAll(2, msg.c_str(), msg.size());
    _exit(err == ENOENT ? 127 : 126);
  }

  while (true) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      // A signal the kernel raised (SI_KERNEL) came from the terminal (^C, ^\, ^Z,
      // hangup, a resize) and went to the whole foreground process group, the child
      // included: forwarding it would deliver it twice.
      if (info.si_code != SI_KERNEL) kill(child, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == child) {
        // Reap whatever else is already a zombie, then go: as PID 1 our exit ends the
        // namespace's remaining processes.
        while (waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        return statusCode(status);
      }
    }
  }
}
