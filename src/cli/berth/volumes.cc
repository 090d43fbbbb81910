// volume create, ls, inspect, rm, prune: named volumes kept by berthd.

#include <cstdio>

#include "cli/berth/format.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string volumePath(const std::string& name) { return "/v1/volumes/" + urlEncode(name); }

void create(Context& ctx, const std::string& name, const std::vector<std::string>& labels,
            const std::vector<std::string>& options) {
  json body = {{"labels", json::object()}, {"options", json::object()}};
  if (!name.empty()) body["name"] = name;
  for (auto [flag, list, key] :
       {std::tuple{"--label", &labels, "labels"}, std::tuple{"--opt", &options, "options"}}) {
    for (const auto& kv : *list) {
      size_t eq = kv.find('=');
      if (eq == 0)
        return ctx.fail(invalidArgument("invalid " + std::string(flag) + " " + quote(kv) +
                                        ": the key is empty"));
      body[key][kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
  }
  auto v = ctx.api().json("POST", "/v1/volumes", body);
  if (!v) return ctx.fail(v.error());
  std::printf("%s\n", v->value("name", "").c_str());
}

void list(Context& ctx, bool quiet, const std::vector<std::string>& filters,
          const std::string& format) {
  std::string target = "/v1/volumes";
  for (size_t i = 0; i < filters.size(); ++i)
    target += (i ? "&filter=" : "?filter=") + urlEncode(filters[i]);
  auto vols = ctx.api().json("GET", target);
  if (!vols) return ctx.fail(vols.error());
  if (!vols->is_array()) return ctx.fail(internalError("list volumes: not an array"));
  if (quiet) {
    for (const auto& v : *vols) std::printf("%s\n", v.value("name", "").c_str());
    return;
  }
  if (format == "json") {
    for (const auto& v : *vols) std::printf("%s\n", v.dump().c_str());
    return;
  }
  Table table({"DRIVER", "VOLUME NAME"});
  for (const auto& v : *vols) table.add({v.value("driver", "local"), v.value("name", "")});
  std::fputs(table.render().c_str(), stdout);
}

void inspect(Context& ctx, const std::vector<std::string>& names, const std::string& format) {
  json out = json::array();
  for (const auto& n : names) {
    auto v = ctx.api().json("GET", volumePath(n));
    if (!v) {
      ctx.fail(v.error());
      continue;
    }
    out.push_back(std::move(*v));
  }
  if (format.empty() || format == "json") {
    std::printf("%s\n", out.dump(4).c_str());
    return;
  }
  for (const auto& v : out) {
    auto line = renderTemplate(format, v);
    if (!line) return ctx.fail(line.error());
    std::printf("%s\n", line->c_str());
  }
}

void remove(Context& ctx, const std::vector<std::string>& names, bool force) {
  for (const auto& n : names) {
    auto r = ctx.api().call("DELETE", volumePath(n) + (force ? "?force=1" : ""));
    if (!r) {
      ctx.fail(r.error());
      continue;
    }
    std::printf("%s\n", n.c_str());
  }
}

void prune(Context& ctx, bool force) {
  if (!force && !confirm("WARNING! This will remove all local volumes not used by at least "
                         "one container."))
    return;
  auto r = ctx.api().json("POST", "/v1/volumes/prune");
  if (!r) return ctx.fail(r.error());
  auto deleted = r->value("deleted", json::array());
  if (!deleted.empty()) std::printf("Deleted Volumes:\n");
  for (const auto& n : deleted) std::printf("%s\n", n.get<std::string>().c_str());
  std::printf("\nTotal reclaimed space: %s\n",
              decimalSize(r->value("space_reclaimed", 0.0)).c_str());
}

}  // namespace

void addVolumeVerbs(CLI::App& app, Context& ctx) {
  auto* volume = app.add_subcommand("volume", "manage volumes");
  volume->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  auto labels = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<std::vector<std::string>>();
  auto* create_cmd = volume->add_subcommand("create", "create a volume");
  create_cmd->add_option("name", *name, "name (default: a random one)");
  create_cmd->add_option("-l,--label", *labels, "KEY=VALUE")->allow_extra_args(false);
  create_cmd->add_option("-o,--opt", *options, "driver option KEY=VALUE")->allow_extra_args(false);
  create_cmd->callback([&ctx, name, labels, options] { create(ctx, *name, *labels, *options); });

  auto quiet = std::make_shared<bool>(false);
  auto filters = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  auto* ls = volume->add_subcommand("ls", "list volumes");
  ls->alias("list");
  ls->add_flag("-q,--quiet", *quiet, "only names");
  ls->add_option("-f,--filter", *filters, "dangling=true, name=, label=")->allow_extra_args(false);
  ls->add_option("--format", *format, "table or json");
  ls->callback([&ctx, quiet, filters, format] { list(ctx, *quiet, *filters, *format); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto* insp = volume->add_subcommand("inspect", "show volumes as JSON");
  insp->add_option("-f,--format", *format, "json, or a template like {{.Mountpoint}}");
  insp->add_option("volumes", *names, "volumes")->required();
  insp->callback([&ctx, names, format] { inspect(ctx, *names, *format); });

  auto force = std::make_shared<bool>(false);
  auto* rm = volume->add_subcommand("rm", "remove volumes");
  rm->alias("remove");
  rm->add_flag("-f,--force", *force, "remove even if a container uses it");
  rm->add_option("volumes", *names, "volumes")->required();
  rm->callback([&ctx, names, force] { remove(ctx, *names, *force); });

  auto* prune_cmd = volume->add_subcommand("prune", "remove volumes no container uses");
  prune_cmd->add_flag("-f,--force", *force, "do not ask");
  prune_cmd->callback([&ctx, force] { prune(ctx, *force); });
}

}  // namespace berth::cli
