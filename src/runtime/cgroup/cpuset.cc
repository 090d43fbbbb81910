#include "runtime/cgroup/planner.h"

namespace berth::runtime::cgroup {

// The files have the same names on both versions. An empty value is left alone: v1 create()
// has already copied the parent's sets down, and v2 inherits them.
std::vector<Write> planCpuset(const CpuResources& c, Version v) {
  std::string controller = v == Version::kV1 ? "cpuset" : "";
  std::vector<Write> out;
  if (!c.cpus.empty()) out.push_back({controller, "cpuset.cpus", c.cpus});
  if (!c.mems.empty()) out.push_back({controller, "cpuset.mems", c.mems});
  return out;
}

}  // namespace berth::runtime::cgroup
