// Container lifecycle and listing through berthd: start, stop, restart, kill, rm, ps,
// inspect, wait, rename, pause, unpause, top, port; also under `berth container …`.

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/berth/format.h"
#include "cli/berth/verbs.h"
#include "common/signals.h"
#include "common/strings.h"

namespace berth::cli {

using nlohmann::json;

namespace {

// Runs `op` for each name; prints the name when it succeeds, reports each failure and
// carries on (exit 1 if any failed), as docker's multi-container verbs do.
void forEach(Context& ctx, const std::vector<std::string>& names,
             const std::function<Status(const std::string&)>& op) {
  for (const auto& name : names) {
    if (auto s = op(name); !s) {
      ctx.fail(s.error());
      continue;
    }
    std::printf("%s\n", name.c_str());
    std::fflush(stdout);
  }
}

Status post(Context& ctx, const std::string& target) {
  auto r = ctx.api().call("POST", target);
  if (!r) return r.error();
  return okStatus();
}

std::string timeoutQuery(int timeout) {
  return timeout >= 0 ? "?t=" + std::to_string(timeout) : "";
}

void ps(Context& ctx, bool all, bool quiet, bool no_trunc, const std::vector<std::string>& filters,
        const std::string& format) {
  std::string target = "/v1/containers?all=" + std::string(all ? "1" : "0");
  for (const auto& f : filters) {
    if (f.find('=') == std::string::npos)
      return ctx.fail(invalidArgument("invalid --filter " + quote(f) + ": use KEY=VALUE"));
    target += "&filter=" + urlEncode(f);
  }
  auto list = ctx.api().json("GET", target);
  if (!list) return ctx.fail(list.error());
  if (!list->is_array()) return ctx.fail(internalError("list containers: not an array"));
  std::vector<json> items(list->begin(), list->end());
  std::stable_sort(items.begin(), items.end(), [](const json& a, const json& b) {
    return a.value("created_ns", int64_t{0}) > b.value("created_ns", int64_t{0});
  });
  int64_t now = nowNs();
  if (quiet) {
    for (const auto& c : items) {
      std::string id = c.value("id", "");
      std::printf("%s\n", no_trunc ? id.c_str() : shortId(id).c_str());
    }
    return;
  }
  if (format.empty() || format == "table") {
    Table table(psHeader());
    for (const auto& c : items) table.add(psRow(psObject(c, now, !no_trunc)));
    std::fputs(table.render().c_str(), stdout);
    return;
  }
  for (const auto& c : items) {
    json obj = psObject(c, now, !no_trunc);
    if (format == "json") {
      std::printf("%s\n", obj.dump().c_str());
      continue;
    }
    auto line = renderTemplate(format, obj);
    if (!line) return ctx.fail(line.error());
    std::printf("%s\n", line->c_str());
  }
}

}  // namespace

void inspectObjects(Context& ctx, const std::vector<std::string>& names, const std::string& format,
                    const std::string& type) {
  json out = json::array();
  for (const auto& name : names) {
    Result<json> found = notFound("");
    for (auto [kind, path] : {std::pair{"container", containerPath(name)},
                              std::pair{"volume", "/v1/volumes/" + urlEncode(name)},
                              std::pair{"network", "/v1/networks/" + urlEncode(name)}}) {
      if (found || found.error().code() != ErrorCode::kNotFound) break;
      if (type.empty() || type == kind) found = ctx.api().json("GET", path);
    }
    if (!found) {
      if (found.error().code() == ErrorCode::kNotFound)
        ctx.fail(notFound("no such " + (type.empty() ? "object" : type) + ": " + quote(name)));
      else
        ctx.fail(found.error());
      continue;
    }
    out.push_back(std::move(*found));
  }
  if (out.empty() && ctx.exit_code != 0) return;  // not even "[]" when nothing was found
  auto text = renderInspect(out, format);
  if (!text) return ctx.fail(text.error());
  std::fputs(text->c_str(), stdout);
}

namespace {

void waitFor(Context& ctx, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    auto stream = ctx.api().stream("POST", containerPath(name) + "/wait?condition=not-running");
    if (!stream) {
      ctx.fail(stream.error());
      continue;
    }
    auto body = readAll(**stream);
    if (!body) {
      ctx.fail(body.error());
      continue;
    }
    auto j = json::parse(*body, nullptr, false);
    if (!j.is_object() || !j.contains("exit_code")) {
      ctx.fail(internalError("wait for " + quote(name) + ": no exit code in the answer"));
      continue;
    }
    std::printf("%d\n", j["exit_code"].get<int>());
    std::fflush(stdout);
  }
}

void top(Context& ctx, const std::string& name) {
  auto t = ctx.api().json("GET", containerPath(name) + "/top");
  if (!t) return ctx.fail(t.error());
  std::vector<std::string> titles;
  for (const auto& title : t->value("titles", json::array()))
    titles.push_back(title.is_string() ? title.get<std::string>() : title.dump());
  Table table(titles);
  for (const auto& p : t->value("processes", json::array())) {
    std::vector<std::string> row;
    for (const auto& cell : p)
      row.push_back(cell.is_string() ? cell.get<std::string>() : cell.dump());
    table.add(std::move(row));
  }
  std::fputs(table.render().c_str(), stdout);
}

void port(Context& ctx, const std::string& name, const std::string& private_port) {
  auto ports = ctx.api().json("GET", containerPath(name) + "/port");
  if (!ports) return ctx.fail(ports.error());
  auto lines = portLines(*ports, private_port, name);
  if (!lines) return ctx.fail(lines.error());
  for (const auto& line : *lines) std::printf("%s\n", line.c_str());
}

void startVerb(Context& ctx, const std::vector<std::string>& names, bool attach, bool interactive) {
  if (!attach && !interactive) {
    forEach(ctx, names,
            [&](const std::string& n) { return post(ctx, containerPath(n) + "/start"); });
    return;
  }
  if (names.size() != 1)
    return ctx.fail(invalidArgument("start: attach (-a/-i) to one container at a time"));
  auto info = ctx.api().json("GET", containerPath(names[0]));
  if (!info) return ctx.fail(info.error());
  const json config = info->value("config", json::object());
  startAttached(ctx, {.id = info->value("id", names[0]),
                      .tty = config.value("tty", false),
                      .stdin_open = interactive && config.value("open_stdin", false),
                      .remove = config.value("auto_remove", false),
                      .start_failure_code = kExitFailed});
}

// The verbs, under `parent` (the top level, or `container`).
void addVerbs(CLI::App* parent, Context& ctx, bool container_group) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto flag_a = std::make_shared<bool>(false);
  auto flag_i = std::make_shared<bool>(false);
  auto* start = parent->add_subcommand("start", "start containers");
  start->add_flag("-a,--attach", *flag_a, "attach to its output and exit with its code");
  start->add_flag("-i,--interactive", *flag_i, "attach stdin too");
  start->add_option("containers", *names, "containers")->required();
  start->callback([&ctx, names, flag_a, flag_i] { startVerb(ctx, *names, *flag_a, *flag_i); });

  auto timeout = std::make_shared<int>(-1);
  for (const char* verb : {"stop", "restart"}) {
    auto* cmd = parent->add_subcommand(verb, std::string(verb) + " containers");
    cmd->add_option("-t,--time", *timeout, "seconds to wait before killing");
    cmd->add_option("containers", *names, "containers")->required();
    std::string v = verb;
    cmd->callback([&ctx, names, timeout, v] {
      forEach(ctx, *names, [&](const std::string& n) {
        return post(ctx, containerPath(n) + "/" + v + timeoutQuery(*timeout));
      });
    });
  }

  auto signal = std::make_shared<std::string>("KILL");
  auto* kill = parent->add_subcommand("kill", "send a signal to containers (default KILL)");
  kill->add_option("-s,--signal", *signal, "signal name or number");
  kill->add_option("containers", *names, "containers")->required();
  kill->callback([&ctx, names, signal] {
    if (auto s = parseSignal(*signal); !s)
      return ctx.fail(invalidArgument("invalid --signal " + quote(*signal) + ": unknown signal"));
    forEach(ctx, *names, [&](const std::string& n) {
      return post(ctx, containerPath(n) + "/kill?signal=" + urlEncode(*signal));
    });
  });

  auto force = std::make_shared<bool>(false);
  auto volumes = std::make_shared<bool>(false);
  auto* rm = parent->add_subcommand("rm", "remove containers");
  if (container_group) rm->alias("remove");
  rm->add_flag("-f,--force", *force, "kill a running container first");
  rm->add_flag("-v,--volumes", *volumes, "remove its anonymous volumes too");
  rm->add_option("containers", *names, "containers")->required();
  rm->callback([&ctx, names, force, volumes] {
    std::string q =
        std::string("?force=") + (*force ? "1" : "0") + "&volumes=" + (*volumes ? "1" : "0");
    forEach(ctx, *names, [&](const std::string& n) {
      auto r = ctx.api().call("DELETE", containerPath(n) + q);
      return r ? okStatus() : Status(r.error());
    });
  });

  for (const char* verb : {"pause", "unpause"}) {
    auto* cmd = parent->add_subcommand(verb, std::string(verb) + " containers' processes");
    cmd->add_option("containers", *names, "containers")->required();
    std::string v = verb;
    cmd->callback([&ctx, names, v] {
      forEach(ctx, *names,
              [&](const std::string& n) { return post(ctx, containerPath(n) + "/" + v); });
    });
  }

  struct PsFlags {
    bool all = false, quiet = false, no_trunc = false;
    std::vector<std::string> filters;
    std::string format;
  };
  auto psf = std::make_shared<PsFlags>();
  auto* ps_cmd = parent->add_subcommand(container_group ? "ls" : "ps", "list containers");
  if (container_group) ps_cmd->alias("ps")->alias("list");
  ps_cmd->add_flag("-a,--all", psf->all, "stopped containers too");
  ps_cmd->add_flag("-q,--quiet", psf->quiet, "only ids");
  ps_cmd->add_flag("--no-trunc", psf->no_trunc, "full ids and commands");
  ps_cmd->add_option("-f,--filter", psf->filters, "status=, label=K[=V], name=, id=, ancestor=")
      ->allow_extra_args(false);
  ps_cmd->add_option("--format", psf->format, "table, json, or a template like {{.Names}}");
  ps_cmd->callback(
      [&ctx, psf] { ps(ctx, psf->all, psf->quiet, psf->no_trunc, psf->filters, psf->format); });

  auto format = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>();
  auto* insp = parent->add_subcommand("inspect", "show containers (or volumes, networks) as JSON");
  insp->add_option("-f,--format", *format, "json, or a template like {{.State.Status}}");
  if (!container_group)
    insp->add_option("--type", *type, "container, volume or network")
        ->check(CLI::IsMember({"container", "volume", "network"}));
  insp->add_option("names", *names, "containers, volumes or networks")->required();
  insp->callback([&ctx, names, format, type, container_group] {
    inspectObjects(ctx, *names, *format, container_group ? "container" : *type);
  });

  auto* wait = parent->add_subcommand("wait", "wait for containers to stop; print exit codes");
  wait->add_option("containers", *names, "containers")->required();
  wait->callback([&ctx, names] { waitFor(ctx, *names); });

  auto old_name = std::make_shared<std::string>();
  auto new_name = std::make_shared<std::string>();
  auto* rename = parent->add_subcommand("rename", "rename a container");
  rename->add_option("container", *old_name, "container")->required();
  rename->add_option("name", *new_name, "new name")->required();
  rename->callback([&ctx, old_name, new_name] {
    if (auto s = post(ctx, containerPath(*old_name) + "/rename?name=" + urlEncode(*new_name)); !s)
      ctx.fail(s.error());
  });

  auto one = std::make_shared<std::string>();
  auto* top_cmd = parent->add_subcommand("top", "show a container's processes");
  top_cmd->add_option("container", *one, "container")->required();
  top_cmd->callback([&ctx, one] { top(ctx, *one); });

  auto private_port = std::make_shared<std::string>();
  auto* port_cmd = parent->add_subcommand("port", "show a container's published ports");
  port_cmd->add_option("container", *one, "container")->required();
  port_cmd->add_option("port", *private_port, "only this PRIVATE_PORT[/PROTOCOL]");
  port_cmd->callback([&ctx, one, private_port] { port(ctx, *one, *private_port); });

  if (container_group) {
    auto* prune = parent->add_subcommand("prune", "remove stopped containers");
    auto yes = std::make_shared<bool>(false);
    prune->add_flag("-f,--force", *yes, "do not ask");
    prune->callback([&ctx, yes] {
      if (!*yes && !confirm("WARNING! This will remove all stopped containers.")) return;
      auto r = ctx.api().json("POST", "/v1/containers/prune");
      if (!r) return ctx.fail(r.error());
      auto deleted = r->value("deleted", json::array());
      if (!deleted.empty()) std::printf("Deleted Containers:\n");
      for (const auto& id : deleted) std::printf("%s\n", id.get<std::string>().c_str());
      std::printf("\nTotal reclaimed space: %s\n",
                  decimalSize(r->value("space_reclaimed", 0.0)).c_str());
    });
  }
}

}  // namespace

void addContainerVerbs(CLI::App& app, Context& ctx) {
  addVerbs(&app, ctx, /*container_group=*/false);
  auto* group = app.add_subcommand("container", "manage containers");
  group->require_subcommand(1);
  addVerbs(group, ctx, /*container_group=*/true);
}

}  // namespace berth::cli
