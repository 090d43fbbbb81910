#include "runtime/cgroup/planner.h"

#include <string>

namespace berth::runtime::cgroup {

// OCI and Docker pass 0 or -1 for "no limit"; both versions spell that "max".
std::vector<Write> planPids(int64_t limit, Version v) {
  std::string value = limit > 0 ? std::to_string(limit) : "max";
  return {{v == Version::kV1 ? "pids" : "", "pids.max", value}};
}

}  // namespace berth::runtime::cgroup
