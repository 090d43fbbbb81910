#pragma once
// `berth build`: a Dockerfile and a context directory become an image.
//
// Each stage starts from a local image, an earlier stage or scratch. Instructions that
// only change the config (ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, EXPOSE, LABEL, VOLUME,
// STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER) add an empty-layer history entry.
// RUN runs in a container (the berth-runtime binary) over an overlay of the stage's snapshots; its
// upper directory becomes the new layer and, already in overlay form, its snapshot. COPY
// and ADD fill a fresh directory from the context (minus .dockerignore) or from another
// stage, which becomes the layer the same way.
//
// The cache: a step whose key — the parent layer chain, the expanded instruction, the
// config it runs with and, for COPY/ADD, a hash of every source file's path, metadata and
// content — was built before reuses that layer without running anything. Keys live in
// <root>/build-cache.db (SQLite); a cached layer is used only while its blob and snapshot
// still exist.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "image/image_store.h"

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
  // Receives progress lines ("Step 2/7 : RUN make", " ---> Using cache") and what RUN
  // steps print (stdout and stderr, line by line).
  std::function<void(const std::string&)> progress;
};

// Builds into `store` (a handle the caller does not use meanwhile). A RUN step that exits
// non-zero is kInvalidArgument "The command '/bin/sh -c x' returned a non-zero code: N".
Result<image::ImageRecord> build(const BuildOptions& opts, image::ImageStore& store);

}  // namespace berth::engine
