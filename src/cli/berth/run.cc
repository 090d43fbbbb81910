// run and create: a container from an image, through berthd. run attaches to it (or
// prints its id with -d), starts it and exits with its exit code.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/berth/attach.h"
#include "cli/berth/run_options.h"
#include "cli/berth/terminal.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

void resize(Api& api, const std::string& path) {
  auto size = windowSize(0);
  if (!size) size = windowSize(1);
  if (!size || size->rows == 0) return;
  (void)api.call("POST", path + "/resize?h=" + std::to_string(size->rows) +
                             "&w=" + std::to_string(size->cols));
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errnoError("open " + quote(path), errno);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> hostEnv(const std::string& key) {
  const char* v = std::getenv(key.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

// Sends the create request; prints warnings. Errors are reported with exit code 125.
std::optional<std::string> create(Context& ctx, const RunFlags& flags) {
  auto body = createBody(flags, hostEnv, readFile);
  if (!body) {
    ctx.fail(body.error(), kExitDaemonError);
    return std::nullopt;
  }
  auto created = ctx.api().json("POST", "/v1/containers", *body);
  if (!created) {
    ctx.fail(created.error(), kExitDaemonError);
    return std::nullopt;
  }
  for (const auto& w : created->value("warnings", json::array()))
    if (w.is_string()) std::fprintf(stderr, "WARNING: %s\n", w.get<std::string>().c_str());
  return created->value("id", "");
}

// Exit code of a wait answer {"exit_code":N,"error":null|"…"|{"message":…}}.
Result<int> exitCodeOf(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("exit_code"))
    return internalError("wait: the daemon ended the wait without an exit code");
  const json& err = j["error"];
  if (err.is_string() && !err.get<std::string>().empty())
    return internalError("wait: " + err.get<std::string>());
  if (err.is_object() && err.contains("message"))
    return internalError("wait: " + err.value("message", ""));
  return j["exit_code"].get<int>();
}

void registerFlags(CLI::App* cmd, RunFlags& f, bool run) {
  cmd->set_help_flag("--help", "print this help");  // -h is --hostname, as in docker
  if (run) {
    cmd->add_flag("-d,--detach", f.detach, "run in the background and print the id");
  }
  cmd->add_flag("--rm", f.rm, "remove the container when it exits");
  cmd->add_flag("-i,--interactive", f.interactive, "keep stdin open (and attach it)");
  cmd->add_flag("-t,--tty", f.tty, "give the container a terminal");
  cmd->add_option("--name", f.name, "name of the container");
  cmd->add_option("-e,--env", f.env, "set an environment variable KEY=VALUE (or KEY)")
      ->allow_extra_args(false);
  cmd->add_option("--env-file", f.env_files, "read environment variables from a file")
      ->allow_extra_args(false);
  cmd->add_option("-l,--label", f.labels, "set a label KEY=VALUE")->allow_extra_args(false);
  cmd->add_option("--service", f.service,
                  "register in the service catalog as NAME[:PORT] while it runs");
  cmd->add_option("--service-tag", f.service_tags, "a tag of its catalog instance (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--service-check", f.service_check,
                  "its health check: tcp, http[:/PATH] or cmd:COMMAND");
  cmd->add_option("--service-check-interval", f.service_check_interval, "between checks (10s)");
  cmd->add_option("--service-check-timeout", f.service_check_timeout, "of one check (2s)");
  cmd->add_option("-w,--workdir", f.workdir, "working directory in the container");
  cmd->add_option("-u,--user", f.user, "user[:group] to run as");
  cmd->add_option("-h,--hostname", f.hostname, "container host name");
  cmd->add_option_function<std::string>(
      "--entrypoint", [&f](const std::string& v) { f.entrypoint = v; },
      "replace the image's entrypoint (\"\" clears it)");
  cmd->add_flag("--init", f.init, "run an init process that reaps zombies and forwards signals");
  cmd->add_option("-m,--memory", f.memory, "memory limit (e.g. 32m)");
  cmd->add_option("--cpus", f.cpus, "number of CPUs (e.g. 1.5)");
  cmd->add_option("--pids-limit", f.pids_limit, "process limit (-1: unlimited)");
  cmd->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs to run on (e.g. 0-1)");
  cmd->add_flag("--read-only", f.read_only, "mount the root filesystem read-only");
  cmd->add_option("--cap-add", f.cap_add, "add a capability")->allow_extra_args(false);
  cmd->add_option("--cap-drop", f.cap_drop, "drop a capability")->allow_extra_args(false);
  cmd->add_option("--security-opt", f.security_opts, "no-new-privileges")->allow_extra_args(false);
  cmd->add_option("--restart", f.restart, "no, on-failure[:N], always or unless-stopped");
  cmd->add_option("--health-cmd", f.health_cmd, "command that checks health (shell form)");
  cmd->add_option("--health-interval", f.health_interval, "time between checks (e.g. 30s)");
  cmd->add_option("--health-timeout", f.health_timeout, "time a check may take");
  cmd->add_option("--health-retries", f.health_retries, "failures in a row that mean unhealthy");
  cmd->add_option("--health-start-period", f.health_start_period, "grace time after start");
  cmd->add_flag("--no-healthcheck", f.no_healthcheck, "disable the image's HEALTHCHECK");
  cmd->add_option("-v,--volume", f.volumes, "SRC:DST[:ro] (SRC a host path or a volume)")
      ->allow_extra_args(false);
  cmd->add_option("--mount", f.mounts, "type=bind|volume|tmpfs,source=…,target=…[,readonly]")
      ->allow_extra_args(false);
  cmd->add_option("--tmpfs", f.tmpfs, "a tmpfs at PATH[:size=64m]")->allow_extra_args(false);
  cmd->add_option("--network,--net", f.network,
                  "bridge (default), none, host, container:NAME or a network's name");
  cmd->add_option("--ip", f.ip, "IPv4 address on the network");
  cmd->add_option("--mac-address", f.mac_address, "MAC address on the network");
  cmd->add_option("--network-alias", f.network_aliases, "another name on a user network")
      ->allow_extra_args(false);
  cmd->add_option("-p,--publish", f.publish, "[IP:][HOST_PORT:]CONTAINER_PORT[/udp], or ranges")
      ->allow_extra_args(false);
  cmd->add_flag("-P,--publish-all", f.publish_all, "publish exposed ports on free host ports");
  cmd->add_option("--expose", f.expose, "expose PORT[-END][/udp]")->allow_extra_args(false);
  cmd->add_option("--link", f.links, "NAME[:ALIAS] of a running container")
      ->allow_extra_args(false);
  cmd->add_option("--dns", f.dns, "DNS server address")->allow_extra_args(false);
  cmd->add_option("--stop-signal", f.stop_signal, "signal that stops the container");
  cmd->add_option("--stop-timeout", f.stop_timeout, "seconds before stop kills");
  cmd->add_option("--log-opt", f.log_opts, "max-size=10m, max-file=3")->allow_extra_args(false);
  cmd->add_option("image", f.image, "image to run")->required();
  cmd->add_option("command", f.cmd, "command and arguments (replace the image's Cmd)");
  cmd->positionals_at_end();
}

void run(Context& ctx, const RunFlags& flags) {
  auto id = create(ctx, flags);
  if (!id) return;
  if (flags.detach) {
    if (auto s = ctx.api().call("POST", containerPath(*id) + "/start"); !s) {
      ctx.fail(s.error(), startFailureCode(s.error().message(), kExitDaemonError));
      return;
    }
    std::printf("%s\n", id->c_str());
    return;
  }
  startAttached(ctx, {.id = *id,
                      .tty = flags.tty,
                      .stdin_open = flags.interactive,
                      .remove = flags.rm,
                      .start_failure_code = kExitDaemonError});
}

}  // namespace

int startFailureCode(const std::string& message, int otherwise) {
  for (const char* s : {"executable file not found", "no such file or directory"})
    if (message.find(s) != std::string::npos) return kExitNotFound;
  for (const char* s : {"permission denied", "is a directory", "exec format error"})
    if (message.find(s) != std::string::npos) return kExitCannotInvoke;
  return otherwise;
}

void startAttached(Context& ctx, const AttachedStart& how) {
  std::string path = containerPath(how.id);
  auto attach_api = ctx.newApi();
  auto conn = attach_api->hijack("POST", path + "/attach?stream=1&stdout=1&stderr=1" +
                                             std::string(how.stdin_open ? "&stdin=1" : ""));
  if (!conn) return ctx.fail(conn.error().context("attach to " + quote(how.id)), kExitDaemonError);
  // Registered before start: a fast container's exit cannot be missed.
  auto wait_api = ctx.newApi();
  auto waiter = wait_api->stream(
      "POST", path + "/wait?condition=" + std::string(how.remove ? "removed" : "next-exit"));
  if (!waiter)
    return ctx.fail(waiter.error().context("wait for " + quote(how.id)), kExitDaemonError);

  // With a terminal, signals are keystrokes: SIGWINCH resizes, and a signal sent to the
  // CLI itself detaches it (the container goes on), as docker does.
  std::vector<int> sigs =
      how.tty ? std::vector<int>{SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGQUIT} : forwardedSignals();
  SignalWatch watch(sigs);
  std::optional<RawTerminal> raw;
  if (how.tty && how.stdin_open) raw.emplace(0);

  if (auto s = ctx.api().call("POST", path + "/start"); !s) {
    raw.reset();
    ctx.fail(s.error(), startFailureCode(s.error().message(), how.start_failure_code));
    if (how.remove) (void)ctx.api().call("DELETE", path + "?force=1");
    return;
  }
  if (how.tty) resize(ctx.api(), path);

  PumpOptions options;
  options.tty = how.tty;
  options.send_stdin = how.stdin_open;
  options.signals = &watch;
  options.on_signal = [&](int sig) {
    if (sig == SIGWINCH) {
      if (how.tty) resize(ctx.api(), path);
      return true;
    }
    if (how.tty) return false;
    if (auto s = ctx.api().call("POST", path + "/kill?signal=" + std::to_string(sig)); !s)
      std::fprintf(stderr, "berth: forward signal %d: %s\n", sig, s.error().message().c_str());
    return true;
  };
  auto ended = pump(conn->fd.get(), conn->early_bytes, options);
  raw.reset();
  if (!ended) return ctx.fail(ended.error());
  if (*ended != 0) {  // the CLI was told to stop; the container goes on
    ctx.exit_code = 128 + *ended;
    return;
  }
  auto body = readAll(**waiter);
  if (!body) return ctx.fail(body.error().context("wait for " + quote(how.id)), kExitDaemonError);
  auto code = exitCodeOf(*body);
  if (!code) return ctx.fail(code.error(), kExitDaemonError);
  ctx.exit_code = *code;
}

void addRunVerb(CLI::App& app, Context& ctx) {
  auto run_flags = std::make_shared<RunFlags>();
  auto* run_cmd = app.add_subcommand("run", "run a command in a new container");
  registerFlags(run_cmd, *run_flags, /*run=*/true);
  run_cmd->callback([&ctx, run_flags] { run(ctx, *run_flags); });
}

void addCreateVerb(CLI::App& app, Context& ctx) {
  auto create_flags = std::make_shared<RunFlags>();
  auto* create_cmd = app.add_subcommand("create", "create a container (without starting it)");
  registerFlags(create_cmd, *create_flags, /*run=*/false);
  create_cmd->callback([&ctx, create_flags] {
    if (auto id = create(ctx, *create_flags)) std::printf("%s\n", id->c_str());
  });
}

}  // namespace berth::cli
