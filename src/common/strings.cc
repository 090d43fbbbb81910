#include "common/strings.h"

#include <cctype>

#include <charconv>
#include <cmath>
#include <limits>

namespace berth {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::optional<long long> parseInt(std::string_view s) {
  long long v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string humanDuration(int64_t ns) {
  int64_t seconds = ns / 1000000000;
  auto plural = [](int64_t n, const char* unit) { return std::to_string(n) + " " + unit + "s"; };
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return plural(seconds, "second");
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return plural(minutes, "minute");
  int64_t hours = (ns + 1800LL * 1000000000) / (3600LL * 1000000000);  // rounded
  if (hours == 1) return "About an hour";
  if (hours < 48) return plural(hours, "hour");
  if (hours < 24 * 7 * 2) return plural(hours / 24, "day");
  if (hours < 24 * 30 * 2) return plural(hours / 24 / 7, "week");
  if (hours < 24 * 365 * 2) return plural(hours / 24 / 30, "month");
  return plural(seconds / 3600 / 24 / 365, "year");
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A decimal number with an optional fraction ("1", "1.5", ".5"); the rest goes to `rest`.
std::optional<double> leadingNumber(std::string_view s, std::string_view& rest) {
  size_t i = 0;
  bool digits = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, digits = true;
  }
  if (!digits) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc() || p != s.data() + i) return std::nullopt;
  rest = s.substr(i);
  return v;
}

Result<int64_t> parseSize(std::string_view text) {
  std::string_view rest;
  auto v = leadingNumber(text, rest);
  if (!v) return invalidArgument("expected a number with an optional unit b, k, m, g (e.g. 32m)");
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  double mult = 1;
  if (!rest.empty()) {
    switch (std::tolower(static_cast<unsigned char>(rest[0]))) {
      case 'b':
        mult = 1;
        break;
      case 'k':
        mult = 1024.0;
        break;
      case 'm':
        mult = 1024.0 * 1024;
        break;
      case 'g':
        mult = 1024.0 * 1024 * 1024;
        break;
      case 't':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
      case 'p':
        mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
        break;
      default:
        return invalidArgument("unknown unit " + quote(rest) + " (use b, k, m or g)");
    }
    std::string_view tail = rest.substr(1);
    if (std::tolower(static_cast<unsigned char>(rest[0])) != 'b') {
      if (!tail.empty() && (tail[0] == 'i' || tail[0] == 'I')) tail.remove_prefix(1);
      if (!tail.empty() && (tail[0] == 'b' || tail[0] == 'B')) tail.remove_prefix(1);
    }
    if (!tail.empty())
      return invalidArgument("unknown unit " + quote(rest) + " (use b, k, m or g)");
  }
  double bytes = *v * mult;
  if (bytes >= static_cast<double>(std::numeric_limits<int64_t>::max()))
    return invalidArgument("too large");
  return static_cast<int64_t>(bytes);
}

Result<int64_t> parseDuration(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return invalidArgument("empty duration");
  static constexpr struct {
    std::string_view unit;
    double ns;
  } kUnits[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
                {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  double total = 0;
  std::string_view s = text;
  while (!s.empty()) {
    std::string_view rest;
    auto v = leadingNumber(s, rest);
    if (!v) return invalidArgument("expected a duration such as 1s, 500ms, 1m30s or 2h");
    size_t len = 0;
    while (len < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[len])) &&
           rest[len] != '.')
      ++len;
    std::string_view unit = rest.substr(0, len);
    if (unit.empty()) return invalidArgument("missing unit (use ms, s, m or h)");
    double mult = 0;
    for (const auto& u : kUnits)
      if (u.unit == unit) mult = u.ns;
    if (mult == 0) return invalidArgument("unknown unit " + quote(unit) + " (use ms, s, m or h)");
    total += *v * mult;
    s = rest.substr(len);
  }
  if (total >= static_cast<double>(std::numeric_limits<int64_t>::max()))
    return invalidArgument("too large");
  return static_cast<int64_t>(std::llround(total));
}

}  // namespace berth
