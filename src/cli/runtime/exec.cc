// exec: run another process in a running container, from --process FILE or from args.

#include "runtime/exec.h"
#include "cli/runtime/verbs.h"
#include "common/strings.h"
#include "sys/fs.h"

namespace berth::cli {

namespace {

struct ExecFlags {
  std::string process_file, pid_file, console_socket, cwd, user;
  std::vector<std::string> env;
  bool detach = false, tty = false, no_new_privs = false;
  int preserve_fds = 0;
};

Result<runtime::Process> buildProcess(const Context& ctx, const ExecFlags& f, const std::string& id,
                                      const std::vector<std::string>& args) {
  runtime::Process p;
  if (!f.process_file.empty()) {
    std::string text = BERTH_TRY(sys::readFile(Context::absolute(f.process_file)));
    auto parsed = runtime::parseProcess(text);
    if (!parsed) return parsed.error().context("read --process " + quote(f.process_file));
    p = *parsed;
  } else {
    if (args.empty())
      return invalidArgument("exec: give a command after the container id, or --process FILE");
    p = BERTH_TRY(runtime::containerProcess(ctx.store(), id));
    p.args = args;
    p.terminal = f.tty;
  }
  for (const auto& e : f.env) p.env.push_back(e);
  if (!f.cwd.empty()) p.cwd = f.cwd;
  if (f.no_new_privs) p.no_new_privileges = true;
  if (!f.user.empty()) {
    auto parts = split(f.user, ':');
    auto uid = parseInt(parts[0]);
    auto gid = parts.size() > 1 ? parseInt(parts[1]) : std::optional<long long>(0);
    if (!uid || !gid || *uid < 0 || *gid < 0)
      return invalidArgument("--user " + quote(f.user) + ": use UID[:GID]");
    p.user.uid = static_cast<uint32_t>(*uid);
    p.user.gid = static_cast<uint32_t>(*gid);
  }
  return p;
}

}  // namespace

void addExec(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("exec", "run a process in a running container");
  auto f = std::make_shared<ExecFlags>();
  cmd->add_option("-p,--process", f->process_file, "JSON file with the OCI process object");
  cmd->add_option("--pid-file", f->pid_file, "write the process's host pid here");
  cmd->add_option("--console-socket", f->console_socket,
                  "unix socket that receives the pty master");
  cmd->add_option("--cwd", f->cwd, "working directory in the container");
  cmd->add_option("-e,--env", f->env, "extra environment variable KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_option("-u,--user", f->user, "UID[:GID]");
  cmd->add_flag("-d,--detach", f->detach, "return once the process runs");
  cmd->add_option("--preserve-fds", f->preserve_fds, "pass descriptors 3 … 3+N-1 to the process");
  cmd->add_flag("-t,--tty", f->tty, "give the process a terminal");
  cmd->add_flag("--no-new-privs", f->no_new_privs, "set no_new_privs");
  auto id_ptr = std::make_shared<std::string>();
  auto args_ptr = std::make_shared<std::vector<std::string>>();
  cmd->add_option("id", *id_ptr, "container id")->required();
  cmd->add_option("command", *args_ptr, "command and arguments (without --process)");
  cmd->positionals_at_end();  // after the id, "-c" and the like belong to the command
  cmd->callback([&ctx, f, id_ptr, args_ptr] {
    const std::string& id = *id_ptr;
    const std::vector<std::string>& args = *args_ptr;
    auto process = buildProcess(ctx, *f, id, args);
    if (!process) return ctx.fail(process.error());
    runtime::ExecOptions o;
    o.id = id;
    o.process = *process;
    if (f->tty) o.process.terminal = true;
    o.pid_file = Context::absolute(f->pid_file);
    o.console_socket = f->console_socket;
    o.detach = f->detach;
    o.preserve_fds = f->preserve_fds;
    auto code = runtime::exec(ctx.store(), o);
    if (!code) return ctx.fail(code.error());
    ctx.exit_code = *code;
  });
}

}  // namespace berth::cli
