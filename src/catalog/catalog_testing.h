#pragma once
// What the catalog's tests share: a temp dir, instances, and waiting on the mirror.

#include <functional>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/temp_dir_testing.h"

namespace berth::catalog::testing {

using namespace std::chrono_literals;

// Generous: only a broken catalog reaches it.
inline constexpr auto kDeadline = 30s;

using berth::testing::TempDir;

inline Instance web(const std::string& id, std::vector<std::string> tags = {}) {
  Instance in;
  in.service = "web";
  in.id = id;
  in.address = "10.89.0.2";
  in.port = 80;
  in.tags = std::move(tags);
  return in;
}

// A check that never passes: a command check in a catalog given no CommandRunner.
inline Instance failing(Instance in) {
  in.container = "c0ffee";
  in.check.kind = Check::Kind::kCommand;
  in.check.command = {"true"};
  in.check.interval = 1s;
  in.check.timeout = 1s;
  return in;
}

inline CatalogOptions nodeOptions(const std::string& name, std::chrono::seconds ttl = 10s) {
  CatalogOptions o;
  o.node = name;
  o.lease_ttl = ttl;
  return o;
}

inline std::vector<std::string> ids(const std::vector<Instance>& list) {
  std::vector<std::string> out;
  for (const Instance& in : list) out.push_back(in.id);
  return out;
}

// Waits until `pred` holds for the catalog's mirror, waking on each change.
inline bool eventually(Catalog& c, const std::function<bool()>& pred) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    c.waitChange("", c.index(), 200ms, nullptr);
  }
  return true;
}

}  // namespace berth::catalog::testing
