#pragma once
// The berth command line: docker-like verbs, one file per group, speaking berthd's native
// API (client.h). Each add* registers subcommands; callbacks set ctx.exit_code and report
// errors through ctx.fail.

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cli/berth/client.h"
#include "common/result.h"
#include "common/strings.h"

namespace berth::cli {

// Exit codes as docker's: a failed verb is 1; run/create failing before the container
// starts is 125; a command that cannot be run is 126 (not executable) or 127 (not found).
inline constexpr int kExitFailed = 1;
inline constexpr int kExitDaemonError = 125;
inline constexpr int kExitCannotInvoke = 126;
inline constexpr int kExitNotFound = 127;

struct Context {
  std::string host;  // -H/--host; empty: $BERTH_HOST or the default socket
  int exit_code = 0;

  // Prints "berth: message" on stderr and sets exit_code (1 unless given).
  void fail(const Error& e, int code = kExitFailed);
  // The connection to berthd, made on first use.
  Api& api();
  // Another connection, for a stream held open while api() sends requests.
  std::unique_ptr<Api> newApi() const;

 private:
  std::unique_ptr<Api> api_;
};

void addImageVerbs(CLI::App& app,
                   Context& ctx);  // images, image inspect/ls/rm/prune, history, tag, rmi
void addTransferVerbs(CLI::App& app, Context& ctx);  // load, save, import
void addRunVerb(CLI::App& app, Context& ctx);        // run
void addCreateVerb(CLI::App& app, Context& ctx);     // create
void addBuildVerb(CLI::App& app, Context& ctx);      // build
// create is in run.cc; start, stop, restart, kill, rm, ps, inspect, wait, rename, pause,
// unpause, top, port, container …
void addContainerVerbs(CLI::App& app, Context& ctx);
void addContainerIoVerbs(CLI::App& app, Context& ctx);  // logs, stats
void addCopyVerb(CLI::App& app, Context& ctx);          // cp
void addExecVerb(CLI::App& app, Context& ctx);          // exec
void addVolumeVerbs(CLI::App& app, Context& ctx);       // volume …
void addNetworkVerbs(CLI::App& app, Context& ctx);      // network …
void addSystemVerbs(CLI::App& app, Context& ctx);       // version, info, events, system …
void addKvVerbs(CLI::App& app, Context& ctx);           // kv get, put, rm, ls, watch
void addCatalogVerbs(CLI::App& app, Context& ctx);      // catalog register, deregister, ls, show
void addTemplateVerb(CLI::App& app, Context& ctx);      // template

// inspect: prints the named objects as a JSON array (or through a --format template). Each
// name is looked up as `type` ("container", "volume" or "network"), or when `type` is
// empty as a container, then a volume, then a network. A name not found is reported
// ("no such network: 'x'") and the others are still printed.
void inspectObjects(Context& ctx, const std::vector<std::string>& names, const std::string& format,
                    const std::string& type);

// "3 minutes ago" from unix seconds ("N/A" for 0).
std::string humanSince(int64_t unix_seconds);
// "2.1MB", as docker prints sizes.
std::string humanSize(uint64_t bytes);
// "/v1/images/<ref>", the API path of an image.
std::string imagePath(const std::string& ref);

// Sends what `fd` holds to its end as the tar body of `POST target` and follows the JSON
// lines that come back (transfer.cc): each {"progress": line} goes to `on_progress`; the
// answer's last object is the result, or its {"error"} the error. With a `label`, the
// upload shows progress on stderr (a bar on a terminal; `total` bytes, 0: unknown).
// `headers` go with the request (build's secrets).
Result<nlohmann::json> postArchive(Context& ctx, const std::string& target, int fd,
                                   const std::string& label, uint64_t total,
                                   const std::function<void(const std::string&)>& on_progress,
                                   const std::map<std::string, std::string>& headers = {});

// Attaches to a created (or stopped) container, starts it, pumps its streams until its
// output ends and returns its exit code (run, start -a). `remove`: the daemon removes
// it at exit (--rm), so wait for that too. Errors are already reported through ctx.
struct AttachedStart {
  std::string id;
  bool tty = false;
  bool stdin_open = false;  // send our stdin
  bool remove = false;
  int start_failure_code = kExitDaemonError;  // exit code when start itself fails
};
void startAttached(Context& ctx, const AttachedStart& how);

// docker's exit code for a failed start: 127 when the command was not found, 126 when it
// could not be executed, else `otherwise`.
int startFailureCode(const std::string& message, int otherwise);

// Asks "Are you sure you want to continue? [y/N]" on stderr and reads stdin.
bool confirm(const std::string& warning);

}  // namespace berth::cli
