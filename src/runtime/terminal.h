#pragma once
// Foreground terminal for `run`/`exec` without --console-socket: our stdin/stdout are
// connected to the container's pty master until the container side closes it.

#include <sys/types.h>

namespace berth::runtime {

// Forwards the signals a foreground runtime receives (INT, TERM, HUP, QUIT, USR1, USR2,
// WINCH) to `pid`, so that `run`/`exec` behave like the process they wait for.
// pid 0 stops forwarding. Process-wide; not thread-safe.
void forwardSignalsTo(pid_t pid);

// Copies stdin → master and master → stdout, with the local terminal (if any) in raw mode
// and its size copied to the container's. Returns when the master reports EOF or EIO.
void proxyTerminal(int master);

}  // namespace berth::runtime
