#include "runtime/cgroup/planner.h"

#include <algorithm>
#include <string>

namespace berth::runtime::cgroup {
namespace {

// The kernel's default CFS period, used when a spec gives a quota alone.
constexpr uint64_t kDefaultPeriodUs = 100000;

// Maps v1 shares [2, 262144] linearly onto v2 weight [1, 10000], as runc and crun do, so
// the default 1024 shares become weight 39 on either runtime.
uint64_t sharesToWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

}  // namespace

// As in runc, a zero shares, quota or period means "not set".
std::vector<Write> planCpu(const CpuResources& c, Version v) {
  std::vector<Write> out;
  bool has_shares = c.shares && *c.shares != 0;
  bool has_quota = c.quota && *c.quota != 0;
  bool has_period = c.period && *c.period != 0;
  if (v == Version::kV1) {
    if (has_shares) out.push_back({"cpu", "cpu.shares", std::to_string(*c.shares)});
    // The kernel checks a quota against the current period, so the period goes first.
    if (has_period) out.push_back({"cpu", "cpu.cfs_period_us", std::to_string(*c.period)});
    if (has_quota) {
      out.push_back({"cpu", "cpu.cfs_quota_us", *c.quota < 0 ? "-1" : std::to_string(*c.quota)});
    }
    return out;
  }
  if (has_shares) out.push_back({"", "cpu.weight", std::to_string(sharesToWeight(*c.shares))});
  if (has_quota || has_period) {
    std::string quota = has_quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
    uint64_t period = has_period ? *c.period : kDefaultPeriodUs;
    out.push_back({"", "cpu.max", quota + " " + std::to_string(period)});
  }
  return out;
}

}  // namespace berth::runtime::cgroup
