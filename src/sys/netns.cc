#include "sys/netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include "common/strings.h"
#include "sys/netlink.h"

namespace berth::sys {

namespace {

// Every new network namespace numbers its loopback 1 (LOOPBACK_IFINDEX in the kernel).
constexpr int kLoopbackIndex = 1;

// Runs fn on a new thread and waits for it. Namespace switches happen there, so no thread
// of the caller's ever changes namespace, and none is left in the wrong one if switching
// back were to fail: the thread just ends.
Status onFreshThread(const std::function<Status()>& fn) {
  Status result;
  try {
    std::thread t([&] { result = fn(); });
    t.join();
  } catch (const std::system_error& e) {
    return errnoError("start a thread", e.code().value());
  }
  return result;
}

}  // namespace

Result<Fd> createNetns(const std::string& path) {
  const std::string what = "create netns " + quote(path);
  int f = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (f < 0) return errnoError(what, errno);
  ::close(f);
  Fd ns;
  Status s = onFreshThread([&]() -> Status {
    if (::unshare(CLONE_NEWNET) != 0) return errnoError(what + ": unshare", errno);
    int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errnoError(what + ": open '/proc/thread-self/ns/net'", errno);
    ns = Fd(fd);
    // The bind mount keeps the namespace alive once this thread and the fd are gone.
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return errnoError(what + ": bind mount", errno);
    auto nl = Netlink::open();
    if (!nl.ok()) return nl.error().context(what);
    Status up = nl->setUp(kLoopbackIndex);
    if (!up.ok()) return up.error().context(what);
    return okStatus();
  });
  if (!s.ok()) {
    (void)removeNetns(path);
    return s.error();
  }
  return ns;
}

Result<Fd> openNetns(const std::string& path) {
  const std::string what = "open netns " + quote(path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError(what, errno);
  Fd ns(fd);
  int type = ::ioctl(fd, NS_GET_NSTYPE);
  // ENOTTY: a plain file, its namespace unmounted (a crash, a reboot with a kept state dir).
  if (type < 0 && errno == ENOTTY) return notFound(what + ": no namespace is mounted there");
  if (type < 0) return errnoError(what, errno);
  if (type != CLONE_NEWNET) return invalidArgument(what + ": not a network namespace");
  return ns;
}

Status removeNetns(const std::string& path) {
  const std::string what = "remove netns " + quote(path);
  // EINVAL: not a mount point (any more); ENOENT: nothing there.
  if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT)
    return errnoError(what + ": unmount", errno);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errnoError(what, errno);
  return okStatus();
}

Status inNetns(int netns_fd, const std::function<Status()>& fn) {
  return onFreshThread([&]() -> Status {
    if (::setns(netns_fd, CLONE_NEWNET) != 0)
      return errnoError("enter netns fd " + std::to_string(netns_fd), errno);
    return fn();
  });
}

}  // namespace berth::sys
