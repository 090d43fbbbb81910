#include "image/image_store.h"

#include <algorithm>
#include <ctime>
#include <set>

#include "common/strings.h"
#include "image/reference.h"
#include "sys/fs.h"

namespace berth::image {

using nlohmann::json;

namespace {

constexpr int kSchemaVersion = 1;

Result<json> parseJsonText(const std::string& text, const std::string& what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return invalidArgument(what + ": malformed JSON: " + e.what());
  }
}

Result<Digest> descriptorDigest(const json& d, const std::string& path) {
  if (!d.is_object() || !d.contains("digest") || !d["digest"].is_string())
    return invalidArgument("manifest: " + path + ".digest: expected a digest string");
  auto digest = Digest::parse(d["digest"].get<std::string>());
  if (!digest) return digest.error().context("manifest: " + path);
  return digest;
}

}  // namespace

Result<ManifestRefs> parseManifest(const std::string& manifest_json) {
  json m = BERTH_TRY(parseJsonText(manifest_json, "manifest"));
  if (!m.is_object() || m.value("schemaVersion", 0) != 2)
    return invalidArgument("manifest: schemaVersion must be 2");
  std::string mt = m.value("mediaType", media::kManifest);
  if (mt != media::kManifest && mt != media::kDockerManifest)
    return invalidArgument("manifest: unsupported mediaType " + quote(mt));
  ManifestRefs refs;
  if (!m.contains("config")) return invalidArgument("manifest: 'config' is required");
  refs.config = BERTH_TRY(descriptorDigest(m["config"], "config"));
  if (!m.contains("layers") || !m["layers"].is_array())
    return invalidArgument("manifest: 'layers' must be an array");
  for (size_t i = 0; i < m["layers"].size(); ++i) {
    const json& l = m["layers"][i];
    refs.layers.push_back(BERTH_TRY(descriptorDigest(l, "layers[" + std::to_string(i) + "]")));
    refs.layer_media_types.push_back(l.value("mediaType", std::string(media::kLayer)));
  }
  return refs;
}

Result<std::unique_ptr<ImageStore>> ImageStore::open(const std::string& root) {
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(root, 0700));
  auto db = BERTH_TRY(Db::open(root + "/images.db"));
  BERTH_RETURN_IF_ERROR(
      db->exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)"));
  auto version = BERTH_TRY(db->query("SELECT value FROM meta WHERE key='schema'"));
  if (!version.empty() && asText(version[0][0]) != std::to_string(kSchemaVersion))
    return unsupported("image store " + quote(root) + ": schema version " + asText(version[0][0]) +
                       " is newer than this berth understands");
  BERTH_RETURN_IF_ERROR(db->transaction([&]() -> Status {
    BERTH_RETURN_IF_ERROR(
        db->exec("CREATE TABLE IF NOT EXISTS images(id TEXT PRIMARY KEY, manifest TEXT NOT NULL, "
                 "created INTEGER NOT NULL)"));
    BERTH_RETURN_IF_ERROR(
        db->exec("CREATE TABLE IF NOT EXISTS tags(name TEXT PRIMARY KEY, "
                 "image TEXT NOT NULL REFERENCES images(id))"));
    return db->exec("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?)",
                    {std::to_string(kSchemaVersion)});
  }));
  std::unique_ptr<ImageStore> store(new ImageStore(root, std::move(db)));
  BERTH_RETURN_IF_ERROR(store->content_.init());
  return store;
}

Result<std::unique_ptr<ImageStore>> ImageStore::another() const {
  auto db = BERTH_TRY(Db::open(root_ + "/images.db"));
  return std::unique_ptr<ImageStore>(new ImageStore(root_, std::move(db)));
}

Result<ImageRecord> ImageStore::addImage(const std::string& manifest_json,
                                         const std::vector<std::string>& names) {
  ManifestRefs refs = BERTH_TRY(parseManifest(manifest_json));
  if (!content_.has(refs.config))
    return notFound("add image: config " + refs.config.str() + " is not in the store");
  for (const auto& l : refs.layers) {
    if (!content_.has(l)) return notFound("add image: layer " + l.str() + " is not in the store");
  }
  // The config must be an image config: it is what `inspect` and `run` read.
  std::string config_text = BERTH_TRY(content_.readVerified(refs.config));
  json config = BERTH_TRY(parseJsonText(config_text, "image config " + refs.config.str()));
  if (!config.is_object() || !config.contains("rootfs"))
    return invalidArgument("image config " + refs.config.str() + ": 'rootfs' is required");
  BlobInfo m = BERTH_TRY(content_.put(manifest_json));
  ImageRecord rec{refs.config, m.digest, names, static_cast<int64_t>(std::time(nullptr))};
  BERTH_RETURN_IF_ERROR(db_->transaction([&]() -> Status {
    BERTH_RETURN_IF_ERROR(
        db_->exec("INSERT INTO images(id, manifest, created) VALUES(?, ?, ?) "
                  "ON CONFLICT(id) DO UPDATE SET manifest=excluded.manifest",
                  {rec.id.hex(), rec.manifest.hex(), rec.added}));
    for (const auto& n : names) {
      BERTH_RETURN_IF_ERROR(
          db_->exec("INSERT OR REPLACE INTO tags(name, image) VALUES(?, ?)", {n, rec.id.hex()}));
    }
    return okStatus();
  }));
  return byId(rec.id.hex());
}

Result<ImageRecord> ImageStore::byId(const std::string& id_hex) const {
  auto rows =
      BERTH_TRY(db_->query("SELECT id, manifest, created FROM images WHERE id=?", {id_hex}));
  if (rows.empty()) return notFound("image " + quote(id_hex) + " does not exist");
  ImageRecord rec;
  rec.id = Digest::fromHex(asText(rows[0][0]));
  rec.manifest = Digest::fromHex(asText(rows[0][1]));
  rec.added = asInt(rows[0][2]);
  auto tags = BERTH_TRY(db_->query("SELECT name FROM tags WHERE image=? ORDER BY name", {id_hex}));
  for (const auto& t : tags) rec.tags.push_back(asText(t[0]));
  return rec;
}

Result<ImageRecord> ImageStore::resolve(const std::string& ref) const {
  auto name = normalizeName(ref);
  if (name) {
    auto rows = BERTH_TRY(db_->query("SELECT image FROM tags WHERE name=?", {*name}));
    if (!rows.empty()) return byId(asText(rows[0][0]));
  }
  if (looksLikeId(ref)) {
    std::string hex = startsWith(ref, "sha256:") ? ref.substr(7) : ref;
    auto rows = BERTH_TRY(
        db_->query("SELECT id FROM images WHERE id LIKE ? || '%' OR manifest = ?", {hex, hex}));
    if (rows.size() > 1)
      return invalidArgument("image id " + quote(ref) + " is ambiguous: give more digits");
    if (rows.size() == 1) return byId(asText(rows[0][0]));
  }
  if (!name && !looksLikeId(ref)) return name.error();
  return notFound("image " + quote(ref) + " does not exist: load, import or build it first");
}

Result<std::vector<ImageRecord>> ImageStore::list() const {
  auto rows = BERTH_TRY(db_->query("SELECT id FROM images ORDER BY created DESC, id"));
  std::vector<ImageRecord> out;
  for (const auto& r : rows) out.push_back(BERTH_TRY(byId(asText(r[0]))));
  return out;
}

Result<json> ImageStore::manifest(const ImageRecord& image) const {
  std::string text = BERTH_TRY(content_.readVerified(image.manifest));
  return parseJsonText(text, "manifest " + image.manifest.str());
}

Result<json> ImageStore::config(const ImageRecord& image) const {
  std::string text = BERTH_TRY(content_.readVerified(image.id));
  return parseJsonText(text, "image config " + image.id.str());
}

Status ImageStore::tag(const std::string& ref, const std::string& new_name) {
  ImageRecord rec = BERTH_TRY(resolve(ref));
  std::string name = BERTH_TRY(normalizeName(new_name));
  return db_->exec("INSERT OR REPLACE INTO tags(name, image) VALUES(?, ?)", {name, rec.id.hex()});
}

Status ImageStore::untag(const std::string& name) {
  return db_->exec("DELETE FROM tags WHERE name=?", {name});
}

Result<std::vector<std::string>> ImageStore::remove(const std::string& ref, bool force) {
  ImageRecord rec = BERTH_TRY(resolve(ref));
  std::vector<std::string> report;
  auto name = normalizeName(ref);
  bool by_name = name && std::find(rec.tags.begin(), rec.tags.end(), *name) != rec.tags.end();
  if (!by_name && rec.tags.size() > 1 && !force)
    return conflict("remove image " + quote(ref) + ": it has several names (" +
                    join(rec.tags, ", ") + "); remove them by name or use --force");
  BERTH_RETURN_IF_ERROR(db_->transaction([&]() -> Status {
    std::vector<std::string> untag = by_name ? std::vector<std::string>{*name} : rec.tags;
    for (const auto& t : untag) {
      BERTH_RETURN_IF_ERROR(db_->exec("DELETE FROM tags WHERE name=?", {t}));
      report.push_back("Untagged: " + t);
    }
    auto left = BERTH_TRY(db_->query("SELECT COUNT(*) FROM tags WHERE image=?", {rec.id.hex()}));
    if (asInt(left[0][0]) == 0) {
      BERTH_RETURN_IF_ERROR(db_->exec("DELETE FROM images WHERE id=?", {rec.id.hex()}));
      report.push_back("Deleted: " + rec.id.str());
    }
    return okStatus();
  }));
  return report;
}

Result<GcStats> ImageStore::gc() {
  std::set<Digest> keep;
  for (const auto& img : BERTH_TRY(list())) {
    keep.insert(img.manifest);
    keep.insert(img.id);
    auto text = content_.readVerified(img.manifest);
    if (!text) continue;
    auto refs = parseManifest(*text);
    if (!refs) continue;
    for (const auto& l : refs->layers) keep.insert(l);
  }
  GcStats stats;
  for (const auto& d : BERTH_TRY(content_.list())) {
    if (keep.count(d)) continue;
    auto size = content_.size(d);
    stats.bytes_freed += size.ok() ? *size : 0;
    BERTH_RETURN_IF_ERROR(content_.remove(d));
    ++stats.blobs_removed;
  }
  return stats;
}

}  // namespace berth::image
