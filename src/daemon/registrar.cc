#include "daemon/registrar.h"

#include "common/log.h"
#include "common/strings.h"

namespace berth::daemon {

namespace {

constexpr std::string_view kLabel = "berth.service";

std::string labelOr(const std::map<std::string, std::string>& labels, const std::string& key) {
  auto it = labels.find(key);
  return it == labels.end() ? "" : it->second;
}

Error labelError(const std::string& key, const std::string& value, const std::string& why) {
  return invalidArgument("label " + key + "=" + quote(value) + ": " + why);
}

Result<std::chrono::milliseconds> durationLabel(const std::map<std::string, std::string>& labels,
                                                const std::string& key,
                                                std::chrono::milliseconds fallback) {
  std::string v = labelOr(labels, key);
  if (v.empty()) return fallback;
  auto ns = parseDuration(v);
  if (!ns) return labelError(key, v, ns.error().message());
  return std::chrono::milliseconds(*ns / 1'000'000);
}

Result<int> countLabel(const std::map<std::string, std::string>& labels, const std::string& key) {
  std::string v = labelOr(labels, key);
  if (v.empty()) return 1;
  auto n = parseInt(v);
  if (!n || *n < 1 || *n > 1000) return labelError(key, v, "expected a count from 1 to 1000");
  return static_cast<int>(*n);
}

Result<catalog::Check> checkFrom(const std::map<std::string, std::string>& labels) {
  catalog::Check check;
  const std::string key = std::string(kLabel) + ".check";
  std::string spec = labelOr(labels, key);
  if (spec.empty()) return check;
  if (spec == "tcp") {
    check.kind = catalog::Check::Kind::kTcp;
  } else if (spec == "http" || spec.starts_with("http:")) {
    check.kind = catalog::Check::Kind::kHttp;
    check.path = spec == "http" ? "/" : spec.substr(5);
    if (!check.path.starts_with("/")) return labelError(key, spec, "the path must start with '/'");
  } else if (spec.starts_with("cmd:") && spec.size() > 4) {
    check.kind = catalog::Check::Kind::kCommand;
    check.command = {"/bin/sh", "-c", spec.substr(4)};
  } else {
    return labelError(key, spec, "expected tcp, http[:/PATH] or cmd:COMMAND");
  }
  check.interval = BERTH_TRY(durationLabel(labels, key + ".interval", check.interval));
  check.timeout = BERTH_TRY(durationLabel(labels, key + ".timeout", check.timeout));
  check.failures = BERTH_TRY(countLabel(labels, key + ".failures"));
  check.successes = BERTH_TRY(countLabel(labels, key + ".successes"));
  return check;
}

}  // namespace

Result<std::optional<catalog::Instance>> requestedInstance(
    const std::string& container_id, const std::map<std::string, std::string>& labels) {
  std::string spec = labelOr(labels, std::string(kLabel));
  if (spec.empty()) {
    for (const auto& [k, v] : labels) {
      if (k.starts_with(std::string(kLabel) + "."))
        return invalidArgument("label " + k + " without " + std::string(kLabel) +
                               "=NAME[:PORT]: add the service's name");
    }
    return std::optional<catalog::Instance>();
  }
  catalog::Instance in;
  in.id = container_id.substr(0, 12);
  in.container = container_id;
  auto colon = spec.find(':');
  in.service = spec.substr(0, colon);
  if (colon != std::string::npos) {
    auto port = parseInt(spec.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535)
      return labelError(std::string(kLabel), spec, "the port must be a number from 1 to 65535");
    in.port = static_cast<uint16_t>(*port);
  }
  for (const auto& tag : split(labelOr(labels, std::string(kLabel) + ".tags"), ',')) {
    if (!trim(tag).empty()) in.tags.emplace_back(trim(tag));
  }
  in.check = BERTH_TRY(checkFrom(labels));
  // Checked as registration will check it, with a stand-in address and node.
  catalog::Instance probe = in;
  probe.address = "127.0.0.1";
  probe.node = "node";
  if (auto s = catalog::validate(probe); !s)
    return s.error().context("label " + std::string(kLabel) + "=" + quote(spec));
  return std::optional<catalog::Instance>(std::move(in));
}

Registrar::Registrar(engine::Engine& engine, catalog::Catalog& catalog, std::string advertise)
    : engine_(engine), catalog_(catalog), advertise_(std::move(advertise)) {
  engine_.setCreateCheck([](const engine::ContainerConfig& config) -> Status {
    auto in = requestedInstance("0123456789ab", config.labels);
    if (!in) return in.error();
    return okStatus();
  });
  // Subscribed first: a container that starts while the running ones are read is seen.
  events_ = engine_.events().subscribe();
  if (auto running = engine_.list(false, {{"label", std::string(kLabel)}})) {
    for (const auto& c : *running) registerContainer(c.id);
  }
  thread_ = std::thread([this] { follow(); });
}

Registrar::~Registrar() {
  stopping_ = true;
  events_->close();
  thread_.join();
}

void Registrar::follow() {
  while (!stopping_) {
    auto e = events_->next(std::chrono::seconds(1));
    if (!e || e->type != "container") continue;
    if (e->action == "start") {
      registerContainer(e->id);
    } else if (e->action == "die" || e->action == "destroy") {
      if (auto s = catalog_.deregisterContainer(e->id); !s)
        log::warn("catalog: deregister container " + e->id.substr(0, 12) + ": " +
                  s.error().message());
    }
  }
}

void Registrar::registerContainer(const std::string& id) {
  auto c = engine_.inspect(id);
  if (!c || !c->running()) return;  // gone again already: its die event follows
  auto want = requestedInstance(c->id, c->config.labels);
  if (!want || !*want) return;
  catalog::Instance in = std::move(**want);
  in.meta["container_name"] = c->name;
  const auto& eps = c->state.net.endpoints;
  in.address = !eps.empty() && !eps[0].ip.empty() ? eps[0].ip : advertise_;
  if (in.address.empty()) {
    log::warn("catalog: container " + quote(c->name) + " asks to be service " + quote(in.service) +
              " but has no address of its own; start berthd with --advertise-addr");
    return;
  }
  if (auto r = catalog_.registerInstance(std::move(in)); !r)
    log::warn("catalog: register container " + quote(c->name) + ": " + r.error().message());
}

}  // namespace berth::daemon
