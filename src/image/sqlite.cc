#include "image/sqlite.h"

#include "common/strings.h"

namespace berth::image {

Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    sqlite3_close(raw);
    return internalError("open database " + quote(path) + ": " + msg);
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 10000);
  BERTH_RETURN_IF_ERROR(db->exec("PRAGMA journal_mode=WAL"));
  BERTH_RETURN_IF_ERROR(db->exec("PRAGMA synchronous=FULL"));
  BERTH_RETURN_IF_ERROR(db->exec("PRAGMA foreign_keys=ON"));
  return db;
}

Db::~Db() {
  for (auto& [sql, st] : statements_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

Error Db::error(const std::string& what) const {
  return internalError("database: " + what + ": " + sqlite3_errmsg(db_));
}

Result<sqlite3_stmt*> Db::prepare(const std::string& sql, const std::vector<SqlValue>& params) {
  sqlite3_stmt*& st = statements_[sql];
  if (st == nullptr && sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    Error e = error("prepare " + quote(sql));
    statements_.erase(sql);
    return e;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    if (auto* n = std::get_if<int64_t>(&params[i]))
      rc = sqlite3_bind_int64(st, idx, *n);
    else if (auto* s = std::get_if<std::string>(&params[i]))
      rc = sqlite3_bind_text(st, idx, s->c_str(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
    else
      rc = sqlite3_bind_null(st, idx);
    if (rc != SQLITE_OK) {
      Error e = error("bind parameter " + std::to_string(idx));
      release(st);
      return e;
    }
  }
  return st;
}

Status Db::exec(const std::string& sql, const std::vector<SqlValue>& params) {
  auto r = query(sql, params);
  if (!r) return r.error();
  return okStatus();
}

Result<std::vector<SqlRow>> Db::query(const std::string& sql, const std::vector<SqlValue>& params) {
  sqlite3_stmt* st = BERTH_TRY(prepare(sql, params));
  std::vector<SqlRow> rows;
  while (true) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      Error e = error("run " + quote(sql));
      release(st);
      return e;
    }
    SqlRow row;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(st, c)));
          break;
        case SQLITE_NULL:
          row.emplace_back(nullptr);
          break;
        default:
          row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, c)),
                                       static_cast<size_t>(sqlite3_column_bytes(st, c))));
      }
    }
    rows.push_back(std::move(row));
  }
  release(st);
  return rows;
}

void Db::release(sqlite3_stmt* st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

Status Db::transaction(const std::function<Status()>& body) {
  BERTH_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  Status s = body();
  if (!s) {
    (void)exec("ROLLBACK");
    return s;
  }
  auto c = exec("COMMIT");
  if (!c) (void)exec("ROLLBACK");
  return c;
}

}  // namespace berth::image
