#pragma once
// The service catalog (issue 7, DESIGN.md "The shared key space"): instances of services
// registered by the daemons of the hosts that run them, under
// /berth/v1/catalog/<service>/<instance-id> in the Store, each key bound to its node's
// lease so that a host that dies takes its instances with it. Every daemon keeps a mirror
// of the whole catalog in memory, fed by one Store watch, so that DNS and HTTP answer
// from memory and a blocking query wakes as soon as the mirror changes.
//
// Health: an instance may carry one check (TCP connect, HTTP GET answering 2xx, or a
// command run in its container), run by the daemon that registered it every `interval`.
// An instance with a check starts critical and turns passing after `successes`
// consecutive passes (the first check runs at once); `failures` consecutive failures turn
// it critical again. Only transitions are written to the Store. An instance without a
// check is passing.
//
// Registrations made through the API are also kept in a local file (CatalogOptions::
// state_file) and registered again when the daemon restarts, as a Consul agent keeps its
// services; instances of containers are registered again by their registrar.
//
// Thread-safety: every method may be called from any thread at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "store/store.h"

namespace berth::catalog {

constexpr std::string_view kCatalogRoot = "/berth/v1/catalog/";

struct Check {
  enum class Kind { kNone, kTcp, kHttp, kCommand };
  Kind kind = Kind::kNone;
  // kTcp: connect to the instance's address:port. kHttp: GET http://address:port<path>
  // ("/" when empty). kCommand: `command` run in `Instance::container`, exit 0 passes.
  std::string path;
  std::vector<std::string> command;
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds timeout{2000};
  int failures = 1;   // consecutive failures that make a passing instance critical
  int successes = 1;  // consecutive passes that make a critical instance passing

  bool operator==(const Check&) const = default;
};

enum class Health { kPassing, kCritical };

struct Instance {
  std::string service;  // a DNS label: [a-z0-9-], 1-63 chars, not starting or ending in '-'
  std::string id;       // unique within the service: [A-Za-z0-9_.-], 1-128 chars
  std::string address;  // an IPv4 address
  uint16_t port = 0;    // 0: none (no SRV record)
  std::string node;     // the registering daemon's node name
  std::vector<std::string> tags;  // DNS labels, as service
  std::map<std::string, std::string> meta;
  std::string container;  // the container's id when registered for a container
  Check check;
  Health health = Health::kPassing;
  std::string output;  // what the last check said ("HTTP 200", "connection refused", …)

  bool operator==(const Instance&) const = default;
};

// JSON as the API shows it:
// {"service":"web","id":"…","address":"10.89.0.2","port":80,"node":"h1","tags":["v1"],
//  "meta":{},"container":"…","check":{"type":"http","path":"/","interval":"10s",
//  "timeout":"2s","failures":1,"successes":1},"health":"passing","output":"HTTP 200"}
// ("check" is absent for kNone; "command" an array for kCommand.)
nlohmann::json toJson(const Instance& in);
// Reads what toJson writes; missing fields keep their defaults. kInvalidArgument naming the
// field for a wrong type or value (durations are "500ms", "10s", "1m").
Result<Instance> instanceFromJson(const nlohmann::json& j);
// Checks names, address, tags and check limits (interval ≥ 100 ms, 0 < timeout ≤
// interval, thresholds ≥ 1, a command check needs a container and a command).
Status validate(const Instance& in);
std::string instanceKey(const std::string& service, const std::string& id);
// A duration as the JSON writes it: "1h", "1m", "10s", "500ms" (the largest exact unit).
std::string formatDuration(std::chrono::milliseconds d);

// One service as `ls` shows it.
struct ServiceSummary {
  std::string name;
  std::vector<std::string> tags;  // union over its instances, sorted
  int instances = 0;
  int passing = 0;
};

// Runs a check command in a container (the engine's exec); returns the exit code and
// fills `output` with the first bytes it wrote. Given by the daemon; null: command
// checks fail with "command checks need the engine".
using CommandRunner =
    std::function<Result<int>(const std::string& container, const std::vector<std::string>& command,
                              std::chrono::milliseconds timeout, std::string* output)>;

struct CatalogOptions {
  std::string node;                    // this daemon's node name (default: the host name)
  std::chrono::seconds lease_ttl{10};  // kept alive every ttl/3
  std::string state_file;              // API registrations survive restarts here ("": not kept)
  CommandRunner run_command;
};

class Catalog {
 public:
  // Grants the node's lease and keeps it alive, loads the catalog into the mirror and
  // watches it, registers again what state_file holds, and removes instances of this
  // node left from an earlier run that nobody registers again within one lease TTL
  // (the registrar re-registers running containers at start).
  static Result<std::unique_ptr<Catalog>> open(store::Store& store, CatalogOptions options);
  // Stops checks and the keep-alive and revokes the lease: this node's instances vanish.
  ~Catalog();

  // Registers (or replaces, same service and id) an instance of this node: written with
  // the node's lease; its check starts (registered again with the same check, address,
  // port and container, it keeps its health and its check runs on). `persist`: an API
  // registration, kept in state_file.
  // Returns the Store revision of the write: the mirror shows it once index() reaches it.
  Result<store::Revision> registerInstance(Instance in, bool persist = false);
  // kNotFound "service 'web' has no instance 'x'" when absent; kConflict for another
  // node's instance (that node would put it back: deregister it there).
  Result<store::Revision> deregister(const std::string& service, const std::string& id);
  // The instances this node registered for `container` are deregistered.
  Status deregisterContainer(const std::string& container);

  // From the mirror, never waiting for the Store.
  // The revision the mirror reflects.
  store::Revision index() const;
  // The revision of the last change to `service` (0: never seen).
  store::Revision serviceIndex(const std::string& service) const;
  std::vector<ServiceSummary> services() const;
  // Sorted by id; `tag` "" for all.
  std::vector<Instance> instances(const std::string& service, bool passing_only,
                                  const std::string& tag = "") const;

  // Blocks until `service` changes after revision `after` (serviceIndex(service) > after),
  // `timeout` passes or `cancelled` turns true (polled about every 100 ms); returns
  // serviceIndex(service). For service "" waits for any change (index() > after).
  store::Revision waitChange(const std::string& service, store::Revision after,
                             std::chrono::milliseconds timeout,
                             const std::function<bool()>& cancelled);

  // Calls `fn` after every change the mirror applies, before blocked waitChange calls wake
  // (from the watch thread; must not block). Used by the DNS zone to drop cached answers.
  void onChange(std::function<void()> fn);

  // This daemon's node name (CatalogOptions::node, or the host name).
  const std::string& node() const;

  // For tests: stops keeping the lease alive, as a hung host would; this node's instances
  // vanish one TTL later and are not put back.
  void stopKeepAliveForTest();

 private:
  struct Impl;
  explicit Catalog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::catalog
