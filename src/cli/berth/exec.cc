// exec: a command in a running container, attached like run, exiting with its code.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "cli/berth/attach.h"
#include "cli/berth/run_options.h"
#include "cli/berth/terminal.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

struct ExecFlags {
  bool detach = false, interactive = false, tty = false;
  std::vector<std::string> env;
  std::string workdir, user, container;
  std::vector<std::string> cmd;
};

void resize(Api& api, const std::string& exec_path) {
  auto size = windowSize(0);
  if (!size) size = windowSize(1);
  if (!size || size->rows == 0) return;
  (void)api.call("POST", exec_path + "/resize?h=" + std::to_string(size->rows) +
                             "&w=" + std::to_string(size->cols));
}

// The exec's exit code once the daemon has it (the output can end a moment before the
// process is reaped).
Result<int> exitCode(Api& api, const std::string& exec_path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    auto info = BERTH_TRY(api.json("GET", exec_path));
    const json& code = info.contains("exit_code") ? info["exit_code"] : json();
    if (code.is_number_integer() && !info.value("running", false)) return code.get<int>();
    if (std::chrono::steady_clock::now() > deadline)
      return internalError("exec: no exit code from the daemon after the output ended");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void exec(Context& ctx, const ExecFlags& f) {
  std::vector<std::string> env;
  for (const auto& e : f.env) {
    auto entries = parseEnvFile(e, [](const std::string& k) -> std::optional<std::string> {
      const char* v = std::getenv(k.c_str());
      return v ? std::optional<std::string>(v) : std::nullopt;
    });
    if (!entries)
      return ctx.fail(invalidArgument("invalid -e " + quote(e) + ": " + entries.error().message()),
                      kExitDaemonError);
    env.insert(env.end(), entries->begin(), entries->end());
  }
  json body = {{"cmd", f.cmd},   {"env", env},   {"workdir", f.workdir},
               {"user", f.user}, {"tty", f.tty}, {"stdin", f.interactive && !f.detach}};
  auto created = ctx.api().json("POST", "/v1/containers/" + urlEncode(f.container) + "/exec", body);
  if (!created) return ctx.fail(created.error(), kExitDaemonError);
  std::string exec_path = "/v1/exec/" + urlEncode(created->value("id", ""));
  if (f.detach) {
    if (auto s = ctx.api().call("POST", exec_path + "/start", json{{"detach", true}}); !s)
      ctx.fail(s.error(), kExitDaemonError);
    return;
  }
  // Without a terminal a signal to the CLI just ends it (docker does not forward signals
  // to an exec); with one, SIGWINCH resizes.
  SignalWatch watch({SIGWINCH});
  std::optional<RawTerminal> raw;
  if (f.tty && f.interactive) raw.emplace(0);
  auto start_api = ctx.newApi();
  // tty again at start, as docker's clients send it (the daemon may frame output otherwise).
  auto conn =
      start_api->hijack("POST", exec_path + "/start", json{{"detach", false}, {"tty", f.tty}});
  if (!conn) {
    raw.reset();
    return ctx.fail(conn.error(), startFailureCode(conn.error().message(), kExitDaemonError));
  }
  if (f.tty) resize(ctx.api(), exec_path);
  PumpOptions options;
  options.tty = f.tty;
  options.send_stdin = f.interactive;
  options.signals = &watch;
  options.on_signal = [&](int) {
    if (f.tty) resize(ctx.api(), exec_path);
    return true;
  };
  auto ended = pump(conn->fd.get(), conn->early_bytes, options);
  raw.reset();
  if (!ended) return ctx.fail(ended.error());
  auto code = exitCode(ctx.api(), exec_path);
  if (!code) return ctx.fail(code.error());
  ctx.exit_code = *code;
}

}  // namespace

void addExecVerb(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ExecFlags>();
  auto* cmd = app.add_subcommand("exec", "run a command in a running container");
  cmd->add_flag("-d,--detach", f->detach, "run it in the background");
  cmd->add_flag("-i,--interactive", f->interactive, "attach stdin");
  cmd->add_flag("-t,--tty", f->tty, "give it a terminal");
  cmd->add_option("-e,--env", f->env, "set an environment variable KEY=VALUE (or KEY)")
      ->allow_extra_args(false);
  cmd->add_option("-w,--workdir", f->workdir, "working directory");
  cmd->add_option("-u,--user", f->user, "user[:group] to run as");
  cmd->add_option("container", f->container, "container")->required();
  cmd->add_option("command", f->cmd, "command and arguments")->required();
  cmd->positionals_at_end();
  cmd->callback([&ctx, f] { exec(ctx, *f); });
}

}  // namespace berth::cli
