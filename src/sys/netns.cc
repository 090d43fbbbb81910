#include "sys/netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/strings.h"
#include "sys/netlink.h"

namespace berth::sys {

namespace {

// Every new network namespace numbers its loopback 1 (LOOPBACK_IFINDEX in the kernel).
constexpr int kLoopbackIndex = 1;

// Moves the calling thread into another network namespace (setns into `target`, or a new
// one with unshare when `target` is -1), runs fn there, and moves it back.
Status switchAndRun(int target, const std::function<Status()>& fn) {
  int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return errnoError("open '/proc/thread-self/ns/net'", errno);
  if ((target < 0 ? ::unshare(CLONE_NEWNET) : ::setns(target, CLONE_NEWNET)) != 0) {
    int err = errno;
    ::close(home);
    if (target < 0) return errnoError("unshare network namespace", err);
    return errnoError("enter netns fd " + std::to_string(target), err);
  }
  Status result = fn();
  if (::setns(home, CLONE_NEWNET) != 0) {
    // Going on would make every later socket of this thread, every link it lists, the
    // container's. Stopping is better.
    std::fprintf(stderr, "berth: fatal: return to own network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  ::close(home);
  return result;
}

}  // namespace

Result<Fd> createNetns(const std::string& path) {
  const std::string what = "create netns " + quote(path);
  int f = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (f < 0) return errnoError(what, errno);
  ::close(f);
  Fd ns;
  Status s = switchAndRun(-1, [&]() -> Status {
    int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errnoError("open '/proc/thread-self/ns/net'", errno);
    ns = Fd(fd);
    // The bind mount keeps the namespace alive once the fd is closed.
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return errnoError("bind mount", errno);
    Netlink nl = BERTH_TRY(Netlink::open());
    return nl.setUp(kLoopbackIndex);
  });
  if (!s.ok()) {
    (void)removeNetns(path);
    return s.error().context(what);
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
  return switchAndRun(netns_fd, fn);
}

}  // namespace berth::sys
