#pragma once
// Containers that ask for it are instances in the service catalog while they run: the
// registrar reads their berth.service labels, registers them when they start (with their
// address on their first network) and deregisters them when they stop. The labels:
//
//   berth.service                 NAME[:PORT]        (the CLI's --service)
//   berth.service.tags            TAG[,TAG…]         (--service-tag, repeated)
//   berth.service.check           tcp | http[:/PATH] | cmd:COMMAND   (--service-check;
//                                 the command runs with /bin/sh -c in the container)
//   berth.service.check.interval  a duration (10s)   (--service-check-interval)
//   berth.service.check.timeout   a duration (2s)    (--service-check-timeout)
//   berth.service.check.failures  N (1), berth.service.check.successes  N (1)
//
// Labels come from the container's config, so docker's `-l`, compose's `labels:` and the
// CLI's flags all work. A container whose labels are malformed is refused at create.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "catalog/catalog.h"
#include "common/result.h"
#include "engine/engine.h"

namespace berth::daemon {

// The instance a container asks for, without address and node (nullopt: no berth.service
// label). kInvalidArgument naming the label for a malformed one.
Result<std::optional<catalog::Instance>> requestedInstance(
    const std::string& container_id, const std::map<std::string, std::string>& labels);

class Registrar {
 public:
  // Installs the create check, registers the running containers that ask for it and
  // follows the engine's events. `advertise` is the address of containers without one of
  // their own (--network host); "" skips them with a warning.
  Registrar(engine::Engine& engine, catalog::Catalog& catalog, std::string advertise);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

 private:
  void follow();
  void registerContainer(const std::string& id);

  engine::Engine& engine_;
  catalog::Catalog& catalog_;
  std::string advertise_;
  std::atomic<bool> stopping_ = false;
  std::shared_ptr<engine::EventBus::Subscription> events_;
  std::thread thread_;
};

}  // namespace berth::daemon
