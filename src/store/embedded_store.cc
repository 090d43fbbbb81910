#include "store/embedded_store.h"

#include <algorithm>

#include "common/strings.h"

namespace berth::store {

using image::asInt;
using image::asText;
using image::Db;
using image::SqlRow;
using image::SqlValue;

namespace {

constexpr int64_t kSchemaVersion = 1;
constexpr int kEventPut = 0;
constexpr int kEventDelete = 1;
constexpr size_t kPooledReaders = 64;       // reading connections kept open between reads
constexpr Revision kWatchBatchRevs = 1000;  // revisions read by one Watch::next
// Batches between two checkpoints. The committer checkpoints itself, after acknowledging
// a batch: a checkpoint that runs beside the committer never finishes under steady load,
// so the WAL would never restart and would grow without end.
constexpr int64_t kCheckpointEvery = 64;

// Every connection maps the file, so reads copy no pages; the committer also keeps up to
// 64 MiB of the pages it changes in its cache (readers keep SQLite's small default).
Result<std::unique_ptr<Db>> openConnection(const std::string& path, bool writer) {
  auto db = BERTH_TRY(Db::open(path));
  BERTH_RETURN_IF_ERROR(db->exec("PRAGMA mmap_size=1073741824"));
  if (writer) BERTH_RETURN_IF_ERROR(db->exec("PRAGMA cache_size=-65536"));
  return db;
}

// One statement per entry: the wrapper prepares only the first statement of a string.
const char* const kSchema[] = {
    "CREATE TABLE IF NOT EXISTS store_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL, "
    "create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL, version INTEGER NOT NULL, "
    "lease INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS kv_by_lease ON kv(lease) WHERE lease != 0",
    "CREATE TABLE IF NOT EXISTS events(rev INTEGER NOT NULL, seq INTEGER NOT NULL, "
    "key TEXT NOT NULL, type INTEGER NOT NULL, value TEXT NOT NULL, "
    "create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL, "
    "prev_rev INTEGER NOT NULL, PRIMARY KEY(rev, seq)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS leases(id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO store_meta VALUES('schema', 1), ('revision', 0), ('compacted', 0), "
    "('lease_counter', 0)",
};

KeyValue kvOf(const SqlRow& r) {  // key, value, create_rev, mod_rev, version, lease
  return {asText(r[0]), asText(r[1]), asInt(r[2]), asInt(r[3]), asInt(r[4]), asInt(r[5])};
}

Result<int64_t> metaValue(Db& db, const char* name) {
  auto rows = BERTH_TRY(db.query("SELECT value FROM store_meta WHERE name = ?", {name}));
  if (rows.empty()) return internalError(std::string("store_meta has no ") + quote(name));
  return asInt(rows[0][0]);
}

bool holds(const Compare& c, const std::optional<KeyValue>& kv) {
  int cmp = 0;
  if (c.target == Compare::Target::kValue) {
    if (!kv) return false;
    cmp = kv->value.compare(c.value);
  } else {
    int64_t have = !kv                                            ? 0
                   : c.target == Compare::Target::kCreateRevision ? kv->create_revision
                   : c.target == Compare::Target::kModRevision    ? kv->mod_revision
                                                                  : kv->version;
    cmp = have < c.number ? -1 : have > c.number ? 1 : 0;
  }
  switch (c.op) {
    case Compare::Op::kEqual:
      return cmp == 0;
    case Compare::Op::kNotEqual:
      return cmp != 0;
    case Compare::Op::kLess:
      return cmp < 0;
    case Compare::Op::kGreater:
      return cmp > 0;
  }
  return false;
}

Result<std::optional<KeyValue>> currentKey(Db& db, const std::string& key) {
  auto rows = BERTH_TRY(db.query(
      "SELECT key, value, create_rev, mod_rev, version, lease FROM kv WHERE key = ?", {key}));
  if (rows.empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(kvOf(rows[0]));
}

// The keys a delete op removes, in key order, with their mod_rev.
Result<std::vector<SqlRow>> keysToDelete(Db& db, const Op& op) {
  if (op.type == Op::Type::kDelete)
    return db.query("SELECT key, mod_rev FROM kv WHERE key = ?", {op.key});
  if (std::string end = prefixEnd(op.key); !end.empty())
    return db.query("SELECT key, mod_rev FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                    {op.key, end});
  return db.query("SELECT key, mod_rev FROM kv WHERE key >= ? ORDER BY key", {op.key});
}

// A key as of revision `at` (≥ the compacted revision), walking back from the present: the
// first change after `at` names, in prev_rev, the revision the key had before it (0: none),
// and the event of that revision holds the key as it was.
Result<std::optional<KeyValue>> keyAt(Db& db, const std::string& key, Revision at) {
  auto after = BERTH_TRY(db.query(
      "SELECT prev_rev FROM events WHERE rev > ? AND key = ? ORDER BY rev LIMIT 1", {at, key}));
  if (after.empty()) return currentKey(db, key);  // unchanged since
  Revision prev = asInt(after[0][0]);
  if (prev == 0) return std::optional<KeyValue>();
  auto rows =
      BERTH_TRY(db.query("SELECT key, value, create_rev, rev, version, lease FROM events "
                         "WHERE rev = ? AND key = ?",
                         {prev, key}));
  if (rows.empty())
    return internalError("history of " + quote(key) + " has no event at revision " +
                         std::to_string(prev));
  return std::optional<KeyValue>(kvOf(rows[0]));
}

Status checkRevision(Db& db, Revision wanted) {
  Revision compacted = BERTH_TRY(metaValue(db, "compacted"));
  if (wanted < compacted) return compactedError(wanted, compacted);
  Revision now = BERTH_TRY(metaValue(db, "revision"));
  if (wanted > now)
    return invalidArgument("revision " + std::to_string(wanted) +
                           ": in the future (the store is at " + std::to_string(now) + ")");
  return okStatus();
}

}  // namespace

struct EmbeddedStore::Request {
  enum class Kind { kTxn, kGrant, kRevoke, kCompact };
  Kind kind = Kind::kTxn;
  Txn txn;
  int64_t number = 0;  // ttl for kGrant, lease for kRevoke, revision for kCompact
  std::promise<Result<Reply>> done;
};

// Reads the events table from next_ on; see the header for why nothing can be missed.
class EmbeddedStore::EmbeddedWatch : public Watch {
 public:
  EmbeddedWatch(EmbeddedStore& store, std::string prefix, Revision from)
      : store_(store), prefix_(std::move(prefix)), end_(prefixEnd(prefix_)), next_(from) {}
  ~EmbeddedWatch() override { cancel(); }

  Result<std::vector<Event>> next(std::chrono::milliseconds timeout) override {
    auto deadline = Clock::now() + timeout;
    while (true) {
      Revision upto = 0;
      {
        std::unique_lock lock(store_.revision_mu_);
        store_.revision_cv_.wait_until(lock, deadline,
                                       [&] { return cancelled_ || store_.revision_ >= next_; });
        if (cancelled_) return unavailable("watch " + quote(prefix_) + ": cancelled");
        if (store_.revision_ < next_) return std::vector<Event>();
        upto = std::min(store_.revision_, next_ + kWatchBatchRevs - 1);
      }
      auto events = BERTH_TRY(read(upto));
      next_ = upto + 1;
      if (!events.empty()) return events;
    }
  }

  void cancel() override {
    std::lock_guard lock(store_.revision_mu_);
    cancelled_ = true;
    store_.revision_cv_.notify_all();
  }

 private:
  Result<std::vector<Event>> read(Revision upto) {
    std::function<Result<std::vector<SqlRow>>(Db&)> query =
        [&](Db& db) -> Result<std::vector<SqlRow>> {
      Revision compacted = BERTH_TRY(metaValue(db, "compacted"));
      if (next_ < compacted) return compactedError(next_, compacted);
      const char* sql =
          end_.empty() ? "SELECT key, value, create_rev, rev, version, lease, type FROM events "
                         "WHERE rev >= ? AND rev <= ? AND key >= ? ORDER BY rev, seq"
                       : "SELECT key, value, create_rev, rev, version, lease, type FROM events "
                         "WHERE rev >= ? AND rev <= ? AND key >= ? AND key < ? ORDER BY rev, seq";
      std::vector<SqlValue> params{next_, upto, prefix_};
      if (!end_.empty()) params.emplace_back(end_);
      return db.query(sql, params);
    };
    auto rows = BERTH_TRY(store_.withReader(query));
    std::vector<Event> events;
    events.reserve(rows.size());
    for (const SqlRow& r : rows) {
      bool deleted = asInt(r[6]) == kEventDelete;
      Event e{deleted ? Event::Type::kDelete : Event::Type::kPut, kvOf(r)};
      events.push_back(std::move(e));
    }
    return events;
  }

  EmbeddedStore& store_;
  const std::string prefix_;
  const std::string end_;
  Revision next_;
  bool cancelled_ = false;  // GUARDED_BY(store_.revision_mu_)
};

Result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::open(const std::string& path) {
  auto db = openConnection(path, true);
  if (!db) return db.error().context("open store " + quote(path));
  std::unique_ptr<EmbeddedStore> store(new EmbeddedStore(path, std::move(*db)));
  if (Status s = store->load(); !s) return s.error().context("open store " + quote(path));
  store->committer_ = std::thread([s = store.get()] { s->commitLoop(); });
  store->expirer_ = std::thread([s = store.get()] { s->expiryLoop(); });
  return store;
}

EmbeddedStore::EmbeddedStore(std::string path, std::unique_ptr<Db> writer)
    : path_(std::move(path)), writer_(std::move(writer)) {}

Status EmbeddedStore::load() {
  // The committer checkpoints between batches (commitBatch), not inside a commit.
  BERTH_RETURN_IF_ERROR(writer_->exec("PRAGMA wal_autocheckpoint=0"));
  BERTH_RETURN_IF_ERROR(writer_->transaction([&]() -> Status {
    for (const char* sql : kSchema) BERTH_RETURN_IF_ERROR(writer_->exec(sql));
    return okStatus();
  }));
  int64_t schema = BERTH_TRY(metaValue(*writer_, "schema"));
  if (schema != kSchemaVersion)
    return unsupported("schema version " + std::to_string(schema) + " (this berth reads " +
                       std::to_string(kSchemaVersion) + ")");
  revision_ = BERTH_TRY(metaValue(*writer_, "revision"));
  compacted_ = BERTH_TRY(metaValue(*writer_, "compacted"));
  lease_counter_ = BERTH_TRY(metaValue(*writer_, "lease_counter"));
  auto rows = BERTH_TRY(writer_->query("SELECT id, ttl FROM leases"));
  auto now = Clock::now();
  for (const SqlRow& r : rows) {
    std::chrono::seconds ttl(asInt(r[1]));
    leases_[asInt(r[0])] = {ttl, now + ttl};
  }
  return okStatus();
}

EmbeddedStore::~EmbeddedStore() {
  {
    std::lock_guard lock(lease_mu_);
    lease_stopping_ = true;
    lease_cv_.notify_all();
  }
  if (expirer_.joinable()) expirer_.join();
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
    queue_cv_.notify_all();
  }
  if (committer_.joinable()) committer_.join();
}

template <class T>
Result<T> EmbeddedStore::withReader(const std::function<Result<T>(Db&)>& read) {
  std::unique_ptr<Db> db;
  {
    std::lock_guard lock(readers_mu_);
    if (!readers_.empty()) {
      db = std::move(readers_.back());
      readers_.pop_back();
    }
  }
  if (!db) {
    auto opened = openConnection(path_, false);
    if (!opened) return opened.error().context("open a reader of store " + quote(path_));
    db = std::move(*opened);
  }
  Result<T> result = [&]() -> Result<T> {
    BERTH_RETURN_IF_ERROR(db->exec("BEGIN"));
    Result<T> r = read(*db);
    if (Status s = db->exec("COMMIT"); !s) return s.error();
    return r;
  }();
  if (!result) (void)db->exec("ROLLBACK");
  std::lock_guard lock(readers_mu_);
  if (readers_.size() < kPooledReaders) readers_.push_back(std::move(db));
  return result;
}

Result<std::optional<KeyValue>> EmbeddedStore::get(const std::string& key, Revision revision) {
  BERTH_RETURN_IF_ERROR(validateKey(key));
  if (revision < 0) return invalidArgument("get " + quote(key) + ": negative revision");
  std::function<Result<std::optional<KeyValue>>(Db&)> read =
      [&](Db& db) -> Result<std::optional<KeyValue>> {
    if (revision == 0) return currentKey(db, key);
    BERTH_RETURN_IF_ERROR(checkRevision(db, revision));
    return keyAt(db, key, revision);
  };
  auto r = withReader(read);
  if (!r) return r.error().context("get " + quote(key));
  return r;
}

Result<RangeResult> EmbeddedStore::range(const std::string& prefix, const RangeOptions& options) {
  BERTH_RETURN_IF_ERROR(validateKey(prefix, true));
  if (options.limit < 0 || options.revision < 0)
    return invalidArgument("range " + quote(prefix) + ": negative limit or revision");
  const std::string end = prefixEnd(prefix);
  std::function<Result<RangeResult>(Db&)> read = [&](Db& db) -> Result<RangeResult> {
    RangeResult out;
    out.revision = BERTH_TRY(metaValue(db, "revision"));
    std::vector<SqlValue> params{prefix};
    if (!end.empty()) params.emplace_back(end);
    const bool now = options.revision == 0;
    if (!now) BERTH_RETURN_IF_ERROR(checkRevision(db, options.revision));
    // At an old revision, every key matters: the limit applies after the walk back.
    params.emplace_back(now && options.limit > 0 ? options.limit + 1 : -1);
    auto rows = BERTH_TRY(
        db.query(end.empty() ? "SELECT key, value, create_rev, mod_rev, version, lease FROM kv "
                               "WHERE key >= ? ORDER BY key LIMIT ?"
                             : "SELECT key, value, create_rev, mod_rev, version, lease FROM kv "
                               "WHERE key >= ? AND key < ? ORDER BY key LIMIT ?",
                 params));
    std::map<std::string, KeyValue> kvs;
    for (const SqlRow& r : rows) kvs.emplace(asText(r[0]), kvOf(r));
    if (!now) {
      // Keys changed since the revision take their value from then (or vanish).
      params.back() = options.revision;
      auto changed = BERTH_TRY(
          db.query(end.empty() ? "SELECT DISTINCT key FROM events WHERE key >= ? AND rev > ?"
                               : "SELECT DISTINCT key FROM events WHERE key >= ? AND key < ? "
                                 "AND rev > ?",
                   params));
      for (const SqlRow& r : changed) {
        std::string key = asText(r[0]);
        auto then = BERTH_TRY(keyAt(db, key, options.revision));
        if (then)
          kvs.insert_or_assign(key, std::move(*then));
        else
          kvs.erase(key);
      }
    }
    for (auto& [key, kv] : kvs) {
      if (options.limit > 0 && static_cast<int64_t>(out.kvs.size()) == options.limit) {
        out.more = true;
        break;
      }
      out.kvs.push_back(std::move(kv));
    }
    return out;
  };
  auto r = withReader(read);
  if (!r) return r.error().context("range " + quote(prefix));
  return r;
}

Result<Revision> EmbeddedStore::put(const std::string& key, const std::string& value,
                                    LeaseId lease) {
  Txn t;
  t.then.push_back(Op::put(key, value, lease));
  TxnResult r = BERTH_TRY(txn(t));
  return r.revision;
}

Result<TxnResult> EmbeddedStore::txn(const Txn& txn) {
  BERTH_RETURN_IF_ERROR(validateTxn(txn));
  auto request = std::make_unique<Request>();
  request->txn = txn;
  Reply reply = BERTH_TRY(submit(std::move(request)));
  return reply.txn;
}

Result<std::unique_ptr<Watch>> EmbeddedStore::watch(const std::string& prefix, Revision from) {
  BERTH_RETURN_IF_ERROR(validateKey(prefix, true));
  if (from < 0) return invalidArgument("watch " + quote(prefix) + ": negative revision");
  if (from == 0) {
    std::lock_guard lock(revision_mu_);
    from = revision_ + 1;
  }
  return std::unique_ptr<Watch>(new EmbeddedWatch(*this, prefix, from));
}

Result<Lease> EmbeddedStore::grantLease(std::chrono::seconds ttl) {
  if (ttl.count() < 1)
    return invalidArgument("grant lease: TTL must be at least 1 second, not " +
                           std::to_string(ttl.count()));
  auto request = std::make_unique<Request>();
  request->kind = Request::Kind::kGrant;
  request->number = ttl.count();
  Reply reply = BERTH_TRY(submit(std::move(request)));
  return Lease{reply.lease, ttl};
}

Result<std::chrono::seconds> EmbeddedStore::keepAlive(LeaseId id) {
  std::lock_guard lock(lease_mu_);
  auto it = leases_.find(id);
  if (it == leases_.end())
    return notFound("keep lease " + std::to_string(id) + " alive: it expired or was revoked");
  it->second.deadline = Clock::now() + it->second.ttl;
  return it->second.ttl;
}

Status EmbeddedStore::revokeLease(LeaseId id) {
  auto request = std::make_unique<Request>();
  request->kind = Request::Kind::kRevoke;
  request->number = id;
  auto r = submit(std::move(request));
  if (!r) return r.error();
  return okStatus();
}

Status EmbeddedStore::compact(Revision revision) {
  auto request = std::make_unique<Request>();
  request->kind = Request::Kind::kCompact;
  request->number = revision;
  auto r = submit(std::move(request));
  if (!r) return r.error().context("compact to revision " + std::to_string(revision));
  return okStatus();
}

Result<EmbeddedStore::Reply> EmbeddedStore::submit(std::unique_ptr<Request> request, bool wait) {
  auto done = request->done.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (stopping_) return unavailable("store " + quote(path_) + ": closing");
    queue_.push_back(std::move(request));
    queue_cv_.notify_one();
  }
  if (!wait) return Reply{};
  return done.get();
}

void EmbeddedStore::commitLoop() {
  std::vector<std::unique_ptr<Request>> batch;
  while (true) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      batch.swap(queue_);
    }
    commitBatch(batch);
    batch.clear();
  }
}

void EmbeddedStore::commitBatch(std::vector<std::unique_ptr<Request>>& batch) {
  Revision revision = 0;
  {
    std::lock_guard lock(revision_mu_);
    revision = revision_;
  }
  const Revision before = revision;
  const LeaseId counter_before = lease_counter_;
  const Revision compacted_before = compacted_;
  std::vector<Result<Reply>> replies;
  replies.reserve(batch.size());
  Status s = writer_->transaction([&]() -> Status {
    for (auto& request : batch) {
      Result<Reply> r = apply(*request, revision);
      // A request's own failure (a lease that is gone, a bad revision) is found before it
      // writes anything; an internal one aborts the whole batch.
      if (!r && r.error().code() == ErrorCode::kInternal) return r.error();
      replies.push_back(std::move(r));
    }
    if (revision != before)
      BERTH_RETURN_IF_ERROR(
          writer_->exec("UPDATE store_meta SET value = ? WHERE name = 'revision'", {revision}));
    return okStatus();
  });
  if (!s) {
    lease_counter_ = counter_before;
    compacted_ = compacted_before;
    Error e = s.error().context("commit to store " + quote(path_));
    for (auto& request : batch) request->done.set_value(e);
    return;
  }
  {
    std::lock_guard lock(lease_mu_);
    auto now = Clock::now();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!replies[i]) continue;
      if (batch[i]->kind == Request::Kind::kGrant) {
        std::chrono::seconds ttl(batch[i]->number);
        leases_[replies[i]->lease] = {ttl, now + ttl};
        lease_cv_.notify_all();
      } else if (batch[i]->kind == Request::Kind::kRevoke) {
        leases_.erase(batch[i]->number);
      }
    }
  }
  {
    std::lock_guard lock(revision_mu_);
    revision_ = revision;
    revision_cv_.notify_all();
  }
  for (size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(replies[i]));
  if (++batches_since_checkpoint_ >= kCheckpointEvery) {
    batches_since_checkpoint_ = 0;
    // A failure only leaves the WAL longer; the next round tries again.
    (void)writer_->exec("PRAGMA wal_checkpoint(PASSIVE)");
  }
}

Result<EmbeddedStore::Reply> EmbeddedStore::apply(Request& request, Revision& revision) {
  switch (request.kind) {
    case Request::Kind::kTxn: {
      TxnResult r = BERTH_TRY(applyTxn(request.txn, revision));
      return Reply{r, 0};
    }
    case Request::Kind::kGrant: {
      LeaseId id = lease_counter_ + 1;
      BERTH_RETURN_IF_ERROR(
          writer_->exec("INSERT INTO leases(id, ttl) VALUES(?, ?)", {id, request.number}));
      BERTH_RETURN_IF_ERROR(
          writer_->exec("UPDATE store_meta SET value = ? WHERE name = 'lease_counter'", {id}));
      lease_counter_ = id;
      return Reply{{true, revision, 0}, id};
    }
    case Request::Kind::kRevoke:
      return applyRevoke(request.number, revision);
    case Request::Kind::kCompact:
      return applyCompact(request.number);
  }
  return internalError("unknown store request");
}

Result<TxnResult> EmbeddedStore::applyTxn(const Txn& txn, Revision& revision) {
  Db& db = *writer_;
  bool succeeded = true;
  for (const Compare& c : txn.compares) {
    auto kv = BERTH_TRY(currentKey(db, c.key));
    if (!holds(c, kv)) {
      succeeded = false;
      break;
    }
  }
  const std::vector<Op>& ops = succeeded ? txn.then : txn.otherwise;
  for (const Op& op : ops) {
    if (op.type != Op::Type::kPut || op.lease == 0) continue;
    auto rows = BERTH_TRY(db.query("SELECT 1 FROM leases WHERE id = ?", {op.lease}));
    if (rows.empty())
      return notFound("put " + quote(op.key) + ": lease " + std::to_string(op.lease) +
                      " expired or was revoked");
  }
  const Revision rev = revision + 1;
  int seq = 0;
  int64_t deleted = 0;
  for (const Op& op : ops) {
    if (op.type == Op::Type::kPut) {
      auto old = BERTH_TRY(currentKey(db, op.key));
      KeyValue kv{
          op.key,  op.value, old ? old->create_revision : rev, rev, old ? old->version + 1 : 1,
          op.lease};
      BERTH_RETURN_IF_ERROR(
          db.exec("INSERT OR REPLACE INTO kv(key, value, create_rev, mod_rev, version, lease) "
                  "VALUES(?, ?, ?, ?, ?, ?)",
                  {kv.key, kv.value, kv.create_revision, rev, kv.version, kv.lease}));
      BERTH_RETURN_IF_ERROR(writeEvent(rev, seq++, kv, false, old ? old->mod_revision : 0));
      continue;
    }
    for (const SqlRow& r : BERTH_TRY(keysToDelete(db, op))) {
      std::string key = asText(r[0]);
      BERTH_RETURN_IF_ERROR(db.exec("DELETE FROM kv WHERE key = ?", {key}));
      BERTH_RETURN_IF_ERROR(
          writeEvent(rev, seq++, KeyValue{key, "", 0, rev, 0, 0}, true, asInt(r[1])));
      ++deleted;
    }
  }
  if (seq > 0) revision = rev;
  return TxnResult{succeeded, revision, deleted};
}

Status EmbeddedStore::writeEvent(Revision rev, int seq, const KeyValue& kv, bool deleted,
                                 Revision prev) {
  return writer_->exec(
      "INSERT INTO events(rev, seq, key, type, value, create_rev, version, lease, prev_rev) "
      "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {rev, int64_t{seq}, kv.key, int64_t{deleted ? kEventDelete : kEventPut}, kv.value,
       kv.create_revision, kv.version, kv.lease, prev});
}

Result<EmbeddedStore::Reply> EmbeddedStore::applyRevoke(LeaseId id, Revision& revision) {
  Db& db = *writer_;
  auto found = BERTH_TRY(db.query("SELECT 1 FROM leases WHERE id = ?", {id}));
  if (found.empty())
    return notFound("revoke lease " + std::to_string(id) + ": it expired or was revoked");
  Txn t;
  auto rows = BERTH_TRY(db.query("SELECT key FROM kv WHERE lease = ? ORDER BY key", {id}));
  for (const SqlRow& r : rows) t.then.push_back(Op::del(asText(r[0])));
  TxnResult result = BERTH_TRY(applyTxn(t, revision));
  BERTH_RETURN_IF_ERROR(db.exec("DELETE FROM leases WHERE id = ?", {id}));
  return Reply{result, id};
}

Result<EmbeddedStore::Reply> EmbeddedStore::applyCompact(Revision to) {
  Db& db = *writer_;
  Revision now = BERTH_TRY(metaValue(db, "revision"));
  if (to > now)
    return invalidArgument("revision " + std::to_string(to) +
                           " is in the future (the store is at " + std::to_string(now) + ")");
  if (to <= compacted_) return compactedError(to, compacted_);
  // Before `to`, a key's event matters only if it is a put and the key's last event at or
  // before `to` (keyAt reads it for any revision from `to` on).
  BERTH_RETURN_IF_ERROR(
      db.exec("DELETE FROM events WHERE rev < ?1 AND (type = 1 OR (rev, key) NOT IN "
              "(SELECT MAX(rev), key FROM events WHERE rev <= ?1 GROUP BY key))",
              {to}));
  BERTH_RETURN_IF_ERROR(db.exec("UPDATE store_meta SET value = ? WHERE name = 'compacted'", {to}));
  compacted_ = to;
  return Reply{{true, now, 0}, 0};
}

void EmbeddedStore::expiryLoop() {
  std::unique_lock lock(lease_mu_);
  while (!lease_stopping_) {
    auto now = Clock::now();
    auto next = Clock::time_point::max();
    std::vector<LeaseId> expired;
    for (auto it = leases_.begin(); it != leases_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(it->first);
        it = leases_.erase(it);  // from now on keepAlive says it is gone
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (LeaseId id : expired) {
        auto request = std::make_unique<Request>();
        request->kind = Request::Kind::kRevoke;
        request->number = id;
        (void)submit(std::move(request), false);
      }
      lock.lock();
      continue;
    }
    if (next == Clock::time_point::max())
      lease_cv_.wait(lock);
    else
      lease_cv_.wait_until(lock, next);
  }
}

}  // namespace berth::store
