#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "image/sha256_pipeline.h"
#include "sys/fd.h"

// How a layer flows:
//
//   Reader ─► outer archive (gzip/zstd/xz/bzip2; "raw" format) ─► sha256 + byte count
//          ─► inner archive (tar formats only) ─► one Applier call per entry
//
// A stream that does not start with one of those compressions' magic numbers is a plain tar
// (docker save writes them) and skips the outer archive: it is read straight into the blocks
// the tar reader parses, saving a copy of every byte.
//
// Every byte the outer archive decompresses is hashed on its way to the tar reader, and what
// the tar reader leaves after its end-of-archive marker (block padding) is drained into the
// hash too, so diff_id covers the whole uncompressed stream. The hash runs on a helper thread
// (Sha256Pipeline) while this one reads, parses and writes: it costs as much as the copies
// in and out of the page cache, and would otherwise add its whole time to the unpack.
//
// The Applier does the filesystem work itself with *at() calls relative to a descriptor of
// `dir`. Parent directories are resolved with openat2(RESOLVE_IN_ROOT), so a symlink already in
// the tree (from a lower layer or an earlier entry) is followed as if `dir` were the root and
// can never lead out of it; the last component is never followed (created with O_EXCL,
// symlinkat, mkdirat, or changed with AT_SYMLINK_NOFOLLOW). These calls stay private here
// rather than in src/sys because they only make sense together with this policy.

namespace berth::image {
namespace {

// Reads and blocks for the tar reader of 1 MiB: few syscalls, and file data goes to pwrite in
// pieces of up to that size.
constexpr size_t kBufferSize = 1 << 20;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

using sys::Fd;

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

// libarchive's messages start with a capital; ours do not. Some failures come without one
// (the gzip reader's missing trailer, for one): `fallback` then says what we know.
std::string archiveCause(archive* a, const char* fallback = "unknown archive error") {
  const char* s = archive_error_string(a);
  std::string cause = (s && *s) ? s : fallback;
  cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  return cause;
}

// ---------------------------------------------------------------------------------------------
// The byte stream: decompression, hashing, tar reading.

// Whether a stream starting with `head` may be compressed in one of the formats the outer
// archive decodes: their magic numbers, as libarchive's bidders look for them (a zstd stream may
// start with a skippable frame). Anything else is read as a plain tar, which a match would not
// change: libarchive passes a stream no filter claims through as it is.
bool mayBeCompressed(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b") || starts("BZh") ||
      starts(std::string_view("\xfd"
                              "7zXZ\0",
                              6)) ||
      starts("\x28\xb5\x2f\xfd")) {
    return true;
  }
  return head.size() >= 4 && (static_cast<unsigned char>(head[0]) & 0xf0) == 0x50 &&
         head.substr(1, 3) == "\x2a\x4d\x18";
}

class Stream {
 public:
  explicit Stream(const Reader& read)
      : read_(read), in_(std::make_unique_for_overwrite<char[]>(kBufferSize)), sha_(kBufferSize) {}

  Status open() {
    inner_.reset(archive_read_new());
    if (!inner_) return internalError("allocate archive reader: out of memory");
    if (archive_read_support_format_tar(inner_.get()) != ARCHIVE_OK) {
      return internalError("set up layer reader: " + archiveCause(inner_.get()));
    }
    // Enough of the stream to tell a compressed one from a plain tar.
    while (head_ < kSniffSize) {
      auto n = readSome(in_.get() + head_, kBufferSize - head_);
      if (!n.ok()) return n.error().context("open layer stream");
      if (*n == 0) break;
      head_ += *n;
    }
    if (head_ == 0) return invalidArgument("open layer stream: empty stream");
    if (mayBeCompressed(std::string_view(in_.get(), head_))) BERTH_RETURN_IF_ERROR(openOuter());
    if (archive_read_open(inner_.get(), this, nullptr, &Stream::readTar, nullptr) != ARCHIVE_OK) {
      return failure(inner_.get()).context("open tar stream");
    }
    return okStatus();
  }

  archive* tar() const { return inner_.get(); }

  // Hashes what follows the tar's end marker, so diff_id covers the whole stream.
  Status drain() {
    while (true) {
      auto n = pull();
      if (!n.ok()) return n.error().context("read past the end of the tar stream");
      if (*n == 0) return okStatus();
    }
  }

  uint64_t size() const { return size_; }
  Digest digest() { return sha_.finish(); }

  // The root cause of a failure seen by `a`: the Reader's or the decompressor's error when
  // there was one (the tar reader only saw a failed read), else `a`'s own message.
  Error failure(archive* a) const {
    if (error_) return *error_;
    return invalidArgument(archiveCause(a));
  }

 private:
  static constexpr size_t kSniffSize = 6;  // the longest magic number, xz's

  // The outer archive decompresses what the Reader gives, starting with the head_ bytes
  // already read into in_.
  Status openOuter() {
    outer_.reset(archive_read_new());
    if (!outer_) return internalError("allocate archive reader: out of memory");
    // The compressions layers come in (gzip, zstd; xz and bzip2 from old tooling). Not
    // archive_read_support_filter_all: it would also accept uuencode, rpm, and filters that
    // libarchive always runs as external programs (lrzip, grzip) on untrusted input.
    for (auto add : {archive_read_support_filter_gzip, archive_read_support_filter_zstd,
                     archive_read_support_filter_xz, archive_read_support_filter_bzip2}) {
      // ARCHIVE_WARN: this libarchive lacks the library and will run the tool instead.
      if (add(outer_.get()) < ARCHIVE_WARN) {
        return internalError("set up layer decompression: " + archiveCause(outer_.get()));
      }
    }
    if (archive_read_support_format_raw(outer_.get()) != ARCHIVE_OK) {
      return internalError("set up layer reader: " + archiveCause(outer_.get()));
    }
    archive_entry* entry = nullptr;
    if (archive_read_open(outer_.get(), this, nullptr, &Stream::readLayer, nullptr) != ARCHIVE_OK ||
        archive_read_next_header(outer_.get(), &entry) != ARCHIVE_OK) {
      return failure(outer_.get()).context("open layer stream");
    }
    return okStatus();
  }

  // The Reader's next bytes; its error is kept as the stream's.
  Result<size_t> readSome(char* buf, size_t size) {
    auto n = read_(buf, size);
    if (!n.ok()) {
      error_ = n.error();
      return n.error();
    }
    return std::min(*n, size);
  }

  // Fills block_ with the next bytes of the tar stream and queues them for hashing; 0 at the
  // end. The previous block is no longer in use: the tar reader asks for the next one only
  // when done with the last.
  Result<size_t> pull() {
    if (eof_) return size_t{0};
    block_ = sha_.acquire();
    auto n = outer_ ? decompress() : plain();
    if (!n.ok()) return n;
    if (*n == 0) {
      eof_ = true;
      return size_t{0};
    }
    sha_.commit(*n);
    size_ += *n;
    return *n;
  }

  // A plain tar goes from the Reader straight into the blocks: no copy but the first bytes'.
  Result<size_t> plain() {
    if (head_ == 0) return readSome(block_, sha_.blockSize());
    size_t n = std::exchange(head_, 0);
    std::memcpy(block_, in_.get(), n);
    return n;
  }

  Result<size_t> decompress() {
    la_ssize_t n = archive_read_data(outer_.get(), block_, sha_.blockSize());
    if (n >= 0) return static_cast<size_t>(n);
    if (!error_) {
      error_ =
          invalidArgument(archiveCause(outer_.get(), "truncated or corrupt compressed stream"));
    }
    return *error_;
  }

  static la_ssize_t readLayer(archive* a, void* self, const void** buf) {
    auto* s = static_cast<Stream*>(self);
    *buf = s->in_.get();
    if (s->head_ > 0) return static_cast<la_ssize_t>(std::exchange(s->head_, 0));
    auto n = s->readSome(s->in_.get(), kBufferSize);
    if (!n.ok()) {
      archive_set_error(a, EIO, "%s", n.error().message().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(*n);
  }

  static la_ssize_t readTar(archive* a, void* self, const void** buf) {
    auto* s = static_cast<Stream*>(self);
    auto n = s->pull();
    if (!n.ok()) {
      archive_set_error(a, EIO, "%s", n.error().message().c_str());
      return -1;
    }
    *buf = s->block_;
    return static_cast<la_ssize_t>(*n);
  }

  const Reader& read_;
  std::unique_ptr<char[]> in_;  // what the Reader gives, before decompression
  size_t head_ = 0;             // bytes at the start of in_ read but not yet passed on
  ArchivePtr outer_;            // decompression; none for a plain tar
  ArchivePtr inner_;
  bool eof_ = false;
  std::optional<Error> error_;
  Sha256Pipeline sha_;  // owns the blocks the tar reader reads
  char* block_ = nullptr;
  uint64_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Paths and descriptors inside the tree.

// An entry name as components: "./a//b/" -> {a, b}. Names are relative to the layer's root;
// ".." anywhere and absolute names are refused rather than cleaned, since no honest layer has
// them.
Result<std::vector<std::string>> splitEntryName(std::string_view name) {
  if (!name.empty() && name[0] == '/') return invalidArgument("absolute path in a layer");
  std::vector<std::string> parts;
  for (auto& p : split(name, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") return invalidArgument("path leaves the layer");
    parts.push_back(std::move(p));
  }
  return parts;
}

std::string joinPrefix(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out;
}

// Opens `rel` under `root` as if `root` were "/": symlinks are followed but stay inside.
// Returns -1 with errno set on failure.
int openInRoot(int root, const std::string& rel, uint64_t flags) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* path = rel.empty() ? "." : rel.c_str();
  long fd = -1;
  // EAGAIN: a rename raced with resolving ".." (symlink targets may have some); try again.
  for (int tries = 0; tries < 16; ++tries) {
    fd = ::syscall(SYS_openat2, root, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return static_cast<int>(fd);
}

Result<struct stat> lstatAt(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errnoError("inspect " + quote(name), errno);
  }
  return st;
}

Result<std::vector<std::string>> listDir(int dirfd) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errnoError("open directory", errno);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    return errnoError("open directory", err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* de = ::readdir(d)) {
    std::string_view n = de->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return errnoError("read directory", err);
  return names;
}

Status removeAt(int dirfd, const std::string& name);

Status emptyDir(int fd) {
  auto names = BERTH_TRY(listDir(fd));
  for (const auto& n : names) BERTH_RETURN_IF_ERROR(removeAt(fd, n));
  return okStatus();
}

// Removes `name` in `dirfd`, a whole tree if it is a directory; nothing there is fine. Never
// follows a symlink: a link is removed, not what it points to.
Status removeAt(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return okStatus();
    return errnoError("remove " + quote(name), errno);
  }
  if (S_ISDIR(st.st_mode)) {
    Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0) return errnoError("remove " + quote(name), errno);
    auto s = emptyDir(sub.get());
    if (!s.ok()) return s.error().context("remove " + quote(name));
  }
  if (::unlinkat(dirfd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0) {
    return errnoError("remove " + quote(name), errno);
  }
  return okStatus();
}

// ---------------------------------------------------------------------------------------------
// Metadata.

struct Meta {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t perm = 0;
  bool has_mtime = false;
  struct timespec times[2] = {};  // atime, mtime
  std::vector<std::pair<std::string, std::string>> xattrs;
};

Meta metaOf(archive_entry* e) {
  Meta m;
  m.uid = static_cast<uid_t>(archive_entry_uid(e));
  m.gid = static_cast<gid_t>(archive_entry_gid(e));
  m.perm = archive_entry_perm(e) & 07777;
  if (archive_entry_mtime_is_set(e)) {
    m.has_mtime = true;
    m.times[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    m.times[0] = archive_entry_atime_is_set(e)
                     ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                     : m.times[1];
  }
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (name) m.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  return m;
}

// Only root can give files away; an unprivileged apply (a rootless engine, the unit tests)
// keeps the files as its own rather than failing.
Status ownerResult(int rc, const Meta& m) {
  int err = errno;
  if (rc == 0 || (err == EPERM && ::geteuid() != 0)) return okStatus();
  return errnoError("change owner to " + std::to_string(m.uid) + ":" + std::to_string(m.gid), err);
}

// `set(name, value, size)` behaves like setxattr(2). Security attributes (SELinux labels,
// capabilities) that this host or filesystem refuses are dropped; anything else must land.
template <typename Set>
Status setXattrs(const Meta& m, Set set) {
  for (const auto& [name, value] : m.xattrs) {
    if (set(name.c_str(), value.data(), value.size()) == 0) continue;
    int err = errno;
    if (startsWith(name, "security.") && (err == EPERM || err == ENOTSUP)) continue;
    return errnoError("set xattr " + quote(name), err);
  }
  return okStatus();
}

// Data blocks go where libarchive says (sparse files leave holes); the size fixes the tail.
Status writeContents(archive* a, archive_entry* e, int fd, const Stream& stream) {
  const void* buf = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int64_t end = 0;
  while (true) {
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return stream.failure(a).context("read contents");
    const char* p = static_cast<const char*>(buf);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::pwrite(fd, p + done, size - done, offset + static_cast<off_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errnoError("write contents", errno);
      }
      done += static_cast<size_t>(n);
    }
    end = std::max<int64_t>(end, offset + static_cast<int64_t>(size));
  }
  int64_t want = archive_entry_size_is_set(e) ? archive_entry_size(e) : end;
  if (want > end && ::ftruncate(fd, want) != 0) return errnoError("write contents", errno);
  return okStatus();
}

// ---------------------------------------------------------------------------------------------
// Entries.

class Applier {
 public:
  Applier(int root, const Stream& stream, Whiteouts mode)
      : root_(root), stream_(stream), mode_(mode) {}

  Status apply(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (!raw) raw = archive_entry_pathname_utf8(e);
    if (!raw) return invalidArgument("entry without a readable name");
    std::string name = raw;
    auto s = applyEntry(a, e, name);
    if (!s.ok()) return s.error().context("entry " + quote(name));
    return okStatus();
  }

  // Directory modes and times wait until the end: entries written into a directory change
  // its mtime, and a read-only mode would get in the way of what follows. Deepest first.
  Status finish() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      const auto& [path, m] = *it;
      Fd d(openInRoot(root_, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      if (d.get() < 0) {
        // Replaced or whited out by a later entry: nothing of this directory left to fix.
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
        return errnoError("set metadata of directory " + quote(path), errno);
      }
      if (::fchmod(d.get(), m.perm) != 0) {
        return errnoError("change mode of directory " + quote(path), errno);
      }
      if (m.has_mtime && ::futimens(d.get(), m.times) != 0) {
        return errnoError("set times of directory " + quote(path), errno);
      }
    }
    return okStatus();
  }

 private:
  Status applyEntry(archive* a, archive_entry* e, const std::string& name) {
    auto parts = BERTH_TRY(splitEntryName(name));
    if (parts.empty()) return okStatus();  // "." or "": the root, which the caller owns
    const std::string& base = parts.back();
    if (base == kOpaqueMarker) return opaque(parts);
    if (startsWith(base, kWhiteoutPrefix)) return whiteout(parts);

    if (const char* target = archive_entry_hardlink(e)) return hardlink(parts, target);
    Meta m = metaOf(e);
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        return directory(parts, m);
      case AE_IFREG:
        return regular(a, e, parts, m);
      case AE_IFLNK:
        return symlink(parts, archive_entry_symlink(e), m);
      case AE_IFIFO:
        return fifo(parts, m);
      case AE_IFCHR:
      case AE_IFBLK:
        return invalidArgument("device nodes are not allowed in layers");
      case AE_IFSOCK:
        return invalidArgument("sockets are not allowed in layers");
      default:
        return invalidArgument("unknown entry type " + std::to_string(archive_entry_filetype(e)));
    }
  }

  // The directory that will hold the entry, created (0755, like mkdir -p) where missing. The
  // descriptor is the Applier's, valid until the next call. It is kept for the next entry, as
  // tar lists a directory's entries together, and reused as long as nothing was removed since:
  // only a removal can change where a path resolves (a name is never created over another;
  // what holds it is removed first), so remove() is the one place that drops it.
  Result<int> parentOf(const std::vector<std::string>& parts) {
    std::string path = joinPrefix(parts, parts.size() - 1);
    if (!parent_valid_ || path != parent_path_) {
      parent_valid_ = false;  // in case the open fails
      parent_ = BERTH_TRY(openParent(parts));
      parent_path_ = std::move(path);
      parent_valid_ = true;
    }
    return parent_.get();
  }

  Result<Fd> openParent(const std::vector<std::string>& parts) {
    size_t n = parts.size() - 1;
    Fd fd(openInRoot(root_, joinPrefix(parts, n), O_PATH | O_DIRECTORY));
    if (fd.get() >= 0) return fd;
    if (errno != ENOENT) return errnoError("open directory " + quote(joinPrefix(parts, n)), errno);
    Fd cur(openInRoot(root_, "", O_PATH | O_DIRECTORY));
    if (cur.get() < 0) return errnoError("open layer root", errno);
    for (size_t i = 1; i <= n; ++i) {
      std::string prefix = joinPrefix(parts, i);
      Fd next(openInRoot(root_, prefix, O_PATH | O_DIRECTORY));
      if (next.get() < 0) {
        if (errno != ENOENT) return errnoError("open directory " + quote(prefix), errno);
        if (::mkdirat(cur.get(), parts[i - 1].c_str(), 0755) != 0) {
          return errnoError("create directory " + quote(prefix), errno);
        }
        next = Fd(openInRoot(root_, prefix, O_PATH | O_DIRECTORY));
        if (next.get() < 0) return errnoError("open directory " + quote(prefix), errno);
      }
      cur = std::move(next);
    }
    return cur;
  }

  // The entry's parent if it exists; an empty Fd if it does not (nothing to white out).
  Result<Fd> existingParentOf(const std::vector<std::string>& parts) {
    std::string rel = joinPrefix(parts, parts.size() - 1);
    Fd fd(openInRoot(root_, rel, O_PATH | O_DIRECTORY));
    if (fd.get() < 0 && errno != ENOENT && errno != ENOTDIR) {
      return errnoError("open directory " + quote(rel), errno);
    }
    return fd;
  }

  // Every removal goes through here, as it may change where the cached parent's path
  // resolves (see parentOf).
  Status remove(int dirfd, const std::string& name) {
    parent_valid_ = false;
    return removeAt(dirfd, name);
  }

  // Creates `base` in `parent` with `create`, an exclusive create (O_EXCL open, mkdirat,
  // symlinkat…: -1 with errno on failure), after removing what holds the name if something
  // does. Trying first saves a lookup for every entry that lands on a free name (all of them
  // in a fresh snapshot).
  template <typename Create>
  Result<int> createReplacing(int parent, const std::string& base, std::string_view what,
                              Create create) {
    int rc = create();
    if (rc < 0 && errno == EEXIST) {
      BERTH_RETURN_IF_ERROR(remove(parent, base));
      rc = create();
    }
    if (rc < 0) return errnoError(std::string(what), errno);
    return rc;
  }

  void created(const std::string& path) {
    created_.insert(path);
    // Deepest first: once one is known, so are those above it (most entries share a parent
    // with the entry before).
    for (size_t pos = path.rfind('/'); pos != std::string::npos && pos > 0;
         pos = path.rfind('/', pos - 1)) {
      if (!ancestors_.insert(path.substr(0, pos)).second) break;
    }
  }
  bool fromThisLayer(const std::string& path) const {
    return created_.count(path) || ancestors_.count(path);
  }

  // Removes from the directory `fd` (at `path`) everything the layers below put there; what
  // this layer wrote, and the directories leading to it, stay. Tar order is free, so an opaque
  // marker may come after entries of its own directory.
  Status hideLower(int fd, const std::string& path) {
    auto names = BERTH_TRY(listDir(fd));
    for (const auto& n : names) {
      std::string child = path.empty() ? n : path + "/" + n;
      if (!fromThisLayer(child)) {
        BERTH_RETURN_IF_ERROR(remove(fd, n));
        continue;
      }
      auto st = BERTH_TRY(lstatAt(fd, n));
      if (!S_ISDIR(st.st_mode)) continue;
      Fd sub(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) return errnoError("open directory " + quote(child), errno);
      BERTH_RETURN_IF_ERROR(hideLower(sub.get(), child));
    }
    return okStatus();
  }

  // The marker's own directory is not followed if it is a symlink (a lower layer's link that
  // this layer's directory entry replaces): the link's target is not what the layer hides.
  Status opaque(const std::vector<std::string>& parts) {
    std::string path = joinPrefix(parts, parts.size() - 1);
    if (mode_ == Whiteouts::kOverlay) {
      // The directory holds only this layer's entries: mark it for overlayfs.
      (void)BERTH_TRY(parentOf(parts));  // creates the directory if missing
      Fd dir(openInRoot(root_, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      if (dir.get() < 0) return errnoError("open directory " + quote(path), errno);
      if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
        return errnoError("mark directory " + quote(path) + " opaque", errno);
      return okStatus();
    }
    Fd dir(openInRoot(root_, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (dir.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return okStatus();
      return errnoError("open directory " + quote(path), errno);
    }
    return hideLower(dir.get(), path);
  }

  // ".wh.NAME" hides NAME of the layers below. What this layer itself put at NAME stays (the
  // spec: whiteouts apply to lower layers only); if that is a directory merged over a lower
  // one, the lower contents still go, so the result does not depend on tar order.
  Status whiteout(const std::vector<std::string>& parts) {
    std::string victim = parts.back().substr(kWhiteoutPrefix.size());
    if (victim.empty() || victim == "." || victim == ".." || victim.find('/') != victim.npos) {
      return invalidArgument("invalid whiteout");
    }
    std::string parent = joinPrefix(parts, parts.size() - 1);
    std::string path = parent.empty() ? victim : parent + "/" + victim;
    if (mode_ == Whiteouts::kOverlay) {
      if (fromThisLayer(path)) return okStatus();  // whiteouts hide lower layers only
      int pdir = BERTH_TRY(parentOf(parts));
      (void)BERTH_TRY(createReplacing(pdir, victim, "create whiteout for " + quote(path), [&] {
        return ::mknodat(pdir, victim.c_str(), S_IFCHR | 0000, makedev(0, 0));
      }));
      created(path);
      return okStatus();
    }
    Fd dir = BERTH_TRY(existingParentOf(parts));
    if (dir.get() < 0) return okStatus();
    if (!fromThisLayer(path)) return remove(dir.get(), victim);
    struct stat st;
    if (::fstatat(dir.get(), victim.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode)) {
      return okStatus();
    }
    Fd sub(::openat(dir.get(), victim.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0) return errnoError("open directory " + quote(path), errno);
    return hideLower(sub.get(), path);
  }

  Status directory(const std::vector<std::string>& parts, const Meta& m) {
    int parent = BERTH_TRY(parentOf(parts));
    const std::string& base = parts.back();
    // Private until finish() sets the entry's mode.
    if (::mkdirat(parent, base.c_str(), 0700) != 0) {
      if (errno != EEXIST) return errnoError("create directory", errno);
      struct stat st;
      bool is_dir =
          ::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      if (!is_dir) {  // a directory over a directory merges; over anything else, replaces it
        BERTH_RETURN_IF_ERROR(remove(parent, base));
        if (::mkdirat(parent, base.c_str(), 0700) != 0) {
          return errnoError("create directory", errno);
        }
      }
    }
    Fd d(::openat(parent, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (d.get() < 0) return errnoError("open directory", errno);
    BERTH_RETURN_IF_ERROR(ownerResult(::fchown(d.get(), m.uid, m.gid), m));
    BERTH_RETURN_IF_ERROR(setXattrs(m, [&](const char* n, const void* v, size_t s) {
      return ::fsetxattr(d.get(), n, v, s, 0);
    }));
    std::string path = joinPrefix(parts, parts.size());
    dirs_[path] = DirFixup{m.perm, m.has_mtime, {m.times[0], m.times[1]}};
    created(path);
    return okStatus();
  }

  Status regular(archive* a, archive_entry* e, const std::vector<std::string>& parts,
                 const Meta& m) {
    int parent = BERTH_TRY(parentOf(parts));
    const std::string& base = parts.back();
    Fd f(BERTH_TRY(createReplacing(parent, base, "create file", [&] {
      return ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
    })));
    BERTH_RETURN_IF_ERROR(writeContents(a, e, f.get(), stream_));
    // chown clears setuid bits and file capabilities, so it goes first; the mode goes after
    // the xattrs, which an unprivileged owner cannot set on a read-only file.
    BERTH_RETURN_IF_ERROR(ownerResult(::fchown(f.get(), m.uid, m.gid), m));
    BERTH_RETURN_IF_ERROR(setXattrs(m, [&](const char* n, const void* v, size_t s) {
      return ::fsetxattr(f.get(), n, v, s, 0);
    }));
    if (::fchmod(f.get(), m.perm) != 0) return errnoError("change mode", errno);
    if (m.has_mtime && ::futimens(f.get(), m.times) != 0) return errnoError("set times", errno);
    created(joinPrefix(parts, parts.size()));
    return okStatus();
  }

  // Metadata of something that cannot be opened for writing (a symlink, a FIFO), by name in
  // its parent and without following it.
  Status metaByName(int parent, const std::string& base, const Meta& m, bool is_link) {
    BERTH_RETURN_IF_ERROR(
        ownerResult(::fchownat(parent, base.c_str(), m.uid, m.gid, AT_SYMLINK_NOFOLLOW), m));
    if (!m.xattrs.empty()) {
      // lsetxattr through the parent's descriptor: the parent is pinned, `base` not followed.
      std::string via = "/proc/self/fd/" + std::to_string(parent) + "/" + base;
      BERTH_RETURN_IF_ERROR(setXattrs(m, [&](const char* n, const void* v, size_t s) {
        return ::lsetxattr(via.c_str(), n, v, s, 0);
      }));
    }
    if (!is_link && ::fchmodat(parent, base.c_str(), m.perm, 0) != 0) {
      return errnoError("change mode", errno);
    }
    if (m.has_mtime && ::utimensat(parent, base.c_str(), m.times, AT_SYMLINK_NOFOLLOW) != 0) {
      return errnoError("set times", errno);
    }
    return okStatus();
  }

  // Any target text is fine: links are never followed while applying, and at run time they
  // resolve inside the container's root.
  Status symlink(const std::vector<std::string>& parts, const char* target, const Meta& m) {
    if (!target || !*target) return invalidArgument("symlink without a target");
    int parent = BERTH_TRY(parentOf(parts));
    const std::string& base = parts.back();
    (void)BERTH_TRY(createReplacing(parent, base, "create symlink to " + quote(target),
                                    [&] { return ::symlinkat(target, parent, base.c_str()); }));
    BERTH_RETURN_IF_ERROR(metaByName(parent, base, m, true));
    created(joinPrefix(parts, parts.size()));
    return okStatus();
  }

  Status fifo(const std::vector<std::string>& parts, const Meta& m) {
    int parent = BERTH_TRY(parentOf(parts));
    const std::string& base = parts.back();
    (void)BERTH_TRY(createReplacing(parent, base, "create fifo", [&] {
      return ::mknodat(parent, base.c_str(), S_IFIFO | 0600, 0);
    }));
    BERTH_RETURN_IF_ERROR(metaByName(parent, base, m, false));
    created(joinPrefix(parts, parts.size()));
    return okStatus();
  }

  // The target is a name in the tree being built (this layer's earlier entries or the layers
  // below), resolved the same way as entry names; the link shares its inode and metadata.
  Status hardlink(const std::vector<std::string>& parts, const std::string& target) {
    std::string what = "hard link to " + quote(target);
    auto tparts = splitEntryName(target);
    if (!tparts.ok()) return tparts.error().context(what);
    if (tparts->empty()) return invalidArgument(what + ": target is the layer root");
    auto tparent = existingParentOf(*tparts);
    if (!tparent.ok()) return tparent.error().context(what);
    if (tparent->get() < 0) return notFound(what + ": no such file");
    const std::string& tbase = tparts->back();
    auto tst = lstatAt(tparent->get(), tbase);
    if (!tst.ok()) return tst.error().context(what);
    if (S_ISDIR(tst->st_mode)) return invalidArgument(what + ": target is a directory");

    int parent = BERTH_TRY(parentOf(parts));
    const std::string& base = parts.back();
    struct stat st;
    if (::linkat(tparent->get(), tbase.c_str(), parent, base.c_str(), 0) != 0) {
      if (errno != EEXIST) return errnoError(what, errno);
      // Already that file (the target is the entry itself, or re-linked): nothing to do.
      bool same = ::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                  st.st_dev == tst->st_dev && st.st_ino == tst->st_ino;
      if (!same) {
        BERTH_RETURN_IF_ERROR(remove(parent, base));
        if (::linkat(tparent->get(), tbase.c_str(), parent, base.c_str(), 0) != 0) {
          return errnoError(what, errno);
        }
      }
    }
    created(joinPrefix(parts, parts.size()));
    return okStatus();
  }

  struct DirFixup {
    mode_t perm;
    bool has_mtime;
    struct timespec times[2];
  };

  int root_;
  const Stream& stream_;
  Whiteouts mode_;
  Fd parent_;                             // the last entry's parent directory (see parentOf)
  std::string parent_path_;               // its path in the layer
  bool parent_valid_ = false;             // nothing was removed since it was opened
  std::map<std::string, DirFixup> dirs_;  // by path: deepest come last
  std::set<std::string> created_;         // paths this layer wrote
  std::set<std::string> ancestors_;       // directories above them
};

Result<LayerStats> applyStream(const Reader& read, const std::string& dir, Whiteouts mode) {
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return errnoError("open " + quote(dir), errno);
  Stream stream(read);
  BERTH_RETURN_IF_ERROR(stream.open());
  Applier applier(root.get(), stream, mode);
  LayerStats stats;
  std::string last;
  while (true) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(stream.tar(), &e);
    if (r == ARCHIVE_EOF) break;
    // Warnings (a name not convertible to the locale's charset, say) still give an entry.
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return stream.failure(stream.tar())
          .context(last.empty() ? "read tar header" : "read tar header after entry " + quote(last));
    }
    ++stats.entries;
    BERTH_RETURN_IF_ERROR(applier.apply(stream.tar(), e));
    const char* name = archive_entry_pathname(e);
    last = name ? name : "";
  }
  BERTH_RETURN_IF_ERROR(stream.drain());
  BERTH_RETURN_IF_ERROR(applier.finish());
  stats.tar_size = stream.size();
  stats.diff_id = stream.digest();
  return stats;
}

}  // namespace

Result<LayerStats> applyLayer(const Reader& read, const std::string& dir, Whiteouts mode) {
  auto r = applyStream(read, dir, mode);
  if (!r.ok()) return r.error().context("apply layer");
  return r;
}

Result<LayerStats> applyLayerFile(const std::string& path, const std::string& dir, Whiteouts mode) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errnoError("apply layer " + quote(path), errno);
  Reader read = [&](char* buf, size_t size) -> Result<size_t> {
    while (true) {
      ssize_t n = ::read(fd.get(), buf, size);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return errnoError("read " + quote(path), errno);
    }
  };
  auto r = applyStream(read, dir, mode);
  if (!r.ok()) return r.error().context("apply layer " + quote(path));
  return r;
}

}  // namespace berth::image
