#include "sys/mountinfo.h"

#include <string_view>

#include "common/strings.h"
#include "sys/fs.h"

namespace berth::sys {
namespace {

// Undoes mountinfo's octal escapes of space, tab, newline and backslash ("\040").
std::string unescapeMountField(std::string_view s) {
  auto isOctal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && isOctal(s[i + 1]) && isOctal(s[i + 2]) &&
        isOctal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<MountInfo> parseMountInfo(const std::string& text) {
  std::vector<MountInfo> out;
  for (const std::string& line : split(text, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> mount = split(line.substr(0, dash), ' ');
    std::vector<std::string> fs = split(line.substr(dash + 3), ' ');
    if (mount.size() < 5 || fs.size() < 3) continue;
    out.push_back({unescapeMountField(mount[4]), fs[0], fs[2]});
  }
  return out;
}

Result<std::vector<MountInfo>> readMountInfo() {
  return parseMountInfo(BERTH_TRY(readFile("/proc/self/mountinfo")));
}

}  // namespace berth::sys
