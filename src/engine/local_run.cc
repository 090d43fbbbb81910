#include "engine/local_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "common/log.h"
#include "common/strings.h"
#include "image/image_store.h"
#include "image/snapshots.h"
#include "runtime/container.h"
#include "sys/fs.h"
#include "sys/overlay.h"

namespace berth::engine {
namespace {

std::string newId() {
  std::random_device rd;
  std::string id;
  static const char* kHex = "0123456789abcdef";
  for (int i = 0; i < 64; ++i) id += kHex[rd() % 16];
  return id;
}

}  // namespace

Result<int> runImage(const LocalRunOptions& opts) {
  auto store = BERTH_TRY(image::ImageStore::open(opts.root));
  image::ImageRecord img = BERTH_TRY(store->resolve(opts.image));
  nlohmann::json config = BERTH_TRY(store->config(img));
  config["id"] = img.id.str();
  std::vector<std::string> lowers = BERTH_TRY(image::Snapshotter(opts.root).prepare(*store, img));

  RunSpec run = opts.spec;
  run.id = newId();
  if (run.hostname.empty()) run.hostname = run.id.substr(0, 12);
  std::string dir = opts.root + "/containers/" + run.id;
  run.rootfs = dir + "/rootfs";
  for (const char* sub : {"/rootfs", "/upper", "/work"})
    BERTH_RETURN_IF_ERROR(sys::mkdirAll(dir + sub, 0700));
  ::chmod((dir + "/upper").c_str(), 0755);
  bool mounted = false;
  // Everything below is undone on the way out, whatever happens.
  struct Cleanup {
    const std::string& dir;
    const std::string& rootfs;
    bool& mounted;
    ~Cleanup() {
      if (mounted && ::umount2(rootfs.c_str(), MNT_DETACH) != 0) {
        log::warn("unmount " + quote(rootfs) + " failed: the container's files stay in " +
                  quote(dir));
        return;
      }
      (void)sys::removeAll(dir);
    }
  } cleanup{dir, run.rootfs, mounted};

  // Which image the container uses, for rmi to refuse removing it meanwhile.
  BERTH_RETURN_IF_ERROR(sys::writeFileAtomic(dir + "/image", img.id.hex()));
  BERTH_RETURN_IF_ERROR(sys::mountOverlay(lowers, dir + "/upper", dir + "/work", run.rootfs));
  mounted = true;
  auto read_rootfs = [&](const std::string& path) -> std::optional<std::string> {
    auto host = sys::secureJoin(run.rootfs, path);
    if (!host) return std::nullopt;
    auto text = sys::readFile(*host);
    if (!text) return std::nullopt;
    return *text;
  };
  nlohmann::json spec = BERTH_TRY(containerSpec(config, run, read_rootfs));
  BERTH_RETURN_IF_ERROR(sys::writeFileAtomic(dir + "/config.json", spec.dump(2)));

  runtime::RunOptions ropts;
  ropts.create.id = run.id;
  ropts.create.bundle = dir;
  return runtime::run(runtime::StateStore(opts.runtime_root), ropts);
}

std::vector<std::string> imagesInUse(const std::string& root) {
  std::vector<std::string> out;
  std::string dir = root + "/containers";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (auto id = sys::readFile(dir + "/" + name + "/image")) out.push_back(*id);
  }
  ::closedir(d);
  return out;
}

}  // namespace berth::engine
