#include "monitor/json_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "monitor/io.h"
#include "monitor/text.h"

namespace berth::monitor {
namespace {

constexpr size_t kPage = 4096;

// One LogFile per process: its entry buffer is static and page-aligned.
alignas(kPage) char g_entry[kMaxEntry];

size_t pageUp(size_t n) { return (n + kPage - 1) & ~(kPage - 1); }

// Drops the pages of [keep, touched) of a page-aligned buffer.
void dropPages(char* buf, size_t keep, size_t touched) {
  size_t from = pageUp(keep);
  size_t to = pageUp(touched);
  if (to > from) ::madvise(buf + from, to - from, MADV_DONTNEED);
}

}  // namespace

size_t escapeJson(const char* in, size_t n, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char* o = out;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *o++ = static_cast<char>(c);
      continue;
    }
    *o++ = '\\';
    switch (c) {
      case '"':
        *o++ = '"';
        break;
      case '\\':
        *o++ = '\\';
        break;
      case '\n':
        *o++ = 'n';
        break;
      case '\r':
        *o++ = 'r';
        break;
      case '\t':
        *o++ = 't';
        break;
      case '\b':
        *o++ = 'b';
        break;
      case '\f':
        *o++ = 'f';
        break;
      default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = kHex[c >> 4];
        *o++ = kHex[c & 15];
    }
  }
  return static_cast<size_t>(o - out);
}

size_t formatEntry(uint8_t stream, const char* data, size_t len, int64_t time_ns, char* out) {
  static constexpr char kHead[] = "{\"log\":\"";
  static constexpr char kStdoutMid[] = "\",\"stream\":\"stdout\",\"time\":\"";
  static constexpr char kStderrMid[] = "\",\"stream\":\"stderr\",\"time\":\"";
  static constexpr char kTail[] = "\"}\n";
  char* o = out;
  std::memcpy(o, kHead, sizeof kHead - 1);
  o += sizeof kHead - 1;
  o += escapeJson(data, len, o);
  const char* mid = stream == kStderr ? kStderrMid : kStdoutMid;
  std::memcpy(o, mid, sizeof kStdoutMid - 1);
  o += sizeof kStdoutMid - 1;
  o += formatTimestamp(time_ns, o);
  std::memcpy(o, kTail, sizeof kTail - 1);
  o += sizeof kTail - 1;
  return static_cast<size_t>(o - out);
}

void appendErrorLine(const char* path, const char* msg) {
  static char escaped[6 * 1024];
  size_t len = std::strlen(msg);
  size_t n = escapeJson(msg, len < 1024 ? len : 1024, escaped);
  char ts[kTimestampLen + 1];
  formatTimestamp(realtimeNs(), ts);
  TextBuf<sizeof escaped + 96> line;
  line.add("{\"level\":\"error\",\"msg\":\"")
      .add(escaped, n)
      .add("\",\"time\":\"")
      .add(ts)
      .add("\"}\n");
  int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return;
  writeAll(fd, line.c_str(), line.size());
  ::close(fd);
}

bool LogFile::open(const char* path, uint64_t max_size, int max_files) {
  close();
  path_ = path;
  max_size_ = max_size;
  max_files_ = max_files < 1 ? 1 : max_files;
  fd_ = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) return false;
  struct stat st;
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

void LogFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void LogFile::rotate() {
  close();
  if (max_files_ > 1) {
    // container.log.(N-2) → .(N-1), …, .1 → .2, then the current file → .1; the oldest is
    // replaced by the rename onto it.
    for (int i = max_files_ - 1; i >= 2; --i) {
      TextBuf<4096> from, to;
      from.add(path_).add('.').addUnsigned(static_cast<uint64_t>(i - 1));
      to.add(path_).add('.').addUnsigned(static_cast<uint64_t>(i));
      ::rename(from.c_str(), to.c_str());
    }
    TextBuf<4096> first;
    first.add(path_).add(".1");
    ::rename(path_, first.c_str());
    fd_ = ::open(path_, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  } else {
    fd_ = ::open(path_, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  }
  size_ = 0;
}

void LogFile::write(uint8_t stream, const char* data, size_t len, int64_t time_ns) {
  if (len == 0) return;
  size_t n = formatEntry(stream, data, len, time_ns, g_entry);
  if (n > entry_touched_) entry_touched_ = n;
  if (max_size_ > 0 && size_ > 0 && size_ + n > max_size_) rotate();
  if (fd_ < 0) return;
  const char* p = g_entry;
  size_t left = n;
  while (left > 0) {
    ssize_t w = ::write(fd_, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    p += w;
    left -= static_cast<size_t>(w);
    size_ += static_cast<uint64_t>(w);
  }
}

bool LogFile::needsTrim() const { return entry_touched_ > kPage; }

void LogFile::trim() {
  dropPages(g_entry, kPage, entry_touched_);
  entry_touched_ = 0;
}

char* LineSplitter::space(size_t* room) {
  *room = kMaxLogLine - len_;
  return buf_ + len_;
}

void LineSplitter::commit(size_t n, LogFile& log, int64_t time_ns) {
  size_t end = len_ + n;
  if (end > touched_) touched_ = end;
  size_t start = 0;
  const char* scan = buf_ + len_;
  while (const void* nl = std::memchr(scan, '\n', static_cast<size_t>(buf_ + end - scan))) {
    size_t stop = static_cast<size_t>(static_cast<const char*>(nl) - buf_) + 1;
    log.write(stream_, buf_ + start, stop - start, time_ns);
    start = stop;
    scan = buf_ + stop;
  }
  if (end - start == kMaxLogLine) {  // only when start == 0: a full line without a newline
    log.write(stream_, buf_, kMaxLogLine, time_ns);
    start = end;
  }
  len_ = end - start;
  if (start > 0 && len_ > 0) std::memmove(buf_, buf_ + start, len_);
}

void LineSplitter::flush(LogFile& log, int64_t time_ns) {
  log.write(stream_, buf_, len_, time_ns);
  len_ = 0;
}

bool LineSplitter::needsTrim() const { return pageUp(touched_) > pageUp(len_ ? len_ : 1); }

void LineSplitter::trim() {
  dropPages(buf_, len_ ? len_ : 1, touched_);
  touched_ = len_;
}

}  // namespace berth::monitor
