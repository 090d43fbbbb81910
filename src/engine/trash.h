#pragma once
// Directories deleted after the answer. put() renames a directory into the trash at once,
// so its old path is free and gone before the caller answers; a thread of the trash deletes
// it afterwards, off the request's path (a container's directory took 1-2 ms to delete,
// more on a busy disk).
//
// Layout: <dir>/<name>.<n>, one entry per put (n makes names unique within a run).
// Whatever a crash or a shutdown leaves in <dir> is deleted by the next open().
//
// The directories put there must hold no mounts (unmount them first): deletion does not
// cross mount points, and a failure is logged and left to the next open().
//
// Thread-safety: put() may be called from any thread. Destruction stops the thread after
// the entry in progress; the rest waits for the next open().

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"

namespace berth::engine {

class Trash {
 public:
  // Makes <dir> if needed and queues what a previous run left there.
  static Result<std::unique_ptr<Trash>> open(const std::string& dir);
  ~Trash();

  // Moves `path` (on the same filesystem as the trash) into it; a missing `path` is no
  // error. Errors leave `path` where it was.
  Status put(const std::string& path);

  // Blocks until everything put so far is deleted (or failed). For tests and shutdown
  // paths that must leave nothing behind.
  void drain();

 private:
  explicit Trash(std::string dir);
  void loop();

  const std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // entries under dir_ still to delete
  bool busy_ = false;              // the thread is deleting one
  bool stopping_ = false;
  uint64_t next_ = 0;
  std::thread thread_;
};

}  // namespace berth::engine
