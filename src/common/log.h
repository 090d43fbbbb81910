#pragma once
// Process-wide logging for the command-line tools. An OCI runtime's callers (podman,
// containerd) pass --log FILE --log-format json and read {"level","msg","time"} lines from
// it; without --log, messages go to stderr. Not thread-safe: configure once at start-up.

#include <cstdint>
#include <string>
#include <string_view>

namespace berth::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Sends messages to `path` (appending), as JSON lines when `json` is true.
void configure(const std::string& path, bool json, Level min_level);
void write(Level level, std::string_view msg);
inline void warn(std::string_view msg) { write(Level::kWarn, msg); }
inline void error(std::string_view msg) { write(Level::kError, msg); }
inline void debug(std::string_view msg) { write(Level::kDebug, msg); }
inline void info(std::string_view msg) { write(Level::kInfo, msg); }

// True when messages go to a file rather than stderr.
bool toFile();

// RFC 3339 UTC time with nanoseconds, as runc writes it: now, or `unix_ns`.
std::string nowRfc3339();
std::string rfc3339(int64_t unix_ns);

}  // namespace berth::log
