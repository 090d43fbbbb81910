// images, image inspect, history, tag, rmi, image prune: berthd's images (/v1/images…).

#include <cstdio>
#include <ctime>

#include "cli/berth/format.h"
#include "cli/berth/verbs.h"
#include "common/progress.h"
#include "common/strings.h"

namespace berth::cli {

using nlohmann::json;

std::string humanSize(uint64_t bytes) { return progress::humanBytes(bytes); }

std::string humanSince(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "N/A";
  long long secs = static_cast<long long>(std::time(nullptr) - unix_seconds);
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

std::string imagePath(const std::string& ref) { return "/v1/images/" + urlEncode(ref); }

namespace {

void listImages(Context& ctx, bool quiet, const std::vector<std::string>& filters) {
  std::string target = "/v1/images";
  for (size_t i = 0; i < filters.size(); ++i)
    target += (i ? "&filter=" : "?filter=") + urlEncode(filters[i]);
  auto images = ctx.api().json("GET", target);
  if (!images) return ctx.fail(images.error());
  if (quiet) {
    for (const auto& img : *images) std::printf("%s\n", shortId(img.value("id", "")).c_str());
    return;
  }
  std::printf("%-40s %-12s %-14s %-24s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (const auto& img : *images) {
    std::string id = shortId(img.value("id", ""));
    std::string created = humanSince(img.value("created", int64_t{0}));
    std::string size = humanSize(img.value("size", uint64_t{0}));
    auto tags = img.value("repo_tags", std::vector<std::string>{});
    if (tags.empty()) tags.push_back("<none>:<none>");
    for (const auto& t : tags) {
      size_t colon = t.rfind(':');
      std::printf("%-40s %-12s %-14s %-24s %s\n", t.substr(0, colon).c_str(),
                  t.substr(colon + 1).c_str(), id.c_str(), created.c_str(), size.c_str());
    }
  }
}

void inspect(Context& ctx, const std::vector<std::string>& refs) {
  json out = json::array();
  for (const auto& ref : refs) {
    auto d = ctx.api().json("GET", imagePath(ref) + "/json");
    if (!d) return ctx.fail(d.error());
    json config = d->value("config", json::object());
    out.push_back(
        {{"Id", d->value("id", "")},
         {"RepoTags", d->value("repo_tags", json::array())},
         {"RepoDigests", d->value("repo_digests", json::array())},
         {"Created", d->value("created_at", "")},
         {"Author", d->value("author", "")},
         {"Architecture", d->value("architecture", "")},
         {"Os", d->value("os", "")},
         {"Config", config.value("config", json::object())},
         {"RootFS", {{"Type", "layers"}, {"Layers", d->value("diff_ids", json::array())}}},
         {"Size", d->value("size", uint64_t{0})},
         {"Manifest", d->value("manifest_digest", "")}});
  }
  std::printf("%s\n", out.dump(4).c_str());
}

void history(Context& ctx, const std::string& ref) {
  auto entries = ctx.api().json("GET", imagePath(ref) + "/history");
  if (!entries) return ctx.fail(entries.error());
  std::printf("%-14s %-24s %-45s %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE");
  for (const auto& h : *entries) {
    std::string id = h.value("id", "");
    std::string by = h.value("created_by", "");
    if (by.size() > 45) by = by.substr(0, 42) + "...";
    std::printf("%-14s %-24s %-45s %s\n", id == "<missing>" ? id.c_str() : shortId(id).c_str(),
                humanSince(h.value("created", int64_t{0})).c_str(), by.c_str(),
                humanSize(h.value("size", uint64_t{0})).c_str());
  }
}

void printDeleted(const json& items, const char* untagged, const char* deleted) {
  for (const auto& item : items) {
    if (item.contains("untagged"))
      std::printf("%s%s\n", untagged, item["untagged"].get<std::string>().c_str());
    if (item.contains("deleted"))
      std::printf("%s%s\n", deleted, item["deleted"].get<std::string>().c_str());
  }
}

void rmi(Context& ctx, const std::vector<std::string>& refs, bool force, bool no_prune) {
  for (const auto& ref : refs) {
    std::string target =
        imagePath(ref) + "?force=" + (force ? "1" : "0") + (no_prune ? "&noprune=1" : "");
    auto items = ctx.api().json("DELETE", target);
    if (!items) {
      ctx.fail(items.error());
      continue;
    }
    printDeleted(*items, "Untagged: ", "Deleted: ");
  }
}

void prune(Context& ctx, bool all, bool yes, const std::vector<std::string>& filters) {
  if (!yes && !confirm(all ? "WARNING! This will remove all images without at least one "
                             "container associated to them."
                           : "WARNING! This will remove all dangling images."))
    return;
  std::string target = "/v1/images/prune?all=" + std::string(all ? "1" : "0");
  for (const auto& f : filters) target += "&filter=" + urlEncode(f);
  auto r = ctx.api().json("POST", target);
  if (!r) return ctx.fail(r.error());
  json deleted = r->value("deleted", json::array());
  if (!deleted.empty()) {
    std::printf("Deleted Images:\n");
    printDeleted(deleted, "untagged: ", "deleted: ");
    std::printf("\n");
  }
  std::printf("Total reclaimed space: %s\n",
              humanSize(r->value("space_reclaimed", uint64_t{0})).c_str());
}

// "NAME[:TAG]" → (repo, tag); a ':' after the last '/' separates the tag.
std::pair<std::string, std::string> splitTag(const std::string& ref) {
  size_t colon = ref.rfind(':');
  size_t slash = ref.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return {ref, ""};
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

}  // namespace

void addImageVerbs(CLI::App& app, Context& ctx) {
  auto quiet = std::make_shared<bool>(false);
  auto filters = std::make_shared<std::vector<std::string>>();
  auto* images = app.add_subcommand("images", "list images");
  auto* image = app.add_subcommand("image", "manage images");
  image->require_subcommand(1);
  auto* ls = image->add_subcommand("ls", "list images");
  for (auto* cmd : {images, ls}) {
    cmd->add_flag("-q,--quiet", *quiet, "only ids");
    cmd->add_flag("-a,--all")->group("");  // berth keeps no intermediate images
    cmd->add_option("-f,--filter", *filters,
                    "dangling=true|false, label=K[=V], reference=PATTERN, before=IMAGE, "
                    "since=IMAGE")
        ->allow_extra_args(false);
    cmd->callback([&ctx, quiet, filters] { listImages(ctx, *quiet, *filters); });
  }

  auto refs = std::make_shared<std::vector<std::string>>();
  auto* insp = image->add_subcommand("inspect", "show images as JSON");
  insp->add_option("images", *refs, "images")->required();
  insp->callback([&ctx, refs] { inspect(ctx, *refs); });

  auto force = std::make_shared<bool>(false);
  auto no_prune = std::make_shared<bool>(false);
  for (auto* cmd :
       {app.add_subcommand("rmi", "remove images"), image->add_subcommand("rm", "remove images")}) {
    cmd->add_flag("-f,--force", *force,
                  "remove an image with several names, or untag one a stopped container uses");
    cmd->add_flag("--no-prune", *no_prune, "do not delete untagged parents");
    cmd->add_option("images", *refs, "images")->required();
    cmd->callback([&ctx, refs, force, no_prune] { rmi(ctx, *refs, *force, *no_prune); });
  }

  auto all = std::make_shared<bool>(false);
  auto yes = std::make_shared<bool>(false);
  auto* pr = image->add_subcommand("prune", "remove images no container uses (untagged ones)");
  pr->add_flag("-a,--all", *all, "every image no container uses, not just untagged ones");
  pr->add_flag("-f,--force", *yes, "do not ask");
  pr->add_option("--filter", *filters, "label=K[=V], label!=K[=V], until=TIME")
      ->allow_extra_args(false);
  pr->callback([&ctx, all, yes, filters] { prune(ctx, *all, *yes, *filters); });

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
    auto [repo, t] = splitTag(*dst);
    std::string target = imagePath(*src) + "/tag?repo=" + urlEncode(repo) +
                         (t.empty() ? "" : "&tag=" + urlEncode(t));
    if (auto r = ctx.api().call("POST", target); !r) ctx.fail(r.error());
  });
}

}  // namespace berth::cli
