// The native API's handlers (native_api.md): containers, exec, volumes, events, system.

#include "api/native_routes.h"
#include "api/native_util.h"

#include <poll.h>
#include <sys/utsname.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <thread>

#include "common/log.h"
#include "common/signals.h"
#include "common/strings.h"
#include "engine/monitor_client.h"
#include "monitor/protocol.h"
#include "sys/fs.h"

namespace berth::api {

using engine::Container;
using engine::Engine;
using engine::RunState;
using nlohmann::json;

std::string statusText(const Container& c) {
  const auto& s = c.state;
  int64_t now = engine::nowNs();
  switch (s.status) {
    case RunState::kCreated:
      return "Created";
    case RunState::kRunning:
    case RunState::kPaused: {
      std::string t = "Up " + humanDuration(now - s.started_ns);
      if (s.status == RunState::kPaused)
        t += " (Paused)";
      else if (!s.health.status.empty()) {
        t += s.health.status == "starting" ? " (health: starting)" : " (" + s.health.status + ")";
      }
      return t;
    }
    case RunState::kRestarting:
      return "Restarting (" + std::to_string(s.exit_code) + ") " +
             humanDuration(now - s.finished_ns) + " ago";
    case RunState::kExited:
      return "Exited (" + std::to_string(s.exit_code) + ") " + humanDuration(now - s.finished_ns) +
             " ago";
    case RunState::kRemoving:
      return "Removal In Progress";
    case RunState::kDead:
      return "Dead";
  }
  return "";
}

std::string commandText(const Container& c) {
  std::vector<std::string> parts;
  if (c.config.entrypoint) parts = *c.config.entrypoint;
  parts.insert(parts.end(), c.config.cmd.begin(), c.config.cmd.end());
  return join(parts, " ");
}

json portsJson(const Container& c) {
  json out = json::array();
  for (const auto& p : c.state.net.ports) {
    json j = engine::toJson(p);
    if (p.host_ip.empty()) j["host_ip"] = "0.0.0.0";
    out.push_back(j);
  }
  return out;
}

namespace {

json networkSettingsJson(const Container& c) {
  json networks = json::object();
  for (const auto& ep : c.state.net.endpoints)
    networks[ep.network] = {
        {"network_id", ep.network_id}, {"ip", ep.ip},   {"prefix_len", ep.prefix_len},
        {"gateway", ep.gateway},       {"mac", ep.mac}, {"aliases", ep.aliases},
        {"if_name", ep.if_name}};
  return {{"networks", networks}, {"ports", portsJson(c)}, {"sandbox", c.state.net.sandbox}};
}

json summaryJson(const Container& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"image", c.config.image},
          {"image_id", c.image_id},
          {"command", commandText(c)},
          {"created_ns", c.created_ns},
          {"state", engine::runStateName(c.state.status)},
          {"status", statusText(c)},
          {"exit_code", c.state.exit_code},
          {"labels", c.config.labels},
          {"ports", portsJson(c)}};
}

json inspectJson(Engine& e, const Container& c) {
  json state = engine::toJson(c.state);
  state["running"] = c.state.status == RunState::kRunning || c.state.status == RunState::kPaused;
  state["paused"] = c.state.status == RunState::kPaused;
  state["restarting"] = c.state.status == RunState::kRestarting;
  state["dead"] = c.state.status == RunState::kDead;
  state.erase("monitor_start");
  state.erase("stopped_by_user");
  state.erase("network");
  if (c.state.health.status.empty()) state.erase("health");
  json mounts = json::array();
  for (const auto& m : c.config.mounts) {
    json j = {{"type", m.type}, {"target", m.target}, {"read_only", m.read_only}};
    if (m.type == "volume") {
      j["name"] = m.source;
      j["source"] = e.options().root + "/volumes/" + m.source + "/_data";
    } else {
      j["source"] = m.source;
    }
    mounts.push_back(j);
  }
  return {{"id", c.id},
          {"name", c.name},
          {"image", c.config.image},
          {"image_id", c.image_id},
          {"created_ns", c.created_ns},
          {"created", log::rfc3339(c.created_ns)},
          {"config", engine::toJson(c.config)},
          {"state", state},
          {"rootfs", e.options().root + "/containers/" + c.id + "/rootfs"},
          {"log_path", e.logPath(c)},
          {"mounts", mounts},
          {"network_settings", networkSettingsJson(c)}};
}

}  // namespace

Result<int64_t> timeArg(const Request& req, const std::string& key) {
  std::string v = req.queryValue(key);
  if (v.empty()) return int64_t{0};
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || d < 0)
    return invalidArgument("query " + quote(key) + ": " + quote(v) +
                           " is not a time in unix seconds");
  return static_cast<int64_t>(std::llround(d * 1e9));
}

Result<std::optional<int>> intArg(const Request& req, const std::string& key) {
  std::string v = req.queryValue(key);
  if (v.empty()) return std::optional<int>();
  auto n = parseInt(v);
  if (!n) return invalidArgument("query " + quote(key) + ": " + quote(v) + " is not an integer");
  return std::optional<int>(static_cast<int>(*n));
}

namespace {

const char* kUpgradeHead =
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
const char* kRawHead = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n";

// True once the peer of a hijacked connection has closed it. A half-close is not that:
// clients with no stdin to send (docker run without -i) shut their writing side at once,
// and still read the container's output.
bool hungUp(int fd) {
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

}  // namespace

Status hijackAndBridge(Request& req, Response& res, const MonitorOpener& open, bool tty, bool in,
                       bool out, bool err) {
  bool upgrade = !req.header("upgrade").empty();
  std::string early;
  sys::Fd client;
  auto take_over = [&]() -> Status {
    client = BERTH_TRY(res.hijack(upgrade ? kUpgradeHead : kRawHead, &early));
    return okStatus();
  };
  auto monitor = open([&client] { return client.valid() && hungUp(client.get()); }, take_over);
  if (!client.valid()) {
    if (!monitor) return monitor.error();
    return internalError("attach: the connection was not taken over");
  }
  int cfd = client.get();
  if (!monitor) {
    // The response has gone out: report on the stream, as docker does (stream 3).
    if (!tty) {
      std::string msg = monitor.error().message() + "\n";
      (void)engine::writeFrame(cfd, 3, msg);
    }
    return okStatus();
  }
  if (!early.empty() && in)
    BERTH_RETURN_IF_ERROR(engine::writeFrame(monitor->get(), monitor::kStdin, early));
  bridge(cfd, monitor->get(), tty, in, out, err);
  return okStatus();
}

Status streamEvents(Engine& e, Request& req, Response& res, const engine::EventFilter& f,
                    const std::function<json(const engine::Event&)>& shape) {
  int64_t since = BERTH_TRY(timeArg(req, "since"));
  int64_t until = BERTH_TRY(timeArg(req, "until"));
  auto sub = e.events().subscribe();
  BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/json"));
  if (req.hasQuery("since")) {
    for (const auto& ev : e.events().history(since, until)) {
      if (f.matches(ev) && !res.write(shape(ev).dump() + "\n")) return okStatus();
    }
  }
  for (;;) {
    if (until && engine::nowNs() > until) break;
    auto ev = sub->next(std::chrono::milliseconds(500));
    if (!ev) {
      if (res.peerClosed()) break;
      continue;
    }
    if (until && ev->time_ns > until) break;
    if (ev->time_ns < since || !f.matches(*ev)) continue;
    if (!res.write(shape(*ev).dump() + "\n")) break;
  }
  res.end();
  return okStatus();
}

namespace {

// `system df`: per kind, how many, how many in use, their size and what a prune of the
// unused ones would free (bytes). Image sizes are each image's layers as stored, so
// layers two images share count twice, as docker's SIZE does.
Result<json> diskUsage(Engine& e) {
  auto part = [](int64_t count, int64_t active, int64_t size, int64_t reclaimable) {
    return json{{"count", count}, {"active", active}, {"size", size}, {"reclaimable", reclaimable}};
  };
  int64_t count = 0, active = 0, size = 0, reclaimable = 0;
  for (const auto& i : BERTH_TRY(e.imageList(true, {}))) {
    ++count, size += i.size;
    if (i.containers > 0)
      ++active;
    else
      reclaimable += i.size;
  }
  json out = {{"images", part(count, active, size, reclaimable)}};
  count = active = size = reclaimable = 0;
  for (const auto& c : BERTH_TRY(e.list(true, {}))) {
    int64_t rw = e.sizeRw(c.id).value_or(0);
    ++count, size += rw;
    if (c.running())
      ++active;
    else
      reclaimable += rw;
  }
  out["containers"] = part(count, active, size, reclaimable);
  count = active = size = reclaimable = 0;
  for (const auto& v : BERTH_TRY(e.volumeList())) {
    int64_t bytes = sys::treeSize(v.mountpoint);
    ++count, size += bytes;
    if (!e.volumeUsers(v.name).empty())
      ++active;
    else
      reclaimable += bytes;
  }
  out["volumes"] = part(count, active, size, reclaimable);
  return out;
}

void addSystem(Router& r, Engine& e) {
  r.add("GET", "/v1/version", [](Request&, Response& res) {
    utsname u{};
    ::uname(&u);
    res.json(200, {{"version", BERTH_VERSION},
                   {"api_version", "1"},
                   {"commit", BERTH_COMMIT},
                   {"os", "linux"},
                   {"arch", u.machine},
                   {"kernel", u.release}});
  });
  r.add("GET", "/v1/info", handle([&e](Request&, Response& res) -> Status {
          auto info = BERTH_TRY(e.info());
          info["version"] = BERTH_VERSION;
          res.json(200, info);
          return okStatus();
        }));
  r.add("GET", "/v1/system/df", handle([&e](Request&, Response& res) -> Status {
          res.json(200, BERTH_TRY(diskUsage(e)));
          return okStatus();
        }));
  // What `docker system prune` removes: stopped containers, networks no container uses,
  // dangling images (with all=1 every image no container uses), the build cache, with
  // volumes=1 volumes no container uses. Containers go first, so that what they held
  // becomes unused.
  r.add("POST", "/v1/system/prune", handle([&e](Request& req, Response& res) -> Status {
          std::map<std::string, int64_t> writable;  // what each stopped one's layer holds
          for (const auto& c : BERTH_TRY(e.list(true, {})))
            if (!c.running()) writable[c.id] = e.sizeRw(c.id).value_or(0);
          auto containers = BERTH_TRY(e.prune());
          uint64_t freed = 0;
          for (const auto& id : containers) freed += writable[id];
          auto networks = BERTH_TRY(e.networkPrune());
          std::vector<std::string> volumes;
          if (req.queryBool("volumes")) volumes = BERTH_TRY(e.volumePrune());
          auto images = BERTH_TRY(e.imagePrune(req.queryBool("all"), {}));
          auto cache = BERTH_TRY(e.buildPrune());
          res.json(200,
                   {{"containers", containers},
                    {"networks", networks},
                    {"volumes", volumes},
                    {"images", deletedImagesJson(images.deleted)},
                    {"build_cache", cache.deleted},
                    {"space_reclaimed", freed + images.space_reclaimed + cache.space_reclaimed}});
          return okStatus();
        }));
  r.add("GET", "/v1/events", handle([&e](Request& req, Response& res) -> Status {
          engine::EventFilter f;
          for (const auto& [k, v] : filters(req)) f.add(k, v);
          return streamEvents(e, req, res, f,
                              [](const engine::Event& ev) { return engine::toJson(ev); });
        }));
}

void addContainers(Router& r, Engine& e) {
  r.add("POST", "/v1/containers", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          auto config = BERTH_TRY(engine::configFromJson(body));
          std::string id = BERTH_TRY(e.create(std::move(config)));
          res.json(201, {{"id", id}, {"warnings", json::array()}});
          return okStatus();
        }));
  r.add("GET", "/v1/containers", handle([&e](Request& req, Response& res) -> Status {
          auto list = BERTH_TRY(e.list(req.queryBool("all"), filters(req)));
          json out = json::array();
          for (const auto& c : list) out.push_back(summaryJson(c));
          res.json(200, out);
          return okStatus();
        }));
  r.add("POST", "/v1/containers/prune", handle([&e](Request&, Response& res) -> Status {
          auto ids = BERTH_TRY(e.prune());
          res.json(200, {{"deleted", ids}, {"space_reclaimed", 0}});
          return okStatus();
        }));
  r.add("GET", "/v1/containers/{id}", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          res.json(200, inspectJson(e, c));
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/start", handle([&e](Request& req, Response& res) -> Status {
          bool started = BERTH_TRY(e.start(req.params["id"]));
          res.send(started ? 204 : 304, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/stop", handle([&e](Request& req, Response& res) -> Status {
          auto t = BERTH_TRY(intArg(req, "t"));
          bool stopped = BERTH_TRY(e.stop(req.params["id"], t));
          res.send(stopped ? 204 : 304, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/restart", handle([&e](Request& req, Response& res) -> Status {
          auto t = BERTH_TRY(intArg(req, "t"));
          BERTH_RETURN_IF_ERROR(e.restart(req.params["id"], t));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/kill", handle([&e](Request& req, Response& res) -> Status {
          std::string s = req.queryValue("signal", "SIGKILL");
          auto sig = parseSignal(s);
          if (!sig) return invalidArgument("invalid signal " + quote(s));
          BERTH_RETURN_IF_ERROR(e.kill(req.params["id"], *sig));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/pause", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.pause(req.params["id"]));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/unpause", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.unpause(req.params["id"]));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/rename", handle([&e](Request& req, Response& res) -> Status {
          std::string name = req.queryValue("name");
          if (name.empty()) return invalidArgument("rename: query 'name' is required");
          BERTH_RETURN_IF_ERROR(e.rename(req.params["id"], name));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/wait", handle([&e](Request& req, Response& res) -> Status {
          std::string cond = req.queryValue("condition", "not-running");
          engine::WaitCondition wc;
          if (cond == "not-running")
            wc = engine::WaitCondition::kNotRunning;
          else if (cond == "next-exit")
            wc = engine::WaitCondition::kNextExit;
          else if (cond == "removed")
            wc = engine::WaitCondition::kRemoved;
          else
            return invalidArgument("wait: condition " + quote(cond) +
                                   " is not one of not-running, next-exit, removed");
          BERTH_TRY(e.inspect(req.params["id"]));  // 404 before the stream starts
          // Headers go out at once: clients send start only after they have them.
          BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/json"));
          auto result = e.wait(req.params["id"], wc, [&res] { return res.peerClosed(); });
          if (!result) {
            (void)res.write(
                json{{"exit_code", -1}, {"error", {{"message", result.error().message()}}}}.dump() +
                "\n");
          } else {
            json err = result->error.empty() ? json(nullptr) : json{{"message", result->error}};
            (void)res.write(json{{"exit_code", result->exit_code}, {"error", err}}.dump() + "\n");
          }
          res.end();
          return okStatus();
        }));
  r.add("DELETE", "/v1/containers/{id}", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(
              e.remove(req.params["id"], req.queryBool("force"), req.queryBool("volumes")));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
  r.add("GET", "/v1/containers/{id}/logs", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          engine::LogQuery q;
          q.follow = req.queryBool("follow");
          std::string tail = req.queryValue("tail", "all");
          if (tail != "all") {
            auto n = parseInt(tail);
            if (!n || *n < 0)
              return invalidArgument("logs: tail " + quote(tail) +
                                     " is not a number of lines or 'all'");
            q.tail = *n;
          }
          q.since_ns = BERTH_TRY(timeArg(req, "since"));
          q.until_ns = BERTH_TRY(timeArg(req, "until"));
          bool out = req.queryBool("stdout"), err = req.queryBool("stderr");
          if (out || err) {
            q.stdout_stream = out;
            q.stderr_stream = err;
          }
          bool timestamps = req.queryBool("timestamps");
          bool tty = c.config.tty;
          BERTH_RETURN_IF_ERROR(
              res.beginStream(200, tty ? "application/vnd.docker.raw-stream"
                                       : "application/vnd.docker.multiplexed-stream"));
          auto sink = [&](int stream, std::string_view data, int64_t t) {
            std::string payload = timestamps ? log::rfc3339(t) + " " : "";
            payload.append(data);
            if (tty) return res.write(payload).ok();
            return res.write(engine::encodeFrame(static_cast<uint8_t>(stream), payload)).ok();
          };
          BERTH_RETURN_IF_ERROR(e.logs(c.id, q, sink, [&res] { return res.peerClosed(); }));
          res.end();
          return okStatus();
        }));
  r.add("POST", "/v1/containers/{id}/attach", handle([&e](Request& req, Response& res) -> Status {
          auto c = BERTH_TRY(e.inspect(req.params["id"]));
          if (c.state.status == RunState::kExited || c.state.status == RunState::kDead)
            return conflict("you cannot attach to a stopped container " + quote(c.name) +
                            ": start it first");
          bool out = req.queryBool("stdout"), err = req.queryBool("stderr");
          if (!out && !err) out = err = true;
          std::string id = c.id;
          return hijackAndBridge(
              req, res,
              [&e, id](const engine::Cancelled& gone, const std::function<Status()>& take_over) {
                return e.attach(id, gone, take_over);
              },
              c.config.tty, req.queryBool("stdin") && c.config.open_stdin, out, err);
        }));
  r.add("POST", "/v1/containers/{id}/resize", handle([&e](Request& req, Response& res) -> Status {
          auto h = BERTH_TRY(intArg(req, "h"));
          auto w = BERTH_TRY(intArg(req, "w"));
          BERTH_RETURN_IF_ERROR(e.resize(req.params["id"], h.value_or(24), w.value_or(80)));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
  r.add("GET", "/v1/containers/{id}/top", handle([&e](Request& req, Response& res) -> Status {
          res.json(200, BERTH_TRY(e.top(req.params["id"])));
          return okStatus();
        }));
  r.add("GET", "/v1/containers/{id}/port", handle([&e](Request& req, Response& res) -> Status {
          res.json(200, portsJson(BERTH_TRY(e.inspect(req.params["id"]))));
          return okStatus();
        }));
  r.add("GET", "/v1/containers/{id}/stats", handle([&e](Request& req, Response& res) -> Status {
          std::string id = req.params["id"];
          json first = BERTH_TRY(e.stats(id));
          if (!req.queryBool("stream", true)) {
            res.json(200, first);
            return okStatus();
          }
          BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/json"));
          for (json s = first;;) {
            if (!res.write(s.dump() + "\n")) break;
            std::this_thread::sleep_for(std::chrono::seconds(1));
            auto next = e.stats(id);
            if (!next) break;
            s = *next;
          }
          res.end();
          return okStatus();
        }));
}

void addExec(Router& r, Engine& e) {
  r.add("POST", "/v1/containers/{id}/exec", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          engine::ExecConfig x;
          try {
            x.cmd = body.value("cmd", std::vector<std::string>{});
            x.env = body.value("env", std::vector<std::string>{});
            x.workdir = body.value("workdir", "");
            x.user = body.value("user", "");
            x.tty = body.value("tty", false);
            x.open_stdin = body.value("stdin", false);
          } catch (const json::exception& ex) {
            return invalidArgument(std::string("exec config: ") + ex.what());
          }
          std::string id = BERTH_TRY(e.execCreate(req.params["id"], x));
          res.json(201, {{"id", id}});
          return okStatus();
        }));
  r.add("POST", "/v1/exec/{id}/start", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          bool detach = body.is_object() && body.value("detach", false);
          auto info = BERTH_TRY(e.execInspect(req.params["id"]));
          if (detach) {
            BERTH_TRY(e.execStart(req.params["id"], true));
            res.json(200, json::object());
            return okStatus();
          }
          std::string id = req.params["id"];
          return hijackAndBridge(
              req, res,
              [&e, id](const engine::Cancelled&,
                       const std::function<Status()>& take_over) -> Result<sys::Fd> {
                BERTH_RETURN_IF_ERROR(take_over());
                return e.execStart(id, false);
              },
              info.value("tty", false), true, true, true);
        }));
  r.add("POST", "/v1/exec/{id}/resize", handle([&e](Request& req, Response& res) -> Status {
          auto h = BERTH_TRY(intArg(req, "h"));
          auto w = BERTH_TRY(intArg(req, "w"));
          BERTH_RETURN_IF_ERROR(e.execResize(req.params["id"], h.value_or(24), w.value_or(80)));
          res.send(200, "text/plain", "");
          return okStatus();
        }));
  r.add("GET", "/v1/exec/{id}", handle([&e](Request& req, Response& res) -> Status {
          res.json(200, BERTH_TRY(e.execInspect(req.params["id"])));
          return okStatus();
        }));
}

json volumeJson(Engine& e, const engine::Volume& v, bool users) {
  json j = engine::toJson(v);
  j.erase("filled");
  if (users) j["in_use_by"] = e.volumeUsers(v.name);
  return j;
}

void addVolumes(Router& r, Engine& e) {
  r.add("POST", "/v1/volumes", handle([&e](Request& req, Response& res) -> Status {
          json body = BERTH_TRY(req.readJson());
          std::map<std::string, std::string> labels, options;
          std::string name;
          try {
            name = body.value("name", "");
            labels = body.value("labels", labels);
            options = body.value("options", options);
          } catch (const json::exception& ex) {
            return invalidArgument(std::string("volume: ") + ex.what());
          }
          auto v = BERTH_TRY(e.volumeCreate(name, labels, options));
          res.json(201, volumeJson(e, v, false));
          return okStatus();
        }));
  r.add("GET", "/v1/volumes", handle([&e](Request& req, Response& res) -> Status {
          auto f = filters(req);
          json out = json::array();
          for (const auto& v : BERTH_TRY(e.volumeList())) {
            bool ok = true;
            for (const auto& [k, val] : f) {
              if (k != "dangling" && k != "name" && k != "label")
                return invalidArgument("invalid filter " + quote(k) +
                                       " (use dangling, name or label)");
              ok &= volumeMatches(e, v, k, val);
            }
            if (ok) out.push_back(volumeJson(e, v, false));
          }
          res.json(200, out);
          return okStatus();
        }));
  r.add("POST", "/v1/volumes/prune", handle([&e](Request&, Response& res) -> Status {
          auto names = BERTH_TRY(e.volumePrune());
          res.json(200, {{"deleted", names}, {"space_reclaimed", 0}});
          return okStatus();
        }));
  r.add("GET", "/v1/volumes/{name}", handle([&e](Request& req, Response& res) -> Status {
          auto v = BERTH_TRY(e.volumeInspect(req.params["name"]));
          res.json(200, volumeJson(e, v, true));
          return okStatus();
        }));
  r.add("DELETE", "/v1/volumes/{name}", handle([&e](Request& req, Response& res) -> Status {
          BERTH_RETURN_IF_ERROR(e.volumeRemove(req.params["name"], req.queryBool("force")));
          res.send(204, "text/plain", "");
          return okStatus();
        }));
}

}  // namespace

std::multimap<std::string, std::string> filters(const Request& req) {
  std::multimap<std::string, std::string> out;
  auto range = req.query.equal_range("filter");
  for (auto it = range.first; it != range.second; ++it) {
    auto eq = it->second.find('=');
    if (eq == std::string::npos)
      out.emplace(it->second, "");
    else
      out.emplace(it->second.substr(0, eq), it->second.substr(eq + 1));
  }
  return out;
}

bool volumeMatches(Engine& e, const engine::Volume& v, const std::string& key,
                   const std::string& value) {
  if (key == "dangling") return (value == "true" || value == "1") == e.volumeUsers(v.name).empty();
  if (key == "name") return v.name.find(value) != std::string::npos;
  if (key == "label") return labelsMatch(v.labels, value);
  if (key == "driver") return value == "local";
  return false;
}

bool labelsMatch(const std::map<std::string, std::string>& labels, const std::string& filter) {
  auto eq = filter.find('=');
  auto it = labels.find(filter.substr(0, eq));
  return it != labels.end() && (eq == std::string::npos || it->second == filter.substr(eq + 1));
}

void addNativeRoutes(Router& router, Engine& engine, store::Store& store) {
  addSystem(router, engine);
  addContainers(router, engine);
  addExec(router, engine);
  addVolumes(router, engine);
  addNetworks(router, engine);
  addArchiveRoutes(router, engine);
  addImages(router, engine);
  addKv(router, store);
}

}  // namespace berth::api
