#pragma once
// Signal names as callers of an OCI runtime send them: a number ("15"), a name
// without the prefix ("TERM") or with it ("SIGTERM"), any case.

#include <string_view>

#include "common/result.h"

namespace berth {

Result<int> parseSignal(std::string_view text);

}  // namespace berth
