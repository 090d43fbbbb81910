#pragma once
// The cgroup core's migration lock, taken ahead of a container start.
//
// Why: moving a process between cgroups takes one global lock (cgroup_threadgroup_rwsem),
// and the first taker after a quiet spell waits for an RCU grace period, 10-15 ms on a
// small VM, before anything moves; takers within about one more grace period do not wait.
// The runtime's attach of every new container's init paid that wait on the start path
// (crun pays it too: one write to cgroup.procs took 11-14 ms, the nine others 20 us). So
// when a create or a start arrives, a thread of berthd moves itself into the cgroup it is
// already in: nothing changes, but the wait is paid off the request's path, and by the
// time the runtime attaches the init, some 10-20 ms later, the lock is cheap again.
//
// The move is a no-op by construction: the thread reads its own cgroup
// (/proc/thread-self/cgroup) right before writing its own id into that same cgroup (v1:
// the `tasks` file of one hierarchy, so only this thread; v2: cgroup.procs with berthd's
// pid, v2 moving whole processes). Were berthd moved by someone else in the microseconds
// between the read and the write, this thread (v2: berthd) would go back to its old cgroup.
//
// kick() never blocks; each kick causes at most one move, and kicks during a move are
// folded into it. When a move fails (no cgroupfs, a cgroup that refuses members, no
// permission) warming stops for good, logged once at debug level; starts work as before.
// Thread-safe. Destruction joins the thread (after the move in progress).

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace berth::engine {

class CgroupWarmup {
 public:
  CgroupWarmup();
  ~CgroupWarmup();
  CgroupWarmup(const CgroupWarmup&) = delete;
  CgroupWarmup& operator=(const CgroupWarmup&) = delete;

  void kick();

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace berth::engine
