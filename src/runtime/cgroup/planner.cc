#include "runtime/cgroup/planner.h"

#include <iterator>

namespace berth::runtime::cgroup {

// The ordering constraints live inside each controller's plan (memory limit before memsw,
// CFS period before quota); across controllers the order only decides which error shows
// first, so the cheapest and most commonly set limits come first.
std::vector<Write> planAll(const Resources& r, Version v) {
  std::vector<Write> out;
  auto append = [&out](std::vector<Write> writes) {
    out.insert(out.end(), std::make_move_iterator(writes.begin()),
               std::make_move_iterator(writes.end()));
  };
  if (r.memory) append(planMemory(*r.memory, v));
  if (r.cpu) {
    append(planCpu(*r.cpu, v));
    append(planCpuset(*r.cpu, v));
  }
  if (r.pids_limit) append(planPids(*r.pids_limit, v));
  if (r.blkio_weight) append(planBlkio(*r.blkio_weight, v));
  append(planDevices(r.devices, v));
  return out;
}

}  // namespace berth::runtime::cgroup
