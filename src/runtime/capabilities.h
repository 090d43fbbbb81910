#pragma once
// Linux capability names ("CAP_NET_RAW") and their numbers. Pure data, no OS calls.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime {

std::optional<int> capabilityNumber(std::string_view name);
std::string capabilityName(int number);
// The set Docker gives a container by default.
const std::vector<std::string>& dockerDefaultCapabilities();

}  // namespace berth::runtime
