// run: an image in the foreground, removed when it exits (until berthd manages containers).

#include "cli/berth/verbs.h"
#include "engine/local_run.h"

namespace berth::cli {

void addRunVerb(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("run", "run a command in a new container from an image");
  cmd->set_help_flag("--help", "print this help");  // -h is --hostname, as in docker
  auto o = std::make_shared<engine::LocalRunOptions>();
  auto args = std::make_shared<std::vector<std::string>>();
  auto entrypoint = std::make_shared<std::string>();
  auto network = std::make_shared<std::string>("none");
  cmd->add_flag("--rm")->group("");  // the container is always removed, for now
  cmd->add_flag("-t,--tty", o->spec.tty, "give the container a terminal");
  cmd->add_flag("-i,--interactive")->group("");  // stdin is always open
  cmd->add_option("-e,--env", o->spec.env, "set an environment variable KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_option("-w,--workdir", o->spec.workdir, "working directory in the container");
  cmd->add_option("-u,--user", o->spec.user, "user[:group] to run as");
  cmd->add_option("--entrypoint", *entrypoint, "replace the image's entrypoint");
  cmd->add_option("-h,--hostname", o->spec.hostname, "container host name");
  cmd->add_option("--network,--net", *network, "none (loopback only) or host")
      ->check(CLI::IsMember({"none", "host"}));
  cmd->add_option("image", o->image, "image to run")->required();
  cmd->add_option("command", *args, "command and arguments (replace the image's Cmd)");
  cmd->positionals_at_end();
  cmd->callback([&ctx, o, args, entrypoint, network] {
    engine::LocalRunOptions opts = *o;
    opts.root = ctx.root;
    opts.spec.command = *args;
    if (!entrypoint->empty()) opts.spec.entrypoint = std::vector<std::string>{*entrypoint};
    opts.spec.host_network = *network == "host";
    auto code = engine::runImage(opts);
    if (!code) return ctx.fail(code.error());
    ctx.exit_code = *code;
  });
}

}  // namespace berth::cli
