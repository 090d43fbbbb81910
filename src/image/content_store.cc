#include "image/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/strings.h"
#include "sys/fs.h"

namespace berth::image {
namespace {

std::string ingestName() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

Status ContentStore::init() const {
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(root_ + "/blobs/sha256", 0700));
  BERTH_RETURN_IF_ERROR(sys::removeAll(root_ + "/ingest"));
  return sys::mkdirAll(root_ + "/ingest", 0700);
}

std::string ContentStore::path(const Digest& d) const { return root_ + "/blobs/sha256/" + d.hex(); }

bool ContentStore::has(const Digest& d) const { return sys::exists(path(d)); }

Result<BlobInfo> ContentStore::ingest(const Reader& read,
                                      const std::optional<Digest>& expected) const {
  std::string tmp = root_ + "/ingest/" + ingestName();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return errnoError("store blob: create " + quote(tmp), errno);
  auto fail = [&](const Error& e) -> Result<BlobInfo> {
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  Sha256 hash;
  uint64_t total = 0;
  std::string buf(1 << 20, '\0');
  while (true) {
    auto n = read(buf.data(), buf.size());
    if (!n) return fail(n.error());
    if (*n == 0) break;
    hash.update(buf.data(), *n);
    total += *n;
    size_t off = 0;
    while (off < *n) {
      ssize_t w = ::write(fd, buf.data() + off, *n - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        return fail(errnoError("store blob: write " + quote(tmp), errno));
      }
      off += static_cast<size_t>(w);
    }
  }
  Digest got = hash.finish();
  if (expected && !(*expected == got))
    return fail(invalidArgument("blob " + expected->str() + " does not match its digest: got " +
                                got.str()));
  if (::fsync(fd) != 0) return fail(errnoError("store blob: sync " + quote(tmp), errno));
  ::close(fd);
  if (::rename(tmp.c_str(), path(got).c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errnoError("store blob " + got.str(), err);
  }
  return BlobInfo{got, total};
}

Result<BlobInfo> ContentStore::put(std::string_view data,
                                   const std::optional<Digest>& expected) const {
  size_t off = 0;
  return ingest(
      [&](char* buf, size_t size) -> Result<size_t> {
        size_t n = std::min(size, data.size() - off);
        std::memcpy(buf, data.data() + off, n);
        off += n;
        return n;
      },
      expected);
}

Result<uint64_t> ContentStore::size(const Digest& d) const {
  struct stat st;
  if (::stat(path(d).c_str(), &st) != 0) return errnoError("blob " + d.str(), errno);
  return static_cast<uint64_t>(st.st_size);
}

Result<std::string> ContentStore::readVerified(const Digest& d) const {
  auto data = sys::readFile(path(d));
  if (!data) {
    if (data.error().code() == ErrorCode::kNotFound)
      return notFound("blob " + d.str() + " is not in the store");
    return data.error();
  }
  Digest got = sha256Of(*data);
  if (!(got == d))
    return internalError("blob " + d.str() + " is corrupt: its content hashes to " + got.str());
  return data;
}

Status ContentStore::remove(const Digest& d) const {
  if (::unlink(path(d).c_str()) != 0 && errno != ENOENT)
    return errnoError("remove blob " + d.str(), errno);
  return okStatus();
}

Result<std::vector<Digest>> ContentStore::list() const {
  std::vector<Digest> out;
  std::string dir = root_ + "/blobs/sha256";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errnoError("list " + quote(dir), errno);
  while (dirent* e = ::readdir(d)) {
    auto digest = Digest::parse(std::string("sha256:") + e->d_name);
    if (digest) out.push_back(*digest);
  }
  ::closedir(d);
  return out;
}

}  // namespace berth::image
