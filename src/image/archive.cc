#include "image/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include "common/progress.h"
#include "common/strings.h"
#include "image/archive_stream.h"
#include "image/reference.h"
#include "image/snapshots.h"
#include "sys/fs.h"

namespace berth::image {

using nlohmann::json;

namespace {

constexpr size_t kSmallFile = 4 << 20;  // manifests and configs are read into memory

struct ArchiveReader {
  archive* a = archive_read_new();
  ~ArchiveReader() { archive_read_free(a); }
};

struct ArchiveWriter {
  archive* a = archive_write_new();
  ~ArchiveWriter() { archive_write_free(a); }
};

std::string cleanName(std::string name) {
  while (startsWith(name, "./")) name = name.substr(2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

// Resolves "a/../b" style link targets relative to the link's directory.
std::string resolveRelative(const std::string& link_name, const std::string& target) {
  std::vector<std::string> parts;
  if (!startsWith(target, "/")) {
    auto dir = split(link_name, '/');
    dir.pop_back();
    parts = dir;
  }
  for (const auto& p : split(target, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(p);
    }
  }
  return join(parts, "/");
}

// "0db3…(64 hex)…/layer.tar" → "0db3b7213bd6/layer.tar": progress lines stay short.
std::string shortLabel(const std::string& name) {
  std::string out;
  size_t run = 0;
  for (size_t i = 0; i < name.size(); ++i) {
    bool hex = std::isxdigit(static_cast<unsigned char>(name[i])) != 0;
    run = hex ? run + 1 : 0;
    if (!hex || run <= 12) out += name[i];
  }
  return out;
}

std::optional<Digest> digestFromName(const std::string& name) {
  // blobs/sha256/<hex>, or <hex>.json for a docker-archive config.
  std::string hex;
  if (startsWith(name, "blobs/sha256/"))
    hex = name.substr(13);
  else if (name.size() == 69 && name.substr(64) == ".json")
    hex = name.substr(0, 64);
  else
    return std::nullopt;
  auto d = Digest::parse("sha256:" + hex);
  if (!d) return std::nullopt;
  return *d;
}

struct Contents {
  std::map<std::string, BlobInfo> blobs;     // entry name → stored blob
  std::map<std::string, std::string> small;  // entry name → content (json files)
  std::map<std::string, std::string> links;  // entry name → entry it points to
};

Result<Contents> readArchive(ImageStore& store, const ByteReader& read, const std::string& what) {
  ArchiveReader r;
  archive_read_support_filter_all(r.a);
  archive_read_support_format_tar(r.a);
  archive_read_support_format_gnutar(r.a);
  StreamIn in(read);
  int rc = openRead(r.a, in);
  if (in.error) return in.error->context(what);
  if (rc != ARCHIVE_OK) return invalidArgument(what + ": " + archive_error_string(r.a));
  Contents c;
  archive_entry* e = nullptr;
  while (true) {
    rc = archive_read_next_header(r.a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (in.error) return in.error->context(what);
    if (rc < ARCHIVE_WARN)
      return invalidArgument(what + ": not a readable tar archive: " + archive_error_string(r.a));
    std::string name = cleanName(archive_entry_pathname(e));
    if (const char* hl = archive_entry_hardlink(e)) {
      c.links[name] = cleanName(hl);
      continue;
    }
    if (archive_entry_filetype(e) == AE_IFLNK) {
      c.links[name] = resolveRelative(name, archive_entry_symlink(e));
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    auto expected = digestFromName(name);
    int64_t size = archive_entry_size(e);
    bool small =
        size >= 0 && static_cast<size_t>(size) <= kSmallFile &&
        ((name.size() > 5 && name.substr(name.size() - 5) == ".json") || name == "oci-layout" ||
         name == "repositories" || (expected && static_cast<size_t>(size) <= 64 * 1024));
    progress::Task task("Loading " + shortLabel(name), size > 0 ? static_cast<uint64_t>(size) : 0);
    auto reader = [&](char* buf, size_t n) -> Result<size_t> {
      la_ssize_t got = archive_read_data(r.a, buf, n);
      if (got < 0 && in.error) return in.error->context(what);
      if (got < 0)
        return invalidArgument(what + ": entry " + quote(name) + ": " + archive_error_string(r.a));
      task.advance(static_cast<uint64_t>(got));
      return static_cast<size_t>(got);
    };
    if (small) {
      std::string data;
      char buf[65536];
      while (true) {
        size_t n = BERTH_TRY(reader(buf, sizeof buf));
        if (n == 0) break;
        data.append(buf, n);
      }
      auto blob = store.content().put(data, expected);
      if (!blob) return blob.error().context(what + ": entry " + quote(name));
      c.blobs[name] = *blob;
      c.small[name] = std::move(data);
    } else {
      auto blob = store.content().ingest(reader, expected);
      if (!blob) return blob.error().context(what + ": entry " + quote(name));
      c.blobs[name] = *blob;
    }
  }
  return c;
}

std::string follow(const Contents& c, std::string name) {
  for (int i = 0; i < 16; ++i) {
    auto it = c.links.find(name);
    if (it == c.links.end()) break;
    name = it->second;
  }
  return name;
}

Result<json> parseJson(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return invalidArgument(what + ": malformed JSON: " + e.what());
  }
}

// The media type of a stored layer blob that is not the plain tar its diff_id names.
Result<std::string> compressedMediaType(const ContentStore& cs, const Digest& d) {
  int fd = ::open(cs.path(d).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError("read layer " + d.str(), errno);
  unsigned char magic[4] = {};
  ssize_t n = ::read(fd, magic, 4);
  ::close(fd);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return std::string(media::kLayerGzip);
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return std::string(media::kLayerZstd);
  return std::string();
}

Result<std::vector<ImageRecord>> loadDocker(ImageStore& store, const Contents& c) {
  json list = BERTH_TRY(parseJson(c.small.at("manifest.json"), "manifest.json"));
  if (!list.is_array()) return invalidArgument("manifest.json: expected an array of images");
  std::vector<ImageRecord> out;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string at = "manifest.json[" + std::to_string(i) + "]";
    const json& m = list[i];
    if (!m.is_object() || !m.contains("Config") || !m["Config"].is_string() ||
        !m.contains("Layers") || !m["Layers"].is_array())
      return invalidArgument(at + ": 'Config' and 'Layers' are required");
    std::string config_name = follow(c, m["Config"].get<std::string>());
    auto cfg_it = c.small.find(config_name);
    if (cfg_it == c.small.end())
      return invalidArgument(at + ".Config: " + quote(config_name) + " is not in the archive");
    json config = BERTH_TRY(parseJson(cfg_it->second, config_name));
    const json& diff_ids = config["rootfs"]["diff_ids"];
    if (!diff_ids.is_array() || diff_ids.size() != m["Layers"].size())
      return invalidArgument(config_name + ": rootfs.diff_ids does not list one id per layer of " +
                             at);
    json layers = json::array();
    for (size_t k = 0; k < diff_ids.size(); ++k) {
      std::string lname = follow(c, m["Layers"][k].get<std::string>());
      auto blob = c.blobs.find(lname);
      if (blob == c.blobs.end())
        return invalidArgument(at + ".Layers[" + std::to_string(k) + "]: " + quote(lname) +
                               " is not in the archive");
      Digest diff_id = BERTH_TRY(Digest::parse(diff_ids[k].get<std::string>()));
      std::string mt = media::kLayer;
      if (!(blob->second.digest == diff_id)) {
        mt = BERTH_TRY(compressedMediaType(store.content(), blob->second.digest));
        if (mt.empty())
          return invalidArgument("layer " + quote(lname) + " does not match its diff_id " +
                                 diff_id.str() + ": its content hashes to " +
                                 blob->second.digest.str());
      }
      layers.push_back(
          {{"mediaType", mt}, {"digest", blob->second.digest.str()}, {"size", blob->second.size}});
    }
    const BlobInfo& cfg = c.blobs.at(config_name);
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", media::kManifest},
        {"config",
         {{"mediaType", media::kConfig}, {"digest", cfg.digest.str()}, {"size", cfg.size}}},
        {"layers", layers}};
    std::vector<std::string> names;
    if (m.contains("RepoTags") && m["RepoTags"].is_array()) {
      for (const auto& t : m["RepoTags"]) {
        if (t.is_string()) names.push_back(BERTH_TRY(normalizeName(t.get<std::string>())));
      }
    }
    BERTH_TRY(Snapshotter(store.root()).prepareManifest(store, manifest.dump()));
    out.push_back(BERTH_TRY(store.addImage(manifest.dump(), names)));
  }
  return out;
}

Result<void> collectOciManifests(const ImageStore& store, const json& index,
                                 const std::string& where,
                                 std::vector<std::pair<std::string, std::vector<std::string>>>* out,
                                 const std::vector<std::string>& inherited_names) {
  if (!index.contains("manifests") || !index["manifests"].is_array())
    return invalidArgument(where + ": 'manifests' must be an array");
  for (size_t i = 0; i < index["manifests"].size(); ++i) {
    const json& d = index["manifests"][i];
    std::string at = where + ".manifests[" + std::to_string(i) + "]";
    if (!d.is_object() || !d.contains("digest"))
      return invalidArgument(at + ": 'digest' is required");
    Digest digest = BERTH_TRY(Digest::parse(d["digest"].get<std::string>()));
    std::string text = BERTH_TRY(store.content().readVerified(digest));
    std::vector<std::string> names = inherited_names;
    if (d.contains("annotations") && d["annotations"].is_object()) {
      const json& a = d["annotations"];
      std::string full = a.value("io.containerd.image.name", "");
      std::string ref = a.value("org.opencontainers.image.ref.name", "");
      if (full.empty() &&
          (ref.find(':') != std::string::npos || ref.find('/') != std::string::npos))
        full = ref;
      if (!full.empty()) names.push_back(BERTH_TRY(normalizeName(full)));
    }
    std::string mt = d.value("mediaType", std::string());
    json parsed = BERTH_TRY(parseJson(text, at));
    if (mt == media::kIndex || parsed.value("mediaType", "") == media::kIndex) {
      // A multi-platform index: take the linux/amd64 manifest (the only kind we run).
      json picked = {{"manifests", json::array()}};
      for (const auto& m : parsed.value("manifests", json::array())) {
        const json p = m.value("platform", json::object());
        if (p.value("os", "linux") == "linux" && p.value("architecture", "amd64") == "amd64") {
          picked["manifests"].push_back(m);
          break;
        }
      }
      BERTH_RETURN_IF_ERROR(collectOciManifests(store, picked, at, out, names));
      continue;
    }
    out->push_back({text, names});
  }
  return {};
}

Result<std::vector<ImageRecord>> loadOci(ImageStore& store, const Contents& c) {
  json index = BERTH_TRY(parseJson(c.small.at("index.json"), "index.json"));
  std::vector<std::pair<std::string, std::vector<std::string>>> manifests;
  BERTH_RETURN_IF_ERROR(collectOciManifests(store, index, "index.json", &manifests, {}));
  std::vector<ImageRecord> out;
  for (const auto& [text, names] : manifests) {
    BERTH_TRY(Snapshotter(store.root()).prepareManifest(store, text));
    out.push_back(BERTH_TRY(store.addImage(text, names)));
  }
  return out;
}

// --- save ---

Status addEntry(archive* a, const std::string& name, int64_t size, const std::string& what) {
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_size(e, size);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 0, 0);
  int rc = archive_write_header(a, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return internalError(what + ": " + archive_error_string(a));
  return okStatus();
}

Status writeData(archive* a, const std::string& name, const std::string& data,
                 const std::string& what) {
  BERTH_RETURN_IF_ERROR(addEntry(a, name, static_cast<int64_t>(data.size()), what));
  if (archive_write_data(a, data.data(), data.size()) < 0)
    return internalError(what + ": " + archive_error_string(a));
  return okStatus();
}

Status writeFile(archive* a, const std::string& name, const std::string& file,
                 const std::string& what) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return errnoError(what + ": " + quote(file), errno);
  BERTH_RETURN_IF_ERROR(addEntry(a, name, st.st_size, what));
  progress::Task task("Saving " + shortLabel(name), static_cast<uint64_t>(st.st_size));
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError(what + ": open " + quote(file), errno);
  std::string buf(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return errnoError(what + ": read " + quote(file), err);
    }
    if (n == 0) break;
    if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) < 0) {
      ::close(fd);
      return internalError(what + ": " + archive_error_string(a));
    }
    task.advance(static_cast<uint64_t>(n));
  }
  ::close(fd);
  return okStatus();
}

// Decompresses a stored layer into a temp file; returns its path and diff_id.
Result<std::pair<std::string, Digest>> decompressLayer(const ImageStore& store, const Digest& d) {
  ArchiveReader r;
  archive_read_support_filter_all(r.a);
  archive_read_support_format_raw(r.a);
  if (archive_read_open_filename(r.a, store.content().path(d).c_str(), 1 << 20) != ARCHIVE_OK)
    return internalError("decompress layer " + d.str() + ": " + archive_error_string(r.a));
  archive_entry* e;
  if (archive_read_next_header(r.a, &e) != ARCHIVE_OK)
    return internalError("decompress layer " + d.str() + ": " + archive_error_string(r.a));
  std::string tmp = store.root() + "/ingest/save-" + d.hex();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errnoError("decompress layer: create " + quote(tmp), errno);
  Sha256 h;
  std::string buf(1 << 20, '\0');
  while (true) {
    la_ssize_t n = archive_read_data(r.a, buf.data(), buf.size());
    if (n < 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return internalError("decompress layer " + d.str() + ": " + archive_error_string(r.a));
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    if (::write(fd, buf.data(), static_cast<size_t>(n)) != n) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return errnoError("decompress layer: write " + quote(tmp), err);
    }
  }
  ::close(fd);
  return std::make_pair(tmp, h.finish());
}

}  // namespace

Result<std::vector<ImageRecord>> loadArchive(ImageStore& store, const std::string& path) {
  if (path == "-") return loadArchive(store, fdReader(0), "stdin");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError("load " + quote(path), errno);
  auto r = loadArchive(store, fdReader(fd), quote(path));
  ::close(fd);
  return r;
}

Result<std::vector<ImageRecord>> loadArchive(ImageStore& store, const ByteReader& read,
                                             const std::string& label) {
  std::string what = "load " + label;
  Contents c = BERTH_TRY(readArchive(store, read, what));
  if (c.small.count("manifest.json")) {
    auto r = loadDocker(store, c);
    if (!r) return r.error().context(what);
    return r;
  }
  if (c.small.count("index.json")) {
    auto r = loadOci(store, c);
    if (!r) return r.error().context(what);
    return r;
  }
  return invalidArgument(what +
                         ": neither a docker-archive (no manifest.json) nor an OCI "
                         "archive (no index.json)");
}

Status saveArchive(const ImageStore& store, const std::vector<std::string>& refs,
                   const std::string& path, ArchiveFormat format) {
  if (path == "-") return saveArchive(store, refs, fdWriter(1), "stdout", format);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errnoError("save " + quote(path), errno);
  auto s = saveArchive(store, refs, fdWriter(fd), quote(path), format);
  if (::close(fd) != 0 && s) return errnoError("save " + quote(path), errno);
  return s;
}

Status saveArchive(const ImageStore& store, const std::vector<std::string>& refs,
                   const ByteWriter& write, const std::string& label, ArchiveFormat format) {
  std::string what = "save " + label;
  std::vector<ImageRecord> images;
  for (const auto& ref : refs) images.push_back(BERTH_TRY(store.resolve(ref)));
  ArchiveWriter w;
  archive_write_set_format_pax_restricted(w.a);
  StreamOut out(write);
  int rc = openWrite(w.a, out);
  if (rc != ARCHIVE_OK) return internalError(what + ": " + archive_error_string(w.a));
  std::set<std::string> written;
  std::vector<std::string> temps;
  auto cleanup = [&] {
    for (const auto& t : temps) ::unlink(t.c_str());
  };
  auto once = [&](const std::string& name) { return written.insert(name).second; };
  json docker_manifest = json::array();
  json index = {{"schemaVersion", 2}, {"mediaType", media::kIndex}, {"manifests", json::array()}};
  for (size_t i = 0; i < images.size(); ++i) {
    const ImageRecord& img = images[i];
    std::string mtext = BERTH_TRY(store.content().readVerified(img.manifest));
    ManifestRefs mrefs = BERTH_TRY(parseManifest(mtext));
    std::vector<std::string> names = img.tags;
    // Saving by name keeps just that name, as docker does.
    if (auto n = normalizeName(refs[i]);
        n && std::find(names.begin(), names.end(), *n) != names.end())
      names = {*n};
    if (format == ArchiveFormat::kOci) {
      for (const Digest& d : std::vector<Digest>{img.manifest, img.id}) {
        if (once(d.hex())) {
          auto s = writeFile(w.a, "blobs/sha256/" + d.hex(), store.content().path(d), what);
          if (!s) return cleanup(), s;
        }
      }
      for (const Digest& d : mrefs.layers) {
        if (once(d.hex())) {
          auto s = writeFile(w.a, "blobs/sha256/" + d.hex(), store.content().path(d), what);
          if (!s) return cleanup(), s;
        }
      }
      uint64_t msize = mtext.size();
      if (names.empty()) {
        index["manifests"].push_back(
            {{"mediaType", media::kManifest}, {"digest", img.manifest.str()}, {"size", msize}});
      }
      for (const auto& n : names) {
        index["manifests"].push_back(
            {{"mediaType", media::kManifest},
             {"digest", img.manifest.str()},
             {"size", msize},
             {"annotations",
              {{"io.containerd.image.name", n},
               {"org.opencontainers.image.ref.name", n.substr(n.rfind(':') + 1)}}}});
      }
      continue;
    }
    std::string config_name = img.id.hex() + ".json";
    if (once(config_name)) {
      auto s = writeFile(w.a, config_name, store.content().path(img.id), what);
      if (!s) return cleanup(), s;
    }
    json layers = json::array();
    for (size_t k = 0; k < mrefs.layers.size(); ++k) {
      const Digest& d = mrefs.layers[k];
      std::string file = store.content().path(d);
      Digest diff_id = d;
      if (mrefs.layer_media_types[k] != media::kLayer &&
          mrefs.layer_media_types[k] != media::kDockerLayer) {
        auto plain = decompressLayer(store, d);
        if (!plain) return cleanup(), plain.error();
        temps.push_back(plain->first);
        file = plain->first;
        diff_id = plain->second;
      }
      std::string lname = diff_id.hex() + "/layer.tar";
      if (once(lname)) {
        auto s = writeFile(w.a, lname, file, what);
        if (!s) return cleanup(), s;
      }
      layers.push_back(lname);
    }
    docker_manifest.push_back({{"Config", config_name}, {"RepoTags", names}, {"Layers", layers}});
  }
  Status s = okStatus();
  if (format == ArchiveFormat::kOci) {
    s = writeData(w.a, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})", what);
    if (s) s = writeData(w.a, "index.json", index.dump(), what);
  } else {
    s = writeData(w.a, "manifest.json", docker_manifest.dump(), what);
  }
  cleanup();
  if (!s) return s;
  if (archive_write_close(w.a) != ARCHIVE_OK)
    return internalError(what + ": " + archive_error_string(w.a));
  return okStatus();
}

}  // namespace berth::image
