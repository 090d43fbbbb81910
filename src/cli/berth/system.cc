// version, info, events, and system info/df/prune/events: berthd itself.

#include <sys/utsname.h>

#include <chrono>
#include <cstdio>

#include "cli/berth/format.h"
#include "cli/berth/run_options.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

json clientVersion() {
  utsname u{};
  ::uname(&u);
  return {{"version", BERTH_VERSION}, {"api_version", "1"}, {"os", "linux"}, {"arch", u.machine}};
}

void version(Context& ctx, const std::string& format) {
  json client = clientVersion();
  auto server = ctx.api().json("GET", "/v1/version");
  if (format == "json") {
    std::printf("%s\n",
                json{{"client", client}, {"server", server ? *server : json()}}.dump().c_str());
    if (!server) ctx.fail(server.error());
    return;
  }
  std::printf("Client:\n Version:      %s\n API version:  %s\n OS/Arch:      %s/%s\n",
              str(client, "version").c_str(), str(client, "api_version").c_str(),
              str(client, "os").c_str(), str(client, "arch").c_str());
  if (!server) return ctx.fail(server.error());
  std::printf(
      "\nServer:\n Version:      %s\n API version:  %s\n Commit:       %s\n"
      " OS/Arch:      %s/%s\n Kernel:       %s\n",
      str(*server, "version").c_str(), str(*server, "api_version").c_str(),
      str(*server, "commit").c_str(), str(*server, "os").c_str(), str(*server, "arch").c_str(),
      str(*server, "kernel").c_str());
}

void info(Context& ctx, const std::string& format) {
  auto i = ctx.api().json("GET", "/v1/info");
  if (!i) return ctx.fail(i.error());
  if (format == "json") {
    std::printf("%s\n", i->dump().c_str());
    return;
  }
  std::printf(
      "Server:\n Containers: %s\n  Running: %s\n  Paused: %s\n  Stopped: %s\n"
      " Images: %s\n Volumes: %s\n Server Version: %s\n Runtime: %s\n"
      " Cgroup Version: %s\n Kernel Version: %s\n CPUs: %s\n Total Memory: %s\n"
      " Root Dir: %s\n",
      str(*i, "containers").c_str(), str(*i, "running").c_str(), str(*i, "paused").c_str(),
      str(*i, "stopped").c_str(), str(*i, "images").c_str(), str(*i, "volumes").c_str(),
      str(*i, "version").c_str(), str(*i, "runtime").c_str(), str(*i, "cgroup_version").c_str(),
      str(*i, "kernel").c_str(), str(*i, "cpus").c_str(),
      binarySize(i->value("memory", 0.0)).c_str(), str(*i, "root").c_str());
}

struct EventFlags {
  std::string since, until, format;
  std::vector<std::string> filters;
};

Status events(Context& ctx, const EventFlags& f) {
  std::string q;
  q += BERTH_TRY(timeRangeQuery(f.since, f.until));
  for (const auto& filter : f.filters) {
    if (filter.find('=') == std::string::npos)
      return invalidArgument("invalid --filter " + quote(filter) + ": use KEY=VALUE");
    q += "&filter=" + urlEncode(filter);
  }
  if (!q.empty()) q[0] = '?';
  auto stream = BERTH_TRY(ctx.api().stream("GET", "/v1/events" + q));
  std::string buffer, piece;
  while (BERTH_TRY(stream->next(piece))) {
    buffer += piece;
    for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (line.empty()) continue;
      auto e = json::parse(line, nullptr, false);
      if (e.is_discarded()) continue;
      if (f.format == "json") {
        std::printf("%s\n", e.dump().c_str());
      } else if (!f.format.empty()) {
        std::printf("%s\n", BERTH_TRY(renderTemplate(f.format, e)).c_str());
      } else {
        std::printf("%s\n", eventLine(e).c_str());
      }
      std::fflush(stdout);
    }
  }
  return okStatus();
}

void df(Context& ctx, const std::string& format) {
  auto d = ctx.api().json("GET", "/v1/system/df");
  if (!d) return ctx.fail(d.error());
  if (format == "json") {
    std::printf("%s\n", d->dump().c_str());
    return;
  }
  Table table({"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"});
  for (auto [label, key] : {std::pair{"Images", "images"}, std::pair{"Containers", "containers"},
                            std::pair{"Local Volumes", "volumes"}}) {
    const json part = d->value(key, json::object());
    double size = part.value("size", 0.0), reclaimable = part.value("reclaimable", 0.0);
    std::string share =
        size > 0 ? " (" + std::to_string(static_cast<int>(reclaimable * 100 / size)) + "%)" : "";
    table.add({label, std::to_string(part.value("count", int64_t{0})),
               std::to_string(part.value("active", int64_t{0})), decimalSize(size),
               decimalSize(reclaimable) + share});
  }
  std::fputs(table.render().c_str(), stdout);
}

// As `docker system prune`: containers first, so that what they held becomes unused.
void prune(Context& ctx, bool force, bool volumes, bool all) {
  std::string warning =
      "WARNING! This will remove:\n  - all stopped containers\n"
      "  - all networks not used by at least one container\n" +
      std::string(volumes ? "  - all volumes not used by at least one container\n" : "") +
      (all ? "  - all images without at least one container associated to them\n"
           : "  - all dangling images\n") +
      "  - all build cache";
  if (!force && !confirm(warning)) return;
  std::string query =
      std::string("?volumes=") + (volumes ? "1" : "0") + "&all=" + (all ? "1" : "0");
  auto r = ctx.api().json("POST", "/v1/system/prune" + query);
  if (!r) return ctx.fail(r.error());
  for (auto [title, key] :
       {std::pair{"Deleted Containers:", "containers"}, std::pair{"Deleted Networks:", "networks"},
        std::pair{"Deleted Volumes:", "volumes"}, std::pair{"Deleted Images:", "images"},
        std::pair{"Deleted build cache objects:", "build_cache"}}) {
    const json list = r->value(key, json::array());
    if (list.empty()) continue;
    std::printf("%s\n", title);
    for (const auto& item : list) {
      if (item.is_string()) {
        std::printf("%s\n", item.get<std::string>().c_str());
      } else {  // {"untagged": NAME} or {"deleted": ID}, printed as docker does
        for (const auto& [what, value] : item.items())
          std::printf("%s: %s\n", what.c_str(), value.get<std::string>().c_str());
      }
    }
    std::printf("\n");
  }
  std::printf("Total reclaimed space: %s\n", decimalSize(r->value("space_reclaimed", 0.0)).c_str());
}

void addEvents(CLI::App* parent, Context& ctx) {
  auto f = std::make_shared<EventFlags>();
  auto* cmd = parent->add_subcommand("events", "show berthd's events as they happen");
  cmd->add_option("--since", f->since, "replay from a time (RFC 3339, unix, or 10m ago)");
  cmd->add_option("--until", f->until, "stop at a time");
  cmd->add_option("-f,--filter", f->filters, "type=, event=, container=, image=, label=")
      ->allow_extra_args(false);
  cmd->add_option("--format", f->format, "json, or a template like {{.action}}");
  cmd->callback([&ctx, f] {
    if (auto s = events(ctx, *f); !s) ctx.fail(s.error());
  });
}

}  // namespace

void addSystemVerbs(CLI::App& app, Context& ctx) {
  auto format = std::make_shared<std::string>();
  auto* version_cmd = app.add_subcommand("version", "show the client's and berthd's versions");
  version_cmd->add_option("-f,--format", *format, "json");
  version_cmd->callback([&ctx, format] { version(ctx, *format); });

  auto* system = app.add_subcommand("system", "manage berthd");
  system->require_subcommand(1);
  for (auto* parent : {&app, system}) {
    auto* info_cmd = parent->add_subcommand("info", "show berthd's state");
    info_cmd->add_option("-f,--format", *format, "json");
    info_cmd->callback([&ctx, format] { info(ctx, *format); });
    addEvents(parent, ctx);
  }

  auto* df_cmd = system->add_subcommand("df", "show disk usage");
  df_cmd->add_option("--format", *format, "json");
  df_cmd->callback([&ctx, format] { df(ctx, *format); });

  auto force = std::make_shared<bool>(false);
  auto volumes = std::make_shared<bool>(false);
  auto* prune_cmd = system->add_subcommand("prune", "remove stopped containers, unused data");
  prune_cmd->add_flag("-f,--force", *force, "do not ask");
  prune_cmd->add_flag("--volumes", *volumes, "remove unused volumes too");
  auto all = std::make_shared<bool>(false);
  prune_cmd->add_flag("-a,--all", *all, "remove every image no container uses, not only dangling");
  prune_cmd->callback([&ctx, force, volumes, all] { prune(ctx, *force, *volumes, *all); });
}

}  // namespace berth::cli
