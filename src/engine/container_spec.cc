#include "engine/container_spec.h"

#include <algorithm>

#include "common/strings.h"
#include "runtime/default_spec.h"
#include "sys/fs.h"

namespace berth::engine {

using nlohmann::json;

namespace {

// The fields of the first line of a passwd/group style file whose field `index` is `key`.
std::optional<std::vector<std::string>> lookup(const std::optional<std::string>& file, size_t index,
                                               const std::string& key) {
  if (!file) return std::nullopt;
  for (const auto& line : split(*file, '\n')) {
    auto f = split(line, ':');
    if (f.size() >= 4 && f[index] == key) return f;
  }
  return std::nullopt;
}

uint32_t field(const std::vector<std::string>& f, size_t i) {
  return static_cast<uint32_t>(parseInt(f[i]).value_or(0));
}

}  // namespace

RootfsReader rootfsReader(const std::string& rootfs) {
  return [rootfs](const std::string& path) -> std::optional<std::string> {
    auto host = sys::secureJoin(rootfs, path);
    if (!host) return std::nullopt;
    auto text = sys::readFile(*host);
    if (!text) return std::nullopt;
    return *text;
  };
}

Result<std::pair<uint32_t, uint32_t>> resolveUser(const std::string& user,
                                                  const RootfsReader& read) {
  auto parts = split(user, ':');
  const std::string& u = parts[0];
  uint32_t uid = 0, gid = 0;
  auto passwd = read("/etc/passwd");
  if (auto n = parseInt(u); n && *n >= 0) {
    uid = static_cast<uint32_t>(*n);
    if (auto pw = lookup(passwd, 2, u)) gid = field(*pw, 3);
  } else {
    auto pw = lookup(passwd, 0, u);
    if (!pw)
      return invalidArgument("user " + quote(u) + ": no such user in the image's /etc/passwd");
    uid = field(*pw, 2);
    gid = field(*pw, 3);
  }
  if (parts.size() > 1) {
    const std::string& g = parts[1];
    if (auto n = parseInt(g); n && *n >= 0) {
      gid = static_cast<uint32_t>(*n);
    } else {
      auto gr = lookup(read("/etc/group"), 0, g);
      if (!gr)
        return invalidArgument("group " + quote(g) + ": no such group in the image's /etc/group");
      gid = field(*gr, 2);
    }
  }
  return std::make_pair(uid, gid);
}

namespace {

std::vector<std::string> strings(const json& j) {
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const auto& s : j) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

}  // namespace

Result<json> containerSpec(const json& image_config, const RunSpec& run,
                           const RootfsReader& read_rootfs) {
  json cfg = image_config.value("config", json::object());
  if (cfg.is_null()) cfg = json::object();
  std::vector<std::string> entrypoint =
      run.entrypoint ? *run.entrypoint : strings(cfg.value("Entrypoint", json()));
  std::vector<std::string> cmd =
      run.command.empty() ? strings(cfg.value("Cmd", json())) : run.command;
  // An explicit entrypoint drops the image's Cmd, as in docker.
  if (run.entrypoint && run.command.empty()) cmd.clear();
  std::vector<std::string> args = entrypoint;
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty())
    return invalidArgument(
        "no command: the image has no Cmd or Entrypoint; give one after the image name");

  std::vector<std::string> env = strings(cfg.value("Env", json()));
  for (const auto& e : run.env) {
    std::string key = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    env.push_back(e);
  }
  bool has_path = std::any_of(env.begin(), env.end(),
                              [](const std::string& e) { return startsWith(e, "PATH="); });
  if (!has_path)
    env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (run.tty) env.push_back("TERM=xterm");
  env.push_back("HOSTNAME=" + run.hostname);

  json spec = runtime::defaultSpec();
  spec["root"] = {{"path", run.rootfs}, {"readonly", false}};
  spec["hostname"] = run.hostname;
  spec["process"]["args"] = args;
  spec["process"]["env"] = env;
  spec["process"]["terminal"] = run.tty;
  std::string cwd = run.workdir.empty() ? cfg.value("WorkingDir", std::string()) : run.workdir;
  spec["process"]["cwd"] = cwd.empty() ? "/" : cwd;
  if (!spec["process"]["cwd"].get<std::string>().starts_with("/"))
    return invalidArgument("working directory " + quote(cwd) + " must be an absolute path");
  std::string user = run.user.empty() ? cfg.value("User", std::string()) : run.user;
  if (!user.empty()) {
    auto [uid, gid] = BERTH_TRY(resolveUser(user, read_rootfs));
    spec["process"]["user"] = {{"uid", uid}, {"gid", gid}};
  }
  spec["linux"]["cgroupsPath"] = "/berth/" + run.id;
  if (run.host_network) {
    json ns = json::array();
    for (const auto& n : spec["linux"]["namespaces"]) {
      if (n["type"] != "network") ns.push_back(n);
    }
    spec["linux"]["namespaces"] = ns;
  } else if (!run.network_ns.empty()) {
    for (auto& n : spec["linux"]["namespaces"]) {
      if (n["type"] == "network") n["path"] = run.network_ns;
    }
  }
  spec["annotations"] = {{"org.berth.image.id", image_config.value("id", std::string())}};
  return spec;
}

}  // namespace berth::engine
