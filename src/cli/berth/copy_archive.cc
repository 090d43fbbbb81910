#include "cli/berth/copy_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <memory>

#include "common/strings.h"
#include "sys/fd.h"

namespace berth::cli {

std::string baseName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dirName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool contentsOnly(const std::string& path) {
  return path == "." || (path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0);
}

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

Error archiveError(const std::string& what, archive* a) {
  const char* msg = archive_error_string(a);
  return internalError(what + ": " + (msg ? msg : "unknown error"));
}

// "./a/b" → "a/b"; refuses ".." components (a hostile archive).
Result<std::string> cleanEntryPath(std::string_view p) {
  while (startsWith(p, "./") || startsWith(p, "/")) p.remove_prefix(startsWith(p, "/") ? 1 : 2);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  for (const auto& part : split(p, '/'))
    if (part == "..") return invalidArgument("archive entry " + quote(p) + " leaves its directory");
  return std::string(p);
}

// A ChunkSource as a libarchive reader.
struct StreamSource {
  const ChunkSource* next;
  std::string piece;
  std::string error;
};

la_ssize_t readStream(archive*, void* data, const void** buf) {
  auto* src = static_cast<StreamSource*>(data);
  auto more = (*src->next)(src->piece);
  if (!more) {
    src->error = more.error().message();
    return -1;
  }
  if (!*more) return 0;
  *buf = src->piece.data();
  return static_cast<la_ssize_t>(src->piece.size());
}

// Extracts the archive of `src` into the host: renames its top-level entry as the rules
// above say.
Result<std::string> realPath(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return errnoError("resolve " + quote(path), errno);
  return std::string(buf);
}

// `path` with the symbolic links of its directory resolved (the last component kept).
Result<std::string> resolved(const std::string& path) {
  std::string dir = dirName(path), name = baseName(path);
  std::string out = BERTH_TRY(realPath(dir));
  if (name == "/" || name == ".") return out;
  return (out == "/" ? "" : out) + "/" + name;
}

}  // namespace

Status extractArchive(const ChunkSource& next, const std::string& src, const std::string& dst) {
  struct stat st {};
  bool dst_exists = ::stat(dst.c_str(), &st) == 0;
  bool dst_dir = dst_exists && S_ISDIR(st.st_mode);
  if (!dst_exists && !dst.empty() && dst.back() == '/')
    return notFound("copy to " + quote(dst) + ": no such directory");
  // Each entry "TOP/rest" goes to `prefix` + "/rest"; with contents-only, TOP is dropped.
  std::string prefix;
  bool contents = contentsOnly(src);
  if (contents) {
    if (dst_exists && !dst_dir)
      return invalidArgument("copy to " + quote(dst) + ": a directory's contents need a directory");
    if (!dst_exists && ::mkdir(dst.c_str(), 0755) != 0)
      return errnoError("mkdir " + quote(dst), errno);
    prefix = BERTH_TRY(realPath(dst));
  } else if (!dst_dir) {
    prefix = BERTH_TRY(resolved(dst));  // the top-level entry becomes DST
  }
  // Entries are written by absolute path below a symlink-free base: libarchive refuses to
  // write through symbolic links, so those in the user's own DST are resolved first.
  std::string base = dst_dir ? BERTH_TRY(realPath(dst)) : prefix;

  ArchivePtr in(archive_read_new());
  archive_read_support_format_tar(in.get());
  archive_read_support_filter_all(in.get());
  StreamSource source{&next, {}, {}};
  if (archive_read_open(in.get(), &source, nullptr, readStream, nullptr) != ARCHIVE_OK)
    return archiveError("read archive of " + quote(src), in.get());
  ArchivePtr out(archive_write_disk_new());
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  archive_write_disk_set_standard_lookup(out.get());
  bool first = true;
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (!source.error.empty()) return internalError("read archive: " + source.error);
      return archiveError("read archive of " + quote(src), in.get());
    }
    auto map = [&](const char* name) -> Result<std::string> {
      std::string rel = BERTH_TRY(cleanEntryPath(name));
      size_t slash = rel.find('/');
      std::string rest = slash == std::string::npos ? "" : rel.substr(slash);
      if (contents) return rest.empty() ? std::string() : prefix + rest;
      if (!prefix.empty()) return prefix + rest;
      return base + "/" + rel;
    };
    auto path = map(archive_entry_pathname(entry));
    if (!path) return path.error();
    if (first && !contents && !dst_dir && dst_exists && archive_entry_filetype(entry) == AE_IFDIR)
      return invalidArgument("copy to " + quote(dst) + ": cannot copy a directory to a file");
    first = false;
    if (path->empty()) continue;  // the top directory itself, when copying its contents
    archive_entry_set_pathname(entry, path->c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      auto target = map(link);
      if (!target) return target.error();
      archive_entry_set_hardlink(entry, target->c_str());
    }
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN)
      return archiveError("write " + quote(*path), out.get());
    const void* buf;
    size_t size;
    la_int64_t offset;
    while ((r = archive_read_data_block(in.get(), &buf, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_WARN)
        return archiveError("write " + quote(*path), out.get());
    }
    if (r != ARCHIVE_EOF) return archiveError("read archive of " + quote(src), in.get());
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
      return archiveError("write " + quote(*path), out.get());
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) return archiveError("extract", out.get());
  return okStatus();
}

// Packs `src` (a host path) as a tar whose top-level entry is `name` (or, when `name`
// is empty, src's contents at the top) into `fd`. Owners become root unless `keep_owner`.
Status packPath(const std::string& src, const std::string& name, bool keep_owner, int fd,
                const std::function<bool(const std::string& rel)>& skip,
                const std::vector<ExtraEntry>& extra) {
  ArchivePtr disk(archive_read_disk_new());
  archive_read_disk_set_symlink_physical(disk.get());
  archive_read_disk_set_standard_lookup(disk.get());
  std::string root = src;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (contentsOnly(root)) root = root == "." ? "." : root.substr(0, root.size() - 2);
  if (archive_read_disk_open(disk.get(), root.c_str()) != ARCHIVE_OK)
    return archiveError("read " + quote(src), disk.get());
  ArchivePtr out(archive_write_new());
  archive_write_set_format_pax_restricted(out.get());
  if (archive_write_open_fd(out.get(), fd) != ARCHIVE_OK)
    return archiveError("write archive", out.get());
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                 archive_entry_free);
  std::string buf(64 * 1024, '\0');
  while (true) {
    archive_entry_clear(entry.get());
    int r = archive_read_next_header2(disk.get(), entry.get());
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archiveError("read " + quote(src), disk.get());
    archive_read_disk_descend(disk.get());
    std::string path = archive_entry_pathname(entry.get());
    std::string rel = path.size() > root.size() ? path.substr(root.size()) : "";  // "/a/b"
    std::string renamed = name.empty() ? (rel.empty() ? "" : rel.substr(1)) : name + rel;
    if (renamed.empty()) continue;
    if (skip && !rel.empty() && skip(rel.substr(1))) continue;
    archive_entry_set_pathname(entry.get(), renamed.c_str());
    if (!keep_owner) {
      archive_entry_set_uid(entry.get(), 0);
      archive_entry_set_gid(entry.get(), 0);
      archive_entry_set_uname(entry.get(), "root");
      archive_entry_set_gname(entry.get(), "root");
    }
    if (archive_write_header(out.get(), entry.get()) < ARCHIVE_WARN)
      return archiveError("write archive", out.get());
    if (archive_entry_filetype(entry.get()) != AE_IFREG || archive_entry_size(entry.get()) == 0)
      continue;
    sys::Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid()) return errnoError("open " + quote(path), errno);
    for (ssize_t n; (n = ::read(file.get(), buf.data(), buf.size())) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errnoError("read " + quote(path), errno);
      if (archive_write_data(out.get(), buf.data(), static_cast<size_t>(n)) < 0)
        return archiveError("write archive", out.get());
    }
  }
  for (const auto& e : extra) {
    archive_entry_clear(entry.get());
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_filetype(entry.get(), e.directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry.get(), e.mode);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.content.size()));
    archive_entry_set_mtime(entry.get(), ::time(nullptr), 0);
    archive_entry_set_uname(entry.get(), "root");
    archive_entry_set_gname(entry.get(), "root");
    if (archive_write_header(out.get(), entry.get()) < ARCHIVE_WARN ||
        (!e.content.empty() &&
         archive_write_data(out.get(), e.content.data(), e.content.size()) < 0))
      return archiveError("write archive", out.get());
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) return archiveError("write archive", out.get());
  return okStatus();
}

Result<bool> firstEntryIsDirectory(const ChunkSource& next) {
  ArchivePtr in(archive_read_new());
  archive_read_support_format_tar(in.get());
  StreamSource source{&next, {}, {}};
  archive_entry* entry = nullptr;
  if (archive_read_open(in.get(), &source, nullptr, readStream, nullptr) != ARCHIVE_OK ||
      archive_read_next_header(in.get(), &entry) != ARCHIVE_OK) {
    if (!source.error.empty()) return internalError("read archive: " + source.error);
    return archiveError("read archive", in.get());
  }
  return archive_entry_filetype(entry) == AE_IFDIR;
}

}  // namespace berth::cli
