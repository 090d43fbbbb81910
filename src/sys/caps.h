#pragma once
// Capability sets of the calling process.

#include <vector>

#include "common/result.h"

namespace berth::sys {

struct CapabilitySets {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// Drops every capability outside `sets.bounding` from the bounding set.
// REQUIRES: CAP_SETPCAP in the effective set.
Status dropBoundingSet(const std::vector<int>& keep);
// Sets effective/permitted/inheritable with capset(2), then raises the ambient ones.
Status setCapabilities(const CapabilitySets& sets);
// Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
int lastCapability();

}  // namespace berth::sys
