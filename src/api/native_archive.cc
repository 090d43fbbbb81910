// `GET|PUT /v1/containers/{id}/archive?path=P`: files out of and into a container's root as
// tar streams (libarchive), for `berth cp`. Paths resolve inside the root without following
// links out of it; extraction goes through the layer applier, which refuses `../` entries,
// links out of the tree and device nodes.

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api/native_routes.h"
#include "common/log.h"
#include "common/strings.h"
#include "image/layer.h"
#include "sys/fs.h"

namespace berth::api {

namespace {

struct Writer {
  Response* res;
  bool failed = false;
};

la_ssize_t writeCallback(struct archive*, void* data, const void* buf, size_t n) {
  auto* w = static_cast<Writer*>(data);
  if (!w->res->write(std::string_view(static_cast<const char*>(buf), n))) {
    w->failed = true;
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

// Adds `host` (a file, link or directory tree) to the archive as `name`.
Status addTree(struct archive* out, struct archive* disk, const std::string& host,
               const std::string& name) {
  struct archive_entry* entry = archive_entry_new();
  archive_entry_copy_pathname(entry, name.c_str());
  archive_entry_copy_sourcepath(entry, host.c_str());
  int fd = ::open(host.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (archive_read_disk_entry_from_file(disk, entry, fd >= 0 ? fd : -1, nullptr) != ARCHIVE_OK) {
    std::string why = archive_error_string(disk) ? archive_error_string(disk) : "unreadable";
    archive_entry_free(entry);
    if (fd >= 0) ::close(fd);
    return internalError("archive " + quote(name) + ": " + why);
  }
  Status s = okStatus();
  if (archive_write_header(out, entry) != ARCHIVE_OK) {
    s = internalError("archive " + quote(name) + ": " + archive_error_string(out));
  } else if (archive_entry_filetype(entry) == AE_IFREG && fd >= 0) {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      if (archive_write_data(out, buf, static_cast<size_t>(n)) < 0) {
        s = internalError("archive " + quote(name) + ": " + archive_error_string(out));
        break;
      }
    }
  }
  bool dir = archive_entry_filetype(entry) == AE_IFDIR;
  archive_entry_free(entry);
  if (fd >= 0) ::close(fd);
  if (!s || !dir) return s;
  auto names = sys::listDir(host);
  if (!names) return okStatus();  // gone meanwhile: the entry itself is in
  for (const auto& n : *names)
    BERTH_RETURN_IF_ERROR(addTree(out, disk, host + "/" + n, name + "/" + n));
  return okStatus();
}

// A tar stream into a response (already begun): files added from the host's disk.
class TarOut {
 public:
  explicit TarOut(Response& res) : w_{&res} {
    archive_write_set_format_pax_restricted(out_);
    archive_write_set_bytes_per_block(out_, 1 << 20);  // one HTTP chunk per MiB, not per 10 KiB
    archive_write_set_bytes_in_last_block(out_, 1);    // and no padding to a whole MiB at the end
    archive_write_open(out_, &w_, nullptr, writeCallback, nullptr);
    archive_read_disk_set_standard_lookup(disk_);
  }
  ~TarOut() {
    archive_write_close(out_);
    archive_write_free(out_);
    archive_read_free(disk_);
  }
  TarOut(const TarOut&) = delete;
  TarOut& operator=(const TarOut&) = delete;
  // False once the stream is cut (the client went, a file could not be read).
  bool add(const std::string& host, const std::string& name) {
    return !w_.failed && addTree(out_, disk_, host, name).ok();
  }

 private:
  Writer w_;
  struct archive* out_ = archive_write_new();
  struct archive* disk_ = archive_read_disk_new();
};

std::string baseName(const std::string& p) {
  std::string s = p;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  auto slash = s.rfind('/');
  std::string b = slash == std::string::npos ? s : s.substr(slash + 1);
  return b.empty() ? "." : b;
}

// The file that ?path= names in a container's root; the root stays mounted (for a stopped
// container) as long as this lives.
class ContainerPath {
 public:
  static Result<std::unique_ptr<ContainerPath>> open(engine::Engine& e, const Request& req) {
    std::unique_ptr<ContainerPath> p(new ContainerPath);
    p->path = req.queryValue("path");
    if (p->path.empty()) return invalidArgument("archive: query 'path' is required");
    std::string rootfs = BERTH_TRY(e.rootfsFor(req.params.at("id"), &p->release_));
    auto host = sys::secureJoin(rootfs, p->path);
    if (host && ::lstat(host->c_str(), &p->st) == 0) p->host = *host;
    return p;
  }
  ~ContainerPath() {
    if (release_) release_();
  }

  std::string path;  // as asked
  std::string host;  // on the host; empty when nothing is there
  struct stat st {};

 private:
  ContainerPath() = default;
  std::function<void()> release_;
};

// docker's X-Docker-Container-Path-Stat: base64 of {name, size, mode (Go's FileMode bits),
// mtime, linkTarget}; docker cp reads it to tell a directory from a file.
std::string pathStat(const ContainerPath& p) {
  uint32_t mode = p.st.st_mode & 07777;
  if (S_ISDIR(p.st.st_mode)) mode |= 1u << 31;
  if (S_ISLNK(p.st.st_mode)) mode |= 1u << 27;
  if (S_ISFIFO(p.st.st_mode)) mode |= 1u << 25;
  if (S_ISSOCK(p.st.st_mode)) mode |= 1u << 24;
  if (S_ISBLK(p.st.st_mode)) mode |= 1u << 26;
  if (S_ISCHR(p.st.st_mode)) mode |= (1u << 26) | (1u << 21);
  std::string link;
  if (S_ISLNK(p.st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(p.host.c_str(), buf, sizeof buf);
    if (n > 0) link.assign(buf, static_cast<size_t>(n));
  }
  std::string text = nlohmann::json{
      {"name", baseName(p.path)},
      {"size", static_cast<int64_t>(p.st.st_size)},
      {"mode", mode},
      {"mtime",
       log::rfc3339(static_cast<int64_t>(p.st.st_mtim.tv_sec) * 1000000000 + p.st.st_mtim.tv_nsec)},
      {"linkTarget",
       link}}.dump();
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

Error missing(const ContainerPath& p, const Request& req) {
  return notFound("Could not find the file " + p.path + " in container " + req.params.at("id"));
}

void getArchive(engine::Engine& e, Request& req, Response& res) {
  auto p = ContainerPath::open(e, req);
  if (!p) return res.error(p.error());
  if ((*p)->host.empty()) return res.error(missing(**p, req));
  res.setHeader("X-Docker-Container-Path-Stat", pathStat(**p));
  if (req.method == "HEAD") return res.send(200, "application/x-tar", "");
  if (!res.beginStream(200, "application/x-tar")) return;
  {
    TarOut tar(res);
    // The headers are out: an error can only cut the stream short.
    (void)tar.add((*p)->host, baseName((*p)->path));
  }
  res.end();
}

void putArchive(engine::Engine& e, Request& req, Response& res) {
  auto p = ContainerPath::open(e, req);
  if (!p) return res.error(p.error());
  // A link to a directory counts as the directory, as docker follows it.
  struct stat st {};
  if ((*p)->host.empty() || ::stat((*p)->host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return res.error(
        notFound("archive: " + quote((*p)->path) + " is not a directory in the container"));
  auto applied = image::applyLayer([&req](char* buf, size_t n) { return req.readSome(buf, n); },
                                   (*p)->host, image::Whiteouts::kApply);
  if (!applied) return res.error(invalidArgument(applied.error().message()));
  res.send(200, "text/plain", "");
}

// docker export: the container's whole root as a tar, entries relative to it.
void exportRoot(engine::Engine& e, Request& req, Response& res) {
  std::function<void()> release;
  auto rootfs = e.rootfsFor(req.params.at("id"), &release);
  if (!rootfs) return res.error(rootfs.error());
  auto names = sys::listDir(*rootfs);
  if (names && res.beginStream(200, "application/x-tar")) {
    {
      TarOut tar(res);
      for (const auto& n : *names) {
        if (!tar.add(*rootfs + "/" + n, n)) break;
      }
    }
    res.end();
  } else if (!names) {
    res.error(names.error());
  }
  release();
}

}  // namespace

void addArchiveRoutes(Router& r, engine::Engine& e) {
  r.add("GET", "/containers/{id}/export",
        [&e](Request& req, Response& res) { exportRoot(e, req, res); });
  // The native API's paths and docker's (docker cp: HEAD to stat, GET out, PUT in).
  for (const char* path : {"/v1/containers/{id}/archive", "/containers/{id}/archive"}) {
    r.add("GET", path, [&e](Request& req, Response& res) { getArchive(e, req, res); });
    r.add("HEAD", path, [&e](Request& req, Response& res) { getArchive(e, req, res); });
    r.add("PUT", path, [&e](Request& req, Response& res) { putArchive(e, req, res); });
  }
}

}  // namespace berth::api
