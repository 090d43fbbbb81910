// Named volumes: directories under <root>/volumes/<name>/_data, recorded in engine.db, and
// the mounts of a container resolved to host paths.

#include <sys/stat.h>

#include "common/strings.h"
#include "engine/container_store.h"
#include "engine/context.h"
#include "engine/entry.h"
#include "engine/runtime_spec.h"
#include "sys/fs.h"

namespace berth::engine {

nlohmann::json toJson(const Volume& v) {
  return {{"name", v.name},
          {"driver", "local"},
          {"mountpoint", v.mountpoint},
          {"created_ns", v.created_ns},
          {"labels", v.labels},
          {"options", v.options},
          {"anonymous", v.anonymous},
          {"filled", v.filled}};
}

Result<Volume> Engine::volumeCreate(const std::string& name,
                                    const std::map<std::string, std::string>& labels,
                                    const std::map<std::string, std::string>& options) {
  Volume v;
  v.name = name.empty() ? newHexId() : name;
  v.anonymous = false;
  if (!validName(v.name))
    return invalidArgument("invalid volume name " + quote(v.name) +
                           ": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  for (const auto& [k, val] : options) {
    (void)val;
    return invalidArgument("volume option " + quote(k) + " is not supported by the local driver");
  }
  v.labels = labels;
  v.created_ns = nowNs();
  v.mountpoint = opts_.root + "/volumes/" + v.name + "/_data";
  std::lock_guard lock(mu_);
  if (volumes_.count(v.name)) {
    if (name.empty()) return alreadyExists("volume " + quote(v.name) + " exists");
    return volumes_[v.name];  // docker: creating an existing volume returns it
  }
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(v.mountpoint, 0755));
  BERTH_RETURN_IF_ERROR(store_->putRecord(ContainerStore::Kind::kVolume, v.name, toJson(v)));
  volumes_[v.name] = v;
  events_.publish({"volume", "create", v.name, {{"driver", "local"}}, 0});
  return v;
}

Result<std::vector<Volume>> Engine::volumeList() {
  std::lock_guard lock(mu_);
  std::vector<Volume> out;
  for (auto& [n, v] : volumes_) out.push_back(v);
  return out;
}

Result<Volume> Engine::volumeInspect(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return notFound("no such volume: " + quote(name));
  return it->second;
}

std::vector<std::string> Engine::volumeUsers(const std::string& name) {
  std::vector<std::shared_ptr<Entry>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : by_id_) all.push_back(e);
  }
  std::vector<std::string> users;
  for (auto& e : all) {
    std::lock_guard lock(e->mu);
    for (const auto& m : e->c.config.mounts) {
      if (m.type == "volume" && m.source == name) {
        users.push_back(e->c.id);
        break;
      }
    }
  }
  return users;
}

Status Engine::volumeRemove(const std::string& name, bool force) {
  {
    std::lock_guard lock(mu_);
    if (!volumes_.count(name)) {
      if (force) return okStatus();
      return notFound("no such volume: " + quote(name));
    }
  }
  auto users = volumeUsers(name);
  if (!users.empty())
    return conflict("remove volume " + quote(name) + ": volume is in use by container " +
                    quote(users[0].substr(0, 12)));
  std::lock_guard lock(mu_);
  BERTH_RETURN_IF_ERROR(store_->removeRecord(ContainerStore::Kind::kVolume, name));
  volumes_.erase(name);
  BERTH_RETURN_IF_ERROR(sys::removeAll(opts_.root + "/volumes/" + name));
  events_.publish({"volume", "destroy", name, {{"driver", "local"}}, 0});
  return okStatus();
}

Result<std::vector<std::string>> Engine::volumePrune() {
  std::vector<std::string> names, removed;
  {
    std::lock_guard lock(mu_);
    for (auto& [n, v] : volumes_) names.push_back(n);
  }
  for (const auto& n : names) {
    if (!volumeUsers(n).empty()) continue;
    if (volumeRemove(n, false)) removed.push_back(n);
  }
  return removed;
}

Result<std::vector<ResolvedMount>> Engine::resolveMounts(Entry& e, const std::string& rootfs) {
  std::vector<ResolvedMount> out;
  for (const auto& m : e.c.config.mounts) {
    ResolvedMount r{m, ""};
    if (m.type == "bind") {
      struct stat st {};
      if (::stat(m.source.c_str(), &st) != 0)
        return invalidArgument("bind mount source " + quote(m.source) +
                               " does not exist on the host");
      r.host_path = m.source;
    } else if (m.type == "volume") {
      Volume v;
      {
        std::lock_guard lock(mu_);
        auto it = volumes_.find(m.source);
        if (it == volumes_.end()) return notFound("no such volume: " + quote(m.source));
        v = it->second;
      }
      r.host_path = v.mountpoint;
      if (!v.filled) {
        // First use: the volume takes the image's files at the target, as docker does.
        auto src = sys::secureJoin(rootfs, m.target);
        struct stat st {};
        if (src && ::stat(src->c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
            sys::listDir(v.mountpoint).value_or({}).empty()) {
          for (const auto& name : sys::listDir(*src).value_or({}))
            BERTH_RETURN_IF_ERROR(
                copyTree(*src + "/" + name, v.mountpoint + "/" + name, CopyOwner{}, nullptr, *src));
          ::chmod(v.mountpoint.c_str(), st.st_mode & 07777);
          (void)!::chown(v.mountpoint.c_str(), st.st_uid, st.st_gid);
        }
        std::lock_guard lock(mu_);
        volumes_[v.name].filled = true;
        BERTH_RETURN_IF_ERROR(
            store_->putRecord(ContainerStore::Kind::kVolume, v.name, toJson(volumes_[v.name])));
      }
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace berth::engine
