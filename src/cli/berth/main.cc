// berth: the command line.

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "common/progress.h"

#include "cli/berth/verbs.h"

namespace berth::cli {

void Context::fail(const Error& e, int code) {
  std::fflush(stdout);
  std::fprintf(stderr, "berth: %s\n", e.message().c_str());
  exit_code = code;
}

Api& Context::api() {
  if (!api_) api_ = newApi();
  return *api_;
}

std::unique_ptr<Api> Context::newApi() const { return std::make_unique<Api>(resolveHost(host)); }

bool confirm(const std::string& warning) {
  std::fprintf(stderr, "%s\nAre you sure you want to continue? [y/N] ", warning.c_str());
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  // A daemon that hangs up on a stream must give an error, not kill the CLI.
  std::signal(SIGPIPE, SIG_IGN);
  berth::cli::Context ctx;
  CLI::App app{"berth: containers and images", "berth"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION);
  app.add_option("-H,--host", ctx.host,
                 "berthd's socket (default $BERTH_HOST or unix:///run/berth/berth.sock)");
  berth::cli::addImageVerbs(app, ctx);
  berth::cli::addTransferVerbs(app, ctx);
  berth::cli::addBuildVerb(app, ctx);
  berth::cli::addRunVerb(app, ctx);
  berth::cli::addContainerVerbs(app, ctx);
  berth::cli::addContainerIoVerbs(app, ctx);
  berth::cli::addCopyVerb(app, ctx);
  berth::cli::addExecVerb(app, ctx);
  berth::cli::addVolumeVerbs(app, ctx);
  berth::cli::addNetworkVerbs(app, ctx);
  berth::cli::addSystemVerbs(app, ctx);
  berth::cli::addKvVerbs(app, ctx);
  berth::cli::addCatalogVerbs(app, ctx);
  berth::cli::addTemplateVerb(app, ctx);
  // Transfers show a bar on a terminal and plain lines otherwise, on stderr so that
  // stdout stays the command's result.
  berth::progress::configure(
      ::isatty(2) ? berth::progress::Style::kBar : berth::progress::Style::kLines, 2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 125, as docker's do; --help and --version exit 0.
    return app.exit(e) == 0 ? 0 : berth::cli::kExitDaemonError;
  }
  std::fflush(stdout);
  return ctx.exit_code;
}
