#pragma once
// A berthd of its own for a test: private --root, --exec-root and socket in a temp dir,
// the busybox image loaded, and everything removed at the end (containers killed, mounts
// and runtime state gone) even when the test fails.

#include <signal.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "support/harness.h"

namespace berth::test {

// Extra berthd flags, e.g. {"--store", "etcd://127.0.0.1:2379"}.
struct DaemonFlags {
  std::vector<std::string> flags;
};

class Daemon {
 public:
  Daemon();  // with its own root and the busybox image in it
  // With extra flags (kept across restarts), its own root and no image.
  explicit Daemon(DaemonFlags flags);
  // On an existing image root (image and build tests): the root is left as it is.
  explicit Daemon(std::string root);
  ~Daemon();

  void start();  // waits until the API answers
  // Imports the busybox image (scripts/busybox-image.sh) as `name`.
  void addBusybox(const std::string& name) const;
  void kill9();  // SIGKILL, reaped
  void stop();   // SIGTERM, reaped
  bool running() const { return pid_ > 0; }

  // `berth ARGS…` against this daemon.
  CmdResult berth(const std::vector<std::string>& args, int timeout_sec = 60,
                  const std::string& input = "") const;
  // curl on the socket: METHOD PATH [BODY] → (status line code, body).
  CmdResult curl(const std::string& method, const std::string& path,
                 const std::string& body = "") const;
  // curl POST of a file as a tar body (an upload) → (status code, body).
  CmdResult upload(const std::string& path, const std::string& file) const;
  nlohmann::json inspect(const std::string& name) const;

  std::string path(const std::string& rel) const { return dir_->path() + "/" + rel; }
  std::string root() const { return root_.empty() ? path("root") : root_; }
  std::string socket() const { return path("berth.sock"); }
  std::string bridge() const;  // the default network's bridge
  std::string table() const;   // the nftables table it owns

 private:
  std::unique_ptr<TempDir> dir_;
  std::string root_;
  std::vector<std::string> flags_;
  pid_t pid_ = -1;
};

// `berth …` for the image and build suites, against a berthd on ROOT started on first use:
// `run` is sent there as `run --rm`.
CmdResult berthOnRoot(const std::string& root, std::unique_ptr<Daemon>& daemon,
                      const std::vector<std::string>& args, int timeout_sec);

// Polls `pred` every 50 ms for at most `seconds`.
bool eventually(const std::function<bool()>& pred, double seconds = 20);

}  // namespace berth::test
