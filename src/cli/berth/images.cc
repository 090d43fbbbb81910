// images, image inspect, history, tag, rmi, image prune.

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "cli/berth/verbs.h"
#include "common/progress.h"
#include "common/strings.h"
#include "engine/image_users.h"
#include "image/snapshots.h"

namespace berth::cli {

using nlohmann::json;

std::string humanSize(uint64_t bytes) { return progress::humanBytes(bytes); }

std::string humanSince(const std::string& rfc3339) {
  std::tm tm{};
  if (rfc3339.size() < 19 || !strptime(rfc3339.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
    return "N/A";
  long long secs = static_cast<long long>(std::time(nullptr) - timegm(&tm));
  if (secs < 0) secs = 0;
  auto ago = [](long long n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s") + " ago";
  };
  if (secs < 60) return "Less than a minute ago";
  if (secs < 3600) return ago(secs / 60, "minute");
  if (secs < 86400) return ago(secs / 3600, "hour");
  if (secs < 86400 * 30) return ago(secs / 86400, "day");
  if (secs < 86400 * 365) return ago(secs / (86400 * 30), "month");
  return ago(secs / (86400 * 365), "year");
}

namespace {

uint64_t imageSize(const json& manifest) {
  uint64_t total = 0;
  for (const auto& l : manifest.value("layers", json::array()))
    total += l.value("size", uint64_t{0});
  return total;
}

// Blobs and snapshots that no image references any more.
Result<image::GcStats> collect(image::ImageStore& store) {
  auto stats = BERTH_TRY(store.gc());
  auto keep = BERTH_TRY(image::chainIdsInUse(store));
  BERTH_TRY(image::Snapshotter(store.root()).removeExcept(keep));
  return stats;
}

void listImages(Context& ctx, bool quiet) {
  auto store = ctx.images();
  if (!store) return;
  auto images = store->list();
  if (!images) return ctx.fail(images.error());
  if (quiet) {
    for (const auto& img : *images) std::printf("%s\n", img.id.shortId().c_str());
    return;
  }
  std::printf("%-40s %-12s %-14s %-24s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (const auto& img : *images) {
    auto config = store->config(img);
    auto manifest = store->manifest(img);
    std::string created = config ? humanSince(config->value("created", "")) : "N/A";
    std::string size = manifest ? humanSize(imageSize(*manifest)) : "?";
    std::vector<std::string> tags =
        img.tags.empty() ? std::vector<std::string>{"<none>:<none>"} : img.tags;
    for (const auto& t : tags) {
      size_t colon = t.rfind(':');
      std::printf("%-40s %-12s %-14s %-24s %s\n", t.substr(0, colon).c_str(),
                  t.substr(colon + 1).c_str(), img.id.shortId().c_str(), created.c_str(),
                  size.c_str());
    }
  }
}

// An image with its config and manifest, as inspect and history show them.
struct Shown {
  image::ImageRecord rec;
  json config, manifest;
};

Result<Shown> show(const image::ImageStore& store, const std::string& ref) {
  Shown s{BERTH_TRY(store.resolve(ref)), {}, {}};
  s.config = BERTH_TRY(store.config(s.rec));
  s.manifest = BERTH_TRY(store.manifest(s.rec));
  return s;
}

void inspect(Context& ctx, const std::vector<std::string>& refs) {
  auto store = ctx.images();
  if (!store) return;
  json out = json::array();
  for (const auto& ref : refs) {
    auto shown = show(*store, ref);
    if (!shown) return ctx.fail(shown.error());
    const image::ImageRecord* img = &shown->rec;
    const json* config = &shown->config;
    const json* manifest = &shown->manifest;
    out.push_back(
        {{"Id", img->id.str()},
         {"RepoTags", img->tags},
         {"RepoDigests", json::array()},
         {"Created", config->value("created", "")},
         {"Author", config->value("author", "")},
         {"Architecture", config->value("architecture", "")},
         {"Os", config->value("os", "")},
         {"Config", config->value("config", json::object())},
         {"RootFS",
          {{"Type", "layers"}, {"Layers", (*config)["rootfs"].value("diff_ids", json::array())}}},
         {"Size", imageSize(*manifest)},
         {"Manifest", img->manifest.str()}});
  }
  std::printf("%s\n", out.dump(4).c_str());
}

void history(Context& ctx, const std::string& ref) {
  auto store = ctx.images();
  if (!store) return;
  auto shown = show(*store, ref);
  if (!shown) return ctx.fail(shown.error());
  const image::ImageRecord* img = &shown->rec;
  const json* config = &shown->config;
  const json* manifest = &shown->manifest;
  json layers = manifest->value("layers", json::array());
  json hist = config->value("history", json::array());
  std::printf("%-14s %-24s %-45s %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE");
  // Newest first; entries without a layer (empty_layer) have size 0.
  size_t layer = layers.size();
  for (auto it = hist.rbegin(); it != hist.rend(); ++it) {
    bool empty = it->value("empty_layer", false);
    uint64_t size = 0;
    if (!empty && layer > 0) size = layers[--layer].value("size", uint64_t{0});
    std::string by = it->value("created_by", "");
    if (by.size() > 45) by = by.substr(0, 42) + "...";
    std::printf("%-14s %-24s %-45s %s\n",
                it == hist.rbegin() ? img->id.shortId().c_str() : "<missing>",
                humanSince(it->value("created", "")).c_str(), by.c_str(), humanSize(size).c_str());
  }
}

void rmi(Context& ctx, const std::vector<std::string>& refs, bool force) {
  auto store = ctx.images();
  if (!store) return;
  auto in_use = engine::imagesInUse(ctx.root);
  for (const auto& ref : refs) {
    auto img = store->resolve(ref);
    if (img && !force && std::find(in_use.begin(), in_use.end(), img->id.hex()) != in_use.end()) {
      ctx.fail(conflict("remove image " + quote(ref) +
                        ": a running container uses it; stop it first or use --force"));
      continue;
    }
    auto report = store->remove(ref, force);
    if (!report) {
      ctx.fail(report.error());
      continue;
    }
    for (const auto& line : *report) std::printf("%s\n", line.c_str());
  }
  if (auto gc = collect(*store); !gc) ctx.fail(gc.error());
}

}  // namespace

void addImageVerbs(CLI::App& app, Context& ctx) {
  auto quiet = std::make_shared<bool>(false);
  auto* images = app.add_subcommand("images", "list images");
  images->add_flag("-q,--quiet", *quiet, "only ids");
  images->callback([&ctx, quiet] { listImages(ctx, *quiet); });

  auto* image = app.add_subcommand("image", "manage images");
  image->require_subcommand(1);
  auto* ls = image->add_subcommand("ls", "list images");
  ls->add_flag("-q,--quiet", *quiet, "only ids");
  ls->callback([&ctx, quiet] { listImages(ctx, *quiet); });

  auto refs = std::make_shared<std::vector<std::string>>();
  auto* insp = image->add_subcommand("inspect", "show images as JSON");
  insp->add_option("images", *refs, "images")->required();
  insp->callback([&ctx, refs] { inspect(ctx, *refs); });

  auto force = std::make_shared<bool>(false);
  for (auto* cmd :
       {app.add_subcommand("rmi", "remove images"), image->add_subcommand("rm", "remove images")}) {
    cmd->add_flag("-f,--force", *force, "remove an image with several names");
    cmd->add_option("images", *refs, "images")->required();
    cmd->callback([&ctx, refs, force] { rmi(ctx, *refs, *force); });
  }

  auto* prune = image->add_subcommand("prune", "remove unused data (untagged images' blobs)");
  prune->add_flag("-a,--all,-f,--force")->group("");  // accepted for compatibility
  prune->callback([&ctx] {
    auto store = ctx.images();
    if (!store) return;
    auto gc = collect(*store);
    if (!gc) return ctx.fail(gc.error());
    std::printf("Total reclaimed space: %s\n", humanSize(gc->bytes_freed).c_str());
  });

  auto ref = std::make_shared<std::string>();
  auto* hist = app.add_subcommand("history", "show the layers of an image");
  hist->add_option("image", *ref, "image")->required();
  hist->callback([&ctx, ref] { history(ctx, *ref); });

  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  auto* tag = app.add_subcommand("tag", "give an image another name");
  tag->add_option("source", *src, "image")->required();
  tag->add_option("target", *dst, "new NAME[:TAG]")->required();
  tag->callback([&ctx, src, dst] {
    auto store = ctx.images();
    if (!store) return;
    if (auto s = store->tag(*src, *dst); !s) ctx.fail(s.error());
  });
}

}  // namespace berth::cli
