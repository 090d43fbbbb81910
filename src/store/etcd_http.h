#pragma once
// Internal to the etcd backend: HTTP/1.1 to etcd's JSON gateway over TCP, with a pool of
// keep-alive connections. Asio and Beast stay in etcd_http.cc.
//
// Retries: while etcd cannot be reached (connection refused or reset before an answer,
// gateway 503 "unavailable"), a call waits with exponential back-off (20 ms doubling to
// 1 s) and tries again, up to `retry_for`; then it fails with kUnavailable naming the
// endpoint and the last cause. A request whose pooled connection turns out dead (etcd
// restarted) is sent again on a new one; if etcd had applied it just before dying, the
// write is applied twice (the same at-least-once as any client that retries).
//
// Thread-safety: post() from any number of threads; a Stream belongs to one thread except
// shutdown(), which any thread may call.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::store::etcd {

// One JSON message at a time from a streaming response (the gateway writes one per line).
class Stream {
 public:
  virtual ~Stream() = default;
  // The next message; kUnavailable when the stream ended or broke.
  virtual Result<nlohmann::json> next() = 0;
  // Breaks a blocked next() from another thread.
  virtual void shutdown() = 0;
};

class HttpPool {
 public:
  // `endpoint` is "HOST:PORT" (a leading "http://" is accepted).
  static Result<std::unique_ptr<HttpPool>> make(const std::string& endpoint,
                                                std::chrono::milliseconds retry_for);
  ~HttpPool();

  // POSTs a JSON body to `path` ("/v3/kv/put") and returns the answer's JSON. etcd's own
  // errors ({"code": N, "message": …}) come back as Errors with the matching code.
  Result<nlohmann::json> post(const std::string& path, const std::string& body);
  // Opens a streaming POST (/v3/watch) on a connection of its own; one connect attempt.
  Result<std::unique_ptr<Stream>> stream(const std::string& path, const std::string& body);

  const std::string& endpoint() const { return endpoint_; }

 private:
  struct Impl;
  HttpPool(std::string endpoint, std::unique_ptr<Impl> impl);
  const std::string endpoint_;
  std::unique_ptr<Impl> impl_;
};

// An etcd error body ({"code": gRPC code, "message": …}) as our Error.
Error etcdError(const nlohmann::json& body, int http_status);

}  // namespace berth::store::etcd
