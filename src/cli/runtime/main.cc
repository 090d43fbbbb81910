// berth-runtime: an OCI runtime with runc's command-line contract.

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "cli/runtime/verbs.h"
#include "common/log.h"
#include "common/strings.h"
#include "sys/socket.h"

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

namespace {

// A pooled runtime (src/monitor/protocol.h, "Pooled runtimes") waits on `sock` for its
// command line: one message of NUL-terminated strings, the working directory first, then
// the arguments after argv[0], with descriptors 0, 1 and 2 for the command attached.
// Returns false when the monitor closed the socket without a request, or it was malformed
// (then the reason is on stderr).
bool awaitRequest(int sock, std::vector<std::string>* args) {
  // "R": loaded and waiting (the monitor tells berthd only then that it is ready).
  if (::send(sock, "R", 1, MSG_NOSIGNAL) != 1) return false;
  auto m = sys::recvMessage(sock, 64 * 1024, 3);
  ::close(sock);
  if (!m) {
    std::fprintf(stderr, "berth-runtime: %s\n", m.error().message().c_str());
    return false;
  }
  if (m->data.empty() && m->fds.empty()) return false;
  bool ok = m->fds.size() == 3 && !m->data.empty() && m->data.back() == '\0';
  for (size_t i = 0; ok && i < 3; ++i)
    ok = ::dup2(m->fds[i], static_cast<int>(i)) == static_cast<int>(i);
  for (int fd : m->fds)
    if (fd > 2) ::close(fd);
  std::vector<std::string> parts;
  if (ok) {
    parts = split(m->data.substr(0, m->data.size() - 1), '\0');
    ok = parts.size() >= 2 && ::chdir(parts[0].c_str()) == 0;
  }
  if (!ok) {
    std::fprintf(stderr, "berth-runtime: a malformed request from the monitor\n");
    return false;
  }
  args->assign(parts.begin() + 1, parts.end());
  return true;
}

}  // namespace

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
  // Pooled: everything so far (loading, relocations, the command line's bookkeeping) is
  // paid before the container exists; its request gives the real command line.
  std::vector<std::string> request;
  std::vector<char*> request_argv;
  if (argc == 3 && std::string_view(argv[1]) == "--await-request") {
    auto sock = berth::parseInt(argv[2]);
    if (!sock || !berth::cli::awaitRequest(static_cast<int>(*sock), &request)) return 1;
    // The pool ran at idle priority; the container's create is urgent again.
    struct sched_param none {};
    ::sched_setscheduler(0, SCHED_OTHER, &none);
    request_argv.push_back(argv[0]);
    for (auto& a : request) request_argv.push_back(a.data());
    request_argv.push_back(nullptr);
    argc = static_cast<int>(request.size() + 1);
    argv = request_argv.data();
  }
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
