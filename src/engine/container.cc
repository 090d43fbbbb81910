#include "engine/container.h"

#include <ctime>

namespace berth::engine {

using nlohmann::json;

namespace {
constexpr const char* kStateNames[] = {"created", "running",  "paused", "restarting",
                                       "exited",  "removing", "dead"};
}

const char* runStateName(RunState s) { return kStateNames[static_cast<int>(s)]; }

std::optional<RunState> runStateFromName(const std::string& name) {
  for (int i = 0; i < 7; ++i) {
    if (name == kStateNames[i]) return static_cast<RunState>(i);
  }
  return std::nullopt;
}

int64_t nowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

json toJson(const ContainerState& s) {
  json log = json::array();
  for (const auto& h : s.health.log)
    log.push_back({{"start_ns", h.start_ns},
                   {"end_ns", h.end_ns},
                   {"exit_code", h.exit_code},
                   {"output", h.output}});
  json endpoints = json::array();
  for (const auto& e : s.net.endpoints)
    endpoints.push_back({{"network_id", e.network_id},
                         {"network", e.network},
                         {"ip", e.ip},
                         {"prefix_len", e.prefix_len},
                         {"gateway", e.gateway},
                         {"mac", e.mac},
                         {"aliases", e.aliases},
                         {"host_if", e.host_if},
                         {"if_name", e.if_name}});
  json ports = json::array();
  for (const auto& p : s.net.ports) ports.push_back(toJson(p));
  return {
      {"status", runStateName(s.status)},
      {"pid", s.pid},
      {"monitor_pid", s.monitor_pid},
      {"monitor_start", s.monitor_start},
      {"exit_code", s.exit_code},
      {"oom_killed", s.oom_killed},
      {"error", s.error},
      {"started_ns", s.started_ns},
      {"finished_ns", s.finished_ns},
      {"restart_count", s.restart_count},
      {"stopped_by_user", s.stopped_by_user},
      {"health",
       {{"status", s.health.status}, {"failing_streak", s.health.failing_streak}, {"log", log}}},
      {"network", {{"sandbox", s.net.sandbox}, {"endpoints", endpoints}, {"ports", ports}}}};
}

json toJson(const Container& c) {
  return {{"version", 1},
          {"id", c.id},
          {"name", c.name},
          {"image_id", c.image_id},
          {"created_ns", c.created_ns},
          {"config", toJson(c.config)},
          {"state", toJson(c.state)}};
}

Result<Container> containerFromJson(const json& j) {
  try {
    if (j.value("version", 0) != 1)
      return invalidArgument("container record: unknown version " +
                             std::to_string(j.value("version", 0)));
    Container c;
    c.id = j.at("id").get<std::string>();
    c.name = j.at("name").get<std::string>();
    c.image_id = j.at("image_id").get<std::string>();
    c.created_ns = j.at("created_ns").get<int64_t>();
    c.config = BERTH_TRY(configFromJson(j.at("config")));
    const json& s = j.at("state");
    c.state.status = runStateFromName(s.at("status").get<std::string>()).value_or(RunState::kDead);
    c.state.pid = s.value("pid", 0);
    c.state.monitor_pid = s.value("monitor_pid", 0);
    c.state.monitor_start = s.value("monitor_start", 0ULL);
    c.state.exit_code = s.value("exit_code", 0);
    c.state.oom_killed = s.value("oom_killed", false);
    c.state.error = s.value("error", "");
    c.state.started_ns = s.value("started_ns", int64_t{0});
    c.state.finished_ns = s.value("finished_ns", int64_t{0});
    c.state.restart_count = s.value("restart_count", 0);
    c.state.stopped_by_user = s.value("stopped_by_user", false);
    if (s.contains("health")) {
      const json& h = s["health"];
      c.state.health.status = h.value("status", "");
      c.state.health.failing_streak = h.value("failing_streak", 0);
      for (const auto& r : h.value("log", json::array()))
        c.state.health.log.push_back({r.value("start_ns", int64_t{0}),
                                      r.value("end_ns", int64_t{0}), r.value("exit_code", 0),
                                      r.value("output", "")});
    }
    if (s.contains("network")) {
      const json& n = s["network"];
      c.state.net.sandbox = n.value("sandbox", "");
      for (const auto& e : n.value("endpoints", json::array()))
        c.state.net.endpoints.push_back({e.value("network_id", ""), e.value("network", ""),
                                         e.value("ip", ""), e.value("prefix_len", 0),
                                         e.value("gateway", ""), e.value("mac", ""),
                                         e.value("aliases", std::vector<std::string>{}),
                                         e.value("host_if", ""), e.value("if_name", "")});
      for (const auto& p : n.value("ports", json::array()))
        c.state.net.ports.push_back({p.value("container_port", 0), p.value("protocol", "tcp"),
                                     p.value("host_ip", ""), p.value("host_port", 0)});
    }
    return c;
  } catch (const json::exception& e) {
    return invalidArgument(std::string("container record: ") + e.what());
  }
}

}  // namespace berth::engine
