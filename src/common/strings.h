#pragma once
// Small string helpers shared by every module. No OS calls.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
std::string humanDuration(int64_t ns);  // 'like this', as messages quote names

}  // namespace berth
