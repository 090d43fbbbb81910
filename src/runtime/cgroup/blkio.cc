#include "runtime/cgroup/planner.h"

#include <algorithm>
#include <string>

namespace berth::runtime::cgroup {

// The weight file exists only with a weight-aware I/O scheduler (v1 blkio.weight needs CFQ
// or BFQ; v2 io.weight needs io.cost), which many kernels lack: the write is optional.
// A weight of 0 means "not set".
std::vector<Write> planBlkio(uint16_t weight, Version v) {
  if (weight == 0) return {};
  if (v == Version::kV1) return {{"blkio", "blkio.weight", std::to_string(weight), true}};
  // Maps blkio's [10, 1000] linearly onto io.weight's [1, 10000].
  uint64_t w = std::clamp<uint64_t>(weight, 10, 1000);
  return {{"", "io.weight", std::to_string(1 + (w - 10) * 9999 / 990), true}};
}

}  // namespace berth::runtime::cgroup
