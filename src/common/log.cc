#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace berth::log {
namespace {

int g_fd = 2;
bool g_json = false;
Level g_min = Level::kWarn;

const char* levelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "error";
}

}  // namespace

void configure(const std::string& path, bool json, Level min_level) {
  g_json = json;
  g_min = min_level;
  if (path.empty()) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) g_fd = fd;
}

bool toFile() { return g_fd != 2; }

std::string rfc3339(int64_t unix_ns) {
  time_t secs = static_cast<time_t>(unix_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(unix_ns % 1000000000));
  return buf;
}

std::string nowRfc3339() {
  return rfc3339(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count());
}

void write(Level level, std::string_view msg) {
  if (level < g_min) return;
  std::string line;
  if (g_json) {
    line = nlohmann::json{{"level", levelName(level)}, {"msg", msg}, {"time", nowRfc3339()}}.dump();
  } else {
    line = std::string(levelName(level)) + ": " + std::string(msg);
  }
  line += '\n';
  (void)!::write(g_fd, line.data(), line.size());
}

}  // namespace berth::log
