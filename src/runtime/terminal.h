#pragma once
// Foreground terminal for `run`/`exec` without --console-socket: our stdin/stdout are
// connected to the container's pty master until the container side closes it.

namespace berth::runtime {

// Copies stdin → master and master → stdout, with the local terminal (if any) in raw mode
// and its size copied to the container's. Returns when the master reports EOF or EIO.
void proxyTerminal(int master);

}  // namespace berth::runtime
