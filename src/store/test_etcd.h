#pragma once
// For tests and benchmarks only (never linked into berthd): a real etcd (Debian's
// /usr/bin/etcd) on 127.0.0.1 with free ports and a data dir of its own, killed and removed
// on destruction, pass or fail. The etcd process also dies with its parent (PDEATHSIG), so
// a crashed test leaves no etcd behind.

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace berth::store::testing {

class EtcdProcess {
 public:
  // Starts etcd and waits (up to 30 s) until it answers. kUnsupported when etcd is not
  // installed (scripts/deps.sh installs etcd-server).
  static Result<std::unique_ptr<EtcdProcess>> start();
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // "127.0.0.1:PORT", its client URL without the scheme.
  std::string endpoint() const;
  // SIGKILL, as a crash would; the data dir stays.
  void kill();
  // Starts it again on the same ports and data dir, and waits until it answers.
  Status restart();

 private:
  EtcdProcess(std::string dir, int client_port, int peer_port)
      : dir_(std::move(dir)), client_port_(client_port), peer_port_(peer_port) {}
  Status launch();
  Status waitReady();

  std::string dir_;
  int client_port_;
  int peer_port_;
  pid_t pid_ = -1;
};

}  // namespace berth::store::testing
