#pragma once
// Capability sets of the calling process.

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::sys {

struct CapabilitySets {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// Drops every capability outside `sets.bounding` from the bounding set.
// REQUIRES: CAP_SETPCAP in the effective set.
Status dropBoundingSet(const std::vector<int>& keep);
// Sets effective/permitted/inheritable with capset(2), then raises the ambient ones. An
// ambient capability that cannot be raised (not in permitted and inheritable) is skipped
// with a note in `warnings`, as runc does.
Status setCapabilities(const CapabilitySets& sets, std::vector<std::string>* warnings);
// Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
int lastCapability();

}  // namespace berth::sys
