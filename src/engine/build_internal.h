#pragma once
// Internal to the builder (build.cc, build_run.cc, build_copy.cc): the Builder that runs
// one build, the state of a stage, and the scratch directory of a step. Nothing outside
// these files includes it.
//
// Directories the builder owns under the berth root:
//   build/<random>/            a step's scratch directory (StepDir), removed when the step
//                              ends; its mounts are undone first
//   build-cache.db             the layer cache (SQLite: key → layer digest and size)
//   build-cache-mounts/<h>/    the directory of RUN --mount=type=cache with id I, where h is
//                              the hex sha256 of I; kept across builds (never in a layer)
//   build-cache-mounts/<h>.lock  flock(2)ed by steps using it with sharing=locked/private

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ignore_rules.h"
#include "common/result.h"
#include "engine/build.h"
#include "engine/context.h"
#include "image/digest.h"
#include "image/dockerfile.h"
#include "image/dockerfile_flags.h"
#include "image/image_store.h"
#include "image/sqlite.h"
#include "sys/fd.h"

namespace berth::engine::build_detail {

using Vars = std::map<std::string, std::string>;

// What a stage has built so far.
struct StageState {
  std::string name;
  nlohmann::json config = nlohmann::json::object();  // the image config's "config" object
  nlohmann::json history = nlohmann::json::array();
  nlohmann::json layers = nlohmann::json::array();  // manifest layer descriptors
  std::vector<image::Digest> diff_ids;
  std::map<std::string, std::string> args;  // ARGs in scope
  std::string base_summary;                 // for the cache key
  bool cmd_set = false;                     // CMD given in this stage (ENTRYPOINT keeps it)
};

// `n` random hex digits, for the names of scratch directories and build containers.
std::string randomHex(int n);

// The top of a stage's layer chain: what a step's cache key starts from.
std::string chainTop(const StageState& s);

// "/a/./b/../c/" → "/a/c": an absolute path without "." and ".." (".." stops at "/"),
// relative paths taken from `workdir`.
std::string cleanPath(const std::string& path, const std::string& workdir);

// A step's scratch directory (build/<random>) and the host mounts made in it. On
// destruction the mounts are undone, latest first, and the directory is removed; if a
// mount cannot be undone the directory stays, so that nothing is removed through it.
class StepDir {
 public:
  static Result<StepDir> make(const std::string& build_root);
  StepDir(StepDir&& o) noexcept;
  StepDir(const StepDir&) = delete;
  StepDir& operator=(const StepDir&) = delete;
  ~StepDir();

  const std::string& path() const { return path_; }
  // Makes path()/name (and its parents).
  Result<std::string> subdir(const std::string& name);
  // An overlay of `lowers` (top first; none: an empty root) at path()/name/root, with an
  // upper directory of its own: what is written there is thrown away with the step.
  Result<std::string> overlay(const std::vector<std::string>& lowers, const std::string& name);
  // Mounts and remembers the mount, so that it is undone with the step.
  Status mount(const std::string& source, const std::string& target, const std::string& type,
               unsigned long flags, const std::string& data);
  // Undoes one remembered mount now (an overlay whose upper directory is read next).
  Status unmount(const std::string& target);

 private:
  explicit StepDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::vector<std::string> mounts_;
};

// What RUN --mount adds to a step: the runtime's mounts, secrets given as variables, the
// locks of cache mounts held while it runs, and the targets (to remove the empty files
// and directories the runtime makes for them).
struct RunMounts {
  nlohmann::json mounts = nlohmann::json::array();
  std::vector<std::string> env;
  std::vector<sys::Fd> locks;
  std::vector<std::string> targets;
};

class Builder {
 public:
  Builder(const BuildOptions& opts, image::ImageStore& store, image::Db& cache)
      : opts_(opts), store_(store), cache_(cache) {}

  Result<image::ImageRecord> run(const image::Dockerfile& df, const std::string& df_name);

  IgnoreRules ignore_;

 private:
  // ---- build.cc: stages, config instructions, the cache, the image ----
  void say(const std::string& line);
  void step(const std::string& text);
  Status declareArg(std::map<std::string, std::string>& scope, const image::Instruction& ins);
  Vars vars(const StageState& st);
  Result<StageState> startStage(const image::Dockerfile& df, size_t index);
  void addHistory(StageState& st, const std::string& created_by, bool empty);
  std::vector<std::string> commandOf(const StageState& st, const image::Instruction& ins,
                                     const std::string& expanded);
  Status apply(StageState& st, const image::Instruction& ins);
  // The key of a step that builds on the stage's chain and config.
  std::string cacheKey(const StageState& st, const std::string& what);
  Result<std::optional<std::pair<image::Digest, uint64_t>>> cached(const std::string& key);
  Status addLayer(StageState& st, const image::BlobInfo& blob, const std::string& snapshot_dir,
                  const std::string& key, const std::string& created_by);
  Result<bool> tryCache(StageState& st, const std::string& key, const std::string& created_by);
  std::vector<std::string> snapshotDirs(const StageState& st);
  // An earlier stage (by name or index) or a local image, as the lower directories of its
  // root (top first) and a summary for cache keys. `what` starts the error
  // ("COPY --from=x: no earlier stage or local image 'x'").
  Result<std::pair<std::vector<std::string>, std::string>> stageOrImage(const std::string& ref,
                                                                        const std::string& what);
  Result<image::ImageRecord> commit(const StageState& st);

  // ---- build_run.cc ----
  Status runStep(StageState& st, const image::Instruction& ins, const Vars& v);
  Result<int> runContainer(const std::string& dir, const std::string& id);
  // What of a mount's content the step depends on, for the key: a bind mount's source.
  Result<std::string> mountKey(const image::RunMount& m);
  Status prepareMount(const image::RunMount& m, StepDir& dir, RunMounts& out);
  Status prepareCacheMount(const image::RunMount& m, StepDir& dir, RunMounts& out);
  Status prepareSecretMount(const image::RunMount& m, StepDir& dir, RunMounts& out);

  // ---- build_copy.cc ----
  Status copyStep(StageState& st, const image::Instruction& ins, const Vars& v);

  const BuildOptions& opts_;
  image::ImageStore& store_;
  image::Db& cache_;
  std::string df_name_;
  std::map<std::string, std::string> global_args_;
  std::vector<StageState> stages_;
  size_t step_ = 0;
  size_t total_steps_ = 0;
};

}  // namespace berth::engine::build_detail
