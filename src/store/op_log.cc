#include "store/op_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace berth::store {

namespace {

constexpr uint32_t kMagic = 0x314c4f42;  // "BOL1"
constexpr size_t kHeaderBytes = 28;      // magic, length, id, seq, crc
constexpr uint64_t kExtendBytes = 1 << 20;

// Over the id and the sequence number (16 bytes) and the payload.
uint32_t checksum(std::string_view id_and_seq, std::string_view payload) {
  uLong crc = ::crc32(0, reinterpret_cast<const Bytef*>(id_and_seq.data()), 16);
  // zlib takes lengths as uInt; payloads are far below 4 GiB (one batch of requests).
  crc = ::crc32(crc, reinterpret_cast<const Bytef*>(payload.data()),
                static_cast<uInt>(payload.size()));
  return static_cast<uint32_t>(crc);
}

Error ioError(const std::string& what, const std::string& path) {
  return internalError(what + " " + quote(path) + ": " + std::strerror(errno));
}

Status writeAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ioError("write", path);
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return okStatus();
}

}  // namespace

void LogWriter::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

void LogWriter::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) u8(static_cast<uint8_t>(v >> (8 * i)));
}

void LogWriter::bytes(std::string_view v) {
  u32(static_cast<uint32_t>(v.size()));
  data_.append(v);
}

Result<std::string_view> LogReader::take(size_t n) {
  if (data_.size() - at_ < n) return internalError("malformed operation log record: cut short");
  std::string_view v = data_.substr(at_, n);
  at_ += n;
  return v;
}

Result<uint8_t> LogReader::u8() {
  std::string_view v = BERTH_TRY(take(1));
  return static_cast<uint8_t>(v[0]);
}

Result<uint32_t> LogReader::u32() {
  std::string_view v = BERTH_TRY(take(4));
  uint32_t n = 0;
  for (int i = 3; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(v[i]);
  return n;
}

Result<uint64_t> LogReader::u64() {
  uint64_t low = BERTH_TRY(u32());
  uint64_t high = BERTH_TRY(u32());
  return high << 32 | low;
}

Result<std::string> LogReader::bytes() {
  uint32_t n = BERTH_TRY(u32());
  std::string_view v = BERTH_TRY(take(n));
  return std::string(v);
}

Result<std::unique_ptr<OpLog>> OpLog::open(const std::string& path, uint64_t id) {
  sys::Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return ioError("open operation log", path);
  // One writer: a second one would append at its own end and start the log over under
  // the first. The lock goes with the descriptor (and with a killed process).
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return conflict("operation log " + quote(path) +
                      " is open in another process: one berthd per store");
    return ioError("lock operation log", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ioError("stat", path);
  // The file may be new: its name must survive a power loss before any record counts on it.
  std::string dir = path.substr(0, path.find_last_of('/') + 1);
  sys::Fd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0) return ioError("sync directory", dir);
  return std::unique_ptr<OpLog>(
      new OpLog(path, id, std::move(fd), static_cast<uint64_t>(st.st_size)));
}

Result<std::vector<OpLog::Record>> OpLog::recover(uint64_t after) {
  std::string data(allocated_, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t r = ::pread(fd_.get(), data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ioError("read operation log", path_);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  data.resize(got);
  std::vector<Record> records;
  uint64_t expected = 0;  // the sequence number the next record must have (0: any)
  size_t at = 0;
  while (data.size() - at >= kHeaderBytes) {
    std::string_view header(data.data() + at, kHeaderBytes);
    LogReader h(header);
    uint32_t magic = *h.u32(), length = *h.u32();
    uint64_t id = *h.u64(), seq = *h.u64();
    uint32_t crc = *h.u32();
    if (magic != kMagic || id != id_) break;
    if (data.size() - at - kHeaderBytes < length) break;  // torn
    std::string_view payload(data.data() + at + kHeaderBytes, length);
    if (crc != checksum(header.substr(8, 16), payload)) break;
    if (expected != 0 && seq != expected) break;  // older records, from before a fold
    expected = seq + 1;
    at += kHeaderBytes + length;
    if (seq > after) records.push_back({seq, std::string(payload)});
  }
  if (!records.empty() && records.front().seq != after + 1)
    return internalError("operation log " + quote(path_) + " starts at batch " +
                         std::to_string(records.front().seq) + " but the tables end at batch " +
                         std::to_string(after) +
                         ": batches in between are lost; restore the store from a backup");
  tail_ = at;
  return records;
}

Status OpLog::extend(uint64_t to) {
  static const std::string zeros(kExtendBytes, '\0');
  while (allocated_ < to) {
    BERTH_RETURN_IF_ERROR(writeAll(fd_.get(), zeros.data(), zeros.size(), allocated_, path_));
    allocated_ += kExtendBytes;
  }
  return okStatus();
}

Status OpLog::append(const std::vector<Record>& records) {
  LogWriter out;
  for (const Record& r : records) {
    const size_t at = out.data().size();
    out.u32(kMagic);
    out.u32(static_cast<uint32_t>(r.payload.size()));
    out.u64(id_);
    out.u64(r.seq);
    out.u32(checksum(std::string_view(out.data()).substr(at + 8, 16), r.payload));
    out.data().append(r.payload);
  }
  const std::string& bytes = out.data();
  BERTH_RETURN_IF_ERROR(extend(tail_ + bytes.size()));
  BERTH_RETURN_IF_ERROR(writeAll(fd_.get(), bytes.data(), bytes.size(), tail_, path_));
  if (::fdatasync(fd_.get()) != 0) return ioError("sync operation log", path_);
  tail_ += bytes.size();
  return okStatus();
}

}  // namespace berth::store
