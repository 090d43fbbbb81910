// build: a Dockerfile and a context directory become an image.

#include <cstdio>

#include "cli/berth/verbs.h"
#include "common/strings.h"
#include "engine/build.h"

namespace berth::cli {

void addBuildVerb(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("build", "build an image from a Dockerfile");
  auto o = std::make_shared<engine::BuildOptions>();
  auto build_args = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("-t,--tag", o->tags, "NAME[:TAG] for the image")->allow_extra_args(false);
  cmd->add_option("-f,--file", o->dockerfile, "Dockerfile (default: CONTEXT/Dockerfile)");
  cmd->add_option("--build-arg", *build_args, "KEY=VALUE for an ARG")->allow_extra_args(false);
  cmd->add_option("--target", o->target, "build up to this stage");
  cmd->add_flag("--no-cache", o->no_cache, "run every step");
  cmd->add_flag("-q,--quiet", *quiet, "print only the image id");
  cmd->add_option("context", o->context, "build context directory")->required();
  cmd->callback([&ctx, o, build_args, quiet] {
    engine::BuildOptions opts = *o;
    opts.root = ctx.root;
    for (const auto& kv : *build_args) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos)
        return ctx.fail(invalidArgument("--build-arg " + quote(kv) + ": use KEY=VALUE"));
      opts.build_args[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (!*quiet) {
      opts.progress = [](const std::string& line) {
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      };
    }
    auto img = engine::build(opts);
    if (!img) return ctx.fail(img.error());
    if (*quiet) std::printf("%s\n", img->id.str().c_str());
  });
}

}  // namespace berth::cli
