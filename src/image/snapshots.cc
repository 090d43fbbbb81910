#include "image/snapshots.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/progress.h"
#include "common/strings.h"
#include "image/layer.h"
#include "sys/fs.h"

namespace berth::image {

std::vector<Digest> chainIds(const std::vector<Digest>& diff_ids) {
  std::vector<Digest> out;
  for (const auto& d : diff_ids) {
    out.push_back(out.empty() ? d : sha256Of(out.back().str() + " " + d.str()));
  }
  return out;
}

namespace {

Result<std::vector<Digest>> diffIdsOf(const ImageStore& store, const Digest& config_digest) {
  std::string text = BERTH_TRY(store.content().readVerified(config_digest));
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument("image config " + config_digest.str() + ": malformed JSON: " + e.what());
  }
  std::vector<Digest> out;
  const auto& ids = config["rootfs"]["diff_ids"];
  if (!ids.is_array())
    return invalidArgument("image config " + config_digest.str() + ": rootfs.diff_ids is missing");
  for (const auto& d : ids) out.push_back(BERTH_TRY(Digest::parse(d.get<std::string>())));
  return out;
}

// Applies a stored layer blob into `dir`, showing progress by bytes read.
Result<LayerStats> unpack(const std::string& blob, const std::string& dir, const Digest& chain) {
  int fd = ::open(blob.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoError("unpack layer " + quote(blob), errno);
  struct stat st {};
  ::fstat(fd, &st);
  progress::Task task("Unpacking layer " + chain.shortId(), static_cast<uint64_t>(st.st_size));
  Reader read = [&](char* buf, size_t size) -> Result<size_t> {
    while (true) {
      ssize_t n = ::read(fd, buf, size);
      if (n >= 0) {
        task.advance(static_cast<uint64_t>(n));
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return errnoError("read " + quote(blob), errno);
    }
  };
  auto r = applyLayer(read, dir, Whiteouts::kOverlay);
  ::close(fd);
  return r;
}

std::string tmpName() {
  static std::atomic<unsigned> n{0};
  return "tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

}  // namespace

Result<std::vector<std::string>> Snapshotter::prepare(const ImageStore& store,
                                                      const ImageRecord& image) const {
  return prepareManifest(store, BERTH_TRY(store.content().readVerified(image.manifest)));
}

Result<std::vector<std::string>> Snapshotter::prepareManifest(
    const ImageStore& store, const std::string& manifest_json) const {
  BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir_, 0700));
  ManifestRefs refs = BERTH_TRY(parseManifest(manifest_json));
  std::vector<Digest> diff_ids = BERTH_TRY(diffIdsOf(store, refs.config));
  if (refs.layers.size() != diff_ids.size())
    return invalidArgument("image " + refs.config.str() +
                           ": the manifest and config disagree on the number of layers");
  std::vector<Digest> chains = chainIds(diff_ids);
  std::vector<std::string> dirs;
  for (size_t i = 0; i < chains.size(); ++i) {
    std::string final_dir = dir_ + "/" + chains[i].hex();
    if (!sys::exists(final_dir)) {
      std::string tmp = dir_ + "/" + tmpName();
      BERTH_RETURN_IF_ERROR(sys::mkdirAll(tmp, 0755));
      auto stats = unpack(store.content().path(refs.layers[i]), tmp, chains[i]);
      if (stats && !(stats->diff_id == diff_ids[i]))
        stats = invalidArgument("layer " + refs.layers[i].str() + " does not match its diff_id " +
                                diff_ids[i].str() + ": it unpacks to " + stats->diff_id.str());
      if (!stats) {
        (void)sys::removeAll(tmp);
        return stats.error().context("unpack image " + refs.config.shortId());
      }
      if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
        int err = errno;
        (void)sys::removeAll(tmp);
        // Another process unpacked the same layer meanwhile: theirs is as good.
        if (err != ENOTEMPTY && err != EEXIST)
          return errnoError("store snapshot " + quote(final_dir), err);
      }
    }
    dirs.insert(dirs.begin(), final_dir);
  }
  return dirs;
}

Result<size_t> Snapshotter::removeExcept(const std::set<std::string>& keep_hex) const {
  DIR* d = ::opendir(dir_.c_str());
  if (!d)
    return errno == ENOENT ? Result<size_t>(size_t{0}) : errnoError("list " + quote(dir_), errno);
  std::vector<std::string> victims;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!keep_hex.count(name)) victims.push_back(name);
  }
  ::closedir(d);
  for (const auto& v : victims) {
    // Out of sight first (rename is atomic), then delete: a crash or error in the middle
    // must never leave a half-deleted snapshot under its chain id.
    std::string doomed = v;
    if (!startsWith(v, "tmp-")) {
      doomed = tmpName();
      if (::rename((dir_ + "/" + v).c_str(), (dir_ + "/" + doomed).c_str()) != 0)
        return errnoError("remove snapshot " + quote(v), errno);
    }
    BERTH_RETURN_IF_ERROR(sys::removeAll(dir_ + "/" + doomed));
  }
  return victims.size();
}

Result<std::set<std::string>> chainIdsInUse(const ImageStore& store) {
  std::set<std::string> out;
  for (const auto& img : BERTH_TRY(store.list())) {
    auto ids = diffIdsOf(store, img.id);
    if (!ids) continue;
    for (const auto& c : chainIds(*ids)) out.insert(c.hex());
  }
  return out;
}

}  // namespace berth::image
