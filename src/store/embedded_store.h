#pragma once
// The Store on one SQLite database: berth's default, nothing to install. Durable: put and
// txn return only after their batch's record is synced in the operation log (op_log.h), so
// an acknowledged write survives kill -9 and power loss.
//
// Group commit, pipelined: one committer thread owns the writing connection. Writers queue
// their requests and wait; the committer takes everything queued and applies it to the
// tables (each request keeps its own revision and its own compares, evaluated against the
// writes before it) and hands the batch on to the syncer thread, which appends the batches
// waiting for it to the operation log, syncs once and acknowledges their requests in order
// — while the committer applies the next batch. Concurrent writers share one fdatasync of
// a few KiB. A batch's reply may depend on the batches before it, so even a batch that
// changed nothing is answered only after them; a failed log write fails every batch not
// yet acknowledged and stops the store: reads, writes and watches fail from then on, saying
// that a restart recovers it from the log, and it never folds again.
//
// The tables lag behind the log: consecutive batches go into one SQLite transaction that
// is committed without a sync (synchronous=OFF) every kCommitEvery, or at once when a read
// or a watch needs what it holds, so a page many puts change is written once rather than
// by every batch. Reads run on a small pool of reading connections, in parallel with the
// committer; a read first waits until the tables hold every batch acknowledged when it
// began (linearizable reads). When the log passes kFoldBytes the committer folds it: it
// commits, syncs the tables' WAL, checkpoints with syncs and starts the log over. Opening a
// store replays what the tables lack from the log (their 'log_seq' names the last batch
// they hold) and folds before accepting writes.
//
// Leases: their TTLs live in the database, their deadlines in memory; a timer thread
// revokes a lease when its deadline passes (through the committer, so the deletes are
// ordinary events). A reopened store restarts every lease's TTL, as etcd does after a
// leader change: a lease never expires while no one could have kept it alive.
//
// Persisted layout (schema version 2; store_meta 'schema'). Version 2 added 'log_seq' and
// 'log_id' for the operation log; a version-1 store is migrated by adding them (it has no
// log yet). A berth from before the log refuses a version-2 store rather than open its
// tables without replaying the log.
//   store_meta(name PRIMARY KEY, value)  'schema' 1, 'revision' the current revision,
//                                        'compacted' history before it is gone,
//                                        'lease_counter' the last lease id granted,
//                                        'log_seq' the last batch of the log applied,
//                                        'log_id' the id in its log's records
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
// The operation log (`<path>-oplog`, op_log.h) holds each changing batch's requests, which
// replay to the same effect on the same tables.

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "image/sqlite.h"
#include "store/op_log.h"
#include "store/store.h"

namespace berth::store {

class EmbeddedStore : public Store {
 public:
  // The operation log is folded once it holds this many bytes of records.
  static constexpr uint64_t kFoldBytes = 32 << 20;

  // Opens (creating) the store in the SQLite file at `path` (its operation log beside it,
  // `<path>-oplog`) and starts its threads. Tests fold more often with a small `fold_bytes`.
  static Result<std::unique_ptr<EmbeddedStore>> open(const std::string& path,
                                                     uint64_t fold_bytes = kFoldBytes);
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

  EmbeddedStore(std::string path, std::unique_ptr<image::Db> writer, uint64_t fold_bytes);
  Status load();
  Status replay();

  // Queues a request for the committer and waits for its commit.
  Result<Reply> submit(std::unique_ptr<Request> request, bool wait = true);
  // A batch applied to the tables, on its way to the log and to its requests.
  struct Applied {
    std::vector<std::unique_ptr<Request>> batch;
    std::vector<Result<Reply>> replies;
    Revision revision = 0;  // the store's revision after it
    uint64_t seq = 0;       // its number in the log; 0: it changed nothing, has no record
    std::string record;
  };

  void commitLoop();
  void commitBatch(std::vector<std::unique_ptr<Request>>& batch);
  void syncLoop();
  // Answers the batches' requests: with their replies once `logged`, else with its error.
  void acknowledge(std::vector<Applied>& applied, const Status& logged);
  // Applies a batch to the open transaction (opening one if needed) and, when it changed
  // anything, records its revision and sequence number in store_meta; `changed` says so.
  Status applyBatch(std::vector<std::unique_ptr<Request>>& batch,
                    std::vector<Result<Reply>>& replies, Revision& revision, bool& changed);
  // Ends the batch's savepoint: keeps its writes or rolls them back.
  Status endBatch(bool keep);
  // Commits the open transaction, unsynced: the tables now show every batch applied.
  Status commitTables();
  // Commits, makes the tables durable and starts the log over.
  Status fold();
  // Fails every request from now on: the tables no longer match the log.
  void breakStore(const Error& e);
  // Waits until the tables show every batch acknowledged so far.
  Status waitVisible();
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
  const uint64_t fold_bytes_;
  std::unique_ptr<image::Db> writer_;  // the committer's only
  std::unique_ptr<OpLog> log_;         // the committer's only
  uint64_t log_seq_ = 0;               // the last batch applied to the tables (committer's)
  Revision applied_revision_ = 0;      // the revision after it (committer's)
  uint64_t log_bytes_ = 0;             // records handed on since the last fold (committer's)
  bool txn_open_ = false;              // the committer's
  bool savepoint_open_ = false;        // the committer's: a batch is being applied
  Clock::time_point commit_due_;       // when the open transaction must be committed

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<Applied> to_sync_;  // GUARDED_BY(sync_mu_)
  bool sync_stopping_ = false;    // GUARDED_BY(sync_mu_)

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<image::Db>> readers_;  // GUARDED_BY(readers_mu_)

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<std::unique_ptr<Request>> queue_;  // GUARDED_BY(queue_mu_)
  bool stopping_ = false;                        // GUARDED_BY(queue_mu_)
  bool commit_wanted_ = false;                   // GUARDED_BY(queue_mu_): a reader waits

  // The acknowledged revision and batches; watchers and readers wait on revision_cv_.
  std::mutex revision_mu_;
  std::condition_variable revision_cv_;
  Revision revision_ = 0;        // GUARDED_BY(revision_mu_)
  uint64_t acked_seq_ = 0;       // GUARDED_BY(revision_mu_): the last batch acknowledged
  uint64_t visible_seq_ = 0;     // GUARDED_BY(revision_mu_): the last batch readers see
  std::optional<Error> broken_;  // GUARDED_BY(revision_mu_)
  Revision compacted_ = 0;       // the committer's copy; readers read it from store_meta

  std::mutex lease_mu_;
  std::condition_variable lease_cv_;
  struct LeaseState {
    std::chrono::seconds ttl;
    Clock::time_point deadline;
  };
  std::map<LeaseId, LeaseState> leases_;  // GUARDED_BY(lease_mu_)
  bool lease_stopping_ = false;           // GUARDED_BY(lease_mu_)
  LeaseId lease_counter_ = 0;             // the committer's

  std::thread committer_;
  std::thread syncer_;
  std::thread expirer_;
};

}  // namespace berth::store
