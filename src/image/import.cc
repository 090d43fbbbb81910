#include "image/import.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <ctime>

#include "common/log.h"
#include "common/progress.h"
#include "common/strings.h"
#include "image/archive_stream.h"
#include "image/reference.h"
#include "image/snapshots.h"
#include "sys/fs.h"

namespace berth::image {

using nlohmann::json;

namespace {

// Dockerfile's two forms: a JSON array, or a string run by /bin/sh -c.
json commandValue(const std::string& text) {
  std::string_view t = trim(text);
  if (!t.empty() && t.front() == '[') {
    try {
      json j = json::parse(t);
      if (j.is_array()) return j;
    } catch (const json::exception&) {
    }
  }
  return json::array({"/bin/sh", "-c", std::string(t)});
}

}  // namespace

Status applyChange(json& config, const std::string& change) {
  std::string_view c = trim(change);
  size_t cut = c.find_first_of(" =");
  if (cut == std::string_view::npos)
    return invalidArgument("change " + quote(change) + ": expected 'INSTRUCTION value'");
  std::string instr(c.substr(0, cut));
  for (auto& ch : instr) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string value(trim(c.substr(cut + 1)));
  if (instr == "CMD") {
    config["Cmd"] = commandValue(value);
  } else if (instr == "ENTRYPOINT") {
    config["Entrypoint"] = commandValue(value);
  } else if (instr == "ENV") {
    size_t eq = value.find_first_of("= ");
    if (eq == std::string::npos)
      return invalidArgument("change " + quote(change) + ": ENV needs KEY=VALUE");
    std::string key = value.substr(0, eq);
    std::string val(trim(std::string_view(value).substr(eq + 1)));
    json env = config.value("Env", json::array());
    json out = json::array();
    for (const auto& e : env) {
      if (!startsWith(e.get<std::string>(), key + "=")) out.push_back(e);
    }
    out.push_back(key + "=" + val);
    config["Env"] = out;
  } else if (instr == "WORKDIR") {
    config["WorkingDir"] = value;
  } else if (instr == "USER") {
    config["User"] = value;
  } else if (instr == "EXPOSE") {
    for (const auto& p : split(value, ' ')) {
      if (p.empty()) continue;
      config["ExposedPorts"][p.find('/') == std::string::npos ? p + "/tcp" : p] = json::object();
    }
  } else if (instr == "LABEL") {
    size_t eq = value.find('=');
    if (eq == std::string::npos)
      return invalidArgument("change " + quote(change) + ": LABEL needs KEY=VALUE");
    config["Labels"][value.substr(0, eq)] = value.substr(eq + 1);
  } else if (instr == "STOPSIGNAL") {
    config["StopSignal"] = value;
  } else {
    return invalidArgument("change " + quote(change) + ": unknown instruction " + quote(instr) +
                           " (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, STOPSIGNAL)");
  }
  return okStatus();
}

Result<ImageRecord> importRootfs(ImageStore& store, const std::string& path,
                                 const std::string& name, const std::vector<std::string>& changes,
                                 const std::string& message) {
  if (path == "-") return importRootfs(store, fdReader(0), "stdin", 0, name, changes, message);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError("import " + quote(path), errno);
  struct stat st {};
  uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  auto r = importRootfs(store, fdReader(fd), path, size, name, changes, message);
  ::close(fd);
  return r;
}

Result<ImageRecord> importRootfs(ImageStore& store, const ByteReader& read,
                                 const std::string& label, uint64_t size, const std::string& name,
                                 const std::vector<std::string>& changes,
                                 const std::string& message) {
  std::string what = "import " + quote(label);
  std::string normalized;
  if (!name.empty()) normalized = BERTH_TRY(normalizeName(name));
  json config = {{"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}};
  for (const auto& ch : changes) BERTH_RETURN_IF_ERROR(applyChange(config, ch));

  // Decompress into the store: the stored blob is the plain tar, so its digest is the diff_id.
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  StreamIn in(read);
  int rc = openRead(a, in);
  archive_entry* e = nullptr;
  if (rc != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a) ? archive_error_string(a) : "cannot read";
    archive_read_free(a);
    if (in.error) return in.error->context(what);
    return invalidArgument(what + ": " + msg);
  }
  uint64_t counted = 0;
  progress::Task task("Importing " + label, size);
  auto blob = store.content().ingest([&](char* buf, size_t n) -> Result<size_t> {
    la_ssize_t got = archive_read_data(a, buf, n);
    if (got < 0 && in.error) return in.error->context(what);
    if (got < 0) return invalidArgument(what + ": " + archive_error_string(a));
    // Compressed input: count what was read of the file, not the bytes it expands to.
    int64_t raw = archive_filter_bytes(a, -1);
    if (raw >= 0)
      task.advance(static_cast<uint64_t>(raw) -
                   std::min<uint64_t>(static_cast<uint64_t>(raw), counted));
    counted = raw >= 0 ? static_cast<uint64_t>(raw) : counted;
    return static_cast<size_t>(got);
  });
  archive_read_free(a);
  if (!blob) return blob.error();

  // The layer's entries are checked (no "../", no device nodes…) as its snapshot is
  // unpacked, below, before the image becomes visible.
  if (blob->size < 1024) return invalidArgument(what + ": the archive holds no files");

  char created[32];
  std::time_t now = std::time(nullptr);
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  json entry = {{"created", created}, {"created_by", "berth import"}};
  if (!message.empty()) entry["comment"] = message;
  json image_config = {{"architecture", "amd64"},
                       {"os", "linux"},
                       {"created", created},
                       {"config", config},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", {blob->digest.str()}}}},
                       {"history", json::array({entry})}};
  BlobInfo cfg = BERTH_TRY(store.content().put(image_config.dump()));
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", media::kManifest},
      {"config", {{"mediaType", media::kConfig}, {"digest", cfg.digest.str()}, {"size", cfg.size}}},
      {"layers",
       {{{"mediaType", media::kLayer}, {"digest", blob->digest.str()}, {"size", blob->size}}}}};
  std::vector<std::string> names;
  if (!normalized.empty()) names.push_back(normalized);
  auto unpacked = Snapshotter(store.root()).prepareManifest(store, manifest.dump());
  if (!unpacked) return unpacked.error().context(what);
  return store.addImage(manifest.dump(), names);
}

}  // namespace berth::image
