#pragma once
// The config.json that `berth-runtime spec` writes: a safe default in the spirit of
// Docker's: Docker's default capability set, a seccomp profile that denies the dangerous
// syscalls (mount, unshare, setns, keyctl, kexec, ptrace, bpf, module loading, …), masked
// /proc paths, a read-only /proc/sys, new pid/network/ipc/uts/mount namespaces.

#include <nlohmann/json.hpp>

namespace berth::runtime {

nlohmann::json defaultSpec();
nlohmann::json defaultSeccompProfile();

}  // namespace berth::runtime
