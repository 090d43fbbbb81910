#include "runtime/cgroup/planner.h"

#include <string>

namespace berth::runtime::cgroup {
namespace {

// OCI writes -1 for "no limit"; runc reads any negative value the same way.
std::string bytesValue(int64_t bytes, Version v) {
  if (bytes < 0) return v == Version::kV1 ? "-1" : "max";
  return std::to_string(bytes);
}

// As in runc, 0 means "not set": no spec means a zero-byte limit.
bool isSet(const std::optional<int64_t>& bytes) { return bytes && *bytes != 0; }

std::vector<Write> planV1(const MemoryResources& m) {
  std::vector<Write> out;
  auto add = [&out](const char* file, std::string value) {
    out.push_back({"memory", file, std::move(value)});
  };
  // The kernel keeps memsw >= limit, so a fresh cgroup takes the limit first.
  if (isSet(m.limit)) add("memory.limit_in_bytes", bytesValue(*m.limit, Version::kV1));
  if (isSet(m.swap)) add("memory.memsw.limit_in_bytes", bytesValue(*m.swap, Version::kV1));
  if (isSet(m.reservation)) {
    add("memory.soft_limit_in_bytes", bytesValue(*m.reservation, Version::kV1));
  }
  if (m.swappiness) add("memory.swappiness", std::to_string(*m.swappiness));
  if (m.disable_oom_killer) add("memory.oom_control", "1");
  return out;
}

// v2 has no swappiness and no way to disable the OOM killer; the v2 manager warns about
// those, and about a swap total it cannot translate.
std::vector<Write> planV2(const MemoryResources& m) {
  std::vector<Write> out;
  auto add = [&out](const char* file, std::string value) {
    out.push_back({"", file, std::move(value)});
  };
  if (isSet(m.limit)) add("memory.max", bytesValue(*m.limit, Version::kV2));
  if (isSet(m.reservation)) add("memory.low", bytesValue(*m.reservation, Version::kV2));
  // OCI's swap is memory+swap (the v1 memsw meaning); memory.swap.max is swap alone.
  if (isSet(m.swap)) {
    if (*m.swap < 0) {
      add("memory.swap.max", "max");
    } else if (isSet(m.limit) && *m.limit > 0 && *m.swap >= *m.limit) {
      add("memory.swap.max", std::to_string(*m.swap - *m.limit));
    }
  }
  return out;
}

}  // namespace

std::vector<Write> planMemory(const MemoryResources& m, Version v) {
  return v == Version::kV1 ? planV1(m) : planV2(m);
}

}  // namespace berth::runtime::cgroup
