// list and ps: what exists, as a table or JSON.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/runtime/verbs.h"
#include "runtime/container.h"

namespace berth::cli {

void addList(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("list", "list containers");
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", *quiet, "print only ids");
  cmd->callback([&ctx, format, quiet] {
    auto store = ctx.store();
    auto ids = store.list();
    if (!ids) return ctx.fail(ids.error());
    nlohmann::json all = nlohmann::json::array();
    if (*format == "table" && !*quiet)
      std::printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
                  "OWNER");
    for (const auto& id : *ids) {
      auto st = store.load(id);
      if (!st) continue;
      auto status = runtime::currentStatus(*st, store);
      int pid = status == runtime::ContainerStatus::kStopped ? 0 : st->pid;
      if (*quiet) {
        std::printf("%s\n", id.c_str());
      } else if (*format == "json") {
        all.push_back({{"ociVersion", "1.0.2"},
                       {"id", id},
                       {"pid", pid},
                       {"status", runtime::statusName(status)},
                       {"bundle", st->bundle},
                       {"rootfs", st->rootfs},
                       {"created", st->created},
                       {"owner", st->owner},
                       {"annotations", st->annotations}});
      } else {
        std::printf("%-20s %-8d %-10s %-40s %-32s %s\n", id.c_str(), pid,
                    runtime::statusName(status), st->bundle.c_str(), st->created.c_str(),
                    st->owner.c_str());
      }
    }
    if (*format == "json" && !*quiet) std::printf("%s\n", all.dump().c_str());
  });
}

void addPs(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("ps", "list the processes of a container");
  auto format = std::make_shared<std::string>("table");
  auto id = std::make_shared<std::string>();
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&ctx, format, id] {
    auto pids = runtime::processes(ctx.store(), *id);
    if (!pids) return ctx.fail(pids.error());
    if (*format == "json") {
      std::printf("%s\n", nlohmann::json(*pids).dump().c_str());
      return;
    }
    std::printf("PID\n");
    for (pid_t p : *pids) std::printf("%d\n", p);
  });
}

}  // namespace berth::cli
