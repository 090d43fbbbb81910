// berth: the command line.

#include <unistd.h>

#include <algorithm>
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

namespace {

using AddVerbs = void (*)(CLI::App&, Context&);

// Every group of verbs, with the top-level names each registers.
struct VerbGroup {
  AddVerbs add;
  std::initializer_list<std::string_view> verbs;
};
const VerbGroup kGroups[] = {
    {addImageVerbs, {"images", "image", "rmi", "history", "tag"}},
    {addTransferVerbs, {"load", "save", "import"}},
    {addBuildVerb, {"build", "builder"}},
    {addRunVerb, {"run"}},
    {addCreateVerb, {"create"}},
    {addContainerVerbs,
     {"start", "stop", "restart", "kill", "rm", "pause", "unpause", "ps", "inspect", "wait",
      "rename", "top", "port", "container"}},
    {addContainerIoVerbs, {"logs", "stats"}},
    {addCopyVerb, {"cp"}},
    {addExecVerb, {"exec"}},
    {addVolumeVerbs, {"volume"}},
    {addNetworkVerbs, {"network"}},
    {addSystemVerbs, {"events", "version", "info", "system"}},
    {addKvVerbs, {"kv"}},
    {addCatalogVerbs, {"catalog"}},
    {addTemplateVerb, {"template"}},
};

// The verb of a command line: the first argument that is not a global option ("" when an
// option other than -H/--host comes first, e.g. --help or --version).
std::string_view verbOf(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-H" || a == "--host") {
      ++i;
      continue;
    }
    if (a.starts_with("--host=") || (a.starts_with("-H") && a.size() > 2)) continue;
    if (a.starts_with("-")) return "";
    return a;
  }
  return "";
}

// Registering every verb is ~3 ms of CLI11's bookkeeping at each start, more than the rest
// of a `berth run`'s own work in the CLI: only the group that holds the command line's verb
// is registered. Anything else (no verb, an unknown one, a table out of date) registers
// them all, so that parsing, errors and help are always those of the whole command line.
void addVerbs(CLI::App& app, Context& ctx, int argc, char** argv) {
  std::string_view verb = verbOf(argc, argv);
  const VerbGroup* added = nullptr;
  for (const auto& g : kGroups) {
    if (std::find(g.verbs.begin(), g.verbs.end(), verb) == g.verbs.end()) continue;
    g.add(app, ctx);
    std::string name(verb);
    if (!app.get_subcommands([&](CLI::App* sub) { return sub->check_name(name); }).empty()) return;
    added = &g;
    break;
  }
  for (const auto& g : kGroups) {
    if (&g != added) g.add(app, ctx);
  }
}

}  // namespace
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
  berth::cli::addVerbs(app, ctx, argc, argv);
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
