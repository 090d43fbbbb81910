// Scenario 2 of the runtime issue: what a process sees inside the default container.

#include "support/harness.h"

namespace berth::test {
namespace {

class Isolation : public RootTest {};

std::string runScript(Bundle& b, const std::string& script) {
  b.shell(script);
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("iso")});
  EXPECT_EQ(r.code, 0) << r.err;
  return r.out;
}

TEST_F(Isolation, PidOneAndOnlyItsOwnProcesses) {
  Bundle b;
  // ps lists a header, sh (PID 1) and ps itself: nothing of the host.
  EXPECT_EQ(runScript(b, "echo $$; ps -o comm > /tmp/ps; cat /tmp/ps"), "1\nCOMMAND\nsh\nps\n");
}

TEST_F(Isolation, HostnameAndOnlyLoopback) {
  Bundle b;
  b.config()["hostname"] = "box-1";
  EXPECT_EQ(runScript(b, "hostname; ls /sys/class/net"), "box-1\nlo\n");
}

TEST_F(Isolation, MaskedAndReadOnlyProc) {
  Bundle b;
  std::string out =
      runScript(b,
                "wc -c < /proc/keys; cat /proc/timer_list | wc -c; "
                "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo writable || echo ro; "
                "ls /proc/acpi 2>/dev/null | wc -l");
  // (/proc/kcore is masked too, where the kernel has one; this one has not.)
  EXPECT_EQ(out, "0\n0\nro\n0\n");
}

TEST_F(Isolation, OnlyTheConfiguredCapabilities) {
  Bundle b;
  b.config()["process"]["capabilities"] = {{"bounding", {"CAP_KILL", "CAP_NET_RAW"}},
                                           {"effective", {"CAP_KILL", "CAP_NET_RAW"}},
                                           {"permitted", {"CAP_KILL", "CAP_NET_RAW"}},
                                           {"inheritable", nlohmann::json::array()},
                                           {"ambient", nlohmann::json::array()}};
  std::string show = "grep -E '^Cap(Eff|Prm|Bnd|Inh|Amb)' /proc/self/status | tr -s '\\t' ' '";
  // CAP_KILL = 5 → 0x20; CAP_NET_RAW = 13 → 0x2000.
  EXPECT_EQ(runScript(b, show),
            "CapInh: 0000000000000000\nCapPrm: 0000000000002020\nCapEff: 0000000000002020\n"
            "CapBnd: 0000000000002020\nCapAmb: 0000000000000000\n");
  // A non-root user keeps capabilities across exec only through the ambient set.
  b.config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  b.config()["process"]["capabilities"]["inheritable"] = {"CAP_NET_RAW"};
  b.config()["process"]["capabilities"]["ambient"] = {"CAP_NET_RAW"};
  EXPECT_EQ(runScript(b, show),
            "CapInh: 0000000000002000\nCapPrm: 0000000000002000\nCapEff: 0000000000002000\n"
            "CapBnd: 0000000000002020\nCapAmb: 0000000000002000\n");
}

TEST_F(Isolation, DefaultSeccompDeniesUnshareAndMountEvenWithSysAdmin) {
  Bundle b;
  // Grant CAP_SYS_ADMIN so that only the seccomp profile can be what refuses.
  for (const char* set : {"bounding", "effective", "permitted"})
    b.config()["process"]["capabilities"][set].push_back("CAP_SYS_ADMIN");
  std::string script = "unshare -u true 2>&1; mkdir -p /m; mount -t tmpfs none /m 2>&1";
  std::string out = runScript(b, script + "; true");
  EXPECT_NE(out.find("unshare(0x4000000): Operation not permitted"), std::string::npos) << out;
  EXPECT_NE(out.find("mount: permission denied"), std::string::npos) << out;
  // The same container without the profile can do both: the profile made the difference.
  b.config()["linux"].erase("seccomp");
  out = runScript(b, script + " && echo mounted");
  EXPECT_EQ(out, "mounted\n");
}

TEST_F(Isolation, UserNamespaceMapsRootToAnUnprivilegedUser) {
  Bundle b;
  b.config()["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config()["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
  b.config()["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
  // The bundle's files belong to host root, which is unmapped: make them readable.
  EXPECT_EQ(runScript(b, "id -u; tr -s ' ' < /proc/self/uid_map"), "0\n 0 200000 65536\n");
}

TEST_F(Isolation, JoinsANamespaceByPath) {
  Bundle a;
  a.shell("sleep 30");
  std::string first = uniqueName("nsa");
  ASSERT_EQ(a.rt({"run", "-d", "--bundle", "@bundle", first}).code, 0);
  auto state = nlohmann::json::parse(a.rt({"state", first}).out);
  std::string netns = "/proc/" + std::to_string(state["pid"].get<int>()) + "/ns/net";
  char link[256] = {};
  ASSERT_GT(::readlink(netns.c_str(), link, sizeof link - 1), 0);
  Bundle b;
  for (auto& ns : b.config()["linux"]["namespaces"]) {
    if (ns["type"] == "network") ns["path"] = netns;
  }
  EXPECT_EQ(runScript(b, "readlink /proc/self/ns/net"), std::string(link) + "\n");
}

TEST_F(Isolation, SysctlAndReadonlyRoot) {
  Bundle b;
  b.config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  b.config()["root"]["readonly"] = true;
  EXPECT_EQ(runScript(b, "cat /proc/sys/net/ipv4/ip_forward; touch /x 2>/dev/null || echo ro"),
            "1\nro\n");
}

TEST_F(Isolation, RlimitsApplyAndImpossibleOnesAreNamed) {
  Bundle b;
  b.config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}}};
  EXPECT_EQ(runScript(b, "ulimit -n; ulimit -Hn"), "123\n456\n");
  b.config()["process"]["rlimits"] = {
      {{"type", "RLIMIT_NOFILE"}, {"soft", 1 << 30}, {"hard", 1 << 30}}};
  b.shell("true");
  auto r = b.rt({"run", "--bundle", "@bundle", uniqueName("rl")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("RLIMIT_NOFILE"), std::string::npos) << r.err;
}

TEST_F(Isolation, ConfiguredDevicesAndTheDevicesCgroup) {
  Bundle b;
  b.config()["linux"]["devices"] = {{{"path", "/dev/mynull"},
                                     {"type", "c"},
                                     {"major", 1},
                                     {"minor", 3},
                                     {"fileMode", 0600},
                                     {"uid", 0},
                                     {"gid", 0}}};
  // The device is made with its mode, works, and the default set is there; a device the
  // spec does not allow cannot be made even with CAP_MKNOD (the devices cgroup says no).
  std::string out = runScript(b,
                              "ls -l /dev/mynull | cut -c1-10; echo x > /dev/mynull && echo wrote; "
                              "ls /dev | tr '\\n' ' '; echo; "
                              "mknod /dev/sda b 8 0 2>/dev/null && echo made || echo refused");
  EXPECT_EQ(out.substr(0, 17), "crw-------\nwrote\n") << out;
  for (const char* dev :
       {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm"}) {
    EXPECT_NE(out.find(std::string(dev) + " "), std::string::npos) << dev << " missing: " << out;
  }
  if (!cgroupV2()) {
    EXPECT_NE(out.find("refused"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace berth::test
