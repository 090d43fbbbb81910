#pragma once
// Helpers shared by the cgroup v1 and v2 managers (not part of the module's interface).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::runtime::cgroup {

// How long destroy() and freeze() wait for the kernel to settle, and how often they look.
inline constexpr auto kSettleTime = std::chrono::seconds(1);
inline constexpr auto kPollEvery = std::chrono::milliseconds(5);

// "berth/web/" → "/berth/web": one leading slash, none trailing.
std::string normalizePath(const std::string& path);
void warn(std::vector<std::string>* warnings, std::string note);
// The pids of a cgroup.procs file's text; `file` names it in errors.
Result<std::vector<pid_t>> parsePids(const std::string& text, const std::string& file);
// The number on the line "<key> N" of a flat-keyed file such as memory.oom_control.
std::optional<long long> keyedValue(const std::string& text, std::string_view key);
// Removes a cgroup directory and any child cgroups below it, deepest first, retrying
// EBUSY (an exiting task still counts as a member for a few milliseconds).
Status removeCgroup(const std::string& dir);

}  // namespace berth::runtime::cgroup
