// create, start, state, kill, delete, pause, resume: the verbs containerd and podman drive.

#include <cstdio>

#include "cli/runtime/verbs.h"
#include "common/signals.h"
#include "common/strings.h"
#include "runtime/container.h"
#include "sys/fs.h"

namespace berth::cli {

void addCreate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("create", "create a container from a bundle; it waits for start");
  auto opts = std::make_shared<runtime::CreateOptions>();
  opts->bundle = ".";
  cmd->add_option("-b,--bundle", opts->bundle, "bundle directory (holds config.json)");
  cmd->add_option("--pid-file", opts->pid_file, "write the container's host pid here");
  cmd->add_option("--console-socket", opts->console_socket,
                  "unix socket that receives the pty master");
  cmd->add_flag("--no-pivot,--no-new-keyring")->group("");
  cmd->add_option("--preserve-fds", opts->preserve_fds,
                  "pass descriptors 3 … 3+N-1 to the container");
  cmd->add_option("id", opts->id, "container id")->required();
  cmd->callback([&ctx, opts] {
    runtime::CreateOptions o = *opts;
    o.bundle = Context::absolute(o.bundle);
    o.pid_file = Context::absolute(o.pid_file);
    auto r = runtime::create(ctx.store(), o);
    if (!r) ctx.fail(r.error());
  });
}

void addStart(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("start", "start a created container");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&ctx, id] {
    if (auto s = runtime::start(ctx.store(), *id); !s) ctx.fail(s.error());
  });
}

void addState(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("state", "print the state of a container as JSON");
  auto id = std::make_shared<std::string>();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&ctx, id] {
    auto r = runtime::state(ctx.store(), *id);
    if (!r) return ctx.fail(r.error());
    std::printf("%s\n", r->c_str());
  });
}

void addKill(CLI::App& app, Context& ctx) {
  auto* cmd =
      app.add_subcommand("kill", "send a signal to a container's init (or all its processes)");
  auto id = std::make_shared<std::string>();
  auto sig = std::make_shared<std::string>("SIGTERM");
  auto all = std::make_shared<bool>(false);
  cmd->add_flag("-a,--all", *all, "signal every process of the container");
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("signal", *sig, "signal: a number, KILL or SIGKILL (default SIGTERM)");
  cmd->callback([&ctx, id, sig, all] {
    auto n = parseSignal(*sig);
    if (!n) return ctx.fail(n.error());
    if (auto s = runtime::kill(ctx.store(), *id, *n, *all); !s) ctx.fail(s.error());
  });
}

void addDelete(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("delete", "delete a stopped container and everything it used");
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd->add_flag("-f,--force", *force, "kill the container first if it runs");
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&ctx, id, force] {
    if (auto s = runtime::remove(ctx.store(), *id, *force); !s) ctx.fail(s.error());
  });
}

void addPauseResume(CLI::App& app, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto* p = app.add_subcommand("pause", "freeze every process of a container");
  p->add_option("id", *id, "container id")->required();
  p->callback([&ctx, id] {
    if (auto s = runtime::pause(ctx.store(), *id); !s) ctx.fail(s.error());
  });
  auto* r = app.add_subcommand("resume", "thaw a paused container");
  r->add_option("id", *id, "container id")->required();
  r->callback([&ctx, id] {
    if (auto s = runtime::resume(ctx.store(), *id); !s) ctx.fail(s.error());
  });
}

void addUpdate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("update", "change the resource limits of a container");
  auto file = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  cmd->add_option("-r,--resources", *file, "JSON file with linux.resources ('-' for stdin)")
      ->required();
  cmd->add_option("id", *id, "container id")->required();
  cmd->callback([&ctx, file, id] {
    std::string path = *file == "-" ? "/dev/stdin" : Context::absolute(*file);
    auto text = sys::readFile(path);
    if (!text) return ctx.fail(text.error().context("update"));
    auto resources = runtime::parseResourcesJson(*text);
    if (!resources) return ctx.fail(resources.error().context("update: read " + quote(*file)));
    if (auto s = runtime::update(ctx.store(), *id, *resources); !s) ctx.fail(s.error());
  });
}

}  // namespace berth::cli
