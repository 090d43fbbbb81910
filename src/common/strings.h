#pragma once
// Small string helpers shared by every module. No OS calls.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth {

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string_view trim(std::string_view s);
bool startsWith(std::string_view s, std::string_view prefix);
// Parses a whole decimal integer; nullopt on any trailing junk or overflow.
std::optional<long long> parseInt(std::string_view s);
std::string quote(std::string_view s);
std::string toLower(std::string_view s);  // ASCII
// A duration as docker words it: "Less than a second", "5 seconds", "About a minute",
// "3 hours", "2 weeks".
std::string humanDuration(int64_t ns);
// A decimal number with an optional fraction ("1", "1.5", ".5"); the rest goes to `rest`.
std::optional<double> leadingNumber(std::string_view s, std::string_view& rest);
// Sizes as docker reads them (binary units): "1024", "512b", "32k", "32m", "1.5g", "2GiB".
Result<int64_t> parseSize(std::string_view text);
// Go durations: "1s", "500ms", "1m30s", "1.5h", "0"; returns nanoseconds (never negative).
Result<int64_t> parseDuration(std::string_view text);

}  // namespace berth
