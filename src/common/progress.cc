#include "common/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace berth::progress {
namespace {

Style g_style = Style::kNone;
int g_fd = 2;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void emit(const std::string& s) { (void)!::write(g_fd, s.data(), s.size()); }

}  // namespace

void configure(Style style, int fd) {
  g_style = style;
  g_fd = fd;
}

std::string humanBytes(uint64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
  return buf;
}

Task::Task(std::string label, uint64_t total) : label_(std::move(label)), total_(total) {
  if (g_style == Style::kLines) {
    emit(label_ + (total_ ? " (" + humanBytes(total_) + ")" : "") + "\n");
  } else if (g_style == Style::kBar) {
    draw(false);
  }
}

Task::~Task() {
  if (g_style == Style::kBar) draw(true);
}

void Task::advance(uint64_t bytes) {
  done_ += bytes;
  if (g_style != Style::kBar) return;
  int64_t now = nowNs();
  if (now - last_draw_ns_ < 100'000'000) return;  // ten frames a second is plenty
  last_draw_ns_ = now;
  draw(false);
}

void Task::draw(bool final) {
  constexpr int kWidth = 30;
  std::string bar;
  if (total_ > 0) {
    uint64_t shown = final ? total_ : std::min(done_, total_);
    int filled = static_cast<int>(shown * kWidth / total_);
    bar = "[" + std::string(filled, '=') + (filled < kWidth ? ">" : "") +
          std::string(kWidth - filled - (filled < kWidth ? 1 : 0), ' ') + "] " + humanBytes(shown) +
          "/" + humanBytes(total_);
  } else {
    bar = humanBytes(done_);
  }
  std::string line = "\r\033[K" + label_ + " " + bar;
  if (final) line += "\n";
  emit(line);
}

}  // namespace berth::progress
