// run: create and start in one go; in the foreground it waits and returns the exit code.

#include "cli/runtime/verbs.h"
#include "runtime/container.h"

namespace berth::cli {

void addRun(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("run", "create and start a container, and wait for it");
  auto opts = std::make_shared<runtime::RunOptions>();
  opts->create.bundle = ".";
  cmd->add_option("-b,--bundle", opts->create.bundle, "bundle directory (holds config.json)");
  cmd->add_option("--pid-file", opts->create.pid_file, "write the container's host pid here");
  cmd->add_option("--console-socket", opts->create.console_socket,
                  "unix socket that receives the pty master");
  cmd->add_flag("-d,--detach", opts->detach, "return once the container runs");
  cmd->add_flag("--keep", opts->keep, "do not delete the container when it exits");
  cmd->add_flag("--no-pivot,--no-new-keyring")->group("");
  cmd->add_option("--preserve-fds", opts->create.preserve_fds,
                  "pass descriptors 3 … 3+N-1 to the container");
  cmd->add_option("id", opts->create.id, "container id")->required();
  cmd->callback([&ctx, opts] {
    runtime::RunOptions o = *opts;
    o.create.bundle = Context::absolute(o.create.bundle);
    o.create.pid_file = Context::absolute(o.create.pid_file);
    auto code = runtime::run(ctx.store(), o);
    if (!code) return ctx.fail(code.error());
    ctx.exit_code = *code;
  });
}

}  // namespace berth::cli
