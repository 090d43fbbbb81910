#pragma once
// The engine's records in SQLite (<root>/engine.db, WAL, synchronous=FULL): a change is
// on disk before put() returns, so the API acknowledges nothing it could forget.
//
// Schema v1:
//   containers(id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, record TEXT NOT NULL)
//   volumes(name TEXT PRIMARY KEY, record TEXT NOT NULL)
//   networks(name TEXT PRIMARY KEY, record TEXT NOT NULL)   -- added in v1, created when missing
//   meta(key TEXT PRIMARY KEY, value TEXT)   -- schema_version = 1
// `record` is the JSON of container.h, a Volume or a Network (engine.h).
//
// Group commit: a change returns once it is committed and flushed, but changes made at the
// same time share one transaction and so one flush of the WAL. The first caller to find no
// commit in progress runs every change queued by then, each under its own savepoint (one
// change failing, say on a taken name, rolls back only itself), commits, and wakes their
// callers; meanwhile the next ones queue for the following commit. A lone change costs what
// it did before; N parallel creates cost about one flush instead of N in a row.
//
// Thread-safe: every method may be called from any thread.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "engine/container.h"
#include "image/sqlite.h"

namespace berth::engine {

class ContainerStore {
 public:
  static Result<std::unique_ptr<ContainerStore>> open(const std::string& path);

  Result<std::vector<Container>> loadAll();
  // Inserts a new record; kAlreadyExists when the name is taken.
  Status insert(const Container& c);
  // Replaces the record of an existing container (its name may change: rename).
  Status update(const Container& c);
  Status remove(const std::string& id);

  // Volumes and networks: one JSON record per name.
  enum class Kind { kVolume, kNetwork };
  Result<std::vector<nlohmann::json>> loadRecords(Kind kind);
  Status putRecord(Kind kind, const std::string& name, const nlohmann::json& record);
  Status removeRecord(Kind kind, const std::string& name);

 private:
  struct Change {
    std::function<Status()> apply;  // statements on db_, inside the batch's transaction
    Status result = okStatus();
    bool done = false;
  };

  explicit ContainerStore(std::unique_ptr<image::Db> db) : db_(std::move(db)) {}
  // Queues `apply` for the next commit and returns its result once committed.
  Status write(std::function<Status()> apply);
  // REQUIRES: db_mu_ held.
  void commit(const std::vector<Change*>& batch);

  std::mutex db_mu_;  // the connection: one user at a time (image::Db is not thread-safe)
  std::unique_ptr<image::Db> db_;
  std::mutex queue_mu_;  // guards queue_ and committing_
  std::condition_variable committed_;
  std::vector<Change*> queue_;
  bool committing_ = false;
};

}  // namespace berth::engine
