#pragma once
// OCI lifecycle hooks: each runs with the container state JSON on stdin; a non-zero exit
// or a timeout fails the hook. Which process runs which hook (runtime or container
// namespace) is the launcher's business; this only runs a list.

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

// Runs `hooks` in order and stops at the first failure, which names the hook kind
// ("createRuntime hook 0 '/usr/bin/x': exited with code 1").
Status runHooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json);

}  // namespace berth::runtime
