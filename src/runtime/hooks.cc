#include "runtime/hooks.h"

#include <sys/wait.h>

#include "common/strings.h"
#include "sys/process.h"

namespace berth::runtime {

Status runHooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    const Hook& h = hooks[i];
    std::string what = std::string(kind) + " hook " + std::to_string(i) + " " + quote(h.path);
    auto status = sys::runProgram(h.path, h.args, h.env, state_json, h.timeout.value_or(0));
    if (!status) return status.error().context(what);
    if (WIFEXITED(*status) && WEXITSTATUS(*status) == 127)
      return internalError(what + ": could not be executed (exit code 127)");
    if (*status != 0)
      return internalError(what + ": exited with code " + std::to_string(sys::exitCodeOf(*status)));
  }
  return okStatus();
}

}  // namespace berth::runtime
