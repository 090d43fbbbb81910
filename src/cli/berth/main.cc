// berth: the command line.

#include <unistd.h>

#include <cstdio>

#include "common/progress.h"

#include "cli/berth/verbs.h"

namespace berth::cli {

void Context::fail(const Error& e) {
  std::fprintf(stderr, "berth: %s\n", e.message().c_str());
  exit_code = 1;
}

std::unique_ptr<image::ImageStore> Context::images() {
  auto s = image::ImageStore::open(root);
  if (!s) {
    fail(s.error());
    return nullptr;
  }
  return std::move(*s);
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  berth::cli::Context ctx;
  CLI::App app{"berth: images and containers", "berth"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("-v,--version", std::string("berth version ") + BERTH_VERSION);
  app.add_option("--root", ctx.root, "where berth keeps images (default /var/lib/berth)");
  berth::cli::addImageVerbs(app, ctx);
  berth::cli::addTransferVerbs(app, ctx);
  berth::cli::addRunVerb(app, ctx);
  berth::cli::addBuildVerb(app, ctx);
  // Transfers show a bar on a terminal and plain lines otherwise, on stderr so that
  // stdout stays the command's result.
  berth::progress::configure(
      ::isatty(2) ? berth::progress::Style::kBar : berth::progress::Style::kLines, 2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return ctx.exit_code;
}
