#include "image/layer_writer.h"

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
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "sys/fd.h"

// How a layer is written, in two passes and without a temporary file:
//
//   1. walk: the tree becomes a list of Nodes in tar order, with their metadata, xattrs,
//      link targets, hard links and whiteouts resolved — no file contents yet;
//   2. stream: ContentStore::ingest pulls bytes; each pull that finds the buffer empty has
//      libarchive write the next piece (a header, up to kChunk bytes of a file, or the end
//      marker) into it through a write callback. The store hashes and stores what it pulls,
//      so the tar is written once and never held whole in memory.
//
// Format choices, all for a reproducible stream:
//   - full pax, not pax_restricted: restricted pax drops an mtime's nanoseconds unless the
//     entry needs an extended header for some other reason (a long name, xattrs), so the
//     same mtime would be kept on one entry and cut on the next;
//   - no blocking (bytes_per_block 0): the stream ends right after the two zero blocks of
//     the end marker, as Go's archive/tar (docker, containerd) writes it;
//   - order: depth first, each directory's children sorted bytewise by their tar name, so a
//     directory comes right before its contents and its subtree stays contiguous (the order
//     of docker's and containerd's tree walks); an opaque marker comes right after its
//     directory's entry, where docker puts it;
//   - uname/gname empty, no atime/ctime, xattrs sorted by name and written once, as
//     "SCHILY.xattr.NAME" (what Go's archive/tar reads; libarchive would add a second copy
//     as "LIBARCHIVE.xattr.NAME").
//
// Files are opened by name from the root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
// so no symlink in the tree is ever followed. Kept here, not in src/sys, for the same reason
// as layer.cc's: these calls only make sense together with this policy.

namespace berth::image {
namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

using sys::Fd;

// Opens `rel` under `root` without following any symlink on the way or at the end.
int openBeneath(int root, const std::string& rel, uint64_t flags) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char* path = rel.empty() ? "." : rel.c_str();
  long fd = -1;
  for (int tries = 0; tries < 16; ++tries) {  // EAGAIN: a rename raced the lookup
    fd = ::syscall(SYS_openat2, root, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return static_cast<int>(fd);
}

using Xattrs = std::vector<std::pair<std::string, std::string>>;

// The value of xattr `name` of `path` (not followed), nothing when it has none.
Result<std::optional<std::string>> getXattr(const std::string& path, const char* name) {
  while (true) {
    ssize_t n = ::lgetxattr(path.c_str(), name, nullptr, 0);
    if (n < 0 && (errno == ENODATA || errno == ENOTSUP)) return {std::nullopt};
    std::string value(static_cast<size_t>(std::max<ssize_t>(n, 0)), '\0');
    if (n >= 0) n = ::lgetxattr(path.c_str(), name, value.data(), value.size());
    if (n >= 0) return {value.substr(0, static_cast<size_t>(n))};
    if (errno != ERANGE) return errnoError("read xattr " + quote(name), errno);  // else: grew
  }
}

// The xattrs a layer carries: user.* and security.capability. trusted.* (overlayfs' own
// among them) and other security.* (SELinux labels belong to the host) are left out, and in
// an overlay upper so is user.overlay.*, overlayfs' own when mounted with userxattr.
Result<Xattrs> layerXattrs(const std::string& path, SourceKind kind) {
  std::string names;
  while (true) {
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENOTSUP) return Xattrs{};
      return errnoError("list xattrs", errno);
    }
    names.resize(static_cast<size_t>(n));
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) return errnoError("list xattrs", errno);
  }
  Xattrs out;
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    bool wanted = (startsWith(name, "user.") || name == "security.capability") &&
                  !(kind == SourceKind::kOverlayUpper && startsWith(name, "user.overlay."));
    if (!wanted) continue;
    auto value = BERTH_TRY(getXattr(path, name.c_str()));
    if (value) out.emplace_back(std::move(name), std::move(*value));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pass 1: the tree as a list of entries in tar order.

struct Node {
  enum Kind { kFile, kDir, kSymlink, kFifo, kDevice, kHardlink, kWhiteout, kOpaque };
  Kind kind = kFile;
  std::string name;  // in the tar, without a directory's trailing '/'; the path on disk too,
                     // relative to the root, but for whiteouts and opaque markers
  struct stat st = {};
  std::string target;  // a symlink's text, or the tar name a hard link points to
  Xattrs xattrs;
  bool opaque = false;  // a directory of an overlay upper that hides the lower one
};

class Walker {
 public:
  Walker(int root, SourceKind kind) : root_(root), kind_(kind) {}

  Result<std::vector<Node>> walk() {
    BERTH_RETURN_IF_ERROR(walkDir(""));
    return std::move(nodes_);
  }

 private:
  // Lists, inspects and sorts `rel`'s children with the directory open, then closes it
  // before descending, so only one directory descriptor is open whatever the depth.
  Status walkDir(const std::string& rel) {
    std::vector<Node> children;
    {
      int fd = openBeneath(root_, rel, O_RDONLY | O_DIRECTORY);
      if (fd < 0) return errnoError("open directory " + quote(rel.empty() ? "." : rel), errno);
      std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(fd), ::closedir);
      if (!dir) {
        int err = errno;
        ::close(fd);
        return errnoError("open directory " + quote(rel), err);
      }
      errno = 0;
      while (dirent* de = ::readdir(dir.get())) {
        std::string_view n = de->d_name;
        if (n == "." || n == "..") continue;
        std::string path = rel.empty() ? std::string(n) : rel + "/" + std::string(n);
        auto node = inspect(::dirfd(dir.get()), std::string(n), path);
        if (!node.ok()) return node.error().context("entry " + quote(path));
        if (*node) children.push_back(std::move(**node));
        errno = 0;
      }
      if (errno != 0) return errnoError("read directory " + quote(rel), errno);
    }
    std::sort(children.begin(), children.end(),
              [](const Node& a, const Node& b) { return a.name < b.name; });
    for (auto& c : children) {
      BERTH_RETURN_IF_ERROR(add(std::move(c)));
    }
    return okStatus();
  }

  // Reads one directory entry; nothing for a socket, which a layer cannot hold.
  Result<std::optional<Node>> inspect(int dirfd, const std::string& base, const std::string& path) {
    if (startsWith(base, kWhiteoutPrefix)) {
      // It would read as a whiteout and delete instead of being written.
      return invalidArgument("names starting with '.wh.' are reserved for whiteouts");
    }
    Node n;
    n.name = path;
    if (::fstatat(dirfd, base.c_str(), &n.st, AT_SYMLINK_NOFOLLOW) != 0) {
      return errnoError("inspect", errno);
    }
    // l*xattr through the directory's descriptor: the last component is not followed.
    std::string via = "/proc/self/fd/" + std::to_string(dirfd) + "/" + base;
    bool overlay = kind_ == SourceKind::kOverlayUpper;
    switch (n.st.st_mode & S_IFMT) {
      case S_IFREG:
        n.kind = Node::kFile;
        if (overlay) BERTH_RETURN_IF_ERROR(refuseXattr(via, "trusted.overlay.metacopy"));
        break;
      case S_IFDIR:
        n.kind = Node::kDir;
        if (overlay) BERTH_RETURN_IF_ERROR(refuseXattr(via, "trusted.overlay.redirect"));
        break;
      case S_IFLNK: {
        n.kind = Node::kSymlink;
        std::string buf(static_cast<size_t>(n.st.st_size) + 1, '\0');
        ssize_t len = ::readlinkat(dirfd, base.c_str(), buf.data(), buf.size());
        if (len < 0) return errnoError("read symlink", errno);
        if (static_cast<size_t>(len) >= buf.size()) return conflict("symlink changed while read");
        n.target.assign(buf.data(), static_cast<size_t>(len));
        break;
      }
      case S_IFIFO:
        n.kind = Node::kFifo;
        break;
      case S_IFCHR:
      case S_IFBLK:
        n.kind = Node::kDevice;
        if (overlay && S_ISCHR(n.st.st_mode) && n.st.st_rdev == makedev(0, 0)) {
          n.kind = Node::kWhiteout;
          n.name = path.substr(0, path.size() - base.size()) + std::string(kWhiteoutPrefix) + base;
          return {std::move(n)};  // no xattrs: the entry stands for a deletion
        }
        break;
      default:
        return {std::nullopt};
    }
    n.xattrs = BERTH_TRY(layerXattrs(via, kind_));
    if (n.kind == Node::kDir && overlay) {
      auto v = BERTH_TRY(getXattr(via, "trusted.overlay.opaque"));
      if (!v) v = BERTH_TRY(getXattr(via, "user.overlay.opaque"));
      n.opaque = v == "y";
    }
    return {std::move(n)};
  }

  // Redirected directories and metacopy files have their data in a lower layer, which a tar
  // of the upper directory cannot express.
  static Status refuseXattr(const std::string& via, const char* name) {
    if (!BERTH_TRY(getXattr(via, name))) return okStatus();
    return unsupported(std::string("overlay ") + name +
                       " is set: mount overlayfs with redirect_dir=off and metacopy=off");
  }

  // Appends `n` (and what it contains) in tar order; the first name of a multiply linked
  // inode is written whole, later ones as hard links to it.
  Status add(Node n) {
    if (n.kind == Node::kDir) {
      nodes_.push_back(n);
      if (n.opaque) {
        Node marker;
        marker.kind = Node::kOpaque;
        marker.name = n.name + "/" + std::string(kOpaqueMarker);
        marker.st = n.st;
        nodes_.push_back(std::move(marker));
      }
      return walkDir(n.name);
    }
    if (n.kind != Node::kWhiteout && n.st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({n.st.st_dev, n.st.st_ino}, n.name);
      if (!first) {
        n.kind = Node::kHardlink;
        n.target = it->second;
        n.xattrs.clear();
      }
    }
    nodes_.push_back(std::move(n));
    return okStatus();
  }

  int root_;
  SourceKind kind_;
  std::vector<Node> nodes_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // inode -> its first tar name
};

// ---------------------------------------------------------------------------------------------
// Pass 2: the tar, produced as the store pulls it.

std::string archiveCause(archive* a) {
  const char* s = archive_error_string(a);
  std::string cause = (s && *s) ? s : "unknown archive error";
  cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
  return cause;
}

class TarStream {
 public:
  TarStream(int root, std::vector<Node> nodes)
      : root_(root), nodes_(std::move(nodes)), a_(archive_write_new(), archive_write_free) {}
  TarStream(const TarStream&) = delete;  // libarchive holds `this`
  TarStream& operator=(const TarStream&) = delete;

  Status open() {
    if (!a_) return internalError("allocate archive writer: out of memory");
    if (archive_write_set_format_pax(a_.get()) != ARCHIVE_OK ||
        archive_write_set_format_option(a_.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a_.get(), 0) != ARCHIVE_OK ||
        archive_write_open(a_.get(), this, nullptr, &TarStream::append, nullptr) != ARCHIVE_OK) {
      return internalError("set up tar writer: " + archiveCause(a_.get()));
    }
    return okStatus();
  }

  // As a ContentStore::Reader: the next bytes of the tar, 0 at its end.
  Result<size_t> read(char* buf, size_t size) {
    while (pos_ == out_.size()) {
      if (done_) return size_t{0};
      out_.clear();
      pos_ = 0;
      BERTH_RETURN_IF_ERROR(step());
    }
    size_t n = std::min(size, out_.size() - pos_);
    std::memcpy(buf, out_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  static la_ssize_t append(archive*, void* self, const void* buf, size_t size) {
    static_cast<TarStream*>(self)->out_.append(static_cast<const char*>(buf), size);
    return static_cast<la_ssize_t>(size);
  }

  // Writes the next piece of the tar into out_.
  Status step() {
    bool data = file_.get() >= 0;
    if (!data && next_ == nodes_.size()) {
      if (archive_write_close(a_.get()) != ARCHIVE_OK) {
        return internalError("finish tar: " + archiveCause(a_.get()));
      }
      done_ = true;
      return okStatus();
    }
    Node& n = nodes_[data ? next_ - 1 : next_++];
    auto s = data ? copyChunk() : header(n);
    return s.ok() ? s : Status(s.error().context("entry " + quote(n.name)));
  }

  Status header(Node& n) {
    if (n.kind == Node::kFile) {
      // Opened now, not during the walk, so only one file is open at a time. The size
      // written is the one the open file has; it must still be the inode the walk saw.
      file_ = Fd(openBeneath(root_, n.name, O_RDONLY));
      if (file_.get() < 0) return errnoError("open", errno);
      struct stat st;
      if (::fstat(file_.get(), &st) != 0) return errnoError("inspect", errno);
      if (st.st_dev != n.st.st_dev || st.st_ino != n.st.st_ino || !S_ISREG(st.st_mode)) {
        return conflict("file replaced while the layer was written");
      }
      n.st = st;
      left_ = static_cast<uint64_t>(st.st_size);
    }
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    if (!e) return internalError("allocate tar entry: out of memory");
    const struct stat& st = n.st;
    archive_entry_set_pathname(e.get(), (n.kind == Node::kDir ? n.name + "/" : n.name).c_str());
    archive_entry_set_uid(e.get(), st.st_uid);
    archive_entry_set_gid(e.get(), st.st_gid);
    archive_entry_set_mtime(e.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    archive_entry_unset_atime(e.get());
    archive_entry_unset_ctime(e.get());
    archive_entry_set_filetype(e.get(), st.st_mode & S_IFMT);
    archive_entry_set_perm(e.get(), st.st_mode & 07777);
    archive_entry_set_size(e.get(), 0);
    switch (n.kind) {
      case Node::kFile:
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(left_));
        break;
      case Node::kSymlink:
        archive_entry_set_symlink(e.get(), n.target.c_str());
        break;
      case Node::kDevice:
        archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
        archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
        break;
      case Node::kHardlink:
        archive_entry_set_hardlink(e.get(), n.target.c_str());
        break;
      case Node::kWhiteout:  // empty files ".wh.NAME" and "DIR/.wh..wh..opq", owned as the
      case Node::kOpaque:    // device or the directory they stand for (as docker writes them)
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), n.kind == Node::kWhiteout ? 0600 : st.st_mode & 0777);
        break;
      case Node::kDir:
      case Node::kFifo:
        break;
    }
    for (const auto& [k, v] : n.xattrs) {
      archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
    }
    // ARCHIVE_WARN: a name that is not UTF-8 goes in as raw bytes (hdrcharset=BINARY).
    if (archive_write_header(a_.get(), e.get()) < ARCHIVE_WARN) {
      return internalError("write tar header: " + archiveCause(a_.get()));
    }
    if (file_.get() >= 0 && left_ == 0) file_.reset();
    return okStatus();
  }

  Status copyChunk() {
    buf_.resize(kChunk);
    ssize_t n = ::read(file_.get(), buf_.data(), std::min<uint64_t>(left_, buf_.size()));
    if (n < 0) {
      if (errno == EINTR) return okStatus();
      return errnoError("read", errno);
    }
    if (n == 0) return conflict("file shrank while the layer was written");
    la_ssize_t w = archive_write_data(a_.get(), buf_.data(), static_cast<size_t>(n));
    if (w != n) return internalError("write tar data: " + archiveCause(a_.get()));
    left_ -= static_cast<uint64_t>(n);
    if (left_ == 0) file_.reset();  // what the file gained since the header is not written
    return okStatus();
  }

  int root_;
  std::vector<Node> nodes_;
  size_t next_ = 0;  // the node whose header comes next
  std::string out_;  // written by libarchive, not yet pulled by the store
  size_t pos_ = 0;
  // After out_: archive_write_free closes an unfinished archive, writing its end into out_.
  std::unique_ptr<archive, int (*)(archive*)> a_;
  bool done_ = false;
  Fd file_;  // the regular file whose data is being written
  uint64_t left_ = 0;
  std::vector<char> buf_;
};

Result<BlobInfo> writeTar(const ContentStore& store, const std::string& dir, SourceKind kind) {
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return errnoError("open", errno);
  std::vector<Node> nodes = BERTH_TRY(Walker(root.get(), kind).walk());
  TarStream tar(root.get(), std::move(nodes));
  BERTH_RETURN_IF_ERROR(tar.open());
  return store.ingest([&](char* buf, size_t size) { return tar.read(buf, size); });
}

}  // namespace

Result<BlobInfo> writeLayer(const ContentStore& store, const std::string& dir, SourceKind kind) {
  auto r = writeTar(store, dir, kind);
  if (!r.ok()) return r.error().context("write layer " + quote(dir));
  return r;
}

}  // namespace berth::image
