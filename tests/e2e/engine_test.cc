// berthd and the berth CLI as a user drives them: issue 4's scenarios. Each test has its
// own daemon (e2e/daemon.h); nothing outside its temp dir is touched.

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "e2e/daemon.h"

namespace berth::test {
namespace {

class Engine : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    d_ = std::make_unique<Daemon>();
  }
  void TearDown() override { d_.reset(); }

  std::string state(const std::string& name) {
    auto j = d_->inspect(name);
    return j.is_object() ? j["state"].value("status", "") : "";
  }
  std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    for (auto& l : split(text, '\n'))
      if (!l.empty()) out.push_back(l);
    return out;
  }
  // Mounts and runtime state a container could leave behind. The runtime's compiled
  // seccomp programs ("@seccomp", shared by every container with that profile) are not.
  std::string leftovers() {
    auto m =
        runCmd({"/bin/sh", "-c", "grep -c ' " + d_->root() + "/containers' /proc/self/mountinfo"});
    auto c = runCmd({"/bin/sh", "-c",
                     "ls -I @seccomp " + d_->root() + "/containers " + d_->path("run/runtime")});
    return "mounts:" + std::string(trim(m.out)) + " files:" + std::string(trim(c.out));
  }

  std::unique_ptr<Daemon> d_;
};

TEST_F(Engine, RunRemovePrintsBothStreamsAndExitCodeAndLeavesNothing) {
  auto r = d_->berth({"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(d_->berth({"ps", "-aq"}).out, "");
  // The runtime's state (cgroups) goes right after the answer.
  std::string none =
      "mounts:0 files:" + d_->root() + "/containers:\n\n" + d_->path("run/runtime") + ":";
  eventually([&] { return leftovers() == none; });
  EXPECT_EQ(leftovers(), none);
}

TEST_F(Engine, DetachedLogsFollowExecAndStopTimeout) {
  auto run = d_->berth(
      {"run", "-d", "--name", "ticker", "busybox", "sh", "-c",
       "trap 'exit 0' TERM; i=0; while true; do echo line$i; i=$((i+1)); sleep 0.1; done"});
  ASSERT_EQ(run.code, 0) << run.err;
  ASSERT_EQ(run.out.size(), 65u) << run.out;  // the id and a newline
  // logs -f keeps delivering new lines (killed by timeout after 2 s).
  auto follow = runCmd({"timeout", "2", BERTH_CLI, "logs", "-f", "ticker"}, "", 10,
                       {"BERTH_HOST=unix://" + d_->socket()});
  auto got = lines(follow.out);
  ASSERT_GE(got.size(), 12u) << follow.out << follow.err;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], "line" + std::to_string(i));
  auto tail = d_->berth({"logs", "--tail", "2", "ticker"});
  EXPECT_EQ(lines(tail.out).size(), 2u);

  // exec runs in the container's namespaces: its pid 1 and host name.
  auto ex = d_->berth(
      {"exec", "ticker", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; exit 3"});
  EXPECT_EQ(ex.code, 3) << ex.err;
  auto exl = lines(ex.out);
  ASSERT_EQ(exl.size(), 2u) << ex.out;
  EXPECT_NE(exl[0].find("while true"), std::string::npos) << exl[0];
  EXPECT_EQ(exl[1], d_->inspect("ticker")["id"].get<std::string>().substr(0, 12));

  // A process that ignores SIGTERM is killed once the timeout has passed.
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "stubborn", "busybox", "sh", "-c",
                       "trap '' TERM; while true; do sleep 0.1; done"})
                .code,
            0);
  auto t0 = std::chrono::steady_clock::now();
  auto stop = d_->berth({"stop", "-t", "1", "stubborn"});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_GE(took, 0.9);
  EXPECT_EQ(d_->inspect("stubborn")["state"]["exit_code"], 137);
  // One that handles it exits by itself, with its own code.
  ASSERT_EQ(d_->berth({"stop", "-t", "10", "ticker"}).code, 0);
  EXPECT_EQ(d_->inspect("ticker")["state"]["exit_code"], 0);
  EXPECT_EQ(state("ticker"), "exited");
  EXPECT_EQ(d_->berth({"stop", "ticker"}).code, 0);  // 304: already stopped is fine
}

TEST_F(Engine, RestartAlwaysBacksOff) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "crash", "--restart", "always", "busybox", "sh", "-c",
                       "echo started; exit 1"})
                .code,
            0);
  ASSERT_TRUE(eventually([&] {
    return d_->inspect("crash")["state"].value("restart_count", 0) >= 4;
  })) << d_->inspect("crash").dump();
  ASSERT_EQ(d_->berth({"stop", "crash"}).code, 0);
  auto logs = lines(d_->berth({"logs", "-t", "crash"}).out);
  ASSERT_GE(logs.size(), 5u);
  auto at = [&](size_t i) {
    // "2026-11-28T18:30:00.123456789Z started": seconds within the minute suffice here.
    std::string t = logs[i].substr(17, 12);
    return std::stod(t);
  };
  double first_gap = at(1) - at(0), later_gap = at(4) - at(3);
  if (first_gap < 0) first_gap += 60;
  if (later_gap < 0) later_gap += 60;
  EXPECT_GT(later_gap, first_gap) << "restarts should back off: " << logs[0] << " / " << logs[4];
  EXPECT_EQ(state("crash"), "exited");
  // Stopped by the user: no more restarts.
  int count = d_->inspect("crash")["state"]["restart_count"];
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(d_->inspect("crash")["state"]["restart_count"], count);
}

TEST_F(Engine, HealthcheckTurnsUnhealthy) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "doc", "--health-cmd", "test -f /tmp/ok",
                       "--health-interval", "200ms", "--health-retries", "2", "busybox", "sh", "-c",
                       "touch /tmp/ok; exec sleep 1000"})
                .code,
            0);
  ASSERT_TRUE(eventually([&] {
    return d_->inspect("doc")["state"]["health"].value("status", "") == "healthy";
  })) << d_->inspect("doc").dump();
  EXPECT_NE(d_->berth({"ps"}).out.find("(healthy)"), std::string::npos);
  ASSERT_EQ(d_->berth({"exec", "doc", "rm", "/tmp/ok"}).code, 0);
  ASSERT_TRUE(eventually([&] {
    return d_->inspect("doc")["state"]["health"].value("status", "") == "unhealthy";
  })) << d_->inspect("doc").dump();
  auto ev = d_->berth(
      {"events", "--since", "0", "--until", std::to_string(time(nullptr) + 1), "--format", "json"});
  EXPECT_NE(ev.out.find("health_status: unhealthy"), std::string::npos) << ev.out;
}

TEST_F(Engine, FiftyParallelRunsSurviveDaemonKill) {
  std::vector<std::future<CmdResult>> runs;
  for (int i = 0; i < 50; ++i)
    runs.push_back(std::async(std::launch::async, [&, i] {
      return d_->berth({"run", "-d", "--name", "p" + std::to_string(i), "busybox", "sleep", "1000"},
                       120);
    }));
  std::set<std::string> ids;
  for (auto& f : runs) {
    auto r = f.get();
    EXPECT_EQ(r.code, 0) << r.err;
    ids.insert(std::string(trim(r.out)));
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(lines(d_->berth({"ps", "-q"}).out).size(), 50u);
  d_->kill9();
  d_->start();
  auto after = d_->berth({"ps", "-q", "--no-trunc"});
  auto running = lines(after.out);
  EXPECT_EQ(std::set<std::string>(running.begin(), running.end()), ids);
  for (const auto& id : ids) {
    auto j = d_->inspect(id);
    int pid = j["state"]["pid"];
    EXPECT_EQ(::kill(pid, 0), 0) << "container " << id << " lost its process";
  }
}

TEST_F(Engine, NoLogLineLostAcrossDaemonRestart) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "writer", "busybox", "sh", "-c",
                       "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"})
                .code,
            0);
  ASSERT_EQ(
      d_->berth({"run", "-d", "--name", "quitter", "busybox", "sh", "-c", "sleep 1.5; exit 5"})
          .code,
      0);
  // Exits (and so restarts) only while the daemon is down.
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh",
                       "-c", "sleep 1.5; exit 1"})
                .code,
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(d_->inspect("phoenix")["state"]["restart_count"], 0) << "exited too early";
  ASSERT_EQ(state("quitter"), "running") << "exited too early";
  d_->kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  d_->start();
  // The one that exited meanwhile has its exit code; the restart policy resumed.
  EXPECT_EQ(state("quitter"), "exited");
  EXPECT_EQ(d_->inspect("quitter")["state"]["exit_code"], 5);
  EXPECT_TRUE(eventually([&] {
    return d_->inspect("phoenix")["state"].value("restart_count", 0) > 0;
  })) << d_->inspect("phoenix").dump();
  EXPECT_EQ(state("writer"), "running");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(d_->berth({"stop", "-t", "1", "writer"}).code, 0);
  auto got = lines(d_->berth({"logs", "writer"}).out);
  ASSERT_GE(got.size(), 25u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], std::to_string(i)) << "line lost";
}

// Removal is a record first, files after (into <root>/trash, deleted in the background):
// what a crash leaves of either is finished at the next start, before anything is served.
TEST_F(Engine, RemovalsInterruptedByADaemonKillAreFinishedAtRestart) {
  ASSERT_EQ(
      d_->berth({"run", "-d", "--rm", "--name", "brief", "busybox", "sh", "-c", "sleep 1; exit 3"})
          .code,
      0);
  // A container directory without a record: a crash between a removal's record and its
  // files (or within a create).
  std::string orphan = d_->root() + "/containers/" + std::string(64, 'a');
  ASSERT_EQ(runCmd({"mkdir", "-p", orphan + "/upper/etc", orphan + "/rootfs"}).code, 0);
  d_->kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  d_->start();
  EXPECT_EQ(d_->berth({"ps", "-aq"}).out, "") << "the --rm container outlived its exit";
  EXPECT_EQ(d_->curl("GET", "/v1/containers/brief").code, 404);
  EXPECT_EQ(leftovers(),
            "mounts:0 files:" + d_->root() + "/containers:\n\n" + d_->path("run/runtime") + ":");
  EXPECT_TRUE(eventually([&] {
    return runCmd({"/bin/sh", "-c", "ls -A " + d_->root() + "/trash"}).out.empty();
  })) << "the trash was not emptied";
  // The name is free again.
  EXPECT_EQ(d_->berth({"run", "--rm", "--name", "brief", "busybox", "true"}).code, 0);
}

TEST_F(Engine, MemoryLimitOomIsReported) {
  auto r = d_->berth(
      {"run", "--name", "hog", "--memory", "32m", "busybox", "sh", "-c", "tail /dev/zero"}, 120);
  EXPECT_EQ(r.code, 137) << r.err;
  auto j = d_->inspect("hog");
  EXPECT_EQ(j["state"]["oom_killed"], true) << j.dump();
  auto ev = d_->berth({"events", "--since", "0", "--until", std::to_string(time(nullptr) + 1),
                       "--filter", "event=oom", "--format", "json"});
  EXPECT_NE(ev.out.find("\"oom\""), std::string::npos) << ev.out;
}

TEST_F(Engine, BadInputIsRefusedAndLosesNothing) {
  auto bad = d_->curl("POST", "/v1/containers", "{\"image\": \"busybox\", \"cmd\": [1");
  EXPECT_EQ(bad.code, 400) << bad.out;
  auto typed =
      d_->curl("POST", "/v1/containers", R"({"image":"busybox","resources":{"memory":"x"}})");
  EXPECT_EQ(typed.code, 400);
  EXPECT_NE(typed.out.find("resources.memory"), std::string::npos) << typed.out;
  EXPECT_EQ(d_->curl("GET", "/_ping").out, "OK");  // still serving
  EXPECT_EQ(d_->curl("GET", "/v1/containers/nope").code, 404);
  auto unknown = d_->berth({"run", "--rm", "nosuchimage"});
  EXPECT_EQ(unknown.code, 125);
  EXPECT_NE(unknown.err.find("no such image"), std::string::npos) << unknown.err;
  ASSERT_EQ(d_->berth({"create", "--name", "dup", "busybox", "true"}).code, 0);
  auto dup = d_->curl("POST", "/v1/containers", R"({"image":"busybox","name":"dup"})");
  EXPECT_EQ(dup.code, 409) << dup.out;
  auto mem = d_->berth({"run", "--memory", "12q", "busybox", "true"});
  EXPECT_NE(mem.code, 0);
  EXPECT_NE(mem.err.find("--memory"), std::string::npos) << mem.err;
  // A command that cannot run: an error, and with --rm nothing stays.
  auto missing = d_->berth({"run", "--rm", "busybox", "/no/such/binary"});
  EXPECT_NE(missing.code, 0);
  EXPECT_EQ(lines(d_->berth({"ps", "-aq"}).out).size(), 1u);  // only "dup"
  EXPECT_EQ(d_->berth({"rm", "dup"}).code, 0);
  EXPECT_EQ(leftovers(),
            "mounts:0 files:" + d_->root() + "/containers:\n\n" + d_->path("run/runtime") + ":");
}

TEST_F(Engine, VolumesAreFilledFromTheImageAndOutliveContainers) {
  ASSERT_EQ(d_->berth({"run", "--rm", "-v", "etcvol:/etc", "busybox", "sh", "-c",
                       "cat /etc/passwd >/dev/null && echo data > /etc/mine"})
                .code,
            0);
  auto r = d_->berth({"run", "--rm", "-v", "etcvol:/data:ro", "busybox", "sh", "-c",
                      "cat /data/mine; ls /data/passwd; touch /data/x 2>/dev/null || echo ro"});
  EXPECT_EQ(r.out, "data\n/data/passwd\nro\n") << r.err;
  auto ls = d_->berth({"volume", "ls", "-q"});
  EXPECT_EQ(ls.out, "etcvol\n");
  EXPECT_EQ(d_->berth({"volume", "rm", "etcvol"}).code, 0);
  EXPECT_EQ(d_->berth({"volume", "ls", "-q"}).out, "");
}

TEST_F(Engine, CopyInAndOutOfContainers) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "box", "busybox", "sleep", "1000"}).code, 0);
  TempDir host("berth-cp");
  ASSERT_EQ(runCmd({"/bin/sh", "-c", "echo payload > " + host.path() + "/in.txt"}).code, 0);
  ASSERT_EQ(d_->berth({"cp", host.path() + "/in.txt", "box:/tmp/"}).code, 0);
  EXPECT_EQ(d_->berth({"exec", "box", "cat", "/tmp/in.txt"}).out, "payload\n");
  ASSERT_EQ(d_->berth({"cp", "box:/etc", host.path() + "/etc"}).code, 0);
  EXPECT_NE(runCmd({"cat", host.path() + "/etc/passwd"}).out.find("root:"), std::string::npos);
  // A stopped container's files can be copied too.
  ASSERT_EQ(d_->berth({"stop", "-t", "0", "box"}).code, 0);
  ASSERT_EQ(d_->berth({"cp", "box:/tmp/in.txt", host.path() + "/out.txt"}).code, 0);
  EXPECT_EQ(runCmd({"cat", host.path() + "/out.txt"}).out, "payload\n");
  auto missing = d_->berth({"cp", "box:/no/such", host.path() + "/x"});
  EXPECT_NE(missing.code, 0);
}

// `system df` counts what is there, what is in use and what a prune would free; `system
// prune` removes, as docker's does, stopped containers, networks and dangling images that
// nothing uses, volumes only with --volumes, and nothing that a container still uses.
TEST_F(Engine, SystemDfAndPruneTakeOnlyWhatNothingUses) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "keep", "busybox", "sleep", "100"}).code, 0);
  ASSERT_EQ(d_->berth({"run", "--name", "gone", "busybox", "true"}).code, 0);
  ASSERT_EQ(d_->berth({"network", "create", "unused-net"}).code, 0);
  ASSERT_EQ(d_->berth({"network", "create", "used-net"}).code, 0);
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "onnet", "--network", "used-net", "busybox", "sleep",
                       "100"})
                .code,
            0);
  ASSERT_EQ(d_->berth({"volume", "create", "spare"}).code, 0);
  auto tiny =
      runCmd({"/bin/sh", "-c",
              "mkdir -p " + d_->path("tiny") + " && echo x > " + d_->path("tiny/file") +
                  " && tar -C " + d_->path("tiny") + " -cf " + d_->path("tiny.tar") + " ."});
  ASSERT_EQ(tiny.code, 0) << tiny.err;
  ASSERT_EQ(d_->berth({"import", d_->path("tiny.tar")}).code, 0);  // untagged: dangling
  std::string gone_id = d_->inspect("gone").value("id", "");
  ASSERT_FALSE(gone_id.empty());

  auto df = d_->berth({"system", "df", "--format", "json"});
  ASSERT_EQ(df.code, 0) << df.err;
  auto usage = nlohmann::json::parse(df.out, nullptr, false);
  ASSERT_TRUE(usage.is_object()) << df.out;
  EXPECT_EQ(usage["images"]["count"], 2) << df.out;
  EXPECT_EQ(usage["images"]["active"], 1) << df.out;
  EXPECT_GT(usage["images"]["size"].get<int64_t>(), 1000000) << df.out;   // busybox: ~2 MB
  EXPECT_GT(usage["images"]["reclaimable"].get<int64_t>(), 0) << df.out;  // the dangling one
  EXPECT_EQ(usage["containers"]["count"], 3) << df.out;
  EXPECT_EQ(usage["containers"]["active"], 2) << df.out;
  EXPECT_EQ(usage["volumes"]["count"], 1) << df.out;
  EXPECT_EQ(usage["volumes"]["active"], 0) << df.out;
  auto table = d_->berth({"system", "df"});
  EXPECT_EQ(table.out.substr(0, table.out.find('\n')).find("TYPE"), 0u) << table.out;
  EXPECT_NE(table.out.find("RECLAIMABLE"), std::string::npos) << table.out;

  auto pruned = d_->berth({"system", "prune", "-f"});
  ASSERT_EQ(pruned.code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find("Deleted Containers:\n" + gone_id), std::string::npos) << pruned.out;
  EXPECT_NE(pruned.out.find("Deleted Networks:\nunused-net"), std::string::npos) << pruned.out;
  EXPECT_NE(pruned.out.find("deleted: sha256:"), std::string::npos) << pruned.out;
  EXPECT_EQ(pruned.out.find("Deleted Volumes:"), std::string::npos) << pruned.out;
  EXPECT_EQ(lines(d_->berth({"ps", "-a", "--format", "{{.Names}}"}).out).size(), 2u);
  auto nets = d_->berth({"network", "ls"}).out;
  EXPECT_NE(nets.find("used-net"), std::string::npos) << nets;
  EXPECT_EQ(nets.find("unused-net"), std::string::npos) << nets;
  EXPECT_EQ(lines(d_->berth({"images", "-q"}).out).size(), 1u) << "busybox stays: it is in use";
  EXPECT_NE(d_->berth({"volume", "ls"}).out.find("spare"), std::string::npos);

  auto with_volumes = d_->berth({"system", "prune", "-f", "--volumes"});
  ASSERT_EQ(with_volumes.code, 0) << with_volumes.err;
  EXPECT_NE(with_volumes.out.find("Deleted Volumes:\nspare"), std::string::npos)
      << with_volumes.out;
  EXPECT_EQ(d_->berth({"volume", "ls", "-q"}).out, "");
}

}  // namespace
}  // namespace berth::test
