#pragma once
// OCI linux.seccomp → a libseccomp filter. Compiling is separate from loading so that a
// bad profile is refused before the container process is made.

#include <memory>
#include <string>

#include "common/result.h"
#include "runtime/spec.h"

namespace berth::runtime {

class SeccompFilter {
 public:
  virtual ~SeccompFilter() = default;
  // Installs the filter on the calling thread (seccomp_load). Needs either
  // no_new_privs set or CAP_SYS_ADMIN.
  virtual Status load() = 0;
};

// Validates and compiles a profile. Actions: SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS,
// SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW,
// SCMP_ACT_LOG; ops SCMP_CMP_NE/LT/LE/EQ/GE/GT/MASKED_EQ (for MASKED_EQ, value is the mask
// and valueTwo the datum, as the OCI spec says). Architectures SCMP_ARCH_X86_64 … are
// added; syscall names this kernel/libseccomp does not know are skipped (profiles list
// syscalls of newer kernels). An unknown action, op or architecture is an error naming
// the JSON path ("linux.seccomp.syscalls[3].action: unknown action 'X'").
Result<std::unique_ptr<SeccompFilter>> compileSeccomp(const Seccomp& profile);

// compileSeccomp, remembering the BPF program libseccomp generates from a profile in
// `cache_dir` (the runtime's state root gives one): the next container with the same
// profile loads that program directly and skips libseccomp's rule database and code
// generation, ≈0.8 ms of a start's CPU here. A cache file holds its whole key (the profile,
// libseccomp's version and API level, the native architecture) and the program's length,
// and is used only when both match exactly; otherwise, or when the cache cannot be read or
// written, the profile is compiled as compileSeccomp does.
Result<std::unique_ptr<SeccompFilter>> compileSeccompCached(const Seccomp& profile,
                                                            const std::string& cache_dir);

}  // namespace berth::runtime
