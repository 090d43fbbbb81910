#include "engine/container_store.h"

#include "common/strings.h"

namespace berth::engine {

Result<std::unique_ptr<ContainerStore>> ContainerStore::open(const std::string& path) {
  auto db = BERTH_TRY(image::Db::open(path));
  BERTH_RETURN_IF_ERROR(db->exec(
      "CREATE TABLE IF NOT EXISTS containers(id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
      " record TEXT NOT NULL)"));
  BERTH_RETURN_IF_ERROR(
      db->exec("CREATE TABLE IF NOT EXISTS volumes(name TEXT PRIMARY KEY, record TEXT NOT NULL)"));
  BERTH_RETURN_IF_ERROR(
      db->exec("CREATE TABLE IF NOT EXISTS networks(name TEXT PRIMARY KEY, record TEXT NOT NULL)"));
  BERTH_RETURN_IF_ERROR(
      db->exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)"));
  auto v = BERTH_TRY(db->query("SELECT value FROM meta WHERE key='schema_version'"));
  if (v.empty()) {
    BERTH_RETURN_IF_ERROR(db->exec("INSERT INTO meta VALUES('schema_version','1')"));
  } else if (image::asText(v[0][0]) != "1") {
    return unsupported("open " + quote(path) + ": schema version " + image::asText(v[0][0]) +
                       " is newer than this berthd understands (1)");
  }
  return std::unique_ptr<ContainerStore>(new ContainerStore(std::move(db)));
}

Result<std::vector<Container>> ContainerStore::loadAll() {
  std::lock_guard lock(db_mu_);
  auto rows = BERTH_TRY(db_->query("SELECT id, record FROM containers"));
  std::vector<Container> out;
  for (const auto& row : rows) {
    auto j = nlohmann::json::parse(image::asText(row[1]), nullptr, false);
    auto c = containerFromJson(j);
    if (!c) return c.error().context("load container " + quote(image::asText(row[0])));
    out.push_back(std::move(*c));
  }
  return out;
}

Status ContainerStore::write(std::function<Status()> apply) {
  Change mine{std::move(apply)};
  std::unique_lock lock(queue_mu_);
  queue_.push_back(&mine);
  while (!mine.done) {
    if (committing_) {
      committed_.wait(lock);
      continue;
    }
    // Lead the next commit: everything queued so far, this change included.
    committing_ = true;
    std::vector<Change*> batch;
    batch.swap(queue_);
    lock.unlock();
    {
      std::lock_guard db(db_mu_);
      commit(batch);
    }
    lock.lock();
    committing_ = false;
    committed_.notify_all();
  }
  return mine.result;
}

void ContainerStore::commit(const std::vector<Change*>& batch) {
  auto applied = db_->transaction([&]() -> Status {
    for (Change* c : batch) {
      if (batch.size() == 1) {
        c->result = c->apply();
        return c->result;
      }
      BERTH_RETURN_IF_ERROR(db_->exec("SAVEPOINT change"));
      c->result = c->apply();
      if (!c->result) BERTH_RETURN_IF_ERROR(db_->exec("ROLLBACK TO change"));
      BERTH_RETURN_IF_ERROR(db_->exec("RELEASE change"));
    }
    return okStatus();
  });
  for (Change* c : batch) {
    // A failed commit (or savepoint) loses every change of the batch.
    if (!applied && c->result) c->result = applied.error();
    c->done = true;
  }
}

Status ContainerStore::insert(const Container& c) {
  std::string record = toJson(c).dump();
  return write([&]() -> Status {
    auto taken = BERTH_TRY(db_->query("SELECT id FROM containers WHERE name=?", {c.name}));
    if (!taken.empty())
      return alreadyExists("the container name " + quote("/" + c.name) +
                           " is already in use by container " + quote(image::asText(taken[0][0])) +
                           ": remove or rename that container to reuse the name");
    return db_->exec("INSERT INTO containers(id, name, record) VALUES(?,?,?)",
                     {c.id, c.name, record});
  });
}

Status ContainerStore::update(const Container& c) {
  std::string record = toJson(c).dump();
  return write([&]() -> Status {
    auto taken =
        BERTH_TRY(db_->query("SELECT id FROM containers WHERE name=? AND id<>?", {c.name, c.id}));
    if (!taken.empty())
      return alreadyExists("the container name " + quote("/" + c.name) +
                           " is already in use by container " + quote(image::asText(taken[0][0])));
    return db_->exec("UPDATE containers SET name=?, record=? WHERE id=?", {c.name, record, c.id});
  });
}

Status ContainerStore::remove(const std::string& id) {
  return write([&] { return db_->exec("DELETE FROM containers WHERE id=?", {id}); });
}

namespace {
const char* table(ContainerStore::Kind k) {
  return k == ContainerStore::Kind::kVolume ? "volumes" : "networks";
}
}  // namespace

Result<std::vector<nlohmann::json>> ContainerStore::loadRecords(Kind kind) {
  std::lock_guard lock(db_mu_);
  auto rows = BERTH_TRY(db_->query(std::string("SELECT record FROM ") + table(kind)));
  std::vector<nlohmann::json> out;
  for (const auto& row : rows)
    out.push_back(nlohmann::json::parse(image::asText(row[0]), nullptr, false));
  return out;
}

Status ContainerStore::putRecord(Kind kind, const std::string& name, const nlohmann::json& record) {
  std::string text = record.dump();
  return write([&] {
    return db_->exec(
        std::string("INSERT OR REPLACE INTO ") + table(kind) + "(name, record) VALUES(?,?)",
        {name, text});
  });
}

Status ContainerStore::removeRecord(Kind kind, const std::string& name) {
  return write([&] {
    return db_->exec(std::string("DELETE FROM ") + table(kind) + " WHERE name=?", {name});
  });
}

}  // namespace berth::engine
