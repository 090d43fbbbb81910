#pragma once
// The Store: the one door to shared state (DESIGN.md "Storage"). A key-value space with one
// global revision, ranges by prefix, transactions (compare, then puts and deletes, else
// other puts and deletes), watches from any revision still in the history, and leases
// whose keys vanish when they expire. Two implementations share this contract and one
// conformance suite (store_conformance_test.cc): EmbeddedStore (SQLite, one host) and
// EtcdStore (etcd v3, clusters).
//
// The model is etcd's, so that both implementations mean the same thing:
// - Every change bumps the store's revision by one; a transaction is one change, however
//   many keys it touches, and all its events carry that revision. A delete of nothing and
//   a transaction that writes nothing do not bump the revision.
// - A key's create_revision is the revision that created it (0: the key does not exist),
//   mod_revision the one that last changed it, version the number of changes since it was
//   created (a delete resets it).
// - A watch delivers every change under its prefix at or after its start revision, in
//   revision order and, within one revision, in the order of the transaction's ops; it
//   never skips one. History older than the compacted revision is gone: a watch or a
//   range that needs it fails with a "compacted" error (kNotFound, see isCompacted).
// - A lease has a TTL in seconds; keys put with it are deleted (with delete events) when
//   it is revoked or expires without a keep-alive.
//
// Keys are non-empty byte strings of at most kMaxKeyBytes without NUL bytes; berth's keys
// live under /berth/v1/ (see DESIGN.md "The shared key space"). Values are bytes up to
// kMaxValueBytes.
//
// Thread-safety: every method of Store may be called from any thread at once. A Watch is
// used by one thread at a time, except cancel(), which any thread may call. The Store must
// outlive its Watches.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::store {

using Revision = int64_t;
using LeaseId = int64_t;  // 0: no lease

constexpr size_t kMaxKeyBytes = 4096;
constexpr size_t kMaxValueBytes = 1 << 20;

struct KeyValue {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
  int64_t version = 0;
  LeaseId lease = 0;

  bool operator==(const KeyValue&) const = default;
};

struct RangeOptions {
  int64_t limit = 0;      // at most this many keys (0: all)
  Revision revision = 0;  // the state as of this revision (0: the current one)
};

struct RangeResult {
  std::vector<KeyValue> kvs;  // sorted by key (bytewise)
  Revision revision = 0;      // the store's revision when the range was read
  bool more = false;          // true when `limit` cut the answer short
};

// One condition of a transaction. A missing key has create_revision, mod_revision and
// version 0 and no value (so a value comparison with a missing key is false).
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  enum class Op { kEqual, kNotEqual, kLess, kGreater };

  std::string key;
  Target target = Target::kModRevision;
  Op op = Op::kEqual;
  int64_t number = 0;  // for the revision and version targets
  std::string value;   // for kValue

  static Compare modRevisionIs(std::string key, Revision r) {
    return {std::move(key), Target::kModRevision, Op::kEqual, r, {}};
  }
  static Compare valueIs(std::string key, std::string v) {
    return {std::move(key), Target::kValue, Op::kEqual, 0, std::move(v)};
  }
  static Compare exists(std::string key) {
    return {std::move(key), Target::kCreateRevision, Op::kGreater, 0, {}};
  }
  static Compare absent(std::string key) {
    return {std::move(key), Target::kCreateRevision, Op::kEqual, 0, {}};
  }
};

// One write of a transaction.
struct Op {
  enum class Type { kPut, kDelete, kDeletePrefix };

  Type type = Type::kPut;
  std::string key;  // the prefix for kDeletePrefix (never empty)
  std::string value;
  LeaseId lease = 0;

  static Op put(std::string key, std::string value, LeaseId lease = 0) {
    return {Type::kPut, std::move(key), std::move(value), lease};
  }
  static Op del(std::string key) { return {Type::kDelete, std::move(key), {}, 0}; }
  static Op delPrefix(std::string prefix) {
    return {Type::kDeletePrefix, std::move(prefix), {}, 0};
  }
};

// If every compare holds, the `then` ops run, otherwise the `otherwise` ops; atomically.
// A key may appear in at most one op of a branch (as etcd requires).
struct Txn {
  std::vector<Compare> compares;
  std::vector<Op> then;
  std::vector<Op> otherwise;
};

struct TxnResult {
  bool succeeded = false;  // the compares held
  Revision revision = 0;   // the store's revision after the transaction
  int64_t deleted = 0;     // keys deleted by the branch that ran
};

struct Event {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For a put: the key as written. For a delete: the key, with mod_revision the revision of
  // the delete and the other fields empty.
  KeyValue kv;
};

// A stream of events from a start revision. Not copyable; destroying it cancels it.
class Watch {
 public:
  virtual ~Watch() = default;

  // Blocks until there are events or `timeout` passes; returns the events in order (empty
  // when the timeout passed first). Errors end the watch: compacted (isCompacted) when the
  // start revision is older than the history kept, kUnavailable "cancelled" after cancel().
  // A backend that loses its connection reconnects on its own and resumes after the last
  // event delivered, so a disconnect is never seen as a gap.
  virtual Result<std::vector<Event>> next(std::chrono::milliseconds timeout) = 0;

  // Ends the watch and wakes a blocked next(). Safe from any thread, repeatable.
  virtual void cancel() = 0;
};

struct Lease {
  LeaseId id = 0;
  std::chrono::seconds ttl{0};
};

class Store {
 public:
  virtual ~Store() = default;

  // The key as of `revision` (0: now), or nullopt when it does not exist.
  virtual Result<std::optional<KeyValue>> get(const std::string& key, Revision revision = 0) = 0;
  // Every key starting with `prefix` ("" is every key).
  virtual Result<RangeResult> range(const std::string& prefix,
                                    const RangeOptions& options = {}) = 0;
  // Writes `value` at `key`, attached to `lease` if not 0 (kNotFound if the lease is gone).
  // Returns the new revision once the write is durable.
  virtual Result<Revision> put(const std::string& key, const std::string& value,
                               LeaseId lease = 0) = 0;
  virtual Result<TxnResult> txn(const Txn& txn) = 0;

  // Events for keys starting with `prefix` at revisions ≥ `from` (0: from the next change).
  virtual Result<std::unique_ptr<Watch>> watch(const std::string& prefix, Revision from) = 0;

  // A lease that expires `ttl` (≥ 1 s) from now unless kept alive.
  virtual Result<Lease> grantLease(std::chrono::seconds ttl) = 0;
  // Restarts the lease's TTL; returns it. kNotFound when the lease expired or was revoked.
  virtual Result<std::chrono::seconds> keepAlive(LeaseId id) = 0;
  // Deletes the lease and its keys now. kNotFound when it is gone already.
  virtual Status revokeLease(LeaseId id) = 0;

  // Forgets the history before `revision`: watches and ranges from older revisions fail
  // with a compacted error afterwards.
  virtual Status compact(Revision revision) = 0;

  // Conveniences over txn().
  // Deletes `key`; returns the revision after it (unchanged when the key did not exist).
  Result<TxnResult> del(const std::string& key);
  Result<TxnResult> delPrefix(const std::string& prefix);
  // Compare-and-swap: writes only if the key's mod_revision is `expected` (0: the key must
  // not exist). On a mismatch, kConflict naming the key's current mod_revision.
  Result<Revision> putIfRevision(const std::string& key, const std::string& value,
                                 Revision expected, LeaseId lease = 0);
};

// The first key after every key with this prefix ("" for an empty prefix or one of only
// 0xff bytes: no end). etcd's range_end.
std::string prefixEnd(const std::string& prefix);

// Checks a key (or, when `prefix`, a range prefix, which may be empty): kInvalidArgument
// saying what is wrong.
Status validateKey(const std::string& key, bool prefix = false);
// Checks every key and value of a transaction and that no key repeats in a branch.
Status validateTxn(const Txn& txn);

// The error for a revision older than the history: kNotFound "… compacted …".
Error compactedError(Revision wanted, Revision compacted);
bool isCompacted(const Error& e);

}  // namespace berth::store
