// berth-runtime: an OCI runtime with runc's command-line contract.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/runtime/verbs.h"
#include "common/log.h"
#include "common/strings.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.0.0"
#endif
#ifndef BERTH_COMMIT
#define BERTH_COMMIT "unknown"
#endif

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer stops the world with ptrace at exit, which spins forever once `exec` has
// joined a container's pid namespace; callers such as conmon do not pass ASAN_OPTIONS on.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

namespace berth::cli {

void Context::fail(const Error& e) {
  std::fprintf(stderr, "berth-runtime: %s\n", e.message().c_str());
  if (log::toFile()) log::error(e.message());
  exit_code = 1;
}

std::string Context::absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return path;
  std::string cwd = buf;
  if (path == ".") return cwd;
  return cwd + "/" + path;
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  using berth::cli::Context;
  Context ctx;
  CLI::App app{"berth-runtime: run containers from OCI bundles", "berth-runtime"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("-v,--version", std::string("berth-runtime version ") + BERTH_VERSION +
                                           "\ncommit: " + BERTH_COMMIT + "\nspec: 1.0.2");
  app.add_option("--root", ctx.root, "directory for container state");
  app.add_option("--log", ctx.log_path, "log file (errors and warnings)");
  app.add_option("--log-format", ctx.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", ctx.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", ctx.systemd_cgroup, "use systemd for cgroups (not supported)");
  std::string ignored;
  app.add_option("--rootless", ignored, "accepted for compatibility")->group("");
  app.add_option("--criu", ignored, "accepted for compatibility")->group("");

  berth::cli::addCreate(app, ctx);
  berth::cli::addStart(app, ctx);
  berth::cli::addState(app, ctx);
  berth::cli::addKill(app, ctx);
  berth::cli::addDelete(app, ctx);
  berth::cli::addRun(app, ctx);
  berth::cli::addExec(app, ctx);
  berth::cli::addList(app, ctx);
  berth::cli::addSpec(app, ctx);
  berth::cli::addPs(app, ctx);
  berth::cli::addPauseResume(app, ctx);
  berth::cli::addUpdate(app, ctx);

  app.parse_complete_callback([&] {
    berth::log::configure(ctx.log_path, ctx.log_format == "json",
                          ctx.debug ? berth::log::Level::kDebug : berth::log::Level::kWarn);
    if (ctx.systemd_cgroup) {
      ctx.fail(berth::unsupported(
          "--systemd-cgroup is not supported: berth-runtime manages cgroups through cgroupfs; "
          "configure your engine to use the cgroupfs manager"));
      std::exit(ctx.exit_code);
    }
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    // An unknown verb reaches CLI11 as "a subcommand is required": say what it was.
    std::vector<std::string> rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty()) {
      berth::log::configure(ctx.log_path, ctx.log_format == "json", berth::log::Level::kWarn);
      ctx.fail(berth::invalidArgument("unknown command " + berth::quote(rest.front()) +
                                      " (see berth-runtime --help)"));
      return ctx.exit_code;
    }
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && !ctx.log_path.empty()) {
      berth::log::configure(ctx.log_path, ctx.log_format == "json", berth::log::Level::kWarn);
      berth::log::error(e.what());
    }
    return app.exit(e);
  }
  return ctx.exit_code;
}
