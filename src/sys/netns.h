#pragma once
// Network namespaces kept alive by a bind mount (as `ip netns` does), and running code in
// one. Safe in a multi-threaded process: namespace switches happen on short-lived threads,
// so the caller's threads never change namespace.

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
// Runs fn on a short-lived thread that entered `netns_fd`, and returns its Status once the
// thread is gone; the calling thread never changes namespace. For things that have no
// netlink message: sockets made there stay in that namespace, /proc/sys/net is that
// namespace's. fn must not rely on the caller's thread-locals.
Status inNetns(int netns_fd, const std::function<Status()>& fn);

}  // namespace berth::sys
