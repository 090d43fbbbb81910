#pragma once
// Engine internals shared by its .cc files (not part of the engine's interface).

#include <memory>
#include <mutex>
#include <vector>

#include "engine/engine.h"
#include "runtime/state.h"
#include "sys/fd.h"

namespace berth::engine {

// An attach that waits for the container to start: start() connects it to the new
// monitor before the container's process runs.
struct PendingAttach {
  sys::Fd fd;
  std::optional<Error> error;
  bool done = false;
};

struct Engine::Entry {
  std::mutex mu;  // serialises operations on the container; guards everything below
  Container c;
  bool removed = false;
  std::vector<std::shared_ptr<PendingAttach>> pending;
  uint64_t health_generation = 0;  // bumped on every start: stale checks stop
  int64_t backoff_ms = 0;          // next restart delay
  // Its exit left the runtime state and the rootfs mount to removeLocked, which removes
  // them after the answer (an auto-removed container).
  bool files_deferred = false;
};

struct Engine::Exec {
  std::string id;
  std::string container_id;
  ExecConfig config;
  std::string dir;  // <exec_root>/exec/<id>: process.json, console.sock (while it runs)
  pid_t pid = 0;
  bool started = false;
  std::optional<int> exit_code;
  std::shared_ptr<sys::Fd> tty;  // a copy of the pty master, for resize
};

std::string newHexId();
runtime::StateStore runtimeStore(const EngineOptions& o);

}  // namespace berth::engine
