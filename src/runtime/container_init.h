#pragma once
// The code that runs inside the container after clone: the container's init (create/run)
// and processes added by exec. It talks to the runtime process over a SOCK_SEQPACKET
// socket pair with one-letter messages:
//
//   runtime → child  'G'  go: maps and cgroup are in place
//   child → runtime  'H'  rootfs mounted, about to pivot: run prestart/createRuntime hooks
//   runtime → child  'O'  hooks done
//   child → runtime  'R'  ready; about to wait for start (create) or exec (run/exec)
//   child → runtime  'W'+message  a warning to log (any time before 'R')
//   child → runtime  'E'+message  failed; the child exits
//
// Everything here is called in a freshly cloned, single-threaded process.

#include <string>
#include <utility>

#include "common/result.h"
#include "runtime/mounts.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

namespace berth::runtime {

namespace msg {
constexpr char kGo = 'G';
constexpr char kHooks = 'H';
constexpr char kHooksDone = 'O';
constexpr char kReady = 'R';
constexpr char kWarning = 'W';
constexpr char kError = 'E';
}  // namespace msg

Status sendMsg(int fd, char type, const std::string& payload = "");
// Waits for one message. A closed peer is an error "… exited before it was ready".
Result<std::pair<char, std::string>> recvMsg(int fd);
// Receives messages until `want`; an 'E' message becomes the returned error and 'W'
// messages are logged as warnings on the way.
Status expectMsg(int fd, char want);

// What the last stage (shared by init and exec) needs to become the user's process.
struct ProcessLaunch {
  const Process* process = nullptr;
  SeccompFilter* seccomp = nullptr;  // may be null
  int sync_fd = -1;
  int console_fd = -1;  // a connected console socket when process->terminal, else -1
  bool in_user_namespace = false;
  bool setsid = true;
  int preserve_fds = 0;  // descriptors 3 … 3+N-1 pass through to the program
};

struct InitArgs {
  const Spec* spec = nullptr;
  RootfsContext rootfs;
  ProcessLaunch launch;
  int fifo_fd = -1;        // O_PATH fd of exec.fifo; -1 for `run`, which does not wait for start
  std::string state_json;  // for the createContainer/startContainer hooks
  bool join_user_first = false;  // a user namespace given by path
};

// The container's init. Never returns: execs the user's program or exits 1 after sending
// an 'E' message.
[[noreturn]] void runContainerInit(InitArgs& args);

// Terminal, rlimits, cwd, user, capabilities, no_new_privs and seccomp, then 'R', then
// (after `wait_for_start`, when given) execve. Never returns.
[[noreturn]] void becomeProcess(const ProcessLaunch& launch, int fifo_fd,
                                const std::vector<Hook>* start_hooks,
                                const std::string& state_json);

// Reports `error` on the sync socket and exits.
[[noreturn]] void failChild(int sync_fd, const Error& error);

}  // namespace berth::runtime
