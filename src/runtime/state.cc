#include "runtime/state.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "sys/fs.h"
#include "sys/process.h"

namespace berth::runtime {

using nlohmann::json;

const char* statusName(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreating:
      return "creating";
    case ContainerStatus::kCreated:
      return "created";
    case ContainerStatus::kRunning:
      return "running";
    case ContainerStatus::kPaused:
      return "paused";
    case ContainerStatus::kStopped:
      return "stopped";
  }
  return "unknown";
}

Status validateId(const std::string& id) {
  if (id.empty()) return invalidArgument("container id is empty");
  if (id.size() > 1024) return invalidArgument("container id is too long");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.' &&
        c != '+')
      return invalidArgument("invalid container id " + quote(id) +
                             ": use letters, digits, '_', '-', '.', '+'");
  }
  if (id == "." || id == "..") return invalidArgument("invalid container id " + quote(id));
  return okStatus();
}

Status StateStore::reserve(const std::string& id) const {
  BERTH_RETURN_IF_ERROR(validateId(id));
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(root_, 0711));
  if (::mkdir(dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return alreadyExists("container " + quote(id) + " already exists");
    return errnoError("create state directory " + quote(dir(id)), errno);
  }
  return okStatus();
}

Status StateStore::save(const ContainerState& st) const {
  json j = {{"version", 1},
            {"id", st.id},
            {"pid", st.pid},
            {"pidStartTime", st.pid_start_time},
            {"bundle", st.bundle},
            {"rootfs", st.rootfs},
            {"created", st.created},
            {"owner", st.owner},
            {"cgroupPath", st.cgroup_path},
            {"annotations", st.annotations},
            {"paused", st.paused}};
  return sys::replaceFile(dir(st.id) + "/state.json", j.dump());
}

Result<ContainerState> StateStore::load(const std::string& id) const {
  BERTH_RETURN_IF_ERROR(validateId(id));
  auto text = sys::readFile(dir(id) + "/state.json");
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound)
      return notFound("container " + quote(id) + " does not exist");
    return text.error();
  }
  try {
    json j = json::parse(*text);
    if (j.value("version", 0) != 1)
      return internalError("state of " + quote(id) + ": unknown version");
    ContainerState st;
    st.id = j.at("id").get<std::string>();
    st.pid = j.at("pid").get<pid_t>();
    st.pid_start_time = j.at("pidStartTime").get<unsigned long long>();
    st.bundle = j.at("bundle").get<std::string>();
    st.rootfs = j.at("rootfs").get<std::string>();
    st.created = j.at("created").get<std::string>();
    st.owner = j.value("owner", "");
    st.cgroup_path = j.at("cgroupPath").get<std::string>();
    st.annotations = j.value("annotations", std::map<std::string, std::string>{});
    st.paused = j.value("paused", false);
    return st;
  } catch (const json::exception& e) {
    return internalError("read state of container " + quote(id) + ": " + e.what());
  }
}

Status StateStore::remove(const std::string& id) const {
  BERTH_RETURN_IF_ERROR(validateId(id));
  return sys::removeAll(dir(id));
}

Result<std::vector<std::string>> StateStore::list() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root_.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    return errnoError("list " + quote(root_), errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (sys::exists(dir(name) + "/state.json")) ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

ContainerStatus currentStatus(const ContainerState& st, const StateStore& store) {
  if (st.pid <= 0) return ContainerStatus::kStopped;
  auto ps = sys::procStat(st.pid);
  if (!ps || ps->start_time != st.pid_start_time || ps->state == 'Z' || ps->state == 'X')
    return ContainerStatus::kStopped;
  if (sys::exists(store.fifoPath(st.id))) return ContainerStatus::kCreated;
  if (st.paused) return ContainerStatus::kPaused;
  return ContainerStatus::kRunning;
}

std::string stateJson(const ContainerState& st, ContainerStatus status) {
  json j = {
      {"ociVersion", "1.0.2"},        {"id", st.id},
      {"status", statusName(status)}, {"pid", status == ContainerStatus::kStopped ? 0 : st.pid},
      {"bundle", st.bundle},          {"rootfs", st.rootfs},
      {"created", st.created},        {"owner", st.owner},
      {"annotations", st.annotations}};
  return j.dump(2);
}

}  // namespace berth::runtime
