// logs and stats: a container's output and its resource usage, streamed from berthd.

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "cli/berth/format.h"
#include "cli/berth/frames.h"
#include "cli/berth/run_options.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

struct LogFlags {
  bool follow = false, timestamps = false;
  std::string tail, since, until;
  std::string container;
};

Status writeAll(FILE* f, std::string_view data) {
  if (std::fwrite(data.data(), 1, data.size(), f) != data.size())
    return errnoError("write output", errno);
  return okStatus();
}

Status logs(Context& ctx, const LogFlags& f) {
  std::string q = "?stdout=1&stderr=1";
  if (f.follow) q += "&follow=1";
  if (f.timestamps) q += "&timestamps=1";
  if (!f.tail.empty()) {
    if (f.tail != "all" && !parseInt(f.tail))
      return invalidArgument("invalid --tail " + quote(f.tail) + ": a number of lines or all");
    q += "&tail=" + urlEncode(f.tail);
  }
  q += BERTH_TRY(timeRangeQuery(f.since, f.until));
  // Without a terminal the log comes in frames; with one, raw.
  auto info = BERTH_TRY(ctx.api().json("GET", containerPath(f.container)));
  bool tty = info.value("config", json::object()).value("tty", false);
  auto stream = BERTH_TRY(ctx.api().stream("GET", containerPath(f.container) + "/logs" + q));
  FrameDecoder decoder;
  std::string piece;
  while (BERTH_TRY(stream->next(piece))) {
    if (tty) {
      BERTH_RETURN_IF_ERROR(writeAll(stdout, piece));
    } else {
      Status out;
      BERTH_RETURN_IF_ERROR(decoder.feed(piece, [&](StreamId id, std::string_view payload) {
        if (out) out = writeAll(id == StreamId::kStdout ? stdout : stderr, payload);
      }));
      BERTH_RETURN_IF_ERROR(out);
    }
    std::fflush(stdout);
  }
  return okStatus();
}

// One container's samples, filled by its own thread and its own connection.
struct StatsFeed {
  std::string id, name;
  json prev, cur;
  int samples = 0;
  bool done = false;
  std::string error;
};

struct StatsBoard {
  std::mutex mu;
  std::condition_variable changed;
  std::vector<StatsFeed> feeds;  // GUARDED_BY(mu)
};

void followStats(StatsBoard& board, size_t index, std::string host, int max_samples) {
  std::string id;
  {
    std::lock_guard lock(board.mu);
    id = board.feeds[index].id;
  }
  auto finish = [&](const std::string& error) {
    std::lock_guard lock(board.mu);
    board.feeds[index].done = true;
    board.feeds[index].error = error;
    board.changed.notify_all();
  };
  Api api(host);
  auto stream = api.stream("GET", containerPath(id) + "/stats?stream=1");
  if (!stream) return finish(stream.error().message());
  std::string buffer, piece;
  while (true) {
    auto more = (*stream)->next(piece);
    if (!more) return finish(more.error().message());
    if (!*more) return finish("");
    buffer += piece;
    for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
      auto sample = json::parse(buffer.substr(0, nl), nullptr, false);
      buffer.erase(0, nl + 1);
      if (!sample.is_object()) continue;
      std::lock_guard lock(board.mu);
      StatsFeed& feed = board.feeds[index];
      feed.prev = std::move(feed.cur);
      feed.cur = std::move(sample);
      ++feed.samples;
      board.changed.notify_all();
      if (max_samples > 0 && feed.samples >= max_samples) {
        feed.done = true;
        return;
      }
    }
  }
}

std::string renderStats(StatsBoard& board) {
  std::lock_guard lock(board.mu);
  Table table(statsHeader());
  for (const auto& f : board.feeds) {
    if (f.cur.is_null()) {
      table.add({shortId(f.id), f.name, "--", "-- / --", "--", "--"});
      continue;
    }
    table.add(statsRow(f.id, f.name, f.prev, f.cur));
  }
  return table.render();
}

void stats(Context& ctx, const std::vector<std::string>& names, bool no_stream) {
  StatsBoard board;
  if (names.empty()) {
    auto list = ctx.api().json("GET", "/v1/containers");
    if (!list) return ctx.fail(list.error());
    for (const auto& c : *list)
      board.feeds.push_back(
          {c.value("id", ""), c.value("name", ""), nullptr, nullptr, 0, false, ""});
  } else {
    for (const auto& n : names) {
      auto info = ctx.api().json("GET", containerPath(n));
      if (!info) return ctx.fail(info.error());
      board.feeds.push_back(
          {info->value("id", n), info->value("name", n), nullptr, nullptr, 0, false, ""});
    }
  }
  if (board.feeds.empty() && no_stream) {
    std::fputs(Table(statsHeader()).render().c_str(), stdout);
    return;
  }
  // Two samples make a CPU percentage; --no-stream waits for them and prints once.
  std::vector<std::thread> threads;
  for (size_t i = 0; i < board.feeds.size(); ++i)
    threads.emplace_back(followStats, std::ref(board), i, resolveHost(ctx.host), no_stream ? 2 : 0);
  auto all_done = [&] {
    for (const auto& f : board.feeds)
      if (!f.done) return false;
    return true;
  };
  if (no_stream) {
    for (auto& t : threads) t.join();
    std::fputs(renderStats(board).c_str(), stdout);
  } else {
    bool tty = ::isatty(1);
    while (true) {
      {
        std::unique_lock lock(board.mu);
        board.changed.wait_for(lock, std::chrono::seconds(1), [&] { return all_done(); });
      }
      std::string text = renderStats(board);
      if (tty) std::fputs("\033[2J\033[H", stdout);
      std::fputs(text.c_str(), stdout);
      std::fflush(stdout);
      std::lock_guard lock(board.mu);
      if (all_done()) break;
    }
    for (auto& t : threads) t.join();
  }
  for (const auto& f : board.feeds)
    if (!f.error.empty()) ctx.fail(internalError("stats for " + quote(f.name) + ": " + f.error));
}

}  // namespace

void addContainerIoVerbs(CLI::App& app, Context& ctx) {
  auto lf = std::make_shared<LogFlags>();
  auto* logs_cmd = app.add_subcommand("logs", "show a container's output");
  logs_cmd->add_flag("-f,--follow", lf->follow, "keep following until the container stops");
  logs_cmd->add_flag("-t,--timestamps", lf->timestamps, "prefix each line with its time");
  logs_cmd->add_option("-n,--tail", lf->tail, "only the last N lines (or all)");
  logs_cmd->add_option("--since", lf->since, "from a time (RFC 3339, unix, or 10m ago)");
  logs_cmd->add_option("--until", lf->until, "up to a time (RFC 3339, unix, or 10m ago)");
  logs_cmd->add_option("container", lf->container, "container")->required();
  logs_cmd->callback([&ctx, lf] {
    if (auto s = logs(ctx, *lf); !s) ctx.fail(s.error());
  });

  auto names = std::make_shared<std::vector<std::string>>();
  auto no_stream = std::make_shared<bool>(false);
  auto* stats_cmd = app.add_subcommand("stats", "show containers' resource usage");
  stats_cmd->add_flag("--no-stream", *no_stream, "print once and exit");
  stats_cmd->add_option("containers", *names, "containers (default: all running)");
  stats_cmd->callback([&ctx, names, no_stream] { stats(ctx, *names, *no_stream); });
}

}  // namespace berth::cli
