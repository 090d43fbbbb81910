#include "runtime/default_spec.h"

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/capabilities.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

// Syscalls a container has no business making: they reach outside its namespaces (mount,
// unshare, setns), the kernel itself (modules, kexec, bpf, perf), the clock, the keyring
// (which is not namespaced) or another process's memory. Mostly what Docker's allow-list
// leaves out without CAP_SYS_ADMIN; a deny-list keeps the profile short and lets new
// harmless syscalls through.
constexpr const char* kDeniedSyscalls[] = {
    "mount",
    "umount",
    "umount2",
    "unshare",
    "setns",
    "pivot_root",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "ptrace",
    "reboot",
    "swapon",
    "swapoff",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "bpf",
    "perf_event_open",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "acct",
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "syslog",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "nfsservctl",
    "uselib",
    "vm86",
    "vm86old",
    "iopl",
    "ioperm",
    "get_kernel_syms",
    "query_module",
    "_sysctl",
    "sysfs",
    "ustat",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
};

// clone(2) flags that make a new namespace; clone asking for any of them is refused, plain
// clone (fork, threads) is not. On x86 the flags are clone's first argument.
constexpr uint64_t kCloneNamespaceFlags[] = {
    0x00020000,  // CLONE_NEWNS
    0x04000000,  // CLONE_NEWUTS
    0x08000000,  // CLONE_NEWIPC
    0x10000000,  // CLONE_NEWUSER
    0x20000000,  // CLONE_NEWPID
    0x40000000,  // CLONE_NEWNET
    0x02000000,  // CLONE_NEWCGROUP
};

json stringArray(const std::vector<std::string>& v) { return json(v); }

json mount(const char* destination, const char* type, const char* source,
           std::vector<std::string> options) {
  json m = {{"destination", destination}, {"type", type}, {"source", source}};
  if (!options.empty()) m["options"] = std::move(options);
  return m;
}

json defaultMounts() {
  return json::array({
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
}

json defaultProcess() {
  json caps = stringArray(dockerDefaultCapabilities());
  return {
      {"terminal", false},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {"sh"}},
      {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
      {"cwd", "/"},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
}

json defaultLinux() {
  json namespaces = json::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
    namespaces.push_back({{"type", t}});
  }
  return {
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces", namespaces},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
      {"seccomp", defaultSeccompProfile()},
  };
}

}  // namespace

nlohmann::json defaultSeccompProfile() {
  json rules = json::array();
  rules.push_back({{"names", json(std::vector<std::string>(std::begin(kDeniedSyscalls),
                                                           std::end(kDeniedSyscalls)))},
                   {"action", "SCMP_ACT_ERRNO"},
                   {"errnoRet", EPERM}});
  // ENOSYS, not EPERM: glibc then falls back to clone, whose flags the rules below can see
  // (clone3 passes them in memory, out of seccomp's reach).
  rules.push_back({{"names", {"clone3"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", ENOSYS}});
  for (uint64_t flag : kCloneNamespaceFlags) {
    rules.push_back({{"names", {"clone"}},
                     {"action", "SCMP_ACT_ERRNO"},
                     {"errnoRet", EPERM},
                     {"args", json::array({{{"index", 0},
                                            {"value", flag},
                                            {"valueTwo", flag},
                                            {"op", "SCMP_CMP_MASKED_EQ"}}})}});
  }
  return {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"syscalls", rules},
  };
}

nlohmann::json defaultSpec() {
  return {
      {"ociVersion", "1.0.2"},
      {"process", defaultProcess()},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "berth"},
      {"mounts", defaultMounts()},
      {"linux", defaultLinux()},
  };
}

}  // namespace berth::runtime
