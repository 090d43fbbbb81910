#include "sys/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <vector>

#include "common/strings.h"

namespace berth::sys {

Result<std::string> readFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError("read " + quote(path), errno);
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return errnoError("read " + quote(path), err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status writeFile(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errnoError("write " + quote(path), errno);
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return errnoError("write " + quote(data) + " to " + quote(path), err);
  if (static_cast<size_t>(n) != data.size())
    return internalError("write " + quote(path) + ": short write");
  return okStatus();
}

namespace {

// The temporary name is the calling thread's own: writers of the same path in other
// threads or processes never write into each other's file, and the last rename wins whole.
Status writeAndRename(const std::string& path, const std::string& data, mode_t mode, bool sync) {
  std::string tmp = path + ".tmp." + std::to_string(::gettid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return errnoError("write " + quote(tmp), errno);
  ssize_t n = ::write(fd, data.data(), data.size());
  int err = errno;
  if (n >= 0 && sync && ::fsync(fd) != 0) err = errno, n = -1;
  ::close(fd);
  if (n < 0 || static_cast<size_t>(n) != data.size()) {
    ::unlink(tmp.c_str());
    return errnoError("write " + quote(tmp), n < 0 ? err : EIO);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    return errnoError("rename " + quote(tmp) + " to " + quote(path), err);
  }
  return okStatus();
}

}  // namespace

Status writeFileAtomic(const std::string& path, const std::string& data, mode_t mode) {
  return writeAndRename(path, data, mode, true);
}

Status replaceFile(const std::string& path, const std::string& data, mode_t mode) {
  return writeAndRename(path, data, mode, false);
}

// The leaf first: its parents nearly always exist, and then it costs one mkdir instead of
// one per component (each a path walk; a container start makes dozens of directories).
Status mkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return okStatus();
  if (::mkdir(path.c_str(), mode) == 0) return okStatus();
  int err = errno;
  if (err == ENOENT) {
    std::string_view p = path;
    while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
    size_t slash = p.rfind('/');
    if (slash != std::string_view::npos) {
      BERTH_RETURN_IF_ERROR(mkdirAll(std::string(p.substr(0, slash == 0 ? 1 : slash)), mode));
      if (::mkdir(path.c_str(), mode) == 0) return okStatus();
      err = errno;
    }
  }
  if (err != EEXIST) return errnoError("create directory " + quote(path), err);
  if (!isDirectory(path)) return errnoError("create directory " + quote(path), ENOTDIR);
  return okStatus();
}

Status touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EISDIR) return okStatus();
    return errnoError("create file " + quote(path), errno);
  }
  ::close(fd);
  return okStatus();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool isDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::vector<std::string>> listDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errnoError("list " + quote(dir), errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status removeAll(const std::string& path) {
  if (!exists(path)) return okStatus();
  auto rm = [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); };
  if (::nftw(path.c_str(), rm, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    return errnoError("remove " + quote(path), errno);
  }
  return okStatus();
}

Status rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return errnoError("rename " + quote(from) + " to " + quote(to), errno);
  return okStatus();
}

Result<std::string> secureJoin(const std::string& root, const std::string& unsafe) {
  std::vector<std::string> pending;
  for (auto& p : split(unsafe, '/')) {
    if (!p.empty() && p != ".") pending.push_back(p);
  }
  std::reverse(pending.begin(), pending.end());  // a stack: back() is the next component
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = pending.back();
    pending.pop_back();
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string host = root;
    for (const auto& r : resolved) host += "/" + r;
    host += "/" + part;
    struct stat st;
    if (::lstat(host.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      resolved.push_back(part);
      continue;
    }
    if (++links > 255) return errnoError("resolve " + quote(unsafe) + " in " + quote(root), ELOOP);
    char buf[4096];
    ssize_t n = ::readlink(host.c_str(), buf, sizeof buf - 1);
    if (n < 0) return errnoError("read link " + quote(host), errno);
    std::string target(buf, static_cast<size_t>(n));
    if (!target.empty() && target[0] == '/') resolved.clear();
    auto parts = split(target, '/');
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (!it->empty() && *it != ".") pending.push_back(*it);
    }
  }
  std::string out = root;
  for (const auto& r : resolved) out += "/" + r;
  return out;
}

int64_t treeSize(const std::string& dir) {
  auto names = listDir(dir);
  if (!names) return 0;
  int64_t total = 0;
  for (const auto& n : *names) {
    std::string p = dir + "/" + n;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode))
      total += treeSize(p);
    else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
      total += st.st_size;
  }
  return total;
}

}  // namespace berth::sys
