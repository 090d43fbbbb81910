#pragma once
// The berth command line: docker-like verbs, one file per group, over the image library
// (later over the daemon's API). Each add* registers subcommands; callbacks set
// ctx.exit_code and report errors through ctx.fail.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "common/result.h"
#include "image/image_store.h"

namespace berth::cli {

struct Context {
  std::string root = "/var/lib/berth";
  int exit_code = 0;

  void fail(const Error& e);
  // Opens the image store under --root, or reports why not (nullptr then).
  std::unique_ptr<image::ImageStore> images();
};

void addImageVerbs(CLI::App& app,
                   Context& ctx);  // images, image inspect/ls/rm/prune, history, tag, rmi
void addTransferVerbs(CLI::App& app, Context& ctx);  // load, save, import
void addRunVerb(CLI::App& app, Context& ctx);        // run
void addBuildVerb(CLI::App& app, Context& ctx);      // build

// "3 minutes ago" from an RFC 3339 time.
std::string humanSince(const std::string& rfc3339);
// "2.1MB", as docker prints sizes.
std::string humanSize(uint64_t bytes);

}  // namespace berth::cli
