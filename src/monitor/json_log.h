#pragma once
// container.log: the container's output in docker's json-file format, one entry per line,
// rotated by size (the format and the rotation rule are in protocol.h). Single-threaded.
// Memory: the buffers are static and page-aligned; trim() hands back the pages that a
// burst of long lines touched, so that an idle monitor stays small.

#include <cstddef>
#include <cstdint>

#include "monitor/protocol.h"

namespace berth::monitor {

// The longest formatted entry: every byte escaped as \u00XX, plus the fixed fields.
inline constexpr size_t kMaxEntry = 6 * kMaxLogLine + 128;

// Escapes n bytes for the inside of a JSON string: '"', '\\' and bytes below 0x20; every
// other byte (UTF-8 or not) passes through. out holds at least 6 * n bytes; returns the
// length written.
size_t escapeJson(const char* in, size_t n, char* out);

// Formats one entry, newline included, into out (kMaxEntry bytes); returns its length.
// REQUIRES: len <= kMaxLogLine; stream is kStdout or kStderr.
size_t formatEntry(uint8_t stream, const char* data, size_t len, int64_t time_ns, char* out);

// Appends {"level":"error","msg":MSG,"time":NOW} to path: the shape of the runtime's
// --log-format json lines, so that berthd explains the monitor's own failures the same way.
// msg is cut at 1 KiB.
void appendErrorLine(const char* path, const char* msg);

// REQUIRES: one LogFile per process (they share the static entry buffer).
class LogFile {
 public:
  LogFile() = default;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile() { close(); }

  // Opens `path` for appending (creating it, mode 0640). max_size 0: never rotate.
  // max_files counts the current file (see protocol.h); values below 1 mean 1.
  // `path` must stay valid while the file is open.
  bool open(const char* path, uint64_t max_size, int max_files);
  // Writes one entry with a single write(2), rotating first when it would take the file
  // past max_size (never for an empty file: a lone entry larger than the limit is kept).
  // Write errors (a full disk) lose the entry; the monitor carries on.
  void write(uint8_t stream, const char* data, size_t len, int64_t time_ns);
  void close();
  // Gives back the entry buffer's pages past the first.
  void trim();
  bool needsTrim() const;
  uint64_t size() const { return size_; }

 private:
  void rotate();

  const char* path_ = nullptr;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t max_size_ = 0;
  int max_files_ = kDefaultLogFiles;
  size_t entry_touched_ = 0;  // high-water mark of the (shared, static) entry buffer
};

// Cuts one output stream into entries: at each newline, and at kMaxLogLine bytes for a
// longer line (that piece has no newline). Output is read straight into its buffer, which
// the owner provides (kMaxLogLine bytes, page-aligned, so that trim() can give pages
// back): the splitters' own state then shares a page instead of costing one each.
class LineSplitter {
 public:
  constexpr LineSplitter(uint8_t stream, char* buffer) : stream_(stream), buf_(buffer) {}
  LineSplitter(const LineSplitter&) = delete;
  LineSplitter& operator=(const LineSplitter&) = delete;

  uint8_t stream() const { return stream_; }
  // Where the next read goes and how many bytes fit there (at least 1).
  char* space(size_t* room);
  // Takes the n bytes just read into space(): writes each complete line to log, keeps the
  // rest for the next read.
  void commit(size_t n, LogFile& log, int64_t time_ns);
  // Writes what is kept, for output that ended without a newline.
  void flush(LogFile& log, int64_t time_ns);
  // Gives back the pages past the kept bytes.
  void trim();
  bool needsTrim() const;

 private:
  uint8_t stream_;
  char* buf_;
  size_t len_ = 0;      // bytes kept (a line without its newline yet)
  size_t touched_ = 0;  // high-water mark since the last trim
};

}  // namespace berth::monitor
