#pragma once
// The engine's records in SQLite (<root>/engine.db, WAL, synchronous=FULL): a change is
// on disk before put() returns, so the API acknowledges nothing it could forget.
//
// Schema v1:
//   containers(id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, record TEXT NOT NULL)
//   volumes(name TEXT PRIMARY KEY, record TEXT NOT NULL)
//   networks(name TEXT PRIMARY KEY, record TEXT NOT NULL)   -- added in v1, created when missing
//   meta(key TEXT PRIMARY KEY, value TEXT)   -- schema_version = 1
// `record` is the JSON of container.h, a Volume or a Network (engine.h). Thread-safe (one mutex).

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
  explicit ContainerStore(std::unique_ptr<image::Db> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<image::Db> db_;
};

}  // namespace berth::engine
