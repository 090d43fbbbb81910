#pragma once
// The Store on etcd v3 (Debian's etcd-server 3.4), for clusters: berth never implements
// consensus of its own. The keys are etcd's keys, so `etcdctl get --prefix /berth/v1/`
// shows what berth stored.
//
// Why etcd's JSON gateway (/v3/kv/range, /v3/kv/txn, /v3/watch, /v3/lease/…) and not gRPC:
// - it needs nothing beyond what berth already builds with (Boost.Beast for HTTP/1.1,
//   nlohmann-json); gRPC would add libgrpc++, protobuf and code generated from etcd's
//   .proto files to the build, for one module;
// - it is etcd's own, documented and versioned API (the gateway runs inside etcd and
//   forwards to the same gRPC service), so nothing is lost in meaning: revisions,
//   transactions, streaming watches and lease keep-alives are all there;
// - the cost is JSON and base64 on each call, which bench/store.sh measures against etcd
//   called the same way directly: the gateway, not this client, is the bottleneck.
//
// Connections: a pool of keep-alive HTTP/1.1 connections for calls (one per concurrent
// caller at most), one connection of its own per watch. See etcd_http.h for the retries
// while etcd is unreachable.
//
// Watches run a thread each that reads etcd's stream into a queue; when the stream breaks
// (etcd restarted, connection cut) the thread reconnects with back-off and asks for the
// revision after the last one it delivered, so a disconnect shows as a delay, never as a
// gap. If etcd compacted that revision meanwhile, next() returns the compacted error.
//
// Leases: etcd rounds a TTL up to its minimum (about 2 s with default settings); the Lease
// returned says the TTL etcd granted.

#include <chrono>
#include <memory>
#include <string>

#include "store/store.h"

namespace berth::store {

namespace etcd {
class HttpPool;
}

struct EtcdOptions {
  std::string endpoint = "127.0.0.1:2379";  // HOST:PORT of an etcd client URL (http)
  // How long a call keeps retrying while etcd is unreachable before kUnavailable.
  std::chrono::milliseconds retry_for{30000};
};

class EtcdStore : public Store {
 public:
  // Does not contact etcd (a daemon may start before its etcd); bad options are refused.
  static Result<std::unique_ptr<EtcdStore>> open(const EtcdOptions& options);
  ~EtcdStore() override;

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
  class EtcdWatch;
  explicit EtcdStore(std::unique_ptr<etcd::HttpPool> http);
  std::unique_ptr<etcd::HttpPool> http_;
};

}  // namespace berth::store
