#pragma once
// berth-monitor: one small process per running container. It owns the container's stdio
// so that the container keeps running, and nothing it writes is lost, while berthd is
// down or restarting. berthd spawns it; it runs the OCI runtime's `create`, then stays
// until the container's init has exited and its output is drained, records the exit
// status, and exits. It is statically linked and uses libc only (no libstdc++ state, no
// heap growth with output), so that a sleeping container costs ~0.1 MB of PSS.
//
// Command line (all paths absolute):
//   berth-monitor --id ID --bundle DIR --dir CDIR --runtime PATH --runtime-root DIR
//                 [--tty] [--stdin] [--log-max-size BYTES] [--log-max-files N]
//                 [--sync-fd FD]
// It runs `RUNTIME --root DIR --log CDIR/runtime.log --log-format json create --bundle DIR
// --pid-file CDIR/init.pid [--console-socket CDIR/console.sock] ID`; berthd runs `start`,
// `kill` and `delete` itself. Without --tty the runtime's (and so the container's) stdout
// and stderr are pipes to the monitor and its stdin is a pipe with --stdin, /dev/null
// without; anything the runtime itself prints there also lands in container.log. With
// --tty the runtime's stdio is /dev/null and the container's is the pty. --log-max-files
// is 1 to 1000. Descriptors other than 0-2 and the sync descriptor are closed at start.
//
// The monitor does not fork itself into the background: the pid berthd spawned is the
// monitor (the one in the "P" line). berthd either reaps it or spawns it through an
// intermediate process that exits; the monitor calls setsid() (which fails, harmlessly,
// if it is already a process-group leader) and carries on whatever happens to its parent.
// Exit status: 0 once the exit file is written, 1 when create or the monitor's own setup
// failed ("E" line), 2 for a bad command line.
//
// Files in CDIR (the container's state directory, which must exist):
//   monitor.sock     unix stream socket, mode 0600: attach connections (below)
//   console.sock     only with --tty, while the runtime runs: receives the pty master
//   init.pid         written by the runtime (--pid-file); a stale one, and a stale exit
//                    file, are removed when the monitor starts
//   runtime.log      the runtime's --log (JSON lines, --log-format json); read by berthd
//                    to explain a failed create. Truncated when the monitor starts; the
//                    monitor appends its own failures there in the same shape:
//                      {"level":"error","msg":"berth-monitor: …","time":"…"}
//   container.log    the output, one JSON object per line, docker's json-file format:
//                      {"log":"hello\n","stream":"stdout","time":"2026-11-28T18:30:00.123456789Z"}
//                    A line longer than 16 KiB is split into pieces without "\n"; output that
//                    ends without a newline is written as such. With --tty the stream is
//                    "stdout". With --log-max-size, when a write would take the file past
//                    it, the file is renamed container.log.1 (older ones shifted to .2 …)
//                    and a new one is started; --log-max-files N counts the current file,
//                    so N-1 rotated files are kept (N = 1: the file is simply restarted).
//   exit             written atomically (tmp + rename, not flushed: after a machine crash
//                    the container is gone and berthd records it killed) once the init has
//                    exited and the output is drained: one line
//                      {"exit_code":N,"signal":S,"finished_ns":UNIX_NS}
//                    exit_code is the status for a normal exit, 128+S for a signal (S is 0
//                    for a normal exit); finished_ns is when the monitor reaped the init.
//                    Draining stops at end of file on every output, or 2 s after the init
//                    exited: processes that escaped the container's pid namespace may hold
//                    the pipes or the pty forever. The exit file exists before
//                    monitor.sock is removed, so a client that cannot connect any more
//                    finds it (or the monitor died: no socket, no exit file, no process).
//
// Sync descriptor (--sync-fd, inherited from berthd): the monitor writes exactly one line
// and closes it:
//   "P <monitor pid> <init pid>\n"   the container is created (runtime create succeeded);
//                                   berthd now runs the runtime's `start`
//   "E <runtime exit status>\n"      create failed; the reason is in runtime.log; the
//                                   monitor has exited (it removes monitor.sock and
//                                   console.sock). 255 also when create succeeded but the
//                                   runtime left no valid init.pid or sent no pty (the
//                                   monitor then runs `delete --force ID` itself).
//   "E -1\n"                        the monitor failed before or while starting the
//                                   runtime (bad arguments, CDIR missing, bind); the
//                                   reason is on its stderr and, once CDIR was entered,
//                                   in runtime.log
// If berthd has gone away by then, the line is lost and the monitor carries on.
//
// Attach connections (monitor.sock). Both directions carry frames in docker's stream
// format: an 8-byte header [TYPE, 0, 0, 0, SIZE as big-endian u32] and SIZE bytes.
//   monitor → client: TYPE 1 stdout, 2 stderr (with --tty all output is TYPE 1). Output
//                     produced before the client connected is not replayed (that is what
//                     container.log is for). When the container has exited and its output
//                     is drained the monitor sends one TYPE 4 frame whose 4-byte payload is
//                     the exit code (big-endian), then closes the connection.
//   client → monitor: TYPE 0 stdin data (written to the container's stdin: the pipe, or the
//                     pty master with --tty; ignored without --stdin), TYPE 5 close stdin
//                     (SIZE 0; the pipe's write end is closed; with --tty an EOT, ^D, is
//                     written; stdin frames after it are dropped), TYPE 6 resize (SIZE 4:
//                     rows, cols as big-endian u16; TIOCSWINSZ on the pty master, or kept
//                     and applied when the pty arrives; ignored without --tty). Frames of
//                     one connection take effect in order. A resize of another SIZE and
//                     frames of other types are skipped. Stdin the container does not read
//                     is held back in the clients' sockets (the monitor stops reading every
//                     client, resize and close frames included, while 4 KiB wait for the
//                     container), never in the monitor.
//   Up to 16 clients may be attached at once (more are closed at once), before or after
//   `start`; all get the same output, and any may write stdin. A CDIR too long for
//   sun_path (108 bytes with "/monitor.sock") needs a relative connect from inside CDIR.
//   A client that shuts down its sending side still gets output. When a client goes away
//   nothing happens to the container (not even to its stdin). After the exit frame the
//   monitor gives clients 1 s to take what is still queued for them.
//   A client that reads too slowly (more than kClientBufferMax bytes queued for it) is
//   disconnected; the container never blocks on an attached client, and container.log
//   always gets everything.
//
// Pooled monitors (--pool): started before their container is known, so that a start
// waits for neither the monitor's exec nor the runtime's. Command line:
//   berth-monitor --id PLACEHOLDER --pool --runtime PATH --runtime-root DIR --sync-fd FD
// where FD is a SOCK_SEQPACKET socket and PLACEHOLDER any string as long as the real id
// (berthd uses 64 '-'). The monitor drops to SCHED_IDLE, forks `RUNTIME --await-request 3`
// (a pooled runtime: fd 3 a SOCK_SEQPACKET socket to the monitor, stdio /dev/null), waits
// for that runtime's one-byte message "R" (loaded and waiting), then sends "R\n" on FD
// and waits there for its assignment: one message with the options of a plain command line
// (--id … --runtime-root DIR [--tty] …, no --sync-fd, no --pool), each NUL-terminated. It
// then returns to SCHED_OTHER, writes the real id over PLACEHOLDER in its argv (so `ps`
// shows it), and carries on as a plain monitor whose sync descriptor is FD; instead of
// forking a runtime it sends the pooled one its request: one message of NUL-terminated
// strings, the working directory (CDIR) and then create's arguments after argv[0], with
// the three stdio descriptors attached (SCM_RIGHTS). The pooled runtime says "R" only once
// it has built its command line, returns to SCHED_OTHER when its request comes and then
// runs exactly as if started with those arguments. When FD closes without an assignment
// the monitor closes the runtime's socket (the runtime exits at once), reaps it and exits
// 0; a malformed assignment gets "E -1" and exit status 2. If the runtime could not be
// loaded, the monitor still says "R" and forks a runtime the usual way once assigned.
//
// Signals: the monitor ignores SIGINT, SIGHUP, SIGPIPE and SIGTERM and runs in its own
// session, so nothing sent to berthd's process group reaches it (the runtime it starts
// gets default dispositions and an empty mask). It is a child subreaper, so the init
// becomes its child when the runtime's create exits; processes that escape the container
// are reaped too. To stop a container berthd uses the runtime's `kill`, never the monitor.

#include <cstddef>
#include <cstdint>

namespace berth::monitor {

inline constexpr uint8_t kStdin = 0;
inline constexpr uint8_t kStdout = 1;
inline constexpr uint8_t kStderr = 2;
inline constexpr uint8_t kExit = 4;
inline constexpr uint8_t kCloseStdin = 5;
inline constexpr uint8_t kResize = 6;

inline constexpr size_t kFrameHeader = 8;
inline constexpr size_t kMaxLogLine = 16 * 1024;
inline constexpr size_t kClientBufferMax = 1 << 20;
inline constexpr int kDefaultLogFiles = 1;

inline constexpr const char* kSocket = "monitor.sock";
inline constexpr const char* kConsoleSocket = "console.sock";
inline constexpr const char* kInitPid = "init.pid";
inline constexpr const char* kRuntimeLog = "runtime.log";
inline constexpr const char* kLog = "container.log";
inline constexpr const char* kExitFile = "exit";

}  // namespace berth::monitor
