#include "runtime/seccomp.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"
#include "sys/fs.h"

namespace berth::runtime {
namespace {

constexpr const char* kPath = "linux.seccomp";
constexpr unsigned kMaxArgs = 6;

// Owns a libseccomp context from compileSeccomp until destruction.
class LibseccompFilter final : public SeccompFilter {
 public:
  explicit LibseccompFilter(scmp_filter_ctx ctx) : ctx_(ctx) {}
  ~LibseccompFilter() override { seccomp_release(ctx_); }
  LibseccompFilter(const LibseccompFilter&) = delete;
  LibseccompFilter& operator=(const LibseccompFilter&) = delete;

  // The program seccomp_load would install, as libseccomp exports it (to a memfd).
  std::optional<std::string> program() const;

  Status load() override {
    int rc = seccomp_load(ctx_);
    if (rc < 0) return errnoError("load seccomp filter", -rc);
    return okStatus();
  }

 private:
  scmp_filter_ctx ctx_;
};

// A program generated earlier for the same profile, loaded with the flags libseccomp would
// pass (its no_new_privs attribute is off: the runtime sets that itself).
class ProgramFilter final : public SeccompFilter {
 public:
  ProgramFilter(std::vector<sock_filter> program, unsigned flags)
      : program_(std::move(program)), flags_(flags) {}

  Status load() override {
    sock_fprog prog{static_cast<unsigned short>(program_.size()), program_.data()};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog) != 0)
      return errnoError("load seccomp filter", errno);
    return okStatus();
  }

 private:
  std::vector<sock_filter> program_;
  unsigned flags_;
};

// Maps an OCI action name to a libseccomp action. `errno_ret` is the errno for
// SCMP_ACT_ERRNO and the message data for SCMP_ACT_TRACE; EPERM when absent, as runc does.
// `path` names the action's JSON field; `errno_path` the errnoRet field.
Result<uint32_t> resolveAction(const std::string& name, std::optional<unsigned> errno_ret,
                               const std::string& path, const std::string& errno_path) {
  if (name == "SCMP_ACT_ERRNO" || name == "SCMP_ACT_TRACE") {
    unsigned ret = errno_ret.value_or(EPERM);
    if (ret > 0xffff)
      return invalidArgument(errno_path + ": " + std::to_string(ret) + " is out of range");
    return name == "SCMP_ACT_ERRNO" ? SCMP_ACT_ERRNO(ret) : SCMP_ACT_TRACE(ret);
  }
  uint32_t action = 0;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") {
    action = SCMP_ACT_KILL_THREAD;
  } else if (name == "SCMP_ACT_KILL_PROCESS") {
    action = SCMP_ACT_KILL_PROCESS;
  } else if (name == "SCMP_ACT_TRAP") {
    action = SCMP_ACT_TRAP;
  } else if (name == "SCMP_ACT_ALLOW") {
    action = SCMP_ACT_ALLOW;
  } else if (name == "SCMP_ACT_LOG") {
    action = SCMP_ACT_LOG;
  } else if (name == "SCMP_ACT_NOTIFY") {
    return unsupported(path + ": action 'SCMP_ACT_NOTIFY' is not supported (no listener socket)");
  } else {
    return invalidArgument(path + ": unknown action " + quote(name));
  }
  // The runtime spec: a runtime MUST fail when errnoRet is given to an action without one.
  if (errno_ret) {
    return invalidArgument(errno_path + ": only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not " +
                           quote(name));
  }
  return action;
}

Result<scmp_compare> resolveOp(const std::string& name, const std::string& path) {
  static constexpr std::pair<const char*, scmp_compare> kOps[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (const auto& [n, op] : kOps) {
    if (name == n) return op;
  }
  return invalidArgument(path + ": unknown operator " + quote(name));
}

// "SCMP_ARCH_X86_64" → the libseccomp token of "x86_64".
Result<uint32_t> resolveArch(const std::string& name, const std::string& path) {
  std::string lower = name;
  if (startsWith(lower, "SCMP_ARCH_")) lower = lower.substr(std::string("SCMP_ARCH_").size());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t token = seccomp_arch_resolve_name(lower.c_str());
  if (token == 0) return invalidArgument(path + ": unknown architecture " + quote(name));
  return token;
}

// The OCI flags: the libseccomp attribute each sets, and the seccomp(2) flag that attribute
// makes libseccomp pass when it loads the filter.
struct FlagInfo {
  const char* name;
  scmp_filter_attr attr;
  unsigned load_flag;
};
constexpr FlagInfo kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW},
};

const FlagInfo* findFlag(const std::string& name) {
  for (const FlagInfo& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

Status applyFlag(scmp_filter_ctx ctx, const std::string& flag, const std::string& path) {
  const FlagInfo* info = findFlag(flag);
  if (info == nullptr) return invalidArgument(path + ": unknown flag " + quote(flag));
  int rc = seccomp_attr_set(ctx, info->attr, 1);
  if (rc < 0) {
    return unsupported(path + ": flag " + quote(flag) +
                       " is not supported by this kernel or libseccomp");
  }
  return okStatus();
}

Result<std::vector<scmp_arg_cmp>> compileArgs(const SeccompRule& rule, const std::string& path) {
  std::vector<scmp_arg_cmp> out;
  for (size_t k = 0; k < rule.args.size(); ++k) {
    const SeccompArg& a = rule.args[k];
    std::string arg_path = path + ".args[" + std::to_string(k) + "]";
    if (a.index >= kMaxArgs) return invalidArgument(arg_path + ".index: must be between 0 and 5");
    scmp_compare op = BERTH_TRY(resolveOp(a.op, arg_path + ".op"));
    // For MASKED_EQ, OCI's value is the mask and valueTwo the datum, as libseccomp wants.
    out.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
  }
  return out;
}

// libseccomp refuses two comparisons of the same argument in one rule; like runc, such a
// rule becomes one rule per comparison (so the comparisons are OR-ed, not AND-ed).
bool hasRepeatedIndex(const std::vector<scmp_arg_cmp>& args) {
  bool seen[kMaxArgs] = {};
  for (const auto& a : args) {
    if (seen[a.arg]) return true;
    seen[a.arg] = true;
  }
  return false;
}

Status addRule(scmp_filter_ctx ctx, uint32_t action, const std::string& name, int nr,
               const std::vector<scmp_arg_cmp>& args, const std::string& path) {
  auto add = [&](unsigned count, const scmp_arg_cmp* cmps) -> Status {
    int rc = seccomp_rule_add_array(ctx, action, nr, count, cmps);
    if (rc < 0) return errnoError(path + ": add rule for " + quote(name), -rc);
    return okStatus();
  };
  if (!hasRepeatedIndex(args)) return add(static_cast<unsigned>(args.size()), args.data());
  for (const auto& cmp : args) BERTH_RETURN_IF_ERROR(add(1, &cmp));
  return okStatus();
}

std::optional<std::string> LibseccompFilter::program() const {
  int fd = ::memfd_create("seccomp-program", MFD_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> out;
  if (seccomp_export_bpf(ctx_, fd) == 0) {
    off_t size = ::lseek(fd, 0, SEEK_END);
    std::string bytes(size > 0 ? static_cast<size_t>(size) : 0, '\0');
    if (size > 0 && ::pread(fd, bytes.data(), bytes.size(), 0) == size) out = std::move(bytes);
  }
  ::close(fd);
  return out;
}

Result<std::unique_ptr<LibseccompFilter>> compileFilter(const Seccomp& profile) {
  const std::string base = kPath;
  uint32_t default_action =
      BERTH_TRY(resolveAction(profile.default_action, profile.default_errno_ret,
                              base + ".defaultAction", base + ".defaultErrnoRet"));

  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) {
    return unsupported(base + ".defaultAction: libseccomp refused " +
                       quote(profile.default_action));
  }
  // From here the filter owns ctx, so every early return releases it.
  auto filter = std::make_unique<LibseccompFilter>(ctx);

  // The runtime sets no_new_privs itself, only when process.noNewPrivileges asks for it.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return errnoError("seccomp: clear no_new_privs attribute", -rc);

  for (size_t i = 0; i < profile.architectures.size(); ++i) {
    std::string path = base + ".architectures[" + std::to_string(i) + "]";
    uint32_t arch = BERTH_TRY(resolveArch(profile.architectures[i], path));
    rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) return errnoError(path + ": add architecture", -rc);
  }

  for (size_t i = 0; i < profile.flags.size(); ++i) {
    BERTH_RETURN_IF_ERROR(
        applyFlag(ctx, profile.flags[i], base + ".flags[" + std::to_string(i) + "]"));
  }

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const SeccompRule& rule = profile.syscalls[i];
    std::string path = base + ".syscalls[" + std::to_string(i) + "]";
    uint32_t action =
        BERTH_TRY(resolveAction(rule.action, rule.errno_ret, path + ".action", path + ".errnoRet"));
    std::vector<scmp_arg_cmp> args = BERTH_TRY(compileArgs(rule, path));
    // libseccomp rejects a rule that repeats the default action; it would change nothing.
    if (action == default_action) continue;
    for (const std::string& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // a syscall of another kernel or libseccomp
      BERTH_RETURN_IF_ERROR(addRule(ctx, action, name, nr, args, path));
    }
  }
  return filter;
}

constexpr char kCacheMagic[] = "berth-seccomp-program 1\n";

// Everything the generated program depends on, in one exact text.
std::string cacheKey(const Seccomp& p) {
  const scmp_version* v = seccomp_version();
  std::string key = "libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) +
                    "." + std::to_string(v->micro) + " api " + std::to_string(seccomp_api_get()) +
                    " native " + std::to_string(seccomp_arch_native()) + "\n";
  auto errnoText = [](const std::optional<unsigned>& e) {
    return e ? std::to_string(*e) : std::string("-");
  };
  key += "default " + p.default_action + " " + errnoText(p.default_errno_ret) + "\n";
  key += "architectures " + join(p.architectures, ",") + "\nflags " + join(p.flags, ",") + "\n";
  for (const SeccompRule& r : p.syscalls) {
    key += "rule " + join(r.names, ",") + " " + r.action + " " + errnoText(r.errno_ret);
    for (const SeccompArg& a : r.args)
      key += " " + std::to_string(a.index) + ":" + std::to_string(a.value) + ":" +
             std::to_string(a.value_two) + ":" + a.op;
    key += "\n";
  }
  return key;
}

// The seccomp(2) flags libseccomp derives from the profile's flags (all known: a cached
// profile compiled once).
unsigned loadFlags(const Seccomp& p) {
  unsigned flags = 0;
  for (const std::string& name : p.flags) {
    if (const FlagInfo* f = findFlag(name)) flags |= f->load_flag;
  }
  return flags;
}

std::string cachePath(const std::string& dir, const std::string& key) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a names the file; the key inside decides
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(h));
  return dir + "/" + name;
}

// magic, key length, key, program length, program: all must match and add up exactly.
std::optional<std::vector<sock_filter>> readProgram(const std::string& path,
                                                    const std::string& key) {
  auto text = sys::readFile(path);
  if (!text) return std::nullopt;
  std::string_view t = *text;
  std::string head = kCacheMagic + std::to_string(key.size()) + "\n" + key;
  if (!t.starts_with(head)) return std::nullopt;
  t.remove_prefix(head.size());
  size_t nl = t.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  auto bytes = parseInt(std::string(t.substr(0, nl)));
  t.remove_prefix(nl + 1);
  if (!bytes || *bytes <= 0 || static_cast<size_t>(*bytes) != t.size() ||
      t.size() % sizeof(sock_filter) != 0)
    return std::nullopt;
  std::vector<sock_filter> program(t.size() / sizeof(sock_filter));
  std::memcpy(program.data(), t.data(), t.size());
  return program;
}

}  // namespace

Result<std::unique_ptr<SeccompFilter>> compileSeccomp(const Seccomp& profile) {
  return std::unique_ptr<SeccompFilter>(BERTH_TRY(compileFilter(profile)));
}

Result<std::unique_ptr<SeccompFilter>> compileSeccompCached(const Seccomp& profile,
                                                            const std::string& cache_dir) {
  std::string key = cacheKey(profile);
  std::string path = cachePath(cache_dir, key);
  if (auto program = readProgram(path, key))
    return std::unique_ptr<SeccompFilter>(
        std::make_unique<ProgramFilter>(std::move(*program), loadFlags(profile)));
  std::unique_ptr<LibseccompFilter> filter = BERTH_TRY(compileFilter(profile));
  // Best effort: a cache that cannot be written costs the next start the compile, no more.
  if (auto program = filter->program()) {
    std::string data = kCacheMagic + std::to_string(key.size()) + "\n" + key +
                       std::to_string(program->size()) + "\n" + *program;
    if (sys::mkdirAll(cache_dir, 0700)) (void)sys::replaceFile(path, data, 0600);
  }
  return std::unique_ptr<SeccompFilter>(std::move(filter));
}

}  // namespace berth::runtime
