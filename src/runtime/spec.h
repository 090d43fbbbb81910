#pragma once
// The OCI runtime-spec config.json (v1.0/1.1) as berth-runtime uses it, parsed once into
// plain structs. Parsing names the JSON path of anything malformed ("process.args[0]: …"),
// so that every later stage works on validated data.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  int resource = 0;  // RLIMIT_NOFILE
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  // Capability numbers (CAP_*), already validated by name.
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::optional<uint32_t> umask;
};

struct Process {
  bool terminal = false;
  unsigned console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

struct Namespace {
  NamespaceType type;
  std::string path;  // empty: create a new one
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
  std::string path;
  char type = 'c';  // c, u, b, p
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid, gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a";  // a, c, b
  std::optional<int64_t> major, minor;
  std::string access = "rwm";
};

struct MemoryResources {
  std::optional<int64_t> limit, reservation, swap;
  std::optional<uint64_t> swappiness;
  bool disable_oom_killer = false;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> period;
  std::string cpus, mems;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<uint16_t> blkio_weight;
  // Anything the spec allows that berth does not apply, so callers can warn.
  std::vector<std::string> ignored;
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_EQ …
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::vector<SeccompRule> syscalls;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

enum class Propagation {
  kDefault,
  kPrivate,
  kRPrivate,
  kSlave,
  kRSlave,
  kShared,
  kRShared,
  kUnbindable,
  kRUnbindable
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  Resources resources;
  std::optional<Seccomp> seccomp;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string rootfs_propagation;
  std::string mount_label;

  bool hasNamespace(NamespaceType t) const;
  const Namespace* findNamespace(NamespaceType t) const;
};

struct Spec {
  std::string oci_version;
  Process process;
  bool has_process = false;
  std::string root_path;  // absolute once resolved against the bundle
  bool root_readonly = false;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  Linux linux;
  std::map<std::string, std::string> annotations;
};

// Parses config.json text. `bundle` is used to resolve a relative root.path.
Result<Spec> parseSpec(const std::string& json_text, const std::string& bundle);
// Parses a bare `process` object, as `exec --process FILE` receives it.
Result<Process> parseProcess(const std::string& json_text);
// Parses a bare linux.resources object, as `update --resources FILE` receives it.
Result<Resources> parseResourcesJson(const std::string& json_text);
// Reads and parses <bundle>/config.json.
Result<Spec> loadSpec(const std::string& bundle);

const char* namespaceName(NamespaceType t);  // "pid", "network", …
// CLONE_NEW* flag of a namespace type.
int namespaceCloneFlag(NamespaceType t);
// Name as in /proc/PID/ns/<name>.
const char* namespaceProcName(NamespaceType t);

}  // namespace berth::runtime
