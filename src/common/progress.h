#pragma once
// Progress of long transfers (load, save, import, unpack), reported to one process-wide
// sink that the command line sets up: a bar redrawn in place on a terminal, or one plain
// line per task otherwise. Libraries just open a Task; with no sink nothing is printed.
// Not thread-safe: one task at a time.

#include <cstdint>
#include <string>

namespace berth::progress {

enum class Style { kNone, kBar, kLines };
// Where progress goes: kBar draws on `fd` (a terminal), kLines prints a line per task.
void configure(Style style, int fd);

class Task {
 public:
  // `total` in bytes; 0 when unknown.
  Task(std::string label, uint64_t total);
  ~Task();  // finishes the task's line
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  void advance(uint64_t bytes);

 private:
  void draw(bool final);
  std::string label_;
  uint64_t total_, done_ = 0;
  int64_t last_draw_ns_ = 0;
};

// "12.3MB", as docker prints sizes.
std::string humanBytes(uint64_t bytes);

}  // namespace berth::progress
