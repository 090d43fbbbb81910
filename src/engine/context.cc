#include "engine/context.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/ignore_rules.h"
#include "common/strings.h"
#include "image/digest.h"
#include "sys/fs.h"

namespace berth::engine {
namespace {

// Streams a file through sha256: context files can be large; they are not read whole.
Result<image::Digest> hashFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errnoError("read " + quote(path), errno);
  image::Sha256 h;
  std::string buf(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errnoError("read " + quote(path), err);
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return h.finish();
}

Status copyFile(const std::string& src, const std::string& dst, const struct stat& st) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return errnoError("copy: open " + quote(src), errno);
  ::unlink(dst.c_str());
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return errnoError("copy: create " + quote(dst), err);
  }
  std::string buf(1 << 20, '\0');
  Status s = okStatus();
  while (true) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      s = errnoError("copy: read " + quote(src), errno);
      break;
    }
    if (n == 0) break;
    if (::write(out, buf.data(), static_cast<size_t>(n)) != n) {
      s = errnoError("copy: write " + quote(dst), errno);
      break;
    }
  }
  ::close(in);
  ::close(out);
  return s;
}

}  // namespace

Result<IgnoreRules> loadIgnoreRules(const std::string& context_dir) {
  auto text = sys::readFile(context_dir + "/.dockerignore");
  if (!text) {
    if (text.error().code() == ErrorCode::kNotFound) return IgnoreRules();
    return text.error();
  }
  return IgnoreRules::parse(*text);
}

Result<std::vector<std::string>> expandSources(const std::string& root, const std::string& source) {
  std::string rel = cleanContextPath(source);
  if (rel.empty() || rel == ".") return std::vector<std::string>{""};
  for (const auto& part : split(rel, '/')) {
    if (part == "..")
      return invalidArgument("source " + quote(source) + " leaves the build context");
  }
  std::vector<std::string> out;
  if (rel.find_first_of("*?[") == std::string::npos) {
    std::string host = BERTH_TRY(sys::secureJoin(root, rel));
    if (!sys::exists(host))
      return notFound("source " + quote(source) + " does not exist in the build context");
    out.push_back(rel);
    return out;
  }
  glob_t g{};
  std::string pattern = root + "/" + rel;
  int rc = ::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g);
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i)
      out.push_back(std::string(g.gl_pathv[i]).substr(root.size() + 1));
  }
  ::globfree(&g);
  if (out.empty())
    return notFound("source " + quote(source) + " matches no file in the build context");
  std::sort(out.begin(), out.end());
  return out;
}

Status copyTree(const std::string& src, const std::string& dst, const CopyOwner& owner,
                const IgnoreRules* ignore, const std::string& rel_base) {
  struct stat st;
  if (::lstat(src.c_str(), &st) != 0) return errnoError("copy " + quote(src), errno);
  if (ignore && !rel_base.empty() && ignore->ignored(rel_base)) return okStatus();
  mode_t mode = owner.mode ? *owner.mode : st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(dst.c_str(), st.st_mode & 07777) != 0 && errno != EEXIST)
      return errnoError("copy: create directory " + quote(dst), errno);
    for (const auto& n : BERTH_TRY(sys::listDir(src))) {
      BERTH_RETURN_IF_ERROR(copyTree(src + "/" + n, dst + "/" + n, owner, ignore,
                                     rel_base.empty() ? n : rel_base + "/" + n));
    }
    ::chmod(dst.c_str(), mode);
  } else if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(src.c_str(), buf, sizeof buf - 1);
    if (n < 0) return errnoError("copy: read link " + quote(src), errno);
    ::unlink(dst.c_str());
    if (::symlink(std::string(buf, static_cast<size_t>(n)).c_str(), dst.c_str()) != 0)
      return errnoError("copy: create link " + quote(dst), errno);
  } else if (S_ISREG(st.st_mode)) {
    BERTH_RETURN_IF_ERROR(copyFile(src, dst, st));
  } else {
    return invalidArgument("copy " + quote(src) +
                           ": only files, directories and links can be copied");
  }
  uid_t uid = owner.uid ? *owner.uid : st.st_uid;
  gid_t gid = owner.gid ? *owner.gid : (owner.uid ? *owner.uid : st.st_gid);
  if (::lchown(dst.c_str(), uid, gid) != 0) return errnoError("copy: chown " + quote(dst), errno);
  if (!S_ISLNK(st.st_mode)) ::chmod(dst.c_str(), mode);  // chown clears setuid
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return okStatus();
}

Status hashTree(const std::string& path, const std::string& rel, const IgnoreRules* ignore,
                std::string* out) {
  if (ignore && !rel.empty() && ignore->ignored(rel)) return okStatus();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return errnoError("read " + quote(path), errno);
  *out += rel + "\t" + std::to_string(st.st_mode) + "\t" + std::to_string(st.st_uid) + ":" +
          std::to_string(st.st_gid) + "\t" + std::to_string(st.st_size) + "\t";
  if (S_ISREG(st.st_mode)) {
    *out += BERTH_TRY(hashFile(path)).hex();
  } else if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
    if (n > 0) out->append(buf, static_cast<size_t>(n));
  }
  *out += "\n";
  if (!S_ISDIR(st.st_mode)) return okStatus();
  for (const auto& n : BERTH_TRY(sys::listDir(path))) {
    BERTH_RETURN_IF_ERROR(hashTree(path + "/" + n, rel.empty() ? n : rel + "/" + n, ignore, out));
  }
  return okStatus();
}

}  // namespace berth::engine
