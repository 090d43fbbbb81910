#include "e2e/daemon.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/strings.h"

namespace berth::test {

bool eventually(const std::function<bool()>& pred, double seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

Daemon::Daemon() : dir_(std::make_unique<TempDir>("berthd")) {
  start();
  addBusybox("busybox:latest");
}

void Daemon::addBusybox(const std::string& name) const {
  auto img = runCmd({BERTH_SOURCE_DIR "/scripts/busybox-image.sh", name}, "", 120,
                    {"BERTH=" BERTH_CLI, "BERTH_HOST=unix://" + socket()});
  EXPECT_EQ(img.code, 0) << img.out << img.err;
}

Daemon::Daemon(std::string root)
    : dir_(std::make_unique<TempDir>("berthd")), root_(std::move(root)) {
  start();
}

Daemon::Daemon(DaemonFlags flags)
    : dir_(std::make_unique<TempDir>("berthd")), flags_(std::move(flags.flags)) {
  start();
}

Daemon::~Daemon() {
  if (!running()) start();
  // Remove every container through the API, then stop; then sweep what a crash could
  // have left (monitors, runtime state, mounts) so the machine is as before.
  auto ids = berth({"ps", "-aq", "--no-trunc"});
  for (const auto& id : split(ids.out, '\n'))
    if (!id.empty()) berth({"rm", "-f", id});
  stop();
  runCmd({"/bin/sh", "-c",
          "for c in $(" BERTH_RUNTIME " --root " + path("run/runtime") +
              " list -q 2>/dev/null); do " BERTH_RUNTIME " --root " + path("run/runtime") +
              " delete -f $c; done; grep -o ' " + dir_->path() +
              "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"});
  if (!root_.empty())
    runCmd(
        {"/bin/sh", "-c",
         "grep -o ' " + root_ + "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"});
  dir_.reset();
}

std::string Daemon::bridge() const { return "bt" + std::to_string(::getpid()); }
std::string Daemon::table() const { return "berth_t" + std::to_string(::getpid()); }

void Daemon::start() {
  // Networking of its own too: bridge, addresses and nftables table named after the test
  // process, so that it meets neither the host's berthd nor another test's. At its final
  // stop (SIGTERM) it removes them (--cleanup).
  int k = static_cast<int>(::getpid() % 200);
  std::string bridge_name = bridge(), table_name = table();
  std::string bip = "172.31." + std::to_string(k) + ".1/24";
  std::string pool = "10." + std::to_string(100 + k % 100) + ".0.0/16";
  // Names the resolver does not know go to loopback, where nothing answers: no query
  // leaves the machine.
  std::string resolv = path("resolv.conf");
  runCmd({"/bin/sh", "-c", "echo 'nameserver 127.0.0.1' > " + resolv});
  pid_ = ::fork();
  if (pid_ == 0) {
    int log = ::open(path("berthd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::setpgid(0, 0);
    std::vector<std::string> args = {
        BERTHD,   "--root",      root(),      "--exec-root",   path("run"), "--socket",
        socket(), "--bridge",    bridge_name, "--bip",         bip,         "--address-pool",
        pool,     "--nft-table", table_name,  "--resolv-conf", resolv,      "--cleanup"};
    args.insert(args.end(), flags_.begin(), flags_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(BERTHD, argv.data());
    _exit(127);
  }
  bool up = eventually([&] { return berth({"version"}).code == 0; }, 20);
  ASSERT_TRUE(up) << "berthd did not answer; its log:\n" << runCmd({"cat", path("berthd.log")}).out;
}

void Daemon::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void Daemon::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

CmdResult Daemon::berth(const std::vector<std::string>& args, int timeout_sec,
                        const std::string& input) const {
  std::vector<std::string> argv = {BERTH_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCmd(argv, input, timeout_sec, {"BERTH_HOST=unix://" + socket()});
}

CmdResult Daemon::curl(const std::string& method, const std::string& p,
                       const std::string& body) const {
  std::vector<std::string> argv = {"curl", "-s", "--unix-socket", socket(), "-X",
                                   method, "-w", "\n%{http_code}"};
  if (!body.empty()) argv.insert(argv.end(), {"-H", "Content-Type: application/json", "-d", body});
  argv.push_back("http://berth" + p);
  auto r = runCmd(argv);
  auto nl = r.out.rfind('\n');
  r.code = std::atoi(r.out.substr(nl + 1).c_str());
  r.out = r.out.substr(0, nl);
  return r;
}

CmdResult Daemon::upload(const std::string& p, const std::string& file) const {
  auto r =
      runCmd({"curl", "-s", "--unix-socket", socket(), "-X", "POST", "-w", "\n%{http_code}", "-H",
              "Content-Type: application/x-tar", "--data-binary", "@" + file, "http://berth" + p});
  auto nl = r.out.rfind('\n');
  r.code = std::atoi(r.out.substr(nl + 1).c_str());
  r.out = r.out.substr(0, nl);
  return r;
}

CmdResult berthOnRoot(const std::string& root, std::unique_ptr<Daemon>& daemon,
                      const std::vector<std::string>& args, int timeout_sec) {
  if (!daemon) daemon = std::make_unique<Daemon>(root);
  if (!args.empty() && args[0] == "run") {
    std::vector<std::string> run = {"run", "--rm"};
    run.insert(run.end(), args.begin() + 1, args.end());
    return daemon->berth(run, timeout_sec);
  }
  return daemon->berth(args, timeout_sec);
}

nlohmann::json Daemon::inspect(const std::string& name) const {
  auto r = curl("GET", "/v1/containers/" + name);
  if (r.code != 200) return nlohmann::json();
  return nlohmann::json::parse(r.out, nullptr, false);
}

}  // namespace berth::test
