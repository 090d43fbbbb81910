// Scenario 1 of the runtime issue, and the terminal and exec paths.

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "support/harness.h"
#include "sys/fs.h"
#include "sys/socket.h"

namespace berth::test {
namespace {

class Run : public RootTest {};

TEST_F(Run, PrintsAndReturnsTheExitCode) {
  Bundle b;
  b.shell("echo hi; exit 3");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("run")});
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.code, 3) << r.err;
}

TEST_F(Run, UnknownProgramFailsClearly) {
  Bundle b;
  b.config()["process"]["args"] = {"no-such-program"};
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("run")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("'no-such-program': executable file not found in $PATH"), std::string::npos)
      << r.err;
  EXPECT_EQ(b.rt({"list", "-q"}).out, "");
}

TEST_F(Run, EnvCwdAndUser) {
  Bundle b;
  b.config()["process"]["env"] = {"PATH=/bin", "GREETING=salut"};
  b.config()["process"]["cwd"] = "/tmp/work";
  b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {1002}}};
  b.shell("echo $GREETING $(pwd) $(id -u) $(id -g) $(id -G)");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("run")});
  EXPECT_EQ(r.out, "salut /tmp/work 1000 1001 1001 1002\n") << r.err;
}

TEST_F(Run, ExecJoinsTheRunningContainer) {
  Bundle b;
  b.shell("echo started > /tmp/flag; sleep 30");
  std::string id = uniqueName("exec");
  ASSERT_EQ(b.rt({"run", "-d", "--bundle", "@bundle", id}).code, 0);
  auto e = b.rt({"exec", id, "sh", "-c", "cat /tmp/flag; echo $$; hostname"});
  EXPECT_EQ(e.code, 0) << e.err;
  // Same filesystem, same pid namespace (the exec'd shell is not PID 1), same hostname.
  EXPECT_EQ(e.out.substr(0, 8), "started\n");
  EXPECT_NE(e.out.find("\nberth\n"), std::string::npos) << e.out;
  EXPECT_EQ(b.rt({"exec", id, "sh", "-c", "exit 7"}).code, 7);
  std::string pidfile = b.dir() + "/exec.pid";
  auto d = b.rt({"exec", "-d", "--pid-file", pidfile, id, "sleep", "20"});
  EXPECT_EQ(d.code, 0) << d.err;
  // exec --process FILE, the way podman and containerd call it.
  nlohmann::json process = {{"args", {"sh", "-c", "echo $FROM_FILE $(pwd)"}},
                            {"env", {"PATH=/bin", "FROM_FILE=yes"}},
                            {"cwd", "/tmp"}};
  std::string process_file = b.dir() + "/process.json";
  ASSERT_TRUE(sys::writeFileAtomic(process_file, process.dump()).ok());
  auto pf = b.rt({"exec", "--process", process_file, id});
  EXPECT_EQ(pf.out, "yes /tmp\n") << pf.err;
  auto ps = b.rt({"ps", "--format", "json", id});
  auto pid = sys::readFile(pidfile);
  ASSERT_TRUE(pid.ok());
  EXPECT_NE(ps.out.find(*pid), std::string::npos) << ps.out << " vs " << *pid;
  // kill --all reaches the exec'd process too, not only the init.
  ASSERT_EQ(b.rt({"kill", "--all", id, "KILL"}).code, 0);
  for (int i = 0; i < 200 && ::kill(std::stoi(*pid), 0) == 0; ++i) ::usleep(10000);
  EXPECT_NE(::kill(std::stoi(*pid), 0), 0) << "exec'd process survived kill --all";
}

TEST_F(Run, ConsoleSocketReceivesTheTerminal) {
  Bundle b;
  b.config()["process"]["terminal"] = true;
  b.shell("tty; echo term-ok");
  std::string sock_path = b.dir() + "/console.sock";
  int ls = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock_path.c_str());
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(ls, 1), 0);
  int master = -1;
  std::thread acceptor([&] {
    int c = ::accept(ls, nullptr, nullptr);
    auto fd = sys::recvFd(c);
    if (fd.ok()) master = *fd;
    ::close(c);
  });
  std::string id = uniqueName("tty");
  auto cr = b.rt({"create", "--bundle", "@bundle", "--console-socket", sock_path, id});
  acceptor.join();
  ::close(ls);
  ASSERT_EQ(cr.code, 0) << cr.err;
  ASSERT_GE(master, 0);
  ASSERT_EQ(b.rt({"start", id}).code, 0);
  std::string seen;
  char buf[256];
  ssize_t n;
  while ((n = ::read(master, buf, sizeof buf)) > 0) seen.append(buf, static_cast<size_t>(n));
  ::close(master);
  EXPECT_NE(seen.find("/dev/pts/0"), std::string::npos) << seen;
  EXPECT_NE(seen.find("term-ok"), std::string::npos) << seen;
}

TEST_F(Run, HooksRunInOrderWithTheState) {
  Bundle b;
  std::string log = b.dir() + "/hooks.log";
  // Each hook checks that the state JSON came on its stdin, then logs its name.
  auto hookAll = [&](const std::string& name) {
    return nlohmann::json{
        {"path", "/bin/sh"},
        {"args", {"sh", "-c", "grep -q '\"id\": \"' && echo " + name + " >> " + log}}};
  };
  // startContainer runs inside the container, after start and before the program.
  nlohmann::json in_container = {
      {"path", "/bin/sh"},
      {"args", {"sh", "-c", "grep -q '\"id\": \"' && echo startContainer > /hook"}}};
  b.config()["hooks"] = {{"prestart", {hookAll("prestart")}},
                         {"startContainer", {in_container}},
                         {"createRuntime", {hookAll("createRuntime")}},
                         {"createContainer", {hookAll("createContainer")}},
                         {"poststart", {hookAll("poststart")}},
                         {"poststop", {hookAll("poststop")}}};
  b.shell("true");
  std::string id = uniqueName("hooks");
  ASSERT_EQ(b.rt({"create", "--bundle", "@bundle", id}).code, 0);
  ASSERT_EQ(b.rt({"start", id}).code, 0);
  for (int i = 0; i < 500 && b.rt({"state", id}).out.find("stopped") == std::string::npos; ++i)
    ::usleep(10000);
  ASSERT_EQ(b.rt({"delete", id}).code, 0);
  auto text = sys::readFile(log);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "prestart\ncreateRuntime\ncreateContainer\npoststart\npoststop\n");
  EXPECT_EQ(*sys::readFile(b.rootfs() + "/hook"), "startContainer\n");
}

TEST_F(Run, AFailingHookFailsCreateAndLeavesNothing) {
  Bundle b;
  b.config()["hooks"] = {{"createRuntime", {{{"path", "/bin/false"}}}}};
  std::string id = uniqueName("badhook");
  auto r = b.rt({"create", "--bundle", "@bundle", id});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("createRuntime hook 0 '/bin/false': exited with code 1"), std::string::npos)
      << r.err;
  EXPECT_FALSE(sys::exists(b.stateRoot() + "/" + id));
  EXPECT_FALSE(sys::exists(cgroupDir("memory", "/berth/" + id)));
}

TEST_F(Run, InheritedDescriptorsStayOutUnlessPreserved) {
  Bundle b;
  b.shell("ls /proc/self/fd | tr '\\n' ' '; cat <&3 2>/dev/null || echo no-fd-3");
  b.save();
  std::string base = runtimePath() + " --root " + b.stateRoot() + " run --bundle " + b.dir();
  // The caller's fd 8 (a shim's socket, a log pipe…) must not reach the container.
  auto leaked = runCmd({"/bin/sh", "-c", "exec 8</etc/hostname; " + base + " " + uniqueName("fd")});
  EXPECT_EQ(leaked.code, 0) << leaked.err;
  EXPECT_EQ(leaked.out, "0 1 2 3 no-fd-3\n") << "(3 is ls's own directory)";
  auto kept = runCmd({"/bin/sh", "-c",
                      "echo passed > " + b.dir() + "/f; exec 3<" + b.dir() + "/f; " + base +
                          " --preserve-fds 1 " + uniqueName("fd")});
  EXPECT_EQ(kept.code, 0) << kept.err;
  EXPECT_EQ(kept.out, "0 1 2 3 4 passed\n");
}

TEST_F(Run, AmbientCapabilitiesThatCannotBeRaisedOnlyWarn) {
  Bundle b;
  // `runc spec` writes ambient capabilities without an inheritable set; runc warns.
  b.config()["process"]["capabilities"]["ambient"] = {"CAP_KILL"};
  b.config()["process"]["capabilities"]["inheritable"] = nlohmann::json::array();
  b.shell("echo ran");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("amb")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_NE(r.err.find("skip ambient capability 5"), std::string::npos) << r.err;
}

TEST_F(Run, UpdateChangesTheLimitsOfARunningContainer) {
  Bundle b;
  b.shell("sleep 30");
  b.config()["linux"]["cgroupsPath"] = "/berth-test/" + uniqueName("upd");
  std::string cg = b.config()["linux"]["cgroupsPath"];
  std::string id = uniqueName("upd");
  ASSERT_EQ(b.rt({"run", "-d", "--bundle", "@bundle", id}).code, 0);
  std::string res = b.dir() + "/res.json";
  ASSERT_TRUE(
      sys::writeFileAtomic(res, R"({"memory":{"limit":50331648},"pids":{"limit":42}})").ok());
  auto u = b.rt({"update", "--resources", res, id});
  EXPECT_EQ(u.code, 0) << u.err;
  if (!cgroupV2()) {
    EXPECT_EQ(*sys::readFile(cgroupDir("memory", cg) + "/memory.limit_in_bytes"), "50331648\n");
    EXPECT_EQ(*sys::readFile(cgroupDir("pids", cg) + "/pids.max"), "42\n");
  }
  auto bad = b.rt({"update", "--resources", "-", id}, 60, R"({"memory":{"limit":"lots"}})");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("resources.memory.limit: expected an integer"), std::string::npos)
      << bad.err;
  EXPECT_EQ(b.rt({"delete", "--force", id}).code, 0);
  removeCgroupEverywhere("/berth-test");
}

}  // namespace
}  // namespace berth::test
