#include "runtime/cgroup/planner.h"

#include <string>

namespace berth::runtime::cgroup {
namespace {

// A missing or negative number is the wildcard, as in runc.
std::string deviceNumber(const std::optional<int64_t>& n) {
  return n && *n >= 0 ? std::to_string(*n) : "*";
}

}  // namespace

// Each rule is one write of "<type> <major>:<minor> <access>", e.g. "c 1:3 rwm"; the kernel
// applies them in order, so a leading deny-all followed by allows works as intended.
std::vector<Write> planDevices(const std::vector<DeviceRule>& rules, Version v) {
  std::vector<Write> out;
  if (v != Version::kV1) return out;
  for (const DeviceRule& r : rules) {
    std::string line =
        r.type + " " + deviceNumber(r.major) + ":" + deviceNumber(r.minor) + " " + r.access;
    out.push_back({"devices", r.allow ? "devices.allow" : "devices.deny", line});
  }
  return out;
}

}  // namespace berth::runtime::cgroup
