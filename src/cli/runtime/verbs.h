#pragma once
// berth-runtime's verbs, one file each, over the runtime library. Each add* registers a
// subcommand on the app; its callback sets `ctx.exit_code` and reports errors through
// ctx.fail, which prints them and, with --log-format json, writes them to --log.

#include <CLI/CLI.hpp>
#include <string>

#include "common/result.h"
#include "runtime/state.h"

namespace berth::cli {

struct Context {
  std::string root = "/run/berth-runtime";
  std::string log_path;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  int exit_code = 0;

  runtime::StateStore store() const { return runtime::StateStore(root); }
  // Reports an error (stderr, and the log file when one is given) and sets exit code 1.
  void fail(const Error& e);
  // Absolute form of a path given relative to the caller's working directory.
  static std::string absolute(const std::string& path);
};

void addCreate(CLI::App& app, Context& ctx);
void addStart(CLI::App& app, Context& ctx);
void addState(CLI::App& app, Context& ctx);
void addKill(CLI::App& app, Context& ctx);
void addDelete(CLI::App& app, Context& ctx);
void addRun(CLI::App& app, Context& ctx);
void addExec(CLI::App& app, Context& ctx);
void addList(CLI::App& app, Context& ctx);
void addSpec(CLI::App& app, Context& ctx);
void addPs(CLI::App& app, Context& ctx);
void addPauseResume(CLI::App& app, Context& ctx);
void addUpdate(CLI::App& app, Context& ctx);

}  // namespace berth::cli
