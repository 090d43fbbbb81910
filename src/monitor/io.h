#pragma once
// Small descriptor and clock helpers shared by berth-monitor and berth-init.

#include <cstddef>
#include <cstdint>

#include "monitor/text.h"

namespace berth::monitor {

// Writes all of buf to a blocking descriptor, retrying on EINTR and short writes.
bool writeAll(int fd, const void* buf, size_t len);

// CLOCK_REALTIME in nanoseconds since the UNIX epoch.
int64_t realtimeNs();
// CLOCK_MONOTONIC in milliseconds.
int64_t monotonicMs();

// Makes sure descriptors 0, 1 and 2 are open (on /dev/null), so that descriptors we open
// later never land on them.
void ensureStdio();

// Appends errno's description in berth's message style ("no such file or directory").
void addErrno(Text& t, int err);

// Sets or clears O_NONBLOCK.
bool setNonBlocking(int fd, bool on);

}  // namespace berth::monitor
