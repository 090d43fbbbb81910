#pragma once
// The Store on one SQLite database: berth's default, nothing to install. Durable: put and
// txn return only after their transaction is committed with synchronous=FULL in WAL mode,
// so an acknowledged write survives kill -9 and power loss.
//
// Group commit: one committer thread owns the writing connection. Writers queue their
// requests and wait; the committer takes everything queued, applies it in one SQLite
// transaction (each request keeps its own revision and its own compares, evaluated against
// the writes before it in the batch) and commits once, so concurrent writers share one
// fsync. Reads run on a small pool of reading connections, in parallel with the commit.
//
// Leases: their TTLs live in the database, their deadlines in memory; a timer thread
// revokes a lease when its deadline passes (through the committer, so the deletes are
// ordinary events). A reopened store restarts every lease's TTL, as etcd does after a
// leader change: a lease never expires while no one could have kept it alive.
//
// Persisted layout (schema version 1; store_meta 'schema'):
//   store_meta(name PRIMARY KEY, value)  'schema' 1, 'revision' the current revision,
//                                        'compacted' history before it is gone,
//                                        'lease_counter' the last lease id granted
//   kv(key PRIMARY KEY, value, create_rev, mod_rev, version, lease)   the current state
//   events(rev, seq, key, type, value, create_rev, version, lease, prev_rev)   the history:
//       one row per change, seq its place in its transaction; type 0 put, 1 delete; prev_rev
//       the key's mod_rev before the change (0: it did not exist). No index on key: a
//       commit then dirties the kv page and the history's last page, and a read at an old
//       revision walks back from the present along prev_rev (its cost grows with the
//       changes since that revision)
//   leases(id PRIMARY KEY, ttl)                                       live leases, ttl in s
// compact(R) deletes events before R except each key's last put at or before R (a read at
// a revision ≥ R may still need it); watches read the events table, so they never miss
// what was committed.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image/sqlite.h"
#include "store/store.h"

namespace berth::store {

class EmbeddedStore : public Store {
 public:
  // Opens (creating) the store in the SQLite file at `path` and starts its threads.
  static Result<std::unique_ptr<EmbeddedStore>> open(const std::string& path);
  // Stops the threads after the queued writes are committed.
  ~EmbeddedStore() override;

  Result<std::optional<KeyValue>> get(const std::string& key, Revision revision = 0) override;
  Result<RangeResult> range(const std::string& prefix, const RangeOptions& options = {}) override;
  Result<Revision> put(const std::string& key, const std::string& value,
                       LeaseId lease = 0) override;
  Result<TxnResult> txn(const Txn& txn) override;
  Result<std::unique_ptr<Watch>> watch(const std::string& prefix, Revision from) override;
  Result<Lease> grantLease(std::chrono::seconds ttl) override;
  Result<std::chrono::seconds> keepAlive(LeaseId id) override;
  Status revokeLease(LeaseId id) override;
  Status compact(Revision revision) override;

 private:
  class EmbeddedWatch;
  struct Request;
  struct Reply {
    TxnResult txn;
    LeaseId lease = 0;
  };
  using Clock = std::chrono::steady_clock;

  EmbeddedStore(std::string path, std::unique_ptr<image::Db> writer);
  Status load();

  // Queues a request for the committer and waits for its commit.
  Result<Reply> submit(std::unique_ptr<Request> request, bool wait = true);
  void commitLoop();
  void commitBatch(std::vector<std::unique_ptr<Request>>& batch);
  Result<Reply> apply(Request& request, Revision& revision);
  Result<TxnResult> applyTxn(const Txn& txn, Revision& revision);
  Result<Reply> applyRevoke(LeaseId id, Revision& revision);
  Result<Reply> applyCompact(Revision to);
  Status writeEvent(Revision rev, int seq, const KeyValue& kv, bool deleted, Revision prev);

  void expiryLoop();

  // Runs `read` in one read transaction on a pooled reading connection.
  template <class T>
  Result<T> withReader(const std::function<Result<T>(image::Db&)>& read);

  const std::string path_;
  std::unique_ptr<image::Db> writer_;  // the committer's only

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<image::Db>> readers_;  // GUARDED_BY(readers_mu_)

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<std::unique_ptr<Request>> queue_;  // GUARDED_BY(queue_mu_)
  bool stopping_ = false;                        // GUARDED_BY(queue_mu_)

  // The committed revision; watchers wait on revision_cv_ for it to move.
  std::mutex revision_mu_;
  std::condition_variable revision_cv_;
  Revision revision_ = 0;   // GUARDED_BY(revision_mu_)
  Revision compacted_ = 0;  // the committer's copy; readers read it from store_meta

  std::mutex lease_mu_;
  std::condition_variable lease_cv_;
  struct LeaseState {
    std::chrono::seconds ttl;
    Clock::time_point deadline;
  };
  std::map<LeaseId, LeaseState> leases_;  // GUARDED_BY(lease_mu_)
  bool lease_stopping_ = false;           // GUARDED_BY(lease_mu_)
  LeaseId lease_counter_ = 0;             // the committer's

  int64_t batches_since_checkpoint_ = 0;  // the committer's

  std::thread committer_;
  std::thread expirer_;
};

}  // namespace berth::store
