#pragma once
// The embedded store's operation log: how a put becomes durable without SQLite writing and
// syncing a page of every table it touches at every commit.
//
// The committer appends one record per batch of requests and syncs it (fdatasync) before it
// acknowledges the batch; the tables take the batch in a SQLite transaction that is
// committed later, unsynced, together with the batches after it, so a page that many puts
// change is written once. When the log grows past its bound, the store folds it: the
// tables' write-ahead log is synced, and the operation log starts over at its beginning.
// After a crash the store replays the records the tables do not have yet.
//
// One file, `<store>-oplog`, written in place: a record is
//   magic "BOL1" u32 | payload length u32 | log id u64 | batch sequence number u64 |
//   crc32 u32 | payload
// (little-endian; the CRC covers the id, the sequence number and the payload). The id is
// the store's own (store_meta 'log_id', random): the log of a database that was deleted
// and made anew is not replayed into the new one. The file is extended
// with zeros a MiB at a time, so most syncs rewrite blocks the file already has and the
// file system has no size or extent to commit. Reading stops at the first record that is
// torn, fails its CRC or does not follow the one before it: after a fold, what is left
// beyond the new records is older (smaller sequence numbers) and ends the log.
//
// This is a file format of our own, departing from "no hand-rolled formats for state" on
// purpose: written as a SQLite table, the log would cost the page writes it exists to avoid.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "sys/fd.h"

namespace berth::store {

// A record's payload is built and read with these: little-endian integers and
// length-prefixed byte strings.
class LogWriter {
 public:
  void u8(uint8_t v) { data_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void bytes(std::string_view v);
  std::string& data() { return data_; }

 private:
  std::string data_;
};

class LogReader {
 public:
  explicit LogReader(std::string_view data) : data_(data) {}
  // Each fails (kInternal, "malformed") when the payload ends too early.
  Result<uint8_t> u8();
  Result<uint32_t> u32();
  Result<uint64_t> u64();
  Result<std::string> bytes();
  bool done() const { return at_ == data_.size(); }

 private:
  Result<std::string_view> take(size_t n);
  std::string_view data_;
  size_t at_ = 0;
};

class OpLog {
 public:
  struct Record {
    uint64_t seq = 0;
    std::string payload;
  };

  // Opens (creating) the log at `path` of the store whose log id is `id`; its directory
  // entry is synced.
  static Result<std::unique_ptr<OpLog>> open(const std::string& path, uint64_t id);

  // The records after sequence number `after`, in order. An error when records after it
  // exist but the first of them is not `after` + 1 (the log lost what the tables need).
  Result<std::vector<Record>> recover(uint64_t after);

  // Writes records at the end and returns once they are on stable storage (one sync for
  // all). On failure nothing after the records before them counts.
  Status append(const std::vector<Record>& records);

  // Bytes of records since the log last started over.
  uint64_t size() const { return tail_; }

  // Starts over at the beginning: every record so far is in the tables, durably.
  void restart() { tail_ = 0; }

 private:
  OpLog(std::string path, uint64_t id, sys::Fd fd, uint64_t allocated)
      : path_(std::move(path)), id_(id), fd_(std::move(fd)), allocated_(allocated) {}
  Status extend(uint64_t to);

  const std::string path_;
  const uint64_t id_;
  sys::Fd fd_;
  uint64_t tail_ = 0;       // where the next record goes
  uint64_t allocated_ = 0;  // bytes the file has (written, zeros beyond the records)
};

}  // namespace berth::store
