#pragma once
// berth-monitor's command line (documented in protocol.h). Pure: no system calls.

#include <cstddef>
#include <cstdint>

namespace berth::monitor {

struct Options {
  const char* id = nullptr;
  const char* bundle = nullptr;
  const char* dir = nullptr;
  const char* runtime = nullptr;
  const char* runtime_root = nullptr;
  bool tty = false;
  bool stdin_open = false;
  uint64_t log_max_size = 0;  // 0: no rotation
  int log_max_files = 1;
  int sync_fd = -1;
  bool pool = false;  // --pool: --bundle and --dir (and the real --id) come later
};

// Parses argv (both "--flag value" and "--flag=value"). On failure returns false with a
// reason in err (NUL-terminated, cut to err_cap) and what was parsed so far in out. The
// strings point into argv.
bool parseOptions(int argc, char** argv, Options* out, char* err, size_t err_cap);

}  // namespace berth::monitor
