#pragma once
// Network namespaces kept alive by a bind mount (as `ip netns` does), and running code in
// one.
//
// Safe in a multi-threaded process: a network namespace belongs to a thread, not to the
// process, so only the calling thread ever changes namespace, only for the duration of the
// call, and it is back in its own before the call returns. (Switching back cannot fail short
// of the kernel failing a small allocation; if it ever did, the process aborts rather than
// leave a thread in a container's namespace.) No thread is started: on a busy host, thread
// creation alone can cost milliseconds while the kernel tears other namespaces down.

#include <functional>
#include <string>

#include "common/result.h"
#include "sys/fd.h"

namespace berth::sys {

// Creates a new network namespace and keeps it alive by bind-mounting it on `path`, a file
// created for it (the directory must exist; an existing file is kAlreadyExists — a leftover
// from a crash goes with removeNetns first). The new namespace has its loopback up. Returns
// an fd on it (close-on-exec). On failure nothing is left behind.
Result<Fd> createNetns(const std::string& path);
// An fd on the namespace mounted at `path` (close-on-exec). kNotFound when the file is
// missing or no namespace is mounted on it any more; kInvalidArgument when it holds another
// kind of namespace.
Result<Fd> openNetns(const std::string& path);
// Unmounts (MNT_DETACH) and removes `path`; missing is fine (idempotent). The namespace
// itself goes when the last process, socket and fd in or on it is gone.
Status removeNetns(const std::string& path);
// Runs fn with the calling thread in `netns_fd`, then switches it back, and returns fn's
// Status. For things that have no netlink message: sockets made in fn stay in that
// namespace, and /proc/sys/net is that namespace's. May nest. kInvalidArgument (fn not run)
// when `netns_fd` is not a network namespace.
Status inNetns(int netns_fd, const std::function<Status()>& fn);

}  // namespace berth::sys
