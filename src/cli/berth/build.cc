// build: a Dockerfile and a context directory become an image, built by berthd. The
// context goes to the daemon as a tar, without what .dockerignore excludes (the Dockerfile
// and .dockerignore themselves always go). A Dockerfile from outside the context (-f PATH,
// or -f - for stdin) travels inside the tar as docker's CLI sends it: under a directory of
// a random name that the .dockerignore sent along excludes, so no COPY sees it.

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <random>
#include <thread>

#include "cli/berth/copy_archive.h"
#include "cli/berth/verbs.h"
#include "common/base64.h"
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
  std::vector<std::string> secrets;
  std::string target;
  bool no_cache = false;
  bool quiet = false;
  std::string context;
};

// Where the Dockerfile is for the daemon: a path inside the context, or (from outside it)
// the entries that carry it and the .dockerignore that hides them.
struct DockerfilePlan {
  std::string path;               // in the context, as sent
  std::vector<ExtraEntry> extra;  // added to the context's tar
  bool replace_ignore = false;    // the context's own .dockerignore is not sent as is
};

std::string randomHex(int n) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < n; ++i) out += "0123456789abcdef"[rd() % 16];
  return out;
}

Result<DockerfilePlan> planDockerfile(const BuildFlags& f) {
  if (f.dockerfile.empty()) return DockerfilePlan{"Dockerfile", {}, false};
  std::string text;
  std::string name = "Dockerfile";
  if (f.dockerfile == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    char ctx[PATH_MAX], df[PATH_MAX];
    if (!::realpath(f.context.c_str(), ctx))
      return errnoError("build: context " + quote(f.context), errno);
    if (!::realpath(f.dockerfile.c_str(), df))
      return errnoError("build: Dockerfile " + quote(f.dockerfile), errno);
    std::string root = std::string(ctx) + "/";
    if (std::string(df).starts_with(root))
      return DockerfilePlan{std::string(df).substr(root.size()), {}, false};
    if (sys::isDirectory(df))
      return invalidArgument("build: Dockerfile " + quote(f.dockerfile) + " is a directory");
    text = BERTH_TRY(sys::readFile(df));
    name = std::string(df).substr(std::string(df).rfind('/') + 1);  // errors name it
  }
  std::string dir = ".dockerfile." + randomHex(20);
  std::string ignore;
  auto existing = sys::readFile(f.context + "/.dockerignore");
  if (existing) {
    ignore = *existing + "\n";
  } else if (existing.error().code() == ErrorCode::kNotFound) {
    ignore = ".dockerignore\n";
  } else {
    return existing.error().context("build");
  }
  DockerfilePlan plan;
  plan.path = dir + "/" + name;
  plan.replace_ignore = true;
  plan.extra = {{dir, "", 0755, true},
                {plan.path, text, 0644, false},
                {".dockerignore", ignore + dir + "\n", 0644, false}};
  return plan;
}

// --secret id=ID[,src=FILE | ,env=VAR] (type=file|env as docker buildx takes it) → the
// X-Berth-Build-Secrets header's JSON.
Result<std::string> secretsHeader(const std::vector<std::string>& specs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& spec : specs) {
    std::string id, src, env, type;
    for (const auto& field : split(spec, ',')) {
      size_t eq = field.find('=');
      std::string key = field.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : field.substr(eq + 1);
      if (key == "id") {
        id = value;
      } else if (key == "src" || key == "source") {
        src = value;
      } else if (key == "env") {
        env = value;
      } else if (key == "type" && (value == "file" || value == "env")) {
        type = value;
      } else {
        return invalidArgument("--secret " + quote(spec) + ": unknown field " + quote(field) +
                               " (use id=ID,src=FILE or id=ID,env=VAR)");
      }
    }
    if (id.empty()) return invalidArgument("--secret " + quote(spec) + ": needs id=ID");
    if (src.empty() && env.empty()) (type == "env" ? env : src) = id;
    std::string content;
    if (!src.empty()) {
      auto text = sys::readFile(src);
      if (!text) return text.error().context("--secret " + quote(spec));
      content = *text;
    } else {
      const char* value = std::getenv(env.c_str());
      if (!value)
        return notFound("--secret " + quote(spec) + ": no environment variable " + quote(env));
      content = value;
    }
    out[id] = base64Encode(content);
  }
  return out.dump();
}

Status build(Context& ctx, const BuildFlags& f) {
  if (!sys::isDirectory(f.context))
    return notFound("build: context " + quote(f.context) + " is not a directory");
  DockerfilePlan df = BERTH_TRY(planDockerfile(f));
  std::map<std::string, std::string> headers;
  if (!f.secrets.empty()) headers["X-Berth-Build-Secrets"] = BERTH_TRY(secretsHeader(f.secrets));
  std::string target = "/v1/images/build?dockerfile=" + urlEncode(df.path);
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
    if (rel == ".dockerignore") return df.replace_ignore;
    return rel != df.path && ignore.ignored(rel);
  };
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  sys::Fd read_end(fds[0]), write_end(fds[1]);
  Status packed;
  std::thread packer([&] {
    packed = packPath(f.context, "", false, write_end.get(), skip, df.extra);
    write_end.reset();
  });
  bool quiet = f.quiet;
  auto r = postArchive(
      ctx, target, read_end.get(), quiet ? "" : "Sending build context", 0,
      [quiet](const std::string& line) {
        if (quiet) return;
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
      },
      headers);
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
  cmd->add_option("-f,--file", f->dockerfile,
                  "Dockerfile, inside the context or not; - reads stdin (default: "
                  "CONTEXT/Dockerfile)");
  cmd->add_option("--build-arg", f->build_args, "KEY=VALUE for an ARG (KEY: from the environment)")
      ->allow_extra_args(false);
  cmd->add_option("--label", f->labels, "KEY=VALUE for the image's labels")
      ->allow_extra_args(false);
  cmd->add_option("--secret", f->secrets,
                  "id=ID,src=FILE or id=ID,env=VAR: a secret for RUN --mount=type=secret")
      ->allow_extra_args(false);
  cmd->add_option("--target", f->target, "build up to this stage");
  cmd->add_flag("--no-cache", f->no_cache, "run every step");
  cmd->add_flag("-q,--quiet", f->quiet, "print only the image id");
  cmd->add_option("context", f->context, "build context directory")->required();
  cmd->callback([&ctx, f] {
    if (auto s = build(ctx, *f); !s) ctx.fail(s.error());
  });

  // `builder prune`: the layer cache and RUN --mount=type=cache directories.
  auto* builder = app.add_subcommand("builder", "manage the build cache");
  builder->require_subcommand(1);
  auto yes = std::make_shared<bool>(false);
  auto* prune = builder->add_subcommand("prune", "remove the build cache");
  prune->add_flag("-f,--force", *yes, "do not ask");
  prune->callback([&ctx, yes] {
    if (!*yes && !confirm("WARNING! This will remove all build cache.")) return;
    auto r = ctx.api().json("POST", "/v1/build/prune");
    if (!r) return ctx.fail(r.error());
    nlohmann::json deleted = r->value("deleted", nlohmann::json::array());
    if (!deleted.empty()) {
      std::printf("Deleted build cache objects:\n");
      for (const auto& id : deleted) std::printf("%s\n", id.get<std::string>().c_str());
      std::printf("\n");
    }
    std::printf("Total reclaimed space: %s\n",
                humanSize(r->value("space_reclaimed", uint64_t{0})).c_str());
  });
}

}  // namespace berth::cli
