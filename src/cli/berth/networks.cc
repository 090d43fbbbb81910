// network create, ls, inspect, rm, connect, disconnect, prune: networks kept by berthd.
// The bodies come from net_options.h, the output from format.h.

#include <algorithm>
#include <cstdio>

#include "cli/berth/format.h"
#include "cli/berth/net_options.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

std::string networkPath(const std::string& ref) { return "/v1/networks/" + urlEncode(ref); }

void create(Context& ctx, const NetworkCreateFlags& flags) {
  auto body = networkCreateBody(flags);
  if (!body) return ctx.fail(body.error());
  auto created = ctx.api().json("POST", "/v1/networks", *body);
  if (!created) return ctx.fail(created.error());
  std::printf("%s\n", created->value("id", "").c_str());
}

struct ListFlags {
  bool quiet = false, no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

void list(Context& ctx, const ListFlags& f) {
  std::string target = "/v1/networks";
  for (size_t i = 0; i < f.filters.size(); ++i) {
    if (auto s = checkNetworkFilter(f.filters[i]); !s) return ctx.fail(s.error());
    target += (i ? "&filter=" : "?filter=") + urlEncode(f.filters[i]);
  }
  auto nets = ctx.api().json("GET", target);
  if (!nets) return ctx.fail(nets.error());
  if (!nets->is_array()) return ctx.fail(internalError("list networks: not an array"));
  std::vector<json> objects;
  for (const auto& n : *nets) objects.push_back(networkObject(n, !f.no_trunc));
  std::stable_sort(objects.begin(), objects.end(), [](const json& a, const json& b) {
    return a["Name"].get_ref<const std::string&>() < b["Name"].get_ref<const std::string&>();
  });
  if (f.quiet) {
    for (const auto& n : objects)
      std::printf("%s\n", n["ID"].get_ref<const std::string&>().c_str());
    return;
  }
  if (!f.format.empty() && f.format != "table") {
    auto text = renderLines(objects, f.format);
    if (!text) return ctx.fail(text.error());
    std::fputs(text->c_str(), stdout);
    return;
  }
  Table table(networkHeader());
  for (const auto& n : objects) table.add(networkRow(n));
  std::fputs(table.render().c_str(), stdout);
}

void remove(Context& ctx, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (auto r = ctx.api().call("DELETE", networkPath(n)); !r) {
      ctx.fail(r.error());
      continue;
    }
    std::printf("%s\n", n.c_str());
  }
}

struct ConnectFlags {
  std::string network, container, ip;
  std::vector<std::string> aliases;
  bool force = false;  // disconnect
};

void connect(Context& ctx, const ConnectFlags& f) {
  auto body = networkConnectBody(f.container, f.ip, f.aliases);
  if (!body) return ctx.fail(body.error());
  if (auto r = ctx.api().call("POST", networkPath(f.network) + "/connect", *body); !r)
    ctx.fail(r.error());
}

void disconnect(Context& ctx, const ConnectFlags& f) {
  json body = {{"container", f.container}, {"force", f.force}};
  if (auto r = ctx.api().call("POST", networkPath(f.network) + "/disconnect", body); !r)
    ctx.fail(r.error());
}

void prune(Context& ctx, bool force) {
  if (!force && !confirm("WARNING! This will remove all custom networks not used by at least "
                         "one container."))
    return;
  auto r = ctx.api().json("POST", "/v1/networks/prune");
  if (!r) return ctx.fail(r.error());
  auto deleted = r->value("deleted", json::array());
  if (!deleted.empty()) std::printf("Deleted Networks:\n");
  for (const auto& n : deleted) std::printf("%s\n", n.get<std::string>().c_str());
}

}  // namespace

void addNetworkVerbs(CLI::App& app, Context& ctx) {
  auto* network = app.add_subcommand("network", "manage networks");
  network->require_subcommand(1);

  auto cf = std::make_shared<NetworkCreateFlags>();
  auto* create_cmd = network->add_subcommand("create", "create a network; prints its id");
  create_cmd->add_option("-d,--driver", cf->driver, "bridge (default) or macvlan");
  create_cmd->add_option("--subnet", cf->subnet, "CIDR (default: a free /24 of 10.89.0.0/16)");
  create_cmd->add_option("--gateway", cf->gateway, "gateway address in the subnet");
  create_cmd->add_option("--ip-range", cf->ip_range, "CIDR in the subnet to allocate from");
  create_cmd->add_flag("--internal", cf->internal, "no traffic to or from outside");
  create_cmd->add_option("-o,--opt", cf->options, "driver option KEY=VALUE (parent=IFACE)")
      ->allow_extra_args(false);
  create_cmd->add_option("--label", cf->labels, "KEY=VALUE")->allow_extra_args(false);
  create_cmd->add_option("name", cf->name, "network name")->required();
  create_cmd->callback([&ctx, cf] { create(ctx, *cf); });

  auto lf = std::make_shared<ListFlags>();
  auto* ls = network->add_subcommand("ls", "list networks");
  ls->alias("list");
  ls->add_flag("-q,--quiet", lf->quiet, "only ids");
  ls->add_flag("--no-trunc", lf->no_trunc, "full ids");
  ls->add_option("-f,--filter", lf->filters, "name=, driver=, label=K[=V]")
      ->allow_extra_args(false);
  ls->add_option("--format", lf->format, "table, json, or a template like {{.Name}}");
  ls->callback([&ctx, lf] { list(ctx, *lf); });

  auto names = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  auto* insp = network->add_subcommand("inspect", "show networks as JSON");
  insp->add_option("-f,--format", *format, "json, or a template like {{.Subnet}}");
  insp->add_option("networks", *names, "networks")->required();
  insp->callback([&ctx, names, format] { inspectObjects(ctx, *names, *format, "network"); });

  auto* rm = network->add_subcommand("rm", "remove networks");
  rm->alias("remove");
  rm->add_option("networks", *names, "networks")->required();
  rm->callback([&ctx, names] { remove(ctx, *names); });

  auto conn = std::make_shared<ConnectFlags>();
  auto* connect_cmd = network->add_subcommand("connect", "connect a container to a network");
  connect_cmd->add_option("--ip", conn->ip, "IPv4 address on the network");
  connect_cmd->add_option("--alias", conn->aliases, "another name on the network")
      ->allow_extra_args(false);
  connect_cmd->add_option("network", conn->network, "network")->required();
  connect_cmd->add_option("container", conn->container, "container")->required();
  connect_cmd->callback([&ctx, conn] { connect(ctx, *conn); });

  auto* disconnect_cmd =
      network->add_subcommand("disconnect", "disconnect a container from a network");
  disconnect_cmd->add_flag("-f,--force", conn->force, "even if the container is gone");
  disconnect_cmd->add_option("network", conn->network, "network")->required();
  disconnect_cmd->add_option("container", conn->container, "container")->required();
  disconnect_cmd->callback([&ctx, conn] { disconnect(ctx, *conn); });

  auto force = std::make_shared<bool>(false);
  auto* prune_cmd = network->add_subcommand("prune", "remove networks no container uses");
  prune_cmd->add_flag("-f,--force", *force, "do not ask");
  prune_cmd->callback([&ctx, force] { prune(ctx, *force); });
}

}  // namespace berth::cli
