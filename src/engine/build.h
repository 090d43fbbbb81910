#pragma once
// `berth build`: a Dockerfile and a context directory become an image.
//
// Each stage starts from a local image, an earlier stage or scratch. Instructions that
// only change the config (ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME,
// STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER) add an empty-layer history entry.
// RUN runs in a container (the berth-runtime binary) over an overlay of the stage's
// snapshots, with its --mount's (cache, bind, tmpfs, secret: build_run.cc); its upper
// directory becomes the new layer and, already in overlay form, its snapshot. COPY and ADD
// fill a fresh directory from the context (minus .dockerignore), another stage or image,
// or (ADD) a URL, which becomes the layer the same way (build_copy.cc).
//
// The cache: a step whose key — the parent layer chain, the expanded instruction, the
// config it runs with, for COPY/ADD a hash of every source file's path, metadata and
// content (a URL's content is fetched each time to compute it), for RUN the content of its
// bind mounts — was built before reuses that layer without running anything. COPY --link
// leaves the parent chain out of its key. Keys live in <root>/build-cache.db (SQLite); a
// cached layer is used only while its blob still exists. Errors name the Dockerfile's line
// ("Dockerfile:3: FROM x: image 'x' does not exist…").

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "image/image_store.h"
#include "image/sqlite.h"

namespace berth::engine {

struct BuildOptions {
  std::string root = "/var/lib/berth";
  std::string runtime;  // the berth-runtime binary RUN steps are run with
  std::string runtime_root = "/run/berth/runtime";
  std::string context;     // directory
  std::string dockerfile;  // path; empty: <context>/Dockerfile
  std::vector<std::string> tags;
  std::map<std::string, std::string> build_args;
  std::string target;  // stage name; empty: the last stage
  bool no_cache = false;
  std::map<std::string, std::string> labels;  // added to the final image's config
  // RUN --mount=type=secret,id=ID reads secrets[ID]. Secrets are in no layer, no cache key
  // and no history; a step sees them in a tmpfs of its own.
  std::map<std::string, std::string> secrets;
  // Receives progress lines ("Step 2/7 : RUN make", " ---> Using cache") and what RUN
  // steps print (stdout and stderr, line by line).
  std::function<void(const std::string&)> progress;
};

// Builds into `store` (a handle the caller does not use meanwhile). A RUN step that exits
// non-zero is kInvalidArgument "The command '/bin/sh -c x' returned a non-zero code: N".
Result<image::ImageRecord> build(const BuildOptions& opts, image::ImageStore& store);

// The layer cache of the builds under `root` (<root>/build-cache.db), made if missing.
Result<std::unique_ptr<image::Db>> openBuildCache(const std::string& root);

}  // namespace berth::engine
