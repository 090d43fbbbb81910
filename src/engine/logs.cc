// Reading a container's log files (docker's json-file lines, written by berth-monitor),
// with tail, since/until and follow.

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <deque>

#include "common/strings.h"
#include "engine/entry.h"
#include "monitor/protocol.h"
#include "sys/fd.h"
#include "sys/fs.h"

namespace berth::engine {

namespace {

// "2026-11-28T18:30:00.123456789Z" → ns since the epoch; 0 when malformed.
int64_t parseTime(const std::string& t) {
  if (t.size() < 20) return 0;
  std::tm tm{};
  if (::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  int64_t secs = ::timegm(&tm);
  int64_t frac = 0;
  size_t i = 19;
  if (i < t.size() && t[i] == '.') {
    int64_t scale = 100000000;
    for (++i; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])); ++i, scale /= 10)
      frac += (t[i] - '0') * scale;
  }
  return secs * 1000000000 + frac;
}

struct LogEntry {
  int stream;
  std::string data;
  int64_t time_ns;
};

std::optional<LogEntry> parseLine(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  return LogEntry{j.value("stream", "stdout") == "stderr" ? 2 : 1, j.value("log", ""),
                  parseTime(j.value("time", ""))};
}

// Reads the complete lines past `offset` of `fd`, advancing it.
template <typename F>
void readLines(int fd, off_t& offset, F&& each) {
  std::string buf;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::pread(fd, chunk, sizeof chunk, offset + static_cast<off_t>(buf.size()));
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  size_t start = 0;
  for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
    each(std::string_view(buf).substr(start, nl - start));
  offset += static_cast<off_t>(start);
}

}  // namespace

std::string Engine::logPath(const Container& c) const { return dirOf(c.id) + "/" + monitor::kLog; }

Status Engine::logs(const std::string& ref, const LogQuery& q, const LogSink& sink,
                    const Cancelled& cancelled) {
  auto e = BERTH_TRY(find(ref));
  std::string path, dir;
  int files;
  {
    std::lock_guard lock(e->mu);
    path = logPath(e->c);
    dir = dirOf(e->c.id);
    files = std::max(1, e->c.config.log.max_files);
  }
  bool stopped = false;
  auto want = [&](const LogEntry& l) {
    if (l.stream == 1 && !q.stdout_stream) return false;
    if (l.stream == 2 && !q.stderr_stream) return false;
    if (q.since_ns && l.time_ns < q.since_ns) return false;
    if (q.until_ns && l.time_ns > q.until_ns) return false;
    return true;
  };
  auto emit = [&](const LogEntry& l) {
    if (!stopped && want(l) && !sink(l.stream, l.data, l.time_ns)) stopped = true;
  };

  // What is there now: rotated files oldest first, then the current one.
  std::deque<LogEntry> backlog;
  auto collect = [&](std::string_view line) {
    auto l = parseLine(line);
    if (!l || !want(*l)) return;
    backlog.push_back(std::move(*l));
    if (q.tail >= 0 && backlog.size() > static_cast<size_t>(q.tail)) backlog.pop_front();
  };
  for (int i = files - 1; i >= 1; --i) {
    sys::Fd old(::open((path + "." + std::to_string(i)).c_str(), O_RDONLY | O_CLOEXEC));
    off_t off = 0;
    if (old.valid()) readLines(old.get(), off, collect);
  }
  sys::Fd cur(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  off_t offset = 0;
  if (cur.valid()) readLines(cur.get(), offset, collect);
  if (q.tail == 0) backlog.clear();
  for (const auto& l : backlog) emit(l);
  if (!q.follow || stopped) return okStatus();

  sys::Fd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (in.valid()) ::inotify_add_watch(in.get(), dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO);
  auto follow_line = [&](std::string_view line) {
    if (auto l = parseLine(line)) emit(*l);
  };
  for (;;) {
    bool running;
    {
      std::lock_guard lock(e->mu);
      running = !e->removed && (e->c.running() || e->c.state.status == RunState::kRestarting);
    }
    if (cur.valid()) readLines(cur.get(), offset, follow_line);
    // Rotated: finish the old file (done above), then continue with the new one.
    struct stat a {
    }, b{};
    if (::stat(path.c_str(), &a) == 0 &&
        (!cur.valid() || (::fstat(cur.get(), &b) == 0 && (a.st_ino != b.st_ino)))) {
      cur = sys::Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      offset = 0;
      continue;
    }
    if (stopped || !running || (cancelled && cancelled())) break;
    pollfd p{in.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char drain[4096];
      while (::read(in.get(), drain, sizeof drain) > 0) {
      }
    }
  }
  return okStatus();
}

}  // namespace berth::engine
