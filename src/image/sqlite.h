#pragma once
// A thin RAII wrapper over SQLite: open in WAL mode, run statements with bound text and
// integer parameters, read rows, and transactions that roll back unless committed.
// Statements are prepared once per distinct SQL text and kept for reuse.
// One Db per thread; not thread-safe.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/result.h"

namespace berth::image {

using SqlValue = std::variant<std::nullptr_t, int64_t, std::string>;
using SqlRow = std::vector<SqlValue>;

class Db {
 public:
  // Opens (creating) the database at `path` with WAL journaling and synchronous=FULL, so
  // a committed transaction survives a crash or power loss.
  static Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();

  Status exec(const std::string& sql, const std::vector<SqlValue>& params = {});
  Result<std::vector<SqlRow>> query(const std::string& sql,
                                    const std::vector<SqlValue>& params = {});
  // Runs `body` inside BEGIN IMMEDIATE … COMMIT; any error rolls everything back.
  Status transaction(const std::function<Status()>& body);

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  Result<sqlite3_stmt*> prepare(const std::string& sql, const std::vector<SqlValue>& params);
  void release(sqlite3_stmt* st);  // back to the cache, reset and unbound
  Error error(const std::string& what) const;
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

inline std::string asText(const SqlValue& v) {
  return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : std::string();
}
inline int64_t asInt(const SqlValue& v) {
  return std::holds_alternative<int64_t>(v) ? std::get<int64_t>(v) : 0;
}

}  // namespace berth::image
