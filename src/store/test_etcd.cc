#include "store/test_etcd.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/strings.h"
#include "store/etcd_http.h"

namespace berth::store::testing {

namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";

Result<int> freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoError("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return errnoError("bind a free port", err);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace

Result<std::unique_ptr<EtcdProcess>> EtcdProcess::start() {
  if (::access(kEtcd, X_OK) != 0)
    return unsupported(std::string(kEtcd) + " is not installed (scripts/deps.sh: etcd-server)");
  // A port found free may be taken by a parallel test before etcd binds it: then etcd
  // exits at once, and another pair of ports is tried.
  Error last = internalError("start etcd: not tried");
  for (int attempt = 0; attempt < 3; ++attempt) {
    char tmpl[] = "/tmp/berth-etcd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return errnoError("mkdtemp", errno);
    int client = BERTH_TRY(freePort());
    int peer = BERTH_TRY(freePort());
    std::unique_ptr<EtcdProcess> etcd(new EtcdProcess(tmpl, client, peer));
    Status s = etcd->launch();
    if (s) return etcd;
    last = s.error();
  }
  return last;
}

EtcdProcess::~EtcdProcess() {
  kill();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string EtcdProcess::endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

Status EtcdProcess::launch() {
  std::string client = "http://" + endpoint();
  std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> args = {kEtcd,
                                   "--name=test",
                                   "--data-dir=" + dir_ + "/data",
                                   "--listen-client-urls=" + client,
                                   "--advertise-client-urls=" + client,
                                   "--listen-peer-urls=" + peer,
                                   "--initial-advertise-peer-urls=" + peer,
                                   "--initial-cluster=test=" + peer};
  std::string log = dir_ + "/etcd.log";
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return errnoError("fork etcd", errno);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int null = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(kEtcd, argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return waitReady();
}

Status EtcdProcess::waitReady() {
  auto http = BERTH_TRY(etcd::HttpPool::make(endpoint(), std::chrono::milliseconds(100)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto r = http->post("/v3/kv/range", R"({"key":"AA=="})");
    if (r) return okStatus();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return internalError("start etcd: it exited with status " + std::to_string(status) +
                           "; see " + quote(dir_ + "/etcd.log"));
    }
    if (std::chrono::steady_clock::now() > deadline)
      return r.error().context("start etcd in " + quote(dir_));
  }
}

void EtcdProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

Status EtcdProcess::restart() {
  kill();
  return launch();
}

}  // namespace berth::store::testing
