// build: a Dockerfile and a context directory become an image, built by berthd. The
// context goes to the daemon as a tar, without what .dockerignore excludes (the Dockerfile
// and .dockerignore themselves always go).

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "cli/berth/copy_archive.h"
#include "cli/berth/verbs.h"
#include "common/ignore_rules.h"
#include "common/strings.h"
#include "sys/fd.h"
#include "sys/fs.h"

namespace berth::cli {

namespace {

struct BuildFlags {
  std::vector<std::string> tags;
  std::string dockerfile;
  std::vector<std::string> build_args;
  std::vector<std::string> labels;
  std::string target;
  bool no_cache = false;
  bool quiet = false;
  std::string context;
};

// The Dockerfile's path inside the context ("Dockerfile" by default).
Result<std::string> dockerfileInContext(const BuildFlags& f) {
  if (f.dockerfile.empty()) return std::string("Dockerfile");
  char ctx[PATH_MAX], df[PATH_MAX];
  if (!::realpath(f.context.c_str(), ctx))
    return errnoError("build: context " + quote(f.context), errno);
  if (!::realpath(f.dockerfile.c_str(), df))
    return errnoError("build: Dockerfile " + quote(f.dockerfile), errno);
  std::string root = std::string(ctx) + "/";
  if (!std::string(df).starts_with(root))
    return invalidArgument("build: the Dockerfile " + quote(f.dockerfile) +
                           " must be inside the build context " + quote(f.context));
  return std::string(df).substr(root.size());
}

Status build(Context& ctx, const BuildFlags& f) {
  if (!sys::isDirectory(f.context))
    return notFound("build: context " + quote(f.context) + " is not a directory");
  std::string dockerfile = BERTH_TRY(dockerfileInContext(f));
  std::string target = "/v1/images/build?dockerfile=" + urlEncode(dockerfile);
  for (const auto& t : f.tags) target += "&t=" + urlEncode(t);
  for (const auto& kv : f.build_args) {
    if (kv.find('=') != std::string::npos) {
      target += "&build_arg=" + urlEncode(kv);
    } else if (const char* env = std::getenv(kv.c_str())) {  // --build-arg K: from here
      target += "&build_arg=" + urlEncode(kv + "=" + env);
    }
  }
  for (const auto& kv : f.labels) {
    if (kv.empty() || kv[0] == '=')
      return invalidArgument("--label " + quote(kv) + ": use KEY=VALUE");
    target += "&label=" + urlEncode(kv.find('=') == std::string::npos ? kv + "=" : kv);
  }
  if (!f.target.empty()) target += "&target=" + urlEncode(f.target);
  if (f.no_cache) target += "&no_cache=1";

  IgnoreRules ignore;
  if (auto text = sys::readFile(f.context + "/.dockerignore"); text) {
    ignore = IgnoreRules::parse(*text);
  } else if (text.error().code() != ErrorCode::kNotFound) {
    return text.error().context("build");
  }
  auto skip = [&](const std::string& rel) {
    return rel != dockerfile && rel != ".dockerignore" && ignore.ignored(rel);
  };
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  sys::Fd read_end(fds[0]), write_end(fds[1]);
  Status packed;
  std::thread packer([&] {
    packed = packPath(f.context, "", false, write_end.get(), skip);
    write_end.reset();
  });
  bool quiet = f.quiet;
  auto r = postArchive(ctx, target, read_end.get(), quiet ? "" : "Sending build context", 0,
                       [quiet](const std::string& line) {
                         if (quiet) return;
                         std::printf("%s\n", line.c_str());
                         std::fflush(stdout);
                       });
  read_end.reset();  // a failed upload stops the packer (EPIPE)
  packer.join();
  if (!packed) return packed.error().context("build: pack the context");
  if (!r) return r.error();
  if (quiet) std::printf("%s\n", r->value("id", "").c_str());
  return okStatus();
}

}  // namespace

void addBuildVerb(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("build", "build an image from a Dockerfile");
  auto f = std::make_shared<BuildFlags>();
  cmd->add_option("-t,--tag", f->tags, "NAME[:TAG] for the image")->allow_extra_args(false);
  cmd->add_option("-f,--file", f->dockerfile, "Dockerfile (default: CONTEXT/Dockerfile)");
  cmd->add_option("--build-arg", f->build_args, "KEY=VALUE for an ARG (KEY: from the environment)")
      ->allow_extra_args(false);
  cmd->add_option("--label", f->labels, "KEY=VALUE for the image's labels")
      ->allow_extra_args(false);
  cmd->add_option("--target", f->target, "build up to this stage");
  cmd->add_flag("--no-cache", f->no_cache, "run every step");
  cmd->add_flag("-q,--quiet", f->quiet, "print only the image id");
  cmd->add_option("context", f->context, "build context directory")->required();
  cmd->callback([&ctx, f] {
    if (auto s = build(ctx, *f); !s) ctx.fail(s.error());
  });
}

}  // namespace berth::cli
