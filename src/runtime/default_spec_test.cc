#include "runtime/default_spec.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>

#include "runtime/capabilities.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

namespace berth::runtime {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Spec parsedDefault() {
  Result<Spec> spec = parseSpec(defaultSpec().dump(), "/bundle");
  EXPECT_TRUE(spec.ok()) << spec.error().message();
  return spec.ok() ? std::move(spec).value() : Spec{};
}

TEST(DefaultSpecTest, ParsesAsAValidSpec) {
  Spec spec = parsedDefault();
  EXPECT_EQ(spec.oci_version, "1.0.2");
  EXPECT_EQ(spec.root_path, "/bundle/rootfs");
  EXPECT_TRUE(spec.root_readonly);
  EXPECT_EQ(spec.hostname, "berth");
  ASSERT_TRUE(spec.has_process);
  EXPECT_EQ(spec.process.args, std::vector<std::string>{"sh"});
  EXPECT_FALSE(spec.process.terminal);
  EXPECT_EQ(spec.process.cwd, "/");
  EXPECT_EQ(spec.process.user.uid, 0u);
  EXPECT_TRUE(spec.process.no_new_privileges);
  EXPECT_TRUE(contains(spec.process.env, "TERM=xterm"));
  ASSERT_EQ(spec.process.rlimits.size(), 1u);
  EXPECT_EQ(spec.process.rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(spec.process.rlimits[0].soft, 1024u);
  EXPECT_EQ(spec.process.rlimits[0].hard, 1024u);
}

TEST(DefaultSpecTest, CreatesTheUsualNamespaces) {
  Spec spec = parsedDefault();
  for (NamespaceType t : {NamespaceType::kPid, NamespaceType::kNetwork, NamespaceType::kIpc,
                          NamespaceType::kUts, NamespaceType::kMount, NamespaceType::kCgroup}) {
    const Namespace* ns = spec.linux.findNamespace(t);
    ASSERT_NE(ns, nullptr) << namespaceName(t);
    EXPECT_TRUE(ns->path.empty()) << namespaceName(t);
  }
  EXPECT_FALSE(spec.linux.hasNamespace(NamespaceType::kUser));
}

TEST(DefaultSpecTest, GivesDockersDefaultCapabilities) {
  Spec spec = parsedDefault();
  ASSERT_TRUE(spec.process.capabilities.has_value());
  const Capabilities& caps = *spec.process.capabilities;
  int net_raw = *capabilityNumber("CAP_NET_RAW");
  int sys_admin = *capabilityNumber("CAP_SYS_ADMIN");
  for (const auto* set : {&caps.bounding, &caps.effective, &caps.permitted}) {
    EXPECT_EQ(set->size(), dockerDefaultCapabilities().size());
    EXPECT_TRUE(contains(*set, net_raw));
    EXPECT_FALSE(contains(*set, sys_admin));
  }
  EXPECT_TRUE(caps.inheritable.empty());
  EXPECT_TRUE(caps.ambient.empty());
}

TEST(DefaultSpecTest, MasksAndProtectsProc) {
  Spec spec = parsedDefault();
  EXPECT_TRUE(contains(spec.linux.masked_paths, "/proc/kcore"));
  EXPECT_TRUE(contains(spec.linux.masked_paths, "/proc/keys"));
  EXPECT_TRUE(contains(spec.linux.masked_paths, "/sys/firmware"));
  EXPECT_TRUE(contains(spec.linux.readonly_paths, "/proc/sys"));
  EXPECT_TRUE(contains(spec.linux.readonly_paths, "/proc/sysrq-trigger"));
  EXPECT_FALSE(contains(spec.linux.masked_paths, "/proc/sys"));
}

TEST(DefaultSpecTest, HasRuncsMountsAndDeniesAllDevices) {
  Spec spec = parsedDefault();
  std::vector<std::string> destinations;
  for (const Mount& m : spec.mounts) destinations.push_back(m.destination);
  EXPECT_EQ(destinations, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                                    "/dev/mqueue", "/sys", "/sys/fs/cgroup"}));
  ASSERT_EQ(spec.linux.resources.devices.size(), 1u);
  EXPECT_FALSE(spec.linux.resources.devices[0].allow);
  EXPECT_EQ(spec.linux.resources.devices[0].access, "rwm");
}

TEST(DefaultSpecTest, SeccompProfileDeniesNamespacesAndCompiles) {
  Spec spec = parsedDefault();
  ASSERT_TRUE(spec.linux.seccomp.has_value());
  const Seccomp& s = *spec.linux.seccomp;
  EXPECT_EQ(s.default_action, "SCMP_ACT_ALLOW");
  bool denies_unshare = false;
  int clone_rules = 0;
  for (const SeccompRule& r : s.syscalls) {
    if (contains(r.names, "unshare")) {
      denies_unshare = r.action == "SCMP_ACT_ERRNO" && r.errno_ret == 1u;
    }
    if (r.names == std::vector<std::string>{"clone"}) {
      ++clone_rules;
      ASSERT_EQ(r.args.size(), 1u);
      EXPECT_EQ(r.args[0].op, "SCMP_CMP_MASKED_EQ");
      EXPECT_EQ(r.args[0].value, r.args[0].value_two);
    }
  }
  EXPECT_TRUE(denies_unshare);
  EXPECT_EQ(clone_rules, 7);

  Result<std::unique_ptr<SeccompFilter>> filter = compileSeccomp(s);
  ASSERT_TRUE(filter.ok()) << filter.error().message();
}

TEST(DefaultSpecTest, StandaloneSeccompProfileMatchesTheSpecs) {
  EXPECT_EQ(defaultSpec()["linux"]["seccomp"], defaultSeccompProfile());
}

}  // namespace
}  // namespace berth::runtime
