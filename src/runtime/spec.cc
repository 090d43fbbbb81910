#include "runtime/spec.h"

#include <sched.h>
#include <sys/resource.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/strings.h"
#include "runtime/capabilities.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

// Walks a JSON document keeping the path of the current node, so every type error can
// say exactly where it is ("linux.resources.memory.limit: expected an integer").
class Node {
 public:
  Node(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const json& raw() const { return j_; }
  Error bad(const std::string& what) const {
    return invalidArgument((path_.empty() ? std::string("(top level)") : path_) + ": " + what);
  }

  bool has(const char* key) const {
    return j_.is_object() && j_.contains(key) && !j_[key].is_null();
  }
  Node at(const char* key) const { return Node(j_[key], join(key)); }
  Node at(size_t i) const { return Node(j_[i], path_ + "[" + std::to_string(i) + "]"); }

  Status expectObject() const {
    return j_.is_object() ? okStatus() : Status(bad("expected an object"));
  }
  Status expectArray() const {
    return j_.is_array() ? okStatus() : Status(bad("expected an array"));
  }
  Result<std::string> str() const {
    if (!j_.is_string()) return bad("expected a string");
    return j_.get<std::string>();
  }
  Result<bool> boolean() const {
    if (!j_.is_boolean()) return bad("expected true or false");
    return j_.get<bool>();
  }
  Result<int64_t> integer() const {
    if (!j_.is_number_integer()) return bad("expected an integer");
    if (j_.is_number_unsigned() && j_.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return bad("integer out of range");
    return j_.get<int64_t>();
  }
  Result<uint64_t> unsignedInt() const {
    if (!j_.is_number_integer()) return bad("expected a non-negative integer");
    if (!j_.is_number_unsigned() && j_.get<int64_t>() < 0)
      return bad("expected a non-negative integer");
    return j_.get<uint64_t>();
  }
  Result<uint32_t> u32() const {
    uint64_t v = BERTH_TRY(unsignedInt());
    if (v > UINT32_MAX) return bad("integer out of range");
    return static_cast<uint32_t>(v);
  }
  Result<std::vector<std::string>> strings() const {
    BERTH_RETURN_IF_ERROR(expectArray());
    std::vector<std::string> out;
    for (size_t i = 0; i < j_.size(); ++i) out.push_back(BERTH_TRY(at(i).str()));
    return out;
  }
  Result<std::map<std::string, std::string>> stringMap() const {
    BERTH_RETURN_IF_ERROR(expectObject());
    std::map<std::string, std::string> out;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      out[it.key()] = BERTH_TRY(Node(it.value(), join(it.key().c_str())).str());
    }
    return out;
  }

 private:
  std::string join(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  const json& j_;
  std::string path_;
};

// Optional field helpers: leave `out` alone when the key is absent or null.
template <typename T, typename F>
Status optional(const Node& n, const char* key, T& out, F get) {
  if (!n.has(key)) return okStatus();
  out = BERTH_TRY(get(n.at(key)));
  return okStatus();
}
auto asStr = [](const Node& n) { return n.str(); };
auto asBool = [](const Node& n) { return n.boolean(); };
auto asStrings = [](const Node& n) { return n.strings(); };
auto asU32 = [](const Node& n) { return n.u32(); };
auto asInt = [](const Node& n) { return n.integer(); };
auto asUint = [](const Node& n) { return n.unsignedInt(); };

constexpr std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

Result<std::vector<int>> parseCapList(const Node& n) {
  std::vector<std::string> names = BERTH_TRY(n.strings());
  std::vector<int> out;
  for (size_t i = 0; i < names.size(); ++i) {
    auto num = capabilityNumber(names[i]);
    if (!num) return n.at(i).bad("unknown capability " + quote(names[i]));
    out.push_back(*num);
  }
  return out;
}

Result<Process> parseProcessNode(const Node& n) {
  BERTH_RETURN_IF_ERROR(n.expectObject());
  Process p;
  BERTH_RETURN_IF_ERROR(optional(n, "terminal", p.terminal, asBool));
  if (n.has("consoleSize")) {
    Node cs = n.at("consoleSize");
    BERTH_RETURN_IF_ERROR(cs.expectObject());
    BERTH_RETURN_IF_ERROR(optional(cs, "height", p.console_height, asU32));
    BERTH_RETURN_IF_ERROR(optional(cs, "width", p.console_width, asU32));
  }
  if (n.has("user")) {
    Node u = n.at("user");
    BERTH_RETURN_IF_ERROR(u.expectObject());
    BERTH_RETURN_IF_ERROR(optional(u, "uid", p.user.uid, asU32));
    BERTH_RETURN_IF_ERROR(optional(u, "gid", p.user.gid, asU32));
    if (u.has("umask")) p.user.umask = BERTH_TRY(u.at("umask").u32());
    if (u.has("additionalGids")) {
      Node g = u.at("additionalGids");
      BERTH_RETURN_IF_ERROR(g.expectArray());
      for (size_t i = 0; i < g.raw().size(); ++i)
        p.user.additional_gids.push_back(BERTH_TRY(g.at(i).u32()));
    }
  }
  if (!n.has("args")) return n.bad("'args' is required: the command to run");
  p.args = BERTH_TRY(n.at("args").strings());
  if (p.args.empty()) return n.at("args").bad("must name at least the program to run");
  BERTH_RETURN_IF_ERROR(optional(n, "env", p.env, asStrings));
  BERTH_RETURN_IF_ERROR(optional(n, "cwd", p.cwd, asStr));
  if (p.cwd.empty() || p.cwd[0] != '/') return n.at("cwd").bad("must be an absolute path");
  if (n.has("capabilities")) {
    Node c = n.at("capabilities");
    BERTH_RETURN_IF_ERROR(c.expectObject());
    Capabilities caps;
    BERTH_RETURN_IF_ERROR(optional(c, "bounding", caps.bounding, parseCapList));
    BERTH_RETURN_IF_ERROR(optional(c, "effective", caps.effective, parseCapList));
    BERTH_RETURN_IF_ERROR(optional(c, "inheritable", caps.inheritable, parseCapList));
    BERTH_RETURN_IF_ERROR(optional(c, "permitted", caps.permitted, parseCapList));
    BERTH_RETURN_IF_ERROR(optional(c, "ambient", caps.ambient, parseCapList));
    p.capabilities = std::move(caps);
  }
  if (n.has("rlimits")) {
    Node rl = n.at("rlimits");
    BERTH_RETURN_IF_ERROR(rl.expectArray());
    for (size_t i = 0; i < rl.raw().size(); ++i) {
      Node r = rl.at(i);
      BERTH_RETURN_IF_ERROR(r.expectObject());
      Rlimit lim;
      if (!r.has("type")) return r.bad("'type' is required");
      lim.type = BERTH_TRY(r.at("type").str());
      bool found = false;
      for (auto [name, res] : kRlimits) {
        if (lim.type == name) {
          lim.resource = res;
          found = true;
        }
      }
      if (!found) return r.at("type").bad("unknown rlimit " + quote(lim.type));
      if (!r.has("soft") || !r.has("hard")) return r.bad("'soft' and 'hard' are required");
      lim.soft = BERTH_TRY(r.at("soft").unsignedInt());
      lim.hard = BERTH_TRY(r.at("hard").unsignedInt());
      if (lim.soft > lim.hard) return r.bad("soft limit is above the hard limit");
      p.rlimits.push_back(lim);
    }
  }
  BERTH_RETURN_IF_ERROR(optional(n, "noNewPrivileges", p.no_new_privileges, asBool));
  if (n.has("oomScoreAdj")) {
    int64_t v = BERTH_TRY(n.at("oomScoreAdj").integer());
    if (v < -1000 || v > 1000) return n.at("oomScoreAdj").bad("must be between -1000 and 1000");
    p.oom_score_adj = static_cast<int>(v);
  }
  return p;
}

Result<NamespaceType> parseNamespaceType(const Node& n) {
  std::string t = BERTH_TRY(n.str());
  static const std::pair<const char*, NamespaceType> kTypes[] = {
      {"pid", NamespaceType::kPid},       {"network", NamespaceType::kNetwork},
      {"mount", NamespaceType::kMount},   {"ipc", NamespaceType::kIpc},
      {"uts", NamespaceType::kUts},       {"user", NamespaceType::kUser},
      {"cgroup", NamespaceType::kCgroup}, {"time", NamespaceType::kTime},
  };
  for (auto [name, type] : kTypes) {
    if (t == name) return type;
  }
  return n.bad("unknown namespace type " + quote(t) +
               " (known: pid, network, mount, ipc, uts, user, cgroup, time)");
}

Result<std::vector<IdMapping>> parseIdMappings(const Node& n) {
  BERTH_RETURN_IF_ERROR(n.expectArray());
  std::vector<IdMapping> out;
  for (size_t i = 0; i < n.raw().size(); ++i) {
    Node m = n.at(i);
    BERTH_RETURN_IF_ERROR(m.expectObject());
    if (!m.has("containerID") || !m.has("hostID") || !m.has("size"))
      return m.bad("'containerID', 'hostID' and 'size' are required");
    out.push_back({BERTH_TRY(m.at("containerID").u32()), BERTH_TRY(m.at("hostID").u32()),
                   BERTH_TRY(m.at("size").u32())});
  }
  return out;
}

Result<Resources> parseResources(const Node& n) {
  BERTH_RETURN_IF_ERROR(n.expectObject());
  Resources r;
  if (n.has("devices")) {
    Node d = n.at("devices");
    BERTH_RETURN_IF_ERROR(d.expectArray());
    for (size_t i = 0; i < d.raw().size(); ++i) {
      Node e = d.at(i);
      BERTH_RETURN_IF_ERROR(e.expectObject());
      DeviceRule rule;
      if (!e.has("allow")) return e.bad("'allow' is required");
      rule.allow = BERTH_TRY(e.at("allow").boolean());
      BERTH_RETURN_IF_ERROR(optional(e, "type", rule.type, asStr));
      if (rule.type != "a" && rule.type != "c" && rule.type != "b")
        return e.at("type").bad("must be 'a', 'c' or 'b'");
      if (e.has("major")) rule.major = BERTH_TRY(e.at("major").integer());
      if (e.has("minor")) rule.minor = BERTH_TRY(e.at("minor").integer());
      BERTH_RETURN_IF_ERROR(optional(e, "access", rule.access, asStr));
      if (rule.access.find_first_not_of("rwm") != std::string::npos)
        return e.at("access").bad("may hold only 'r', 'w' and 'm'");
      r.devices.push_back(rule);
    }
  }
  if (n.has("memory")) {
    Node m = n.at("memory");
    BERTH_RETURN_IF_ERROR(m.expectObject());
    MemoryResources mem;
    if (m.has("limit")) mem.limit = BERTH_TRY(m.at("limit").integer());
    if (m.has("reservation")) mem.reservation = BERTH_TRY(m.at("reservation").integer());
    if (m.has("swap")) mem.swap = BERTH_TRY(m.at("swap").integer());
    if (m.has("swappiness")) mem.swappiness = BERTH_TRY(m.at("swappiness").unsignedInt());
    BERTH_RETURN_IF_ERROR(optional(m, "disableOOMKiller", mem.disable_oom_killer, asBool));
    if (mem.swap && mem.limit && *mem.swap > 0 && *mem.limit > 0 && *mem.swap < *mem.limit)
      return m.at("swap").bad("memory+swap limit must be at least the memory limit");
    if (m.has("kernel")) r.ignored.push_back(m.path() + ".kernel");
    r.memory = mem;
  }
  if (n.has("cpu")) {
    Node c = n.at("cpu");
    BERTH_RETURN_IF_ERROR(c.expectObject());
    CpuResources cpu;
    if (c.has("shares")) cpu.shares = BERTH_TRY(c.at("shares").unsignedInt());
    if (c.has("quota")) cpu.quota = BERTH_TRY(c.at("quota").integer());
    if (c.has("period")) cpu.period = BERTH_TRY(c.at("period").unsignedInt());
    BERTH_RETURN_IF_ERROR(optional(c, "cpus", cpu.cpus, asStr));
    BERTH_RETURN_IF_ERROR(optional(c, "mems", cpu.mems, asStr));
    for (const char* k : {"realtimeRuntime", "realtimePeriod"}) {
      if (c.has(k)) r.ignored.push_back(c.path() + "." + k);
    }
    r.cpu = cpu;
  }
  if (n.has("pids")) {
    Node p = n.at("pids");
    BERTH_RETURN_IF_ERROR(p.expectObject());
    if (p.has("limit")) r.pids_limit = BERTH_TRY(p.at("limit").integer());
  }
  if (n.has("blockIO")) {
    Node b = n.at("blockIO");
    BERTH_RETURN_IF_ERROR(b.expectObject());
    if (b.has("weight")) {
      uint64_t w = BERTH_TRY(b.at("weight").unsignedInt());
      if (w != 0 && (w < 10 || w > 1000)) return b.at("weight").bad("must be between 10 and 1000");
      if (w != 0) r.blkio_weight = static_cast<uint16_t>(w);
    }
    for (const char* k :
         {"leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
          "throttleReadIOPSDevice", "throttleWriteIOPSDevice"}) {
      if (b.has(k)) r.ignored.push_back(b.path() + "." + k);
    }
  }
  for (const char* k : {"hugepageLimits", "network", "rdma", "unified"}) {
    if (n.has(k)) r.ignored.push_back(n.path() + "." + k);
  }
  return r;
}

Result<Seccomp> parseSeccomp(const Node& n) {
  BERTH_RETURN_IF_ERROR(n.expectObject());
  Seccomp s;
  if (!n.has("defaultAction")) return n.bad("'defaultAction' is required");
  s.default_action = BERTH_TRY(n.at("defaultAction").str());
  if (n.has("defaultErrnoRet")) s.default_errno_ret = BERTH_TRY(n.at("defaultErrnoRet").u32());
  BERTH_RETURN_IF_ERROR(optional(n, "architectures", s.architectures, asStrings));
  BERTH_RETURN_IF_ERROR(optional(n, "flags", s.flags, asStrings));
  if (n.has("syscalls")) {
    Node sc = n.at("syscalls");
    BERTH_RETURN_IF_ERROR(sc.expectArray());
    for (size_t i = 0; i < sc.raw().size(); ++i) {
      Node e = sc.at(i);
      BERTH_RETURN_IF_ERROR(e.expectObject());
      SeccompRule rule;
      if (!e.has("names") || !e.has("action")) return e.bad("'names' and 'action' are required");
      rule.names = BERTH_TRY(e.at("names").strings());
      rule.action = BERTH_TRY(e.at("action").str());
      if (e.has("errnoRet")) rule.errno_ret = BERTH_TRY(e.at("errnoRet").u32());
      if (e.has("args")) {
        Node a = e.at("args");
        BERTH_RETURN_IF_ERROR(a.expectArray());
        for (size_t k = 0; k < a.raw().size(); ++k) {
          Node arg = a.at(k);
          BERTH_RETURN_IF_ERROR(arg.expectObject());
          SeccompArg sa;
          if (!arg.has("index") || !arg.has("value") || !arg.has("op"))
            return arg.bad("'index', 'value' and 'op' are required");
          sa.index = BERTH_TRY(arg.at("index").u32());
          if (sa.index > 5) return arg.at("index").bad("must be between 0 and 5");
          sa.value = BERTH_TRY(arg.at("value").unsignedInt());
          BERTH_RETURN_IF_ERROR(optional(arg, "valueTwo", sa.value_two, asUint));
          sa.op = BERTH_TRY(arg.at("op").str());
          rule.args.push_back(sa);
        }
      }
      s.syscalls.push_back(std::move(rule));
    }
  }
  return s;
}

Result<std::vector<Hook>> parseHookList(const Node& n) {
  BERTH_RETURN_IF_ERROR(n.expectArray());
  std::vector<Hook> out;
  for (size_t i = 0; i < n.raw().size(); ++i) {
    Node h = n.at(i);
    BERTH_RETURN_IF_ERROR(h.expectObject());
    Hook hook;
    if (!h.has("path")) return h.bad("'path' is required");
    hook.path = BERTH_TRY(h.at("path").str());
    if (hook.path.empty() || hook.path[0] != '/')
      return h.at("path").bad("must be an absolute path");
    BERTH_RETURN_IF_ERROR(optional(h, "args", hook.args, asStrings));
    BERTH_RETURN_IF_ERROR(optional(h, "env", hook.env, asStrings));
    if (h.has("timeout")) {
      int64_t t = BERTH_TRY(h.at("timeout").integer());
      if (t <= 0) return h.at("timeout").bad("must be greater than zero");
      hook.timeout = static_cast<int>(t);
    }
    out.push_back(std::move(hook));
  }
  return out;
}

Result<Linux> parseLinux(const Node& n) {
  BERTH_RETURN_IF_ERROR(n.expectObject());
  Linux l;
  if (n.has("namespaces")) {
    Node ns = n.at("namespaces");
    BERTH_RETURN_IF_ERROR(ns.expectArray());
    for (size_t i = 0; i < ns.raw().size(); ++i) {
      Node e = ns.at(i);
      BERTH_RETURN_IF_ERROR(e.expectObject());
      if (!e.has("type")) return e.bad("'type' is required");
      Namespace entry{BERTH_TRY(parseNamespaceType(e.at("type"))), ""};
      BERTH_RETURN_IF_ERROR(optional(e, "path", entry.path, asStr));
      if (l.hasNamespace(entry.type))
        return e.bad(std::string("namespace '") + namespaceName(entry.type) + "' is listed twice");
      l.namespaces.push_back(entry);
    }
  }
  BERTH_RETURN_IF_ERROR(optional(n, "uidMappings", l.uid_mappings, parseIdMappings));
  BERTH_RETURN_IF_ERROR(optional(n, "gidMappings", l.gid_mappings, parseIdMappings));
  if (!l.uid_mappings.empty() || !l.gid_mappings.empty()) {
    const Namespace* user = l.findNamespace(NamespaceType::kUser);
    if (!user || !user->path.empty())
      return n.bad("uidMappings/gidMappings need a new 'user' namespace in linux.namespaces");
  }
  if (n.has("devices")) {
    Node d = n.at("devices");
    BERTH_RETURN_IF_ERROR(d.expectArray());
    for (size_t i = 0; i < d.raw().size(); ++i) {
      Node e = d.at(i);
      BERTH_RETURN_IF_ERROR(e.expectObject());
      Device dev;
      if (!e.has("path") || !e.has("type")) return e.bad("'path' and 'type' are required");
      dev.path = BERTH_TRY(e.at("path").str());
      std::string type = BERTH_TRY(e.at("type").str());
      if (type.size() != 1 || std::string("cubp").find(type[0]) == std::string::npos)
        return e.at("type").bad("must be one of 'c', 'u', 'b', 'p'");
      dev.type = type[0];
      if (dev.type != 'p' && (!e.has("major") || !e.has("minor")))
        return e.bad("'major' and 'minor' are required for this device type");
      BERTH_RETURN_IF_ERROR(optional(e, "major", dev.major, asInt));
      BERTH_RETURN_IF_ERROR(optional(e, "minor", dev.minor, asInt));
      if (e.has("fileMode")) dev.file_mode = BERTH_TRY(e.at("fileMode").u32());
      if (e.has("uid")) dev.uid = BERTH_TRY(e.at("uid").u32());
      if (e.has("gid")) dev.gid = BERTH_TRY(e.at("gid").u32());
      l.devices.push_back(dev);
    }
  }
  BERTH_RETURN_IF_ERROR(optional(n, "cgroupsPath", l.cgroups_path, asStr));
  if (n.has("resources")) l.resources = BERTH_TRY(parseResources(n.at("resources")));
  if (n.has("seccomp")) l.seccomp = BERTH_TRY(parseSeccomp(n.at("seccomp")));
  if (n.has("sysctl")) l.sysctl = BERTH_TRY(n.at("sysctl").stringMap());
  BERTH_RETURN_IF_ERROR(optional(n, "maskedPaths", l.masked_paths, asStrings));
  BERTH_RETURN_IF_ERROR(optional(n, "readonlyPaths", l.readonly_paths, asStrings));
  BERTH_RETURN_IF_ERROR(optional(n, "rootfsPropagation", l.rootfs_propagation, asStr));
  static const char* kProps[] = {"",       "private", "rprivate",   "slave",      "rslave",
                                 "shared", "rshared", "unbindable", "runbindable"};
  if (std::find(std::begin(kProps), std::end(kProps), l.rootfs_propagation) == std::end(kProps))
    return n.at("rootfsPropagation").bad("unknown propagation " + quote(l.rootfs_propagation));
  BERTH_RETURN_IF_ERROR(optional(n, "mountLabel", l.mount_label, asStr));
  return l;
}

Result<Spec> parseRoot(const json& doc, const std::string& bundle) {
  Node n(doc, "");
  BERTH_RETURN_IF_ERROR(n.expectObject());
  Spec s;
  if (!n.has("ociVersion")) return n.bad("'ociVersion' is required");
  s.oci_version = BERTH_TRY(n.at("ociVersion").str());
  if (n.has("process")) {
    s.process = BERTH_TRY(parseProcessNode(n.at("process")));
    s.has_process = true;
  }
  if (!n.has("root")) return n.bad("'root' is required: the container's root filesystem");
  Node root = n.at("root");
  BERTH_RETURN_IF_ERROR(root.expectObject());
  if (!root.has("path")) return root.bad("'path' is required");
  s.root_path = BERTH_TRY(root.at("path").str());
  if (s.root_path.empty()) return root.at("path").bad("must not be empty");
  if (s.root_path[0] != '/') s.root_path = bundle + "/" + s.root_path;
  BERTH_RETURN_IF_ERROR(optional(root, "readonly", s.root_readonly, asBool));
  BERTH_RETURN_IF_ERROR(optional(n, "hostname", s.hostname, asStr));
  BERTH_RETURN_IF_ERROR(optional(n, "domainname", s.domainname, asStr));
  if (n.has("mounts")) {
    Node ms = n.at("mounts");
    BERTH_RETURN_IF_ERROR(ms.expectArray());
    for (size_t i = 0; i < ms.raw().size(); ++i) {
      Node m = ms.at(i);
      BERTH_RETURN_IF_ERROR(m.expectObject());
      Mount mount;
      if (!m.has("destination")) return m.bad("'destination' is required");
      mount.destination = BERTH_TRY(m.at("destination").str());
      if (mount.destination.empty() || mount.destination[0] != '/')
        return m.at("destination").bad("must be an absolute path");
      BERTH_RETURN_IF_ERROR(optional(m, "type", mount.type, asStr));
      BERTH_RETURN_IF_ERROR(optional(m, "source", mount.source, asStr));
      BERTH_RETURN_IF_ERROR(optional(m, "options", mount.options, asStrings));
      s.mounts.push_back(std::move(mount));
    }
  }
  if (n.has("hooks")) {
    Node h = n.at("hooks");
    BERTH_RETURN_IF_ERROR(h.expectObject());
    BERTH_RETURN_IF_ERROR(optional(h, "prestart", s.hooks.prestart, parseHookList));
    BERTH_RETURN_IF_ERROR(optional(h, "createRuntime", s.hooks.create_runtime, parseHookList));
    BERTH_RETURN_IF_ERROR(optional(h, "createContainer", s.hooks.create_container, parseHookList));
    BERTH_RETURN_IF_ERROR(optional(h, "startContainer", s.hooks.start_container, parseHookList));
    BERTH_RETURN_IF_ERROR(optional(h, "poststart", s.hooks.poststart, parseHookList));
    BERTH_RETURN_IF_ERROR(optional(h, "poststop", s.hooks.poststop, parseHookList));
  }
  if (n.has("linux")) s.linux = BERTH_TRY(parseLinux(n.at("linux")));
  if (n.has("annotations")) s.annotations = BERTH_TRY(n.at("annotations").stringMap());
  if (!s.hostname.empty() && !s.linux.hasNamespace(NamespaceType::kUts))
    return n.at("hostname").bad("setting a hostname needs a 'uts' namespace in linux.namespaces");
  return s;
}

Result<json> parseJson(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    return invalidArgument(std::string("malformed JSON: ") + e.what());
  }
}

}  // namespace

bool Linux::hasNamespace(NamespaceType t) const { return findNamespace(t) != nullptr; }

const Namespace* Linux::findNamespace(NamespaceType t) const {
  for (const auto& ns : namespaces) {
    if (ns.type == t) return &ns;
  }
  return nullptr;
}

Result<Spec> parseSpec(const std::string& json_text, const std::string& bundle) {
  json doc = BERTH_TRY(parseJson(json_text));
  return parseRoot(doc, bundle);
}

Result<Process> parseProcess(const std::string& json_text) {
  json doc = BERTH_TRY(parseJson(json_text));
  return parseProcessNode(Node(doc, "process"));
}

Result<Resources> parseResourcesJson(const std::string& json_text) {
  json doc = BERTH_TRY(parseJson(json_text));
  return parseResources(Node(doc, "resources"));
}

Result<Spec> loadSpec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  std::ifstream in(path);
  if (!in) return notFound("read " + quote(path) + ": no such file (is --bundle right?)");
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = parseSpec(ss.str(), bundle);
  if (!spec) return spec.error().context("load " + quote(path));
  return spec;
}

const char* namespaceName(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "network";
    case NamespaceType::kMount:
      return "mount";
    case NamespaceType::kIpc:
      return "ipc";
    case NamespaceType::kUts:
      return "uts";
    case NamespaceType::kUser:
      return "user";
    case NamespaceType::kCgroup:
      return "cgroup";
    case NamespaceType::kTime:
      return "time";
  }
  return "?";
}

int namespaceCloneFlag(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid:
      return CLONE_NEWPID;
    case NamespaceType::kNetwork:
      return CLONE_NEWNET;
    case NamespaceType::kMount:
      return CLONE_NEWNS;
    case NamespaceType::kIpc:
      return CLONE_NEWIPC;
    case NamespaceType::kUts:
      return CLONE_NEWUTS;
    case NamespaceType::kUser:
      return CLONE_NEWUSER;
    case NamespaceType::kCgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::kTime:
      return 0x80;  // CLONE_NEWTIME
  }
  return 0;
}

const char* namespaceProcName(NamespaceType t) {
  switch (t) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "net";
    case NamespaceType::kMount:
      return "mnt";
    case NamespaceType::kIpc:
      return "ipc";
    case NamespaceType::kUts:
      return "uts";
    case NamespaceType::kUser:
      return "user";
    case NamespaceType::kCgroup:
      return "cgroup";
    case NamespaceType::kTime:
      return "time";
  }
  return "?";
}

}  // namespace berth::runtime
