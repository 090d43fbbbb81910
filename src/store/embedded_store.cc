#include "store/embedded_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/strings.h"

namespace berth::store {

using image::asInt;
using image::asText;
using image::Db;
using image::SqlRow;
using image::SqlValue;

namespace {

constexpr int64_t kSchemaVersion = 2;
constexpr int kEventPut = 0;
constexpr int kEventDelete = 1;
constexpr size_t kPooledReaders = 64;       // reading connections kept open between reads
constexpr Revision kWatchBatchRevs = 1000;  // revisions read by one Watch::next
// How long batches gather in one transaction of the tables before it is committed (unless
// a read needs it sooner). The committer checkpoints itself, when it folds the log: a checkpoint
// that runs beside the committer never finishes under steady load, so the WAL would never restart
// and would grow without end.
constexpr auto kCommitEvery = std::chrono::milliseconds(250);

// Every connection maps the file, so reads copy no pages; the committer also keeps up to
// 64 MiB of the pages it changes in its cache (readers keep SQLite's small default).
Result<std::unique_ptr<Db>> openConnection(const std::string& path, bool writer) {
  auto db = BERTH_TRY(Db::open(path));
  BERTH_RETURN_IF_ERROR(db->exec("PRAGMA mmap_size=1073741824"));
  if (writer) BERTH_RETURN_IF_ERROR(db->exec("PRAGMA cache_size=-65536"));
  // The committer's per-batch savepoints keep their undo pages in memory, not a temp file.
  if (writer) BERTH_RETURN_IF_ERROR(db->exec("PRAGMA temp_store=MEMORY"));
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
    "INSERT OR IGNORE INTO store_meta VALUES('schema', 2), ('revision', 0), ('compacted', 0), "
    "('lease_counter', 0), ('log_seq', 0), ('log_id', abs(random() >> 1))",
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

// A transaction as the operation log holds it: its compares, then both branches.
void encodeOps(LogWriter& w, const std::vector<Op>& ops) {
  w.u32(static_cast<uint32_t>(ops.size()));
  for (const Op& op : ops) {
    w.u8(static_cast<uint8_t>(op.type));
    w.bytes(op.key);
    w.bytes(op.value);
    w.u64(static_cast<uint64_t>(op.lease));
  }
}

void encodeTxn(LogWriter& w, const Txn& txn) {
  w.u32(static_cast<uint32_t>(txn.compares.size()));
  for (const Compare& c : txn.compares) {
    w.bytes(c.key);
    w.u8(static_cast<uint8_t>(c.target));
    w.u8(static_cast<uint8_t>(c.op));
    w.u64(static_cast<uint64_t>(c.number));
    w.bytes(c.value);
  }
  encodeOps(w, txn.then);
  encodeOps(w, txn.otherwise);
}

Result<std::vector<Op>> decodeOps(LogReader& r) {
  std::vector<Op> ops(BERTH_TRY(r.u32()));
  for (Op& op : ops) {
    uint8_t type = BERTH_TRY(r.u8());
    if (type > static_cast<uint8_t>(Op::Type::kDeletePrefix))
      return internalError("malformed operation log record: op type " + std::to_string(type));
    op.type = static_cast<Op::Type>(type);
    op.key = BERTH_TRY(r.bytes());
    op.value = BERTH_TRY(r.bytes());
    op.lease = static_cast<LeaseId>(BERTH_TRY(r.u64()));
  }
  return ops;
}

Result<Txn> decodeTxn(LogReader& r) {
  Txn txn;
  txn.compares.resize(BERTH_TRY(r.u32()));
  for (Compare& c : txn.compares) {
    c.key = BERTH_TRY(r.bytes());
    uint8_t target = BERTH_TRY(r.u8());
    uint8_t op = BERTH_TRY(r.u8());
    if (target > static_cast<uint8_t>(Compare::Target::kValue) ||
        op > static_cast<uint8_t>(Compare::Op::kGreater))
      return internalError("malformed operation log record: compare " + std::to_string(target) +
                           "/" + std::to_string(op));
    c.target = static_cast<Compare::Target>(target);
    c.op = static_cast<Compare::Op>(op);
    c.number = static_cast<int64_t>(BERTH_TRY(r.u64()));
    c.value = BERTH_TRY(r.bytes());
  }
  txn.then = BERTH_TRY(decodeOps(r));
  txn.otherwise = BERTH_TRY(decodeOps(r));
  return txn;
}

}  // namespace

// A request as the committer applies it, and as the operation log replays it: applying the
// same requests to the same tables gives the same result, so the log holds requests, not
// their effects.
struct EmbeddedStore::Request {
  enum class Kind { kTxn, kGrant, kRevoke, kCompact };
  Kind kind = Kind::kTxn;
  Txn txn;
  int64_t number = 0;  // ttl for kGrant, lease for kRevoke, revision for kCompact
  std::promise<Result<Reply>> done;

  void encode(LogWriter& w) const {
    w.u8(static_cast<uint8_t>(kind));
    w.u64(static_cast<uint64_t>(number));
    if (kind == Kind::kTxn) encodeTxn(w, txn);
  }

  static Result<std::unique_ptr<Request>> decode(LogReader& r) {
    auto request = std::make_unique<Request>();
    uint8_t kind = BERTH_TRY(r.u8());
    if (kind > static_cast<uint8_t>(Kind::kCompact))
      return internalError("malformed operation log record: request kind " + std::to_string(kind));
    request->kind = static_cast<Kind>(kind);
    request->number = static_cast<int64_t>(BERTH_TRY(r.u64()));
    if (request->kind == Kind::kTxn) request->txn = BERTH_TRY(decodeTxn(r));
    return request;
  }
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
        store_.revision_cv_.wait_until(lock, deadline, [&] {
          return cancelled_ || store_.broken_ || store_.revision_ >= next_;
        });
        if (cancelled_) return unavailable("watch " + quote(prefix_) + ": cancelled");
        if (store_.broken_) return *store_.broken_;
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

Result<std::unique_ptr<EmbeddedStore>> EmbeddedStore::open(const std::string& path,
                                                           uint64_t fold_bytes) {
  auto db = openConnection(path, true);
  if (!db) return db.error().context("open store " + quote(path));
  std::unique_ptr<EmbeddedStore> store(new EmbeddedStore(path, std::move(*db), fold_bytes));
  if (Status s = store->load(); !s) return s.error().context("open store " + quote(path));
  store->committer_ = std::thread([s = store.get()] { s->commitLoop(); });
  store->syncer_ = std::thread([s = store.get()] { s->syncLoop(); });
  store->expirer_ = std::thread([s = store.get()] { s->expiryLoop(); });
  return store;
}

EmbeddedStore::EmbeddedStore(std::string path, std::unique_ptr<Db> writer, uint64_t fold_bytes)
    : path_(std::move(path)), fold_bytes_(fold_bytes), writer_(std::move(writer)) {}

Status EmbeddedStore::load() {
  // The committer checkpoints when it folds the log, not inside a commit; its commits are
  // not synced (the operation log is), its checkpoints are (fold).
  BERTH_RETURN_IF_ERROR(writer_->exec("PRAGMA wal_autocheckpoint=0"));
  BERTH_RETURN_IF_ERROR(writer_->transaction([&]() -> Status {
    // A store this berth cannot read is refused before anything in it changes.
    BERTH_RETURN_IF_ERROR(writer_->exec(kSchema[0]));  // store_meta
    auto rows = BERTH_TRY(writer_->query("SELECT value FROM store_meta WHERE name = 'schema'"));
    if (!rows.empty() && asInt(rows[0][0]) != 1 && asInt(rows[0][0]) != kSchemaVersion)
      return unsupported("schema version " + std::to_string(asInt(rows[0][0])) +
                         " (this berth reads " + std::to_string(kSchemaVersion) + ")");
    for (const char* sql : kSchema) BERTH_RETURN_IF_ERROR(writer_->exec(sql));
    // Schema 1 (before the operation log) had no 'log_seq' and 'log_id', which the
    // statements above have just added: its log is empty, nothing else changed.
    return writer_->exec("UPDATE store_meta SET value = 2 WHERE name = 'schema' AND value = 1");
  }));
  revision_ = BERTH_TRY(metaValue(*writer_, "revision"));
  compacted_ = BERTH_TRY(metaValue(*writer_, "compacted"));
  lease_counter_ = BERTH_TRY(metaValue(*writer_, "lease_counter"));
  log_seq_ = static_cast<uint64_t>(BERTH_TRY(metaValue(*writer_, "log_seq")));
  const auto log_id = static_cast<uint64_t>(BERTH_TRY(metaValue(*writer_, "log_id")));
  log_ = BERTH_TRY(OpLog::open(path_ + "-oplog", log_id));
  BERTH_RETURN_IF_ERROR(writer_->exec("PRAGMA synchronous=OFF"));
  BERTH_RETURN_IF_ERROR(replay());
  applied_revision_ = revision_;
  auto rows = BERTH_TRY(writer_->query("SELECT id, ttl FROM leases"));
  auto now = Clock::now();
  for (const SqlRow& r : rows) {
    std::chrono::seconds ttl(asInt(r[1]));
    leases_[asInt(r[0])] = {ttl, now + ttl};
  }
  return okStatus();
}

Status EmbeddedStore::replay() {
  auto records = BERTH_TRY(log_->recover(log_seq_));
  for (const OpLog::Record& record : records) {
    LogReader r(record.payload);
    std::vector<std::unique_ptr<Request>> batch(BERTH_TRY(r.u32()));
    for (auto& request : batch) request = BERTH_TRY(Request::decode(r));
    if (!r.done()) return internalError("malformed operation log record: bytes left over");
    std::vector<Result<Reply>> replies;
    bool changed = false;
    Status s = applyBatch(batch, replies, revision_, changed);
    if (Status end = endBatch(s.ok()); s) s = end;
    if (!s) return s.error().context("replay batch " + std::to_string(record.seq));
    // Only requests that succeeded were logged; on the same tables they succeed again.
    for (const auto& reply : replies)
      if (!reply)
        return internalError("replay batch " + std::to_string(record.seq) +
                             ": a logged request failed: " + reply.error().message());
    if (!changed)
      return internalError("replay batch " + std::to_string(record.seq) + ": it changed nothing");
    ++log_seq_;
  }
  {
    std::lock_guard lock(revision_mu_);
    acked_seq_ = visible_seq_ = log_seq_;  // the replayed batches are in the log already
  }
  // Whatever the tables hold now, from the log or from commits that were never synced,
  // becomes durable before the log starts over.
  return fold();
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
  {
    std::lock_guard lock(sync_mu_);
    sync_stopping_ = true;
    sync_cv_.notify_all();
  }
  if (syncer_.joinable()) syncer_.join();
}

template <class T>
Result<T> EmbeddedStore::withReader(const std::function<Result<T>(Db&)>& read) {
  BERTH_RETURN_IF_ERROR(waitVisible());
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
    bool stop = false, wanted = false;
    {
      std::unique_lock lock(queue_mu_);
      auto ready = [&] { return stopping_ || !queue_.empty() || (txn_open_ && commit_wanted_); };
      if (txn_open_)
        queue_cv_.wait_until(lock, commit_due_, ready);
      else
        queue_cv_.wait(lock, ready);
      batch.swap(queue_);
      stop = stopping_ && batch.empty();  // everything queued is committed
      wanted = std::exchange(commit_wanted_, false);
    }
    if (!batch.empty()) commitBatch(batch);
    batch.clear();
    Status s = okStatus();
    if (stop || log_bytes_ >= fold_bytes_)
      s = fold();
    else if (txn_open_ && (wanted || Clock::now() >= commit_due_))
      s = commitTables();
    if (!s) breakStore(s.error());
    if (stop) {
      // Closing the last connection checkpoints once more: with syncs, like the fold's.
      (void)writer_->exec("PRAGMA synchronous=FULL");
    }
    if (txn_open_ && !s) {
      // The tables lost what the log holds, or the other way round: drop the transaction;
      // reopening the store replays the log.
      (void)writer_->exec("ROLLBACK");
      txn_open_ = false;
    }
    if (stop) return;
  }
}

void EmbeddedStore::commitBatch(std::vector<std::unique_ptr<Request>>& batch) {
  {
    std::lock_guard lock(revision_mu_);
    if (broken_) {
      for (auto& request : batch) request->done.set_value(*broken_);
      return;
    }
  }
  const LeaseId counter_before = lease_counter_;
  const Revision compacted_before = compacted_;
  Applied applied;
  applied.revision = applied_revision_;
  bool changed = false;
  Status s = applyBatch(batch, applied.replies, applied.revision, changed);
  if (Status end = endBatch(s.ok()); !end) {
    breakStore(end.error());  // the transaction may still hold the batch, or lost it
    if (s) s = end;
  }
  if (!s) {
    lease_counter_ = counter_before;
    compacted_ = compacted_before;
    Error e = s.error().context("commit to store " + quote(path_));
    for (auto& request : batch) request->done.set_value(e);
    return;
  }
  applied_revision_ = applied.revision;
  if (changed) {
    applied.seq = ++log_seq_;
    LogWriter record;
    uint32_t count = 0;
    for (const auto& reply : applied.replies) count += reply ? 1 : 0;
    record.u32(count);
    for (size_t i = 0; i < batch.size(); ++i)
      if (applied.replies[i]) batch[i]->encode(record);  // the others wrote nothing
    applied.record = std::move(record.data());
    log_bytes_ += applied.record.size();
  }
  applied.batch = std::move(batch);
  std::lock_guard lock(sync_mu_);
  to_sync_.push_back(std::move(applied));
  sync_cv_.notify_one();
}

void EmbeddedStore::syncLoop() {
  std::vector<Applied> work;
  std::vector<OpLog::Record> records;
  while (true) {
    {
      std::unique_lock lock(sync_mu_);
      sync_cv_.wait(lock, [&] { return sync_stopping_ || !to_sync_.empty(); });
      if (to_sync_.empty()) return;
      work.swap(to_sync_);
    }
    records.clear();
    for (Applied& a : work)
      if (a.seq != 0) records.push_back({a.seq, std::move(a.record)});
    Status s = okStatus();
    {
      std::lock_guard lock(revision_mu_);
      if (broken_) s = *broken_;  // nothing more goes into the log
    }
    if (s && !records.empty()) {
      s = log_->append(records);
      if (!s) {
        // A failed fdatasync may still have left the records on disk: a restart may replay
        // them, so their writers must not take the error as "not written".
        s = s.error().context(
            "write the operation log (these writes may or may not have been saved)");
        breakStore(s.error());
      }
    }
    acknowledge(work, s);
    work.clear();
  }
}

void EmbeddedStore::acknowledge(std::vector<Applied>& work, const Status& logged) {
  if (!logged) {
    for (Applied& a : work)
      for (auto& request : a.batch) request->done.set_value(logged.error());
    return;
  }
  {
    // Synced, so acknowledged, even if the store broke meanwhile: a restart replays them.
    std::lock_guard lock(revision_mu_);
    for (const Applied& a : work) acked_seq_ = std::max(acked_seq_, a.seq);
    revision_ = work.back().revision;
    revision_cv_.notify_all();
  }
  {
    std::lock_guard lock(lease_mu_);
    auto now = Clock::now();
    for (Applied& a : work)
      for (size_t i = 0; i < a.batch.size(); ++i) {
        if (!a.replies[i]) continue;
        const Request& request = *a.batch[i];
        if (request.kind == Request::Kind::kGrant) {
          std::chrono::seconds ttl(request.number);
          leases_[a.replies[i]->lease] = {ttl, now + ttl};
          lease_cv_.notify_all();
        } else if (request.kind == Request::Kind::kRevoke) {
          leases_.erase(request.number);
        }
      }
  }
  for (Applied& a : work)
    for (size_t i = 0; i < a.batch.size(); ++i) a.batch[i]->done.set_value(std::move(a.replies[i]));
}

Status EmbeddedStore::applyBatch(std::vector<std::unique_ptr<Request>>& batch,
                                 std::vector<Result<Reply>>& replies, Revision& revision,
                                 bool& changed) {
  if (!txn_open_) {
    BERTH_RETURN_IF_ERROR(writer_->exec("BEGIN IMMEDIATE"));
    txn_open_ = true;
    commit_due_ = Clock::now() + kCommitEvery;
  }
  BERTH_RETURN_IF_ERROR(writer_->exec("SAVEPOINT batch"));
  savepoint_open_ = true;
  const Revision before = revision;
  replies.reserve(batch.size());
  changed = false;
  for (auto& request : batch) {
    Result<Reply> r = apply(*request, revision);
    // A request's own failure (a lease that is gone, a bad revision) is found before it
    // writes anything; an internal one aborts the whole batch.
    if (!r && r.error().code() == ErrorCode::kInternal) return r.error();
    if (r && request->kind != Request::Kind::kTxn) changed = true;
    replies.push_back(std::move(r));
  }
  if (revision != before) {
    changed = true;
    BERTH_RETURN_IF_ERROR(
        writer_->exec("UPDATE store_meta SET value = ? WHERE name = 'revision'", {revision}));
  }
  if (changed)
    BERTH_RETURN_IF_ERROR(writer_->exec("UPDATE store_meta SET value = ? WHERE name = 'log_seq'",
                                        {static_cast<int64_t>(log_seq_ + 1)}));
  return okStatus();
}

Status EmbeddedStore::endBatch(bool keep) {
  if (!savepoint_open_) return okStatus();  // the batch failed before it wrote anything
  savepoint_open_ = false;
  if (!keep) BERTH_RETURN_IF_ERROR(writer_->exec("ROLLBACK TO batch"));
  return writer_->exec("RELEASE batch");
}

Status EmbeddedStore::commitTables() {
  {
    // Readers must never see a batch that is not in the log yet. A broken store commits
    // nothing (and so never folds: its log is what a restart needs).
    std::unique_lock lock(revision_mu_);
    if (txn_open_) revision_cv_.wait(lock, [&] { return acked_seq_ >= log_seq_ || broken_; });
    if (broken_) return *broken_;
  }
  if (!txn_open_) return okStatus();
  BERTH_RETURN_IF_ERROR(writer_->exec("COMMIT"));
  txn_open_ = false;
  std::lock_guard lock(revision_mu_);
  visible_seq_ = log_seq_;
  revision_cv_.notify_all();
  return okStatus();
}

Status EmbeddedStore::fold() {
  BERTH_RETURN_IF_ERROR(commitTables());
  // Every commit so far is in the WAL; synced, the tables hold what the log holds.
  const std::string wal = path_ + "-wal";
  sys::Fd fd(::open(wal.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() && errno != ENOENT)
    return internalError("open " + quote(wal) + ": " + std::strerror(errno));
  if (fd.valid() && ::fsync(fd.get()) != 0)
    return internalError("sync " + quote(wal) + ": " + std::strerror(errno));
  log_->restart();
  log_bytes_ = 0;
  // The checkpoint syncs the WAL and then the database, so the WAL may start over (the
  // next commit writes it from its beginning) only once its pages are in the database
  // durably. A failed checkpoint only leaves the WAL longer.
  BERTH_RETURN_IF_ERROR(writer_->exec("PRAGMA synchronous=FULL"));
  (void)writer_->exec("PRAGMA wal_checkpoint(PASSIVE)");
  return writer_->exec("PRAGMA synchronous=OFF");
}

void EmbeddedStore::breakStore(const Error& e) {
  std::lock_guard lock(revision_mu_);
  if (broken_) return;
  broken_ = e.context("store " + quote(path_) +
                      " stopped taking requests (restart to recover it from its operation log)");
  revision_cv_.notify_all();
}

Status EmbeddedStore::waitVisible() {
  std::unique_lock lock(revision_mu_);
  const uint64_t want = acked_seq_;
  if (visible_seq_ < want && !broken_) {
    lock.unlock();
    {
      std::lock_guard queue_lock(queue_mu_);
      commit_wanted_ = true;
      queue_cv_.notify_one();
    }
    lock.lock();
    revision_cv_.wait(lock, [&] { return visible_seq_ >= want || broken_; });
  }
  if (visible_seq_ < want) return *broken_;
  return okStatus();
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
