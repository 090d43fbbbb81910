#pragma once
// Standard base64 with padding (RFC 4648 §4): etcd's JSON gateway carries keys and values
// in it, and so does berthd's kv API.

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth {

std::string base64Encode(std::string_view in);
// Stops at the first '='; any other character outside the alphabet is kInvalidArgument
// naming its offset.
Result<std::string> base64Decode(std::string_view in);

}  // namespace berth
