#pragma once
// Pure translation of OCI linux.resources into cgroup interface-file writes, one function
// per controller (memory.cc, cpu.cc, cpuset.cc, pids.cc, blkio.cc, devices.cc). Nothing here
// touches the filesystem, so every conversion is unit-tested.

#include <string>
#include <vector>

#include "runtime/cgroup/manager.h"

namespace berth::runtime::cgroup {

struct Write {
  std::string controller;  // v1 hierarchy that owns the file ("memory"); "" on v2
  std::string file;        // "memory.limit_in_bytes"
  std::string value;
  bool optional = false;  // a missing file only warns (blkio weight)
};

std::vector<Write> planMemory(const MemoryResources& m, Version v);
std::vector<Write> planCpu(const CpuResources& c, Version v);
std::vector<Write> planCpuset(const CpuResources& c, Version v);
std::vector<Write> planPids(int64_t limit, Version v);
std::vector<Write> planBlkio(uint16_t weight, Version v);
// v1 only: devices.deny / devices.allow lines, in order. On v2 the devices controller
// needs an eBPF program, which berth does not load yet: returns nothing.
std::vector<Write> planDevices(const std::vector<DeviceRule>& rules, Version v);

// All of the above in the order they must be applied.
std::vector<Write> planAll(const Resources& r, Version v);

}  // namespace berth::runtime::cgroup
