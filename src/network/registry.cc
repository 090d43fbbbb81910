// Every network driver berth has, in one place.

#include "network/bridge_driver.h"

namespace berth::network {

Driver* findDriver(std::string_view name) {
  static BridgeDriver bridge;
  static MacvlanDriver macvlan;
  if (name == "bridge") return &bridge;
  if (name == "macvlan") return &macvlan;
  return nullptr;
}

}  // namespace berth::network
