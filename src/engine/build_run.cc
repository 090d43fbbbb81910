// RUN: a container over an overlay of the stage's snapshots, with the step's --mount's.
// The overlay's upper directory becomes the layer, without the empty files and
// directories the runtime made as mount points.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"
#include "engine/build_internal.h"
#include "engine/container_spec.h"
#include "image/layer_writer.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::engine::build_detail {

using image::CacheSharing;
using image::Instruction;
using image::MountType;
using image::RunMount;
using nlohmann::json;

namespace {

json bindMount(const std::string& source, const std::string& target, bool read_write) {
  return {{"destination", target},
          {"type", "bind"},
          {"source", source},
          {"options", {"rbind", read_write ? "rw" : "ro"}}};
}

// The mount points of a step that did not exist in its root, deepest first, so that what
// the runtime made for them can be taken out of the layer; and for each missing chain the
// time of the directory it was made in, which the runtime's mkdir changed.
struct Stubs {
  std::vector<std::string> paths;
  std::vector<std::pair<std::string, struct timespec>> parents;
};

Result<Stubs> findStubs(const std::string& rootfs, const std::vector<std::string>& targets) {
  Stubs out;
  for (const auto& target : targets) {
    std::string host = BERTH_TRY(sys::secureJoin(rootfs, target));
    std::string resolved = host.substr(rootfs.size());  // symlinks in the root followed
    std::string prefix;
    std::vector<std::string> missing;
    struct stat parent {};
    ::lstat(rootfs.c_str(), &parent);
    for (const auto& part : split(resolved, '/')) {
      if (part.empty()) continue;
      std::string next = prefix + "/" + part;
      struct stat s;
      if (missing.empty() && ::lstat((rootfs + next).c_str(), &s) == 0) {
        parent = s;
        prefix = next;
        continue;
      }
      if (missing.empty()) out.parents.emplace_back(prefix.empty() ? "/" : prefix, parent.st_mtim);
      missing.push_back(next);
      prefix = next;
    }
    out.paths.insert(out.paths.end(), missing.rbegin(), missing.rend());
  }
  return out;
}

// Removes from the upper directory the mount points the runtime made, if they are still
// what it made (an empty directory or an empty file), and gives their parents back their
// times.
void removeStubs(const std::string& upper, const Stubs& stubs) {
  for (const auto& p : stubs.paths) {
    std::string path = upper + p;
    struct stat s;
    if (::lstat(path.c_str(), &s) != 0) continue;
    if (S_ISDIR(s.st_mode)) {
      (void)::rmdir(path.c_str());  // fails, as it should, when the step left files there
    } else if (S_ISREG(s.st_mode) && s.st_size == 0) {
      (void)::unlink(path.c_str());
    }
  }
  for (const auto& [dir, mtime] : stubs.parents) {
    struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
    (void)::utimensat(AT_FDCWD, (upper + dir).c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
}

// Makes `path` with mode and owner, atomically: a step that finds it finds it complete.
Status makeOwnedDir(const std::string& path, uint32_t mode, uint32_t uid, uint32_t gid) {
  if (sys::isDirectory(path)) return okStatus();
  std::string tmp = path + ".tmp-" + randomHex(16);
  if (::mkdir(tmp.c_str(), 0700) != 0) return errnoError("create " + quote(tmp), errno);
  if (::chown(tmp.c_str(), uid, gid) != 0 || ::chmod(tmp.c_str(), mode) != 0 ||
      (::rename(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST && errno != ENOTEMPTY)) {
    int err = errno;
    (void)::rmdir(tmp.c_str());
    return errnoError("create " + quote(path), err);
  }
  (void)::rmdir(tmp.c_str());  // another step made it first
  return okStatus();
}

}  // namespace

Status Builder::runStep(StageState& st, const Instruction& ins, const Vars& v) {
  std::string workdir = st.config.value("WorkingDir", std::string("/"));
  std::vector<RunMount> mounts;
  std::string mounts_key;  // the specs, and a bind mount's content; not a cache's or a secret's
  for (const auto& [flag, value] : ins.flags) {
    if (flag != "mount")
      return unsupported("RUN --" + flag + " is not supported by berth build yet");
    for (const auto& raw : split(value, '\n')) {
      std::string spec = BERTH_TRY(image::expandVariables(raw, v));
      mounts_key += spec + "\n";
      RunMount m = BERTH_TRY(image::parseRunMount(spec));
      if (!m.target.empty()) m.target = cleanPath(m.target, workdir);
      if (m.target == "/") return invalidArgument("--mount " + quote(spec) + ": target is '/'");
      mounts.push_back(std::move(m));
    }
  }
  std::string expanded = ins.json_form ? "" : BERTH_TRY(image::expandVariables(ins.args[0], v));
  std::vector<std::string> cmd = commandOf(st, ins, expanded);
  std::string created_by = ins.json_form ? json(cmd).dump() : "/bin/sh -c " + expanded;
  // Build args are in the environment of RUN (and in the key), not in the image.
  std::vector<std::string> env;
  for (const auto& [k, val] : st.args) env.push_back(k + "=" + val);
  for (const auto& m : mounts) mounts_key += BERTH_TRY(mountKey(m)) + "\n";
  std::string key = cacheKey(
      st, "RUN " + json(cmd).dump() + json(env).dump() + (mounts.empty() ? "" : "\n" + mounts_key));
  if (BERTH_TRY(tryCache(st, key, created_by))) return okStatus();

  StepDir dir = BERTH_TRY(StepDir::make(store_.root() + "/build"));
  std::string rootfs = BERTH_TRY(dir.overlay(snapshotDirs(st), "rootfs"));
  RunMounts extra;
  for (const auto& m : mounts) BERTH_RETURN_IF_ERROR(prepareMount(m, dir, extra));
  Stubs stubs = BERTH_TRY(findStubs(rootfs, extra.targets));

  RunSpec run;
  run.id = "build-" + randomHex(16);
  run.hostname = run.id.substr(0, 12);
  run.command = cmd;
  run.entrypoint = std::vector<std::string>{};
  run.env = env;
  run.env.insert(run.env.end(), extra.env.begin(), extra.env.end());
  run.host_network = true;  // builds reach the network the host has
  run.rootfs = rootfs;
  json image_config = {{"config", st.config}};
  json spec = BERTH_TRY(containerSpec(image_config, run, rootfsReader(rootfs)));
  for (const auto& m : extra.mounts) spec["mounts"].push_back(m);
  BERTH_RETURN_IF_ERROR(sys::writeFileAtomic(dir.path() + "/config.json", spec.dump(2)));
  int code = BERTH_TRY(runContainer(dir.path(), run.id));
  if (code != 0)
    return invalidArgument("The command '" + (ins.json_form ? json(cmd).dump() : join(cmd, " ")) +
                           "' returned a non-zero code: " + std::to_string(code));
  BERTH_RETURN_IF_ERROR(dir.unmount(rootfs));
  std::string upper = dir.path() + "/rootfs/upper";
  removeStubs(upper, stubs);
  image::BlobInfo blob =
      BERTH_TRY(image::writeLayer(store_.content(), upper, image::SourceKind::kOverlayUpper));
  // The upper directory is this layer in overlay form: it becomes the snapshot as is.
  return addLayer(st, blob, upper, key, created_by);
}

Result<std::string> Builder::mountKey(const RunMount& m) {
  if (m.type != MountType::kBind) return std::string();
  if (!m.from.empty()) return BERTH_TRY(stageOrImage(m.from, "--mount from=" + m.from)).second;
  std::string rel = cleanPath(m.source, "/").substr(1);
  std::string host = BERTH_TRY(sys::secureJoin(opts_.context, "/" + rel));
  if (!sys::exists(host))
    return notFound("--mount source " + quote(m.source) + " does not exist in the build context");
  std::string hashes;
  BERTH_RETURN_IF_ERROR(hashTree(host, rel, &ignore_, &hashes));
  return image::sha256Of(hashes).hex();
}

Status Builder::prepareMount(const RunMount& m, StepDir& dir, RunMounts& out) {
  std::string n = std::to_string(out.targets.size());
  switch (m.type) {
    case MountType::kCache:
      return prepareCacheMount(m, dir, out);
    case MountType::kSecret:
      return prepareSecretMount(m, dir, out);
    case MountType::kTmpfs: {
      json options = {"nosuid", "nodev"};
      if (m.size > 0) options.push_back("size=" + std::to_string(m.size));
      out.mounts.push_back({{"destination", m.target},
                            {"type", "tmpfs"},
                            {"source", "tmpfs"},
                            {"options", options}});
      out.targets.push_back(m.target);
      return okStatus();
    }
    case MountType::kBind:
      break;
  }
  // A bind mount: from the context, or an earlier stage's or an image's root. Writes
  // (rw) land in an overlay of the step, never in the context or a snapshot.
  std::string root = opts_.context;
  if (!m.from.empty()) {
    auto lowers = BERTH_TRY(stageOrImage(m.from, "--mount from=" + m.from)).first;
    root = BERTH_TRY(dir.overlay(lowers, "from-" + n));
  }
  std::string host = BERTH_TRY(sys::secureJoin(root, cleanPath(m.source, "/")));
  if (!sys::exists(host))
    return notFound("--mount source " + quote(m.source) + " does not exist in " +
                    (m.from.empty() ? "the build context" : quote(m.from)));
  if (m.read_write && m.from.empty()) {
    if (sys::isDirectory(host)) {
      host = BERTH_TRY(dir.overlay({host}, "bind-" + n));
    } else {
      std::string copy = BERTH_TRY(dir.subdir("bind-" + n)) + "/file";
      BERTH_RETURN_IF_ERROR(copyTree(host, copy, CopyOwner{}, nullptr, ""));
      host = copy;
    }
  }
  out.mounts.push_back(bindMount(host, m.target, m.read_write));
  out.targets.push_back(m.target);
  return okStatus();
}

Status Builder::prepareCacheMount(const RunMount& m, StepDir& dir, RunMounts& out) {
  std::string base = store_.root() + "/build-cache-mounts";
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(base, 0700));
  std::string name = image::sha256Of(m.id).hex();
  std::string path = base + "/" + name;
  if (m.sharing != CacheSharing::kShared) {
    std::string lock_path = path + ".lock";
    sys::Fd lock(::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
    if (!lock.valid()) return errnoError("open " + quote(lock_path), errno);
    auto take = [&](int how) {
      int rc;
      do {
        rc = ::flock(lock.get(), how);
      } while (rc != 0 && errno == EINTR);
      return rc;
    };
    int rc = take(LOCK_EX | LOCK_NB);
    if (rc != 0 && errno == EWOULDBLOCK && m.sharing == CacheSharing::kLocked) {
      say(" ---> waiting for cache " + quote(m.id) + ", in use by another build");
      rc = take(LOCK_EX);
    }
    if (rc == 0) {
      out.locks.push_back(std::move(lock));
    } else if (errno == EWOULDBLOCK) {
      // private and in use by another step: a directory of this step's own.
      path = BERTH_TRY(dir.subdir("cache-" + std::to_string(out.targets.size()))) + "/dir";
    } else {
      return errnoError("lock " + quote(lock_path), errno);
    }
  }
  BERTH_RETURN_IF_ERROR(makeOwnedDir(path, m.mode, m.uid, m.gid));
  out.mounts.push_back(bindMount(path, m.target, m.read_write));
  out.targets.push_back(m.target);
  return okStatus();
}

Status Builder::prepareSecretMount(const RunMount& m, StepDir& dir, RunMounts& out) {
  auto it = opts_.secrets.find(m.id);
  if (it == opts_.secrets.end()) {
    if (!m.required) return okStatus();  // BuildKit's rule: an optional secret is left out
    return notFound("secret " + quote(m.id) + " is required: give it with --secret id=" + m.id +
                    ",src=FILE");
  }
  if (!m.env.empty()) out.env.push_back(m.env + "=" + it->second);
  if (m.target.empty()) return okStatus();
  // Secrets live in a tmpfs of the step: never on disk, gone with the step.
  std::string secrets = dir.path() + "/secrets";
  if (!sys::isDirectory(secrets)) {
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(secrets, 0700));
    BERTH_RETURN_IF_ERROR(
        dir.mount("tmpfs", secrets, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700"));
  }
  std::string file = secrets + "/" + std::to_string(out.targets.size());
  BERTH_RETURN_IF_ERROR(sys::writeFileAtomic(file, it->second, m.mode));
  if (::chown(file.c_str(), m.uid, m.gid) != 0 || ::chmod(file.c_str(), m.mode) != 0)
    return errnoError("secret " + quote(m.id), errno);
  out.mounts.push_back(bindMount(file, m.target, false));
  out.targets.push_back(m.target);
  return okStatus();
}

// Runs the bundle in `dir` with berth-runtime, its output (stdout and stderr) going to
// the progress lines as the classic builder shows it; returns the exit code.
Result<int> Builder::runContainer(const std::string& dir, const std::string& id) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errnoError("RUN: pipe", errno);
  sys::Fd out_r(p[0]), out_w(p[1]);
  pid_t child = BERTH_TRY(sys::spawn(
      opts_.runtime, {opts_.runtime, "--root", opts_.runtime_root, "run", "--bundle", dir, id}, -1,
      out_w.get(), out_w.get()));
  out_w.reset();
  std::string pending;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      say(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) say(pending);
  int status = BERTH_TRY(sys::waitChild(child));
  return sys::exitCodeOf(status);
}

}  // namespace berth::engine::build_detail
