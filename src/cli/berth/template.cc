// berth template SRC:DEST[:RELOAD_COMMAND]…: renders files from kv keys and service
// instances (the language: template.h), writes each DEST only when its content changes and
// then runs its reload command; once (--once, the default) or whenever what the templates
// read changes (--watch). As consul-template and confd do.
//
// The reload command is run by the CLI on the user's own request, with /bin/sh -c
// (template_run.h); berthd runs nothing for it.

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "cli/berth/template_run.h"
#include "cli/berth/template_source.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

namespace {

using tmpl::ChangeQueue;
using Clock = std::chrono::steady_clock;

struct TemplateFlags {
  std::vector<std::string> specs;
  bool once = false;
  bool watch = false;
  std::string wait;
  std::string key_file;
};

int g_stop_pipe = -1;  // the write end; the signal handler's only state

extern "C" void onStopSignal(int) {
  char byte = 0;
  (void)!::write(g_stop_pipe, &byte, 1);
}

// SIGINT and SIGTERM stop --watch between two rounds, never in the middle of a write: the
// handler writes to a pipe, and a thread turns that into ChangeQueue::stop.
Status stopOnSignals(const std::shared_ptr<ChangeQueue>& queue) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("create a pipe", errno);
  g_stop_pipe = fds[1];
  struct sigaction sa {};
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::thread([fd = fds[0], queue] {
    char byte;
    while (::read(fd, &byte, 1) < 0 && errno == EINTR) {
    }
    queue->stop();
  }).detach();
  return okStatus();
}

void report(const tmpl::TemplateSet::Round& round) {
  for (const auto& dest : round.written)
    std::fprintf(stderr, "berth template: wrote %s\n", quote(dest).c_str());
  for (const auto& e : round.errors)
    std::fprintf(stderr, "berth template: %s\n", e.message().c_str());
}

// --watch: a round at the start, then one after every change to what the last round read
// (after --wait's quiet time), until a signal stops it.
Status watchLoop(Context& ctx, const tmpl::TemplateSet& set, tmpl::ApiSource& source,
                 const tmpl::Quiescence& wait) {
  auto queue = std::make_shared<ChangeQueue>();
  BERTH_RETURN_IF_ERROR(stopOnSignals(queue));
  // The kv watch is open before the first read (its first connection is the resync that
  // starts the first round), so no change between the two is missed.
  if (auto prefix = set.kvPrefix())
    tmpl::watchKv(ctx.newApi(), *prefix, queue);
  else
    queue->resync();
  std::set<std::string> watched;  // services with a watcher
  tmpl::Dependencies deps;
  std::optional<Clock::time_point> first, last;  // relevant changes not rendered yet
  for (;;) {
    std::optional<Clock::time_point> deadline;
    if (first) deadline = tmpl::renderAt(wait, *first, *last);
    ChangeQueue::Batch batch = queue->take(deadline);
    if (batch.stop) return okStatus();
    bool relevant = false;
    for (const auto& key : batch.keys) relevant = relevant || deps.coversKey(key);
    for (const auto& name : batch.services) relevant = relevant || deps.services.count(name) > 0;
    Clock::time_point now = Clock::now();
    if (relevant) {
      if (!first) first = now;
      last = now;
    }
    // A resync renders at once: the first round, or a reconnection after an outage.
    if (!batch.resync && (!first || now < tmpl::renderAt(wait, *first, *last))) continue;
    first.reset();
    last.reset();
    source.newRound();
    auto round = set.render(source, tmpl::runShell, false);
    report(round);
    deps = std::move(round.deps);
    for (const auto& name : deps.services) {
      if (!watched.insert(name).second) continue;
      auto index = source.serviceIndexes().find(name);
      tmpl::watchService(ctx.newApi(), name,
                         index == source.serviceIndexes().end() ? 0 : index->second, queue);
    }
  }
}

Status runTemplates(Context& ctx, const TemplateFlags& f) {
  if (f.once && f.watch) return invalidArgument("give --once or --watch, not both");
  if (!f.wait.empty() && !f.watch)
    return invalidArgument("--wait applies to --watch: with --once every template renders once");
  tmpl::Quiescence wait;
  if (!f.wait.empty()) wait = BERTH_TRY(tmpl::parseWait(f.wait));
  std::vector<tmpl::TemplateSpec> specs;
  for (const auto& arg : f.specs) specs.push_back(BERTH_TRY(tmpl::parseTemplateSpec(arg)));
  auto set = BERTH_TRY(tmpl::TemplateSet::load(specs));
  std::optional<SecretKey> secret;
  if (!f.key_file.empty()) secret = BERTH_TRY(readSecretKey(f.key_file));
  tmpl::ApiSource source(ctx.api(), secret);
  if (f.watch) return watchLoop(ctx, set, source, wait);
  // --once: every template renders or nothing is written.
  auto round = set.render(source, tmpl::runShell, true);
  for (const auto& e : round.errors) ctx.fail(e);
  return okStatus();
}

}  // namespace

void addTemplateVerb(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<TemplateFlags>();
  auto* cmd = app.add_subcommand(
      "template",
      "render files from kv keys and service instances, and again when they change "
      "(the language: README, \"Templates\")");
  cmd->add_option("templates", f->specs,
                  "SRC:DEST[:RELOAD_COMMAND]: the template, the file it writes, and a command "
                  "(run with /bin/sh -c) after each change of that file")
      ->required();
  cmd->add_flag("--once", f->once, "render once and exit (the default)");
  cmd->add_flag("--watch", f->watch,
                "keep running: render again when a key or service a template read changes");
  cmd->add_option("--wait", f->wait,
                  "MIN[:MAX] with --watch: render once nothing changed for MIN, at most MAX "
                  "after the first change (default MAX: 4×MIN)");
  cmd->add_option("--key-file", f->key_file,
                  "decrypt values written with `berth kv put --encrypt` with this key");
  cmd->callback([&ctx, f] {
    if (auto s = runTemplates(ctx, *f); !s) ctx.fail(s.error());
  });
}

}  // namespace berth::cli
