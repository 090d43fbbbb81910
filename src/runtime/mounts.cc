#include "runtime/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "common/strings.h"
#include "sys/fs.h"
#include "sys/mount.h"

namespace berth::runtime {
namespace {

struct FlagOption {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
};

constexpr std::pair<const char*, unsigned long> kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                       MS_SYNCHRONOUS | MS_DIRSYNC | MS_NOATIME | MS_NODIRATIME |
                                       MS_RELATIME | MS_STRICTATIME;

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

bool isBindSourceFile(const std::string& source) {
  struct stat st;
  return ::stat(source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

Status makeTarget(const std::string& target, bool file) {
  if (sys::exists(target)) return okStatus();
  size_t slash = target.rfind('/');
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(target.substr(0, slash)));
  return file ? sys::touch(target) : sys::mkdirAll(target);
}

// Bind-remounts `target` with `flags`, keeping the flags the kernel locks in a user
// namespace (remounting without them fails with EPERM).
Status remountBind(const std::string& target, unsigned long flags) {
  unsigned long locked = BERTH_TRY(sys::lockedMountFlags(target));
  return sys::mount("", target, "", MS_BIND | MS_REMOUNT | flags | (locked & ~MS_RELATIME), "");
}

Status mountCgroup(const RootfsContext& ctx, const Mount& m, const std::string& target,
                   const MountOptions& opt) {
  unsigned long ro = opt.flags & MS_RDONLY;
  unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (ctx.cgroup_v2) {
    auto it = ctx.cgroup_dirs.find("");
    if (it == ctx.cgroup_dirs.end()) return okStatus();
    if (ctx.spec->linux.hasNamespace(NamespaceType::kCgroup)) {
      return sys::mount("cgroup2", target, "cgroup2", base | ro, "");
    }
    BERTH_RETURN_IF_ERROR(sys::mount(it->second, target, "", MS_BIND | MS_REC, ""));
    return ro ? remountBind(target, MS_RDONLY | base) : okStatus();
  }
  // v1: a tmpfs with one bind mount per hierarchy, each showing only this cgroup.
  BERTH_RETURN_IF_ERROR(sys::mount("tmpfs", target, "tmpfs", base, "mode=755"));
  for (const auto& [hierarchy, host_dir] : ctx.cgroup_dirs) {
    std::string name = startsWith(hierarchy, "name=") ? hierarchy.substr(5) : hierarchy;
    std::string dir = target + "/" + name;
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir));
    BERTH_RETURN_IF_ERROR(sys::mount(host_dir, dir, "", MS_BIND | MS_REC, ""));
    if (ro) BERTH_RETURN_IF_ERROR(remountBind(dir, MS_RDONLY | base));
    // cpu,cpuacct is also reachable as cpu and cpuacct, as on the host.
    if (name.find(',') != std::string::npos) {
      for (const auto& alias : split(name, ',')) {
        (void)!::symlink(name.c_str(), (target + "/" + alias).c_str());
      }
    }
  }
  if (ro) BERTH_RETURN_IF_ERROR(remountBind(target, MS_RDONLY | base));
  (void)m;
  return okStatus();
}

Status doMount(const RootfsContext& ctx, const Mount& m) {
  const std::string& root = ctx.spec->root_path;
  std::string target = BERTH_TRY(sys::secureJoin(root, m.destination));
  MountOptions opt = parseMountOptions(m.options);
  bool bind = opt.bind() || m.type == "bind";
  std::string what = "mount " + quote(m.destination);
  if (bind) {
    if (!sys::exists(m.source))
      return notFound(what + ": bind source " + quote(m.source) + " does not exist");
    BERTH_RETURN_IF_ERROR(makeTarget(target, isBindSourceFile(m.source)));
    unsigned long rec = opt.flags & MS_REC;
    auto s = sys::mount(m.source, target, "", MS_BIND | rec, "");
    if (!s) return s.error().context(what);
    if (opt.flags & kRemountable) {
      s = remountBind(target, opt.flags & kRemountable);
      if (!s) return s.error().context(what);
    }
  } else if (m.type == "cgroup" || m.type == "cgroup2") {
    BERTH_RETURN_IF_ERROR(makeTarget(target, false));
    auto s = mountCgroup(ctx, m, target, opt);
    if (!s) return s.error().context(what);
  } else {
    BERTH_RETURN_IF_ERROR(makeTarget(target, false));
    std::string data = opt.data;
    auto s = sys::mount(m.source, target, m.type, opt.flags, data);
    if (!s && m.type == "sysfs" && s.error().code() == ErrorCode::kPermissionDenied) {
      // Without its own network namespace a container may not mount sysfs: show the
      // host's, read-only, as runc does.
      s = sys::mount("/sys", target, "", MS_BIND | MS_REC, "");
      if (s) s = remountBind(target, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
    if (!s) return s.error().context(what);
  }
  if (opt.propagation) {
    auto s = sys::mount("", target, "", opt.propagation, "");
    if (!s) return s.error().context(what);
  }
  return okStatus();
}

Status createDevice(const RootfsContext& ctx, const std::string& path, char type, unsigned major,
                    unsigned minor, mode_t mode, uid_t uid, gid_t gid) {
  std::string target = BERTH_TRY(sys::secureJoin(ctx.spec->root_path, path));
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(target.substr(0, target.rfind('/'))));
  ::unlink(target.c_str());
  if (ctx.in_user_namespace) {
    // mknod is not allowed in a user namespace: bind the host's node instead.
    BERTH_RETURN_IF_ERROR(sys::touch(target));
    return sys::mount(path, target, "", MS_BIND, "");
  }
  mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  if (::mknod(target.c_str(), kind | (mode & 07777), makedev(major, minor)) != 0)
    return errnoError("create device " + quote(path), errno);
  // mknod applies the umask: set the mode the spec asked for exactly.
  if (::chmod(target.c_str(), mode & 07777) != 0)
    return errnoError("chmod device " + quote(path), errno);
  if (::chown(target.c_str(), uid, gid) != 0)
    return errnoError("chown device " + quote(path), errno);
  return okStatus();
}

Status createDevices(const RootfsContext& ctx) {
  const Spec& spec = *ctx.spec;
  for (const auto& d : kDefaultDevices) {
    BERTH_RETURN_IF_ERROR(createDevice(ctx, d.path, 'c', d.major, d.minor, 0666, 0, 0));
  }
  for (const auto& d : spec.linux.devices) {
    BERTH_RETURN_IF_ERROR(createDevice(ctx, d.path, d.type == 'u' ? 'c' : d.type,
                                       static_cast<unsigned>(d.major),
                                       static_cast<unsigned>(d.minor), d.file_mode.value_or(0666),
                                       d.uid.value_or(0), d.gid.value_or(0)));
  }
  std::string dev = BERTH_TRY(sys::secureJoin(spec.root_path, "/dev"));
  const std::pair<const char*, const char*> links[] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},
  };
  for (auto [target, name] : links) {
    std::string path = dev + "/" + name;
    if (std::string(name) == "ptmx") ::unlink(path.c_str());
    if (::symlink(target, path.c_str()) != 0 && errno != EEXIST)
      return errnoError("create link " + quote(path), errno);
  }
  return okStatus();
}

}  // namespace

bool MountOptions::bind() const { return flags & MS_BIND; }

MountOptions parseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& o : options) {
    bool known = false;
    for (const auto& f : kFlagOptions) {
      if (o == f.name) {
        if (f.clear)
          out.flags &= ~f.flag;
        else
          out.flags |= f.flag;
        known = true;
      }
    }
    for (auto [name, flag] : kPropagation) {
      if (o == name) {
        out.propagation = flag;
        known = true;
      }
    }
    if (o == "tmpcopyup") known = true;  // accepted, not implemented: tmpfs starts empty
    if (!known) {
      if (!out.data.empty()) out.data += ',';
      out.data += o;
    }
  }
  return out;
}

unsigned long propagationFlags(const std::string& name) {
  for (auto [n, flag] : kPropagation) {
    if (name == n) return flag;
  }
  return 0;
}

Status prepareRootfs(const RootfsContext& ctx) {
  const Spec& spec = *ctx.spec;
  unsigned long prop = propagationFlags(spec.linux.rootfs_propagation);
  // Host mounts must not propagate into the container's tree and back; shared is set up
  // after pivot_root, when only the container's tree is left.
  unsigned long first = (prop & (MS_PRIVATE | MS_UNBINDABLE)) ? prop : (MS_SLAVE | MS_REC);
  BERTH_RETURN_IF_ERROR(sys::mount("", "/", "", first, ""));
  BERTH_RETURN_IF_ERROR(sys::mount(spec.root_path, spec.root_path, "", MS_BIND | MS_REC, ""));
  bool dev_mounted = false;
  for (const auto& m : spec.mounts) {
    BERTH_RETURN_IF_ERROR(doMount(ctx, m));
    if (m.destination == "/dev") dev_mounted = true;
  }
  (void)dev_mounted;  // devices are made whether /dev is a tmpfs or the image's directory
  return createDevices(ctx);
}

Status finishRootfs(const Spec& spec) {
  for (const auto& p : spec.linux.masked_paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) continue;
    Status s = S_ISDIR(st.st_mode) ? sys::mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
                                   : sys::mount("/dev/null", p, "", MS_BIND, "");
    if (!s) return s.error().context("mask " + quote(p));
  }
  for (const auto& p : spec.linux.readonly_paths) {
    if (!sys::exists(p)) continue;
    BERTH_RETURN_IF_ERROR(sys::mount(p, p, "", MS_BIND | MS_REC, ""));
    auto s = remountBind(p, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (!s) return s.error().context("make " + quote(p) + " read-only");
  }
  if (spec.root_readonly) {
    auto s = remountBind("/", MS_RDONLY);
    if (!s) return s.error().context("make the root read-only");
  }
  unsigned long prop = propagationFlags(spec.linux.rootfs_propagation);
  if (prop & MS_SHARED) BERTH_RETURN_IF_ERROR(sys::mount("", "/", "", prop, ""));
  return okStatus();
}

}  // namespace berth::runtime
