#include "common/signals.h"

#include <csignal>
#include <string>

#include "common/strings.h"

namespace berth {
namespace {

struct SignalName {
  const char* name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

}  // namespace

Result<int> parseSignal(std::string_view text) {
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (auto n = parseInt(upper)) {
    if (*n <= 0 || *n > 64)
      return invalidArgument("parse signal " + quote(text) + ": out of range");
    return static_cast<int>(*n);
  }
  std::string_view name = upper;
  if (startsWith(name, "SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (name == s.name) return s.number;
  }
  if (startsWith(name, "RTMIN")) {
    name.remove_prefix(5);
    long long off = name.empty() ? 0 : parseInt(name.substr(name[0] == '+' ? 1 : 0)).value_or(-1);
    if (off >= 0 && SIGRTMIN + off <= SIGRTMAX) return static_cast<int>(SIGRTMIN + off);
  }
  return invalidArgument("parse signal " + quote(text) + ": unknown signal name");
}

}  // namespace berth
