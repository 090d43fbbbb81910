// COPY and ADD: sources from the context, an earlier stage or image (--from), or (ADD) a
// URL are copied into a fresh directory that becomes the layer.
//
// Without --link the destination is read in the stage's root first, as docker does:
// symlinks on its path are followed, a destination that is an existing directory takes the
// files in, and directories that already exist keep their mode and owner in the layer.
// With --link none of that is looked at: the layer depends only on the sources and the
// destination, so its cache entry is reused on top of any parent (BuildKit's meaning);
// directories it needs are made 0755 (owned by --chown's owner, else root).

#include <archive.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "api/http_fetch.h"
#include "common/strings.h"
#include "engine/build_internal.h"
#include "engine/container_spec.h"
#include "image/layer.h"
#include "image/layer_writer.h"
#include "sys/fd.h"
#include "sys/fs.h"

namespace berth::engine::build_detail {

using image::Instruction;
using nlohmann::json;

namespace {

bool isUrl(const std::string& s) { return startsWith(s, "http://") || startsWith(s, "https://"); }

bool isArchive(const std::string& path) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_entry* e = nullptr;
  bool ok = archive_read_open_filename(a, path.c_str(), 65536) == ARCHIVE_OK &&
            archive_read_next_header(a, &e) == ARCHIVE_OK;
  archive_read_free(a);
  return ok;
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string baseOf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// An instruction's flags and words, expanded and checked.
struct CopyRequest {
  bool add = false;
  bool link = false;
  std::string from;
  std::string chown;
  std::optional<uint32_t> chmod;
  std::optional<image::Digest> checksum;
  json flags = json::object();  // expanded, for the key
  std::vector<std::string> sources;
  std::string dest;  // absolute and clean
  bool dest_is_dir = false;
};

Result<CopyRequest> readRequest(const Instruction& ins, const Vars& v, const std::string& workdir) {
  CopyRequest r;
  r.add = ins.keyword == "ADD";
  for (const auto& [flag, raw] : ins.flags) {
    std::string value = BERTH_TRY(image::expandVariables(raw, v));
    r.flags[flag] = value;
    if (flag == "from") {
      r.from = value;
    } else if (flag == "chown") {
      r.chown = value;
    } else if (flag == "chmod") {
      auto mode = image::parseChmod(value);
      if (!mode) return mode.error().context("--chmod");
      r.chmod = *mode;
    } else if (flag == "link") {
      r.link = value == "true";
    } else if (flag == "checksum") {
      auto d = image::Digest::parse(value);
      if (!d) return invalidArgument("--checksum=" + value + ": use sha256:<64 hex digits>");
      r.checksum = *d;
    } else {
      return unsupported(ins.keyword + " --" + flag + " is not supported by berth build yet");
    }
  }
  for (const auto& a : ins.args) r.sources.push_back(BERTH_TRY(image::expandVariables(a, v)));
  std::string dest = r.sources.back();
  r.sources.pop_back();
  // "dir/", "." and "dir/." name a directory; several sources need one.
  r.dest_is_dir = dest.empty() || dest.back() == '/' || dest.back() == '.' || r.sources.size() > 1;
  r.dest = cleanPath(dest, workdir);
  bool urls = false;
  for (const auto& s : r.sources) urls = urls || isUrl(s);
  if (urls && !r.add) return invalidArgument("COPY cannot fetch a URL: use ADD");
  if (r.checksum && (!urls || r.sources.size() > 1))
    return invalidArgument("--checksum needs a single URL source");
  return r;
}

// "user[:group]" (names looked up in the stage's root, `read`) → ids; without a group the
// gid is the uid, as docker has it.
Result<CopyOwner> resolveOwner(const std::string& chown, const RootfsReader& read) {
  CopyOwner owner;
  if (chown.empty()) return owner;
  auto ids = resolveUser(chown, read);
  if (!ids) return ids.error().context("--chown=" + chown);
  owner.uid = ids->first;
  owner.gid = chown.find(':') == std::string::npos ? ids->first : ids->second;
  return owner;
}

bool numericOwner(const std::string& chown) {
  return chown.find_first_not_of("0123456789:") == std::string::npos;
}

// Where `path` is in the parent's tree, symlinks followed inside it ("" parent: as is).
Result<std::string> resolveIn(const std::string& parent_root, const std::string& path) {
  if (parent_root.empty()) return path;
  std::string host = BERTH_TRY(sys::secureJoin(parent_root, path));
  std::string r = host.substr(parent_root.size());
  return r.empty() ? std::string("/") : r;
}

// The metadata of directory `path` in the parent, if it is one there.
std::optional<struct stat> parentDir(const std::string& parent_root, const std::string& path) {
  struct stat s;
  if (parent_root.empty() || ::lstat((parent_root + path).c_str(), &s) != 0 || !S_ISDIR(s.st_mode))
    return std::nullopt;
  return s;
}

Status setOwnerAndMode(const std::string& path, uint32_t uid, uint32_t gid, uint32_t mode) {
  if (::lchown(path.c_str(), uid, gid) != 0 || ::chmod(path.c_str(), mode) != 0)
    return errnoError("set owner and mode of " + quote(path), errno);
  return okStatus();
}

// Makes `dir` and its parents in `layer`: those the parent has keep its mode and owner;
// new ones are 0755 and belong to `owner` (root without --chown).
Status makeDirs(const std::string& layer, const std::string& dir, const std::string& parent_root,
                const CopyOwner& owner) {
  std::string prefix;
  for (const auto& part : split(dir, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    std::string at = layer + prefix;
    if (sys::isDirectory(at)) continue;
    if (::mkdir(at.c_str(), 0755) != 0) return errnoError("create " + quote(prefix), errno);
    if (auto s = parentDir(parent_root, prefix)) {
      BERTH_RETURN_IF_ERROR(setOwnerAndMode(at, s->st_uid, s->st_gid, s->st_mode & 07777));
    } else {
      uint32_t uid = owner.uid.value_or(0);
      BERTH_RETURN_IF_ERROR(setOwnerAndMode(at, uid, owner.gid.value_or(uid), 0755));
    }
  }
  return okStatus();
}

// A source ready to copy: its host path, its path relative to where it came from (for
// .dockerignore), the name it gets in a destination directory, and whether ADD may
// unpack it (a local archive; never one fetched by URL).
struct Source {
  std::string host;
  std::string rel;
  std::string name;
  bool unpack = false;
};

// An HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT") as unix seconds; 0 when it is not one.
time_t httpDate(const std::string& text) {
  struct tm tm {};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return 0;
  return ::timegm(&tm);
}

// Downloads an ADD URL into `dir` as docker does: mode 0600, the Last-Modified time (the
// epoch without one), named after the URL's last path component.
Result<Source> fetchSource(const std::string& url, const std::optional<image::Digest>& checksum,
                           const std::string& dir, bool need_name) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  path = path.substr(path.find("//") + 2);
  std::string name = path.find('/') == std::string::npos ? "" : baseOf(path);
  if (name.empty() && need_name)
    return invalidArgument("cannot tell a file name from " + quote(url) +
                           ": give the destination as a file path");
  std::string file = dir + "/" + (name.empty() ? "download" : name);
  sys::Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return errnoError("create " + quote(file), errno);
  image::Sha256 sha;
  auto got = api::fetchUrl(url, [&](std::string_view piece) -> Status {
    sha.update(piece.data(), piece.size());
    for (size_t off = 0; off < piece.size();) {
      ssize_t n = ::write(fd.get(), piece.data() + off, piece.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errnoError("write " + quote(file), errno);
      off += static_cast<size_t>(n);
    }
    return okStatus();
  });
  if (!got) return got.error();
  image::Digest digest = sha.finish();
  if (checksum && !(*checksum == digest))
    return invalidArgument("checksum of " + quote(url) + " does not match: expected " +
                           checksum->str() + ", got " + digest.str());
  fd.reset();
  auto modified = got->headers.find("last-modified");
  time_t mtime = modified == got->headers.end() ? 0 : httpDate(modified->second);
  struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
  if (::utimensat(AT_FDCWD, file.c_str(), times, 0) != 0)
    return errnoError("set the time of " + quote(file), errno);
  return Source{file, name, name, false};
}

}  // namespace

Status Builder::copyStep(StageState& st, const Instruction& ins, const Vars& v) {
  std::string workdir = st.config.value("WorkingDir", std::string("/"));
  CopyRequest req = BERTH_TRY(readRequest(ins, v, workdir));
  StepDir dir = BERTH_TRY(StepDir::make(store_.root() + "/build"));

  // The sources: from the context (minus .dockerignore), a stage or image, or URLs.
  std::string src_root = opts_.context;
  const IgnoreRules* ignore = &ignore_;
  std::string hashes;
  if (!req.from.empty()) {
    auto [lowers, summary] = BERTH_TRY(stageOrImage(req.from, ins.keyword + " --from=" + req.from));
    src_root = BERTH_TRY(dir.overlay(lowers, "from"));
    ignore = nullptr;
    hashes = summary + "\n";
  }
  std::vector<Source> plan;
  for (const auto& w : req.sources) {
    if (isUrl(w)) {
      std::string into = BERTH_TRY(dir.subdir("url-" + std::to_string(plan.size())));
      Source s = BERTH_TRY(fetchSource(w, req.checksum, into, req.dest_is_dir));
      struct stat fetched;
      if (::stat(s.host.c_str(), &fetched) != 0) return errnoError("stat " + quote(s.host), errno);
      hashes += w + "\t" + std::to_string(fetched.st_mtim.tv_sec) + "\n";  // Last-Modified
      BERTH_RETURN_IF_ERROR(hashTree(s.host, s.name, nullptr, &hashes));
      plan.push_back(std::move(s));
      continue;
    }
    for (const auto& rel : BERTH_TRY(expandSources(src_root, w))) {
      std::string host = rel.empty() ? src_root : BERTH_TRY(sys::secureJoin(src_root, rel));
      BERTH_RETURN_IF_ERROR(hashTree(host, rel, ignore, &hashes));
      plan.push_back({host, rel, baseOf(rel), req.add});
    }
  }

  // The parent's root: read without --link, and for --chown by name.
  std::string parent_root;
  auto mountParent = [&]() -> Status {
    if (parent_root.empty()) parent_root = BERTH_TRY(dir.overlay(snapshotDirs(st), "parent"));
    return okStatus();
  };
  if (!numericOwner(req.chown)) BERTH_RETURN_IF_ERROR(mountParent());
  RootfsReader no_root = [](const std::string&) { return std::optional<std::string>(); };
  CopyOwner owner =
      BERTH_TRY(resolveOwner(req.chown, parent_root.empty() ? no_root : rootfsReader(parent_root)));
  owner.mode = req.chmod;

  json flags = req.flags;
  flags["chown"] = owner.uid ? std::to_string(*owner.uid) + ":" + std::to_string(*owner.gid) : "";
  std::string what = ins.keyword + " " + flags.dump() + " " + json(req.sources).dump() + " " +
                     req.dest + (req.dest_is_dir ? "/" : "") + "\n" + image::sha256Of(hashes).hex();
  // With --link the key leaves out the parent: the same layer goes on top of any.
  std::string key = req.link ? image::sha256Of("link\n" + what).hex() : cacheKey(st, what);
  std::string created_by = "/bin/sh -c #(nop) " + ins.original;
  if (BERTH_TRY(tryCache(st, key, created_by))) return okStatus();

  if (!req.link) BERTH_RETURN_IF_ERROR(mountParent());
  std::string reader_root = req.link ? "" : parent_root;  // what the destination is read in
  // The destination in the parent's tree; an existing directory there takes the files in.
  std::string dest_full = BERTH_TRY(resolveIn(reader_root, req.dest));
  bool dest_is_dir = req.dest_is_dir || parentDir(reader_root, dest_full).has_value();
  std::string target_dir =
      dest_is_dir ? dest_full : BERTH_TRY(resolveIn(reader_root, parentOf(req.dest)));
  std::string dest_file = target_dir + (target_dir == "/" ? "" : "/") + baseOf(req.dest);

  std::string layer = BERTH_TRY(dir.subdir("layer"));
  for (const auto& src : plan) {
    struct stat s;
    if (::lstat(src.host.c_str(), &s) != 0)
      return errnoError(ins.keyword + " " + quote(src.rel), errno);
    if (S_ISDIR(s.st_mode)) {
      // A directory's contents are copied, not the directory itself (as docker does); a
      // destination directory the parent has keeps its mode and owner.
      BERTH_RETURN_IF_ERROR(makeDirs(layer, dest_full, reader_root, owner));
      BERTH_RETURN_IF_ERROR(copyTree(src.host, layer + dest_full, owner, ignore, src.rel));
      if (auto p = parentDir(reader_root, dest_full); p && dest_full != "/")
        BERTH_RETURN_IF_ERROR(
            setOwnerAndMode(layer + dest_full, p->st_uid, p->st_gid, p->st_mode & 07777));
      continue;
    }
    BERTH_RETURN_IF_ERROR(makeDirs(layer, target_dir, reader_root, owner));
    if (src.unpack && S_ISREG(s.st_mode) && isArchive(src.host)) {
      auto applied = image::applyLayerFile(src.host, layer + target_dir, image::Whiteouts::kApply);
      if (!applied) return applied.error().context("ADD " + quote(src.rel));
      continue;
    }
    std::string to =
        dest_is_dir ? target_dir + (target_dir == "/" ? "" : "/") + src.name : dest_file;
    BERTH_RETURN_IF_ERROR(copyTree(src.host, layer + to, owner, nullptr, ""));
  }
  image::BlobInfo blob =
      BERTH_TRY(image::writeLayer(store_.content(), layer, image::SourceKind::kPlain));
  return addLayer(st, blob, layer, key, created_by);
}

}  // namespace berth::engine::build_detail
