#pragma once
// The engine: containers, volumes and events on one host. berthd's API handlers call it;
// it owns the threads that watch containers (exit watcher, timers for restarts and
// health checks) and wires the image store, snapshots, the runtime and the monitors.
//
// Lifecycle: open() loads the records and reconciles them with what is really running
// (monitors that survived a daemon restart are watched again; containers that exited
// meanwhile get their exit code recorded and their restart policy applied). Destroying
// the engine stops its threads and leaves containers running.
//
// Thread-safety: every method may be called from any thread. Operations on one
// container are serialised; different containers proceed in parallel. Calls that block
// (wait, attach, logs with follow) take a `cancelled` predicate, polled about every
// 100 ms, to give up when the client has gone.
//
// Container references: a full id, a name, or a unique id prefix; an unknown one is
// kNotFound "no such container: 'x'".
//
// Layout under <root>:   engine.db                 records (container_store.h)
//                        containers/<id>/          config.json (the bundle), rootfs/ (overlay
//                                                  mount while running), upper/, work/, hosts,
//                                                  hostname, the monitor's files (protocol.h)
//                        volumes/<name>/_data      named volumes
//                        trash/                    removed containers' directories, deleted
//                                                  after the answer (trash.h)
// Under <exec_root>:     runtime/                  the runtime's state (--root)

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "engine/container.h"
#include "engine/events.h"
#include "engine/images.h"
#include "engine/network_manager.h"
#include "sys/fd.h"

namespace berth::engine {

struct SpecPaths;
struct RunSpec;

struct EngineOptions {
  std::string root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string runtime;  // berth-runtime; default: next to the daemon's binary
  std::string monitor;  // berth-monitor; same
  std::string init;     // berth-init; same
  NetworkOptions net;   // netns_dir defaults to <exec_root>/netns
};

enum class WaitCondition { kNotRunning, kNextExit, kRemoved };
struct WaitResult {
  int exit_code = 0;
  std::string error;
};

struct LogQuery {
  bool follow = false;
  int64_t tail = -1;  // lines; -1: all
  int64_t since_ns = 0;
  int64_t until_ns = 0;  // 0: no bound
  bool stdout_stream = true;
  bool stderr_stream = true;
};
// Receives log entries (stream 1 stdout, 2 stderr); returns false to stop.
using LogSink = std::function<bool(int stream, std::string_view data, int64_t time_ns)>;
using Cancelled = std::function<bool()>;

struct ExecConfig {
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string workdir;
  std::string user;
  bool tty = false;
  bool open_stdin = false;
};

struct Volume {
  std::string name;
  std::string mountpoint;
  int64_t created_ns = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
  bool anonymous = false;
  bool filled = false;  // copied from an image already (or used once): never again
};
nlohmann::json toJson(const Volume& v);

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> open(const EngineOptions& opts);
  ~Engine();

  EventBus& events() { return events_; }
  const EngineOptions& options() const { return opts_; }

  // Containers.
  // A check every create passes besides the engine's own (the catalog's berth.service
  // labels); set once, before the API serves.
  void setCreateCheck(std::function<Status(const ContainerConfig&)> check) {
    create_check_ = std::move(check);
  }
  Result<std::string> create(ContainerConfig config);
  Result<bool> start(const std::string& ref);  // false: it was running already
  Result<bool> stop(const std::string& ref, std::optional<int> timeout_s);  // false: not running
  Status restart(const std::string& ref, std::optional<int> timeout_s);
  Status kill(const std::string& ref, int signal);
  Status pause(const std::string& ref);
  Status unpause(const std::string& ref);
  Status rename(const std::string& ref, const std::string& new_name);
  Status remove(const std::string& ref, bool force, bool remove_volumes);
  Result<WaitResult> wait(const std::string& ref, WaitCondition condition,
                          const Cancelled& cancelled);
  Result<Container> inspect(const std::string& ref);
  // The config ("config" object of the OCI image config: Cmd, Entrypoint, Env, …) of the
  // image a container was created from; {} once that image is gone.
  nlohmann::json imageConfigOf(const Container& c);
  // Filters: status=, label=K[=V], name=, id=, ancestor=.
  Result<std::vector<Container>> list(bool all,
                                      const std::multimap<std::string, std::string>& filters);
  Result<std::vector<std::string>> prune();  // removes stopped containers, returns their ids
  std::string logPath(const Container& c) const;
  Status logs(const std::string& ref, const LogQuery& q, const LogSink& sink,
              const Cancelled& cancelled);
  // A connection to the container's monitor (frames both ways, src/monitor/protocol.h).
  // For a container that is not running the call waits until it starts, so that nothing
  // it writes is missed. `attached` (if given) is called as soon as that is certain — the
  // attach is registered with the container, or connected to its monitor — and before
  // the call waits: the API answers the client there (docker's 101), and the client then
  // starts the container. An error from it ends the attach with that error.
  Result<sys::Fd> attach(const std::string& ref, const Cancelled& cancelled,
                         const std::function<Status()>& attached = {});
  Status resize(const std::string& ref, int rows, int cols);
  Result<nlohmann::json> top(const std::string& ref);
  Result<nlohmann::json> stats(const std::string& ref);
  // The container's root as the host sees it (mounted while it runs; mounted on demand
  // for cp into a stopped container). `release` is called when done.
  Result<std::string> rootfsFor(const std::string& ref, std::function<void()>* release);
  // What the container changed in its root, from its writable layer: paths ("/etc/x")
  // with kind 0 modified (exists in the image too), 1 added, 2 deleted; sorted by path.
  Result<std::vector<std::pair<std::string, int>>> changes(const std::string& ref);
  // Bytes of the container's writable layer (its files' sizes).
  Result<int64_t> sizeRw(const std::string& ref);

  // Exec.
  Result<std::string> execCreate(const std::string& ref, const ExecConfig& config);
  // Starts the process under a monitor and returns a connection to it (frames); with
  // `detach` returns an invalid Fd once the process is started.
  Result<sys::Fd> execStart(const std::string& exec_id, bool detach);
  Status execResize(const std::string& exec_id, int rows, int cols);
  Result<nlohmann::json> execInspect(const std::string& exec_id);
  // Runs a command in the container to its end or `timeout` and forgets the exec: the exit
  // code (nullopt on timeout, the process then left to itself) and the first 4 KiB of what
  // it wrote in `output`. Health checks use it.
  Result<std::optional<int>> execRun(const std::string& ref, const ExecConfig& config,
                                     std::chrono::milliseconds timeout, std::string* output);

  // Volumes.
  Result<Volume> volumeCreate(const std::string& name,
                              const std::map<std::string, std::string>& labels,
                              const std::map<std::string, std::string>& options);
  Result<std::vector<Volume>> volumeList();
  Result<Volume> volumeInspect(const std::string& name);
  std::vector<std::string> volumeUsers(const std::string& name);
  Status volumeRemove(const std::string& name, bool force);
  Result<std::vector<std::string>> volumePrune();

  // Networks (lists, lookups and endpoints through networks()).
  NetworkManager& networks() { return *net_; }
  Result<Network> networkCreate(const NetworkCreate& req);
  // kConflict while a container (running or not) refers to it.
  Status networkRemove(const std::string& ref);
  Result<std::vector<std::string>> networkPrune();
  Status networkConnect(const std::string& network, const std::string& container,
                        const EndpointConfig& cfg);
  Status networkDisconnect(const std::string& network, const std::string& container, bool force);

  // Images (images.cc; types in images.h). References: "NAME[:TAG]" (normalised the way
  // docker does: "busybox", "docker.io/library/busybox:latest" and "busybox:latest" are one
  // name; "localhost/x" stays itself), a full or unique short id with or without
  // "sha256:", or a manifest digest. An unknown one is kNotFound "no such image: 'x'".
  // Every change is one SQLite transaction after its blobs and snapshots are written:
  // a crash or an error leaves the old state or the new, never a half-made image.
  // Long operations (load, import, build, save) do not hold the store's lock while they
  // stream, so containers can be created meanwhile; blobs and snapshots that no image
  // references are collected only when none of them is in flight.
  // Events (type "image", id "sha256:<hex>", attribute "name": the name concerned, or the
  // id for an untagged image): load, import, tag, untag, delete, save, and tag for each
  // name a build gives.
  // List filters: dangling=true|false, label=K[=V], reference=NAME pattern (path.Match
  // style: "busy*", "busybox:*"), before=REF, since=REF; `all` changes nothing (berth keeps
  // no intermediate images). Newest first.
  Result<std::vector<ImageSummary>> imageList(
      bool all, const std::multimap<std::string, std::string>& filters);
  Result<ImageDetail> imageInspect(const std::string& ref);
  Result<std::vector<ImageHistoryEntry>> imageHistory(const std::string& ref);
  // Gives the image `ref` the name "repo:tag" (tag empty: latest); the name moves from the
  // image that had it. kInvalidArgument for a malformed name.
  Status imageTag(const std::string& ref, const std::string& repo, const std::string& tag);
  // Docker's rmi. A name untags it, and deletes the image with its last name. An id
  // deletes the image with all its names, which needs `force` when it has several
  // (kConflict "conflict: unable to delete 1a2b3c4d5e6f (must be forced) - image is
  // referenced in multiple repositories"). While a container uses the image:
  // kConflict "conflict: unable to remove repository reference \"x\" (must force) -
  // container abc is using its referenced image def" (for a name), "conflict: unable to
  // delete def (must be forced) - image is being used by stopped container abc" (for an
  // id); with `force` a name is untagged and the image kept. `noprune`: keep untagged
  // parents (berth records no parents, so it changes nothing today).
  Result<std::vector<ImageDeleteItem>> imageRemove(const std::string& ref, bool force,
                                                   bool noprune);
  // Removes images no container uses: untagged ones, or with `all` every unused one.
  // Filters: dangling=true|false, label=K[=V], label!=K[=V], until=<unix seconds or
  // RFC 3339>. Then collects unreferenced blobs and snapshots.
  Result<ImagePruneReport> imagePrune(bool all,
                                      const std::multimap<std::string, std::string>& filters);
  // Empties the builder's cache: the layer cache's keys (the next build runs every step)
  // and RUN --mount=type=cache directories. Waits for running builds to end and lets none
  // start meanwhile; then collects the layers no image holds.
  Result<BuildPruneReport> buildPrune();
  // A docker-archive or OCI archive (itself plain, gzip or zstd) read from `read` as one
  // stream (no seeking, no temp copy): blobs verified as they land, layers unpacked, then
  // its images made visible at once. Returns one line per name: "Loaded image:
  // busybox:latest", or "Loaded image ID: sha256:…" for an untagged image. A corrupt
  // archive is kInvalidArgument naming what is wrong; nothing becomes visible. `progress`
  // is not called yet (clients show the upload's progress).
  Result<std::vector<std::string>> imageLoad(const ByteReader& read, const LineSink& progress);
  // Resolves every ref first (kNotFound before anything is written), then streams the
  // archive to `write`.
  Status imageSave(const std::vector<std::string>& refs, ImageArchiveFormat format,
                   const ByteWriter& write);
  // A root filesystem tarball (plain, gzip, zstd or xz) from `read` becomes a one-layer
  // image. Returns its id "sha256:<hex>". A malformed name or change is kInvalidArgument,
  // checked before any byte is read. `progress` is not called yet.
  Result<std::string> imageImport(const ByteReader& read, const ImageImportOptions& opts,
                                  const LineSink& progress);
  // `context` is a tar stream (plain or gzip) of the build context; it is extracted into a
  // temp dir under <root>/tmp/, refusing entries that would land outside it ("../",
  // absolute paths, symlinks followed through) with kInvalidArgument naming the entry.
  // Progress lines are the classic builder's ("Step 1/3 : FROM busybox", " ---> Using
  // cache", " ---> 1a2b3c4d5e6f"). Returns the image id "sha256:<hex>". A Dockerfile
  // error is kInvalidArgument with its line number; a failing RUN is kInvalidArgument
  // "The command '/bin/sh -c false' returned a non-zero code: 1".
  Result<std::string> imageBuild(const ByteReader& context, const ImageBuildOptions& opts,
                                 const LineSink& progress);

  // berthd --cleanup at shutdown: stops every container, then removes the networks' kernel
  // state (bridges, rules).
  Status cleanup();

  Result<nlohmann::json> info();

  struct Entry;
  struct Exec;

 private:
  explicit Engine(EngineOptions opts);
  Status reconcile();
  Result<std::shared_ptr<Entry>> find(const std::string& ref);
  std::string dirOf(const std::string& id) const;
  Status persist(const Container& c);
  void notifyChanged();
  void publish(const Container& c, const std::string& action,
               std::map<std::string, std::string> extra = {});
  Status startLocked(Entry& e);
  Result<SpecPaths> setUpNetwork(Entry& e, const nlohmann::json& image_config, RunSpec& run);
  void onMonitorExit(const std::string& id);
  void recordExit(Entry& e, bool apply_policy);
  void scheduleRestart(const std::string& id, int64_t delay_ms);
  Status removeLocked(std::shared_ptr<Entry> e, bool remove_volumes);
  // Removes an auto-remove container that exited (recordExit left its exit unrecorded);
  // when that fails, records the exit instead.
  void removeAfterExit(std::shared_ptr<Entry> e);
  // Container directories without a record (a crash between a removal's record and its
  // files, or within a create) go to the trash. Runs at open, before anything is served.
  Status sweepOrphans();
  // The files of an auto-removed container whose removal is recorded: its runtime state
  // (cgroups, state directory), its rootfs mount and its directory, removed in that order
  // after the answer, on `afterwards_` (~1 ms of cgroup rmdirs and ~1 ms of unmount off
  // `run --rm`'s path). Its id never comes back, so nothing races with them. A crash
  // before they are gone leaves files without a record, which sweepOrphans removes.
  void removeFilesAfterwards(const std::string& id);
  // The container's directory into the trash (removed at once if that fails).
  void trashDir(const std::string& id);
  Status unmountRootfs(const std::string& id);
  Result<std::vector<struct ResolvedMount>> resolveMounts(Entry& e, const std::string& rootfs);
  void scheduleHealthcheck(const std::string& id, int64_t delay_ms, uint64_t generation);
  void runHealthcheck(const std::string& id, uint64_t generation);
  // Waits until `pred` holds (true), `cancelled` says so or `timeout_ms` passes (false;
  // -1: no limit). `pred` is re-checked after every state change.
  bool waitFor(const std::function<bool()>& pred, const Cancelled& cancelled, int64_t timeout_ms);

  EngineOptions opts_;
  EventBus events_;
  std::unique_ptr<class ContainerStore> store_;
  std::unique_ptr<class ImageAccess> images_;
  std::unique_ptr<class ExitWatcher> watcher_;
  std::unique_ptr<class Timers> timers_;
  std::unique_ptr<class Timers> afterwards_;  // cleanup after the answer, one job at a time
  std::unique_ptr<class MonitorPool> pool_;   // monitors started ahead of their containers
  std::unique_ptr<class Trash> trash_;
  std::unique_ptr<class CgroupWarmup> warmup_;  // kicked by create, start and exec
  std::unique_ptr<NetworkManager> net_;

  std::function<Status(const ContainerConfig&)> create_check_;
  std::mutex mu_;  // guards by_id_, names_, execs_, volumes_
  std::map<std::string, std::shared_ptr<Entry>> by_id_;
  std::map<std::string, std::string> names_;  // name → id
  std::map<std::string, std::shared_ptr<Exec>> execs_;
  std::map<std::string, Volume> volumes_;

  std::mutex changed_mu_;
  std::condition_variable changed_cv_;
  uint64_t generation_ = 0;  // bumped (under changed_mu_) on every state change
};

}  // namespace berth::engine
