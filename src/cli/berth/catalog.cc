// catalog register, deregister, ls, show: the service catalog (native_api.md, "Service
// catalog").

#include <cstdio>

#include "cli/berth/format.h"
#include "cli/berth/verbs.h"

namespace berth::cli {

using nlohmann::json;

namespace {

struct RegisterFlags {
  std::string service, id, address, check, interval, timeout;
  int port = 0;
  int failures = 1, successes = 1;
  std::vector<std::string> tags, meta;
};

// --check tcp | http[:/PATH] | http://… is not ours: the address is the instance's.
Result<json> checkJson(const RegisterFlags& f) {
  json c = json::object();
  if (f.check == "tcp") {
    c["type"] = "tcp";
  } else if (f.check == "http" || f.check.starts_with("http:/")) {
    c["type"] = "http";
    c["path"] = f.check == "http" ? "/" : f.check.substr(5);
  } else {
    return invalidArgument("invalid --check " + quote(f.check) +
                           ": expected tcp or http[:/PATH] (checks run against the instance's "
                           "address and port)");
  }
  if (!f.interval.empty()) c["interval"] = f.interval;
  if (!f.timeout.empty()) c["timeout"] = f.timeout;
  c["failures"] = f.failures;
  c["successes"] = f.successes;
  return c;
}

Status registerInstance(Context& ctx, const RegisterFlags& f) {
  json body{{"address", f.address}, {"port", f.port}, {"tags", f.tags}};
  if (!f.id.empty()) body["id"] = f.id;
  if (!f.check.empty()) body["check"] = BERTH_TRY(checkJson(f));
  json meta = json::object();
  for (const auto& kv : f.meta) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalidArgument("invalid --meta " + quote(kv) + ": expected KEY=VALUE");
    meta[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  body["meta"] = meta;
  json r = BERTH_TRY(ctx.api().json("PUT", "/v1/catalog/services/" + urlEncode(f.service), body));
  std::printf("%s\n", r.value("id", "").c_str());
  return okStatus();
}

Status deregister(Context& ctx, const std::string& service, const std::string& id) {
  BERTH_RETURN_IF_ERROR(
      ctx.api().call("DELETE", "/v1/catalog/services/" + urlEncode(service) + "/" + urlEncode(id)));
  std::printf("%s\n", id.c_str());
  return okStatus();
}

Status list(Context& ctx, const std::string& format) {
  json r = BERTH_TRY(ctx.api().json("GET", "/v1/catalog/services"));
  if (format == "json") {
    for (const auto& s : r["services"]) std::printf("%s\n", s.dump().c_str());
    return okStatus();
  }
  Table table({"SERVICE", "INSTANCES", "PASSING", "TAGS"});
  for (const auto& s : r["services"]) {
    table.add({s.value("name", ""), std::to_string(s.value("instances", 0)),
               std::to_string(s.value("passing", 0)),
               join(s.value("tags", std::vector<std::string>{}), ",")});
  }
  std::fputs(table.render().c_str(), stdout);
  return okStatus();
}

Status show(Context& ctx, const std::string& service, bool passing, const std::string& tag,
            const std::string& format) {
  std::string target = "/v1/catalog/services/" + urlEncode(service) +
                       "?passing=" + (passing ? "1" : "0") +
                       (tag.empty() ? "" : "&tag=" + urlEncode(tag));
  json r = BERTH_TRY(ctx.api().json("GET", target));
  if (format == "json") {
    for (const auto& in : r["instances"]) std::printf("%s\n", in.dump().c_str());
    return okStatus();
  }
  Table table({"ID", "ADDRESS", "PORT", "NODE", "HEALTH", "TAGS", "CHECK OUTPUT"});
  for (const auto& in : r["instances"]) {
    table.add({in.value("id", ""), in.value("address", ""), std::to_string(in.value("port", 0)),
               in.value("node", ""), in.value("health", ""),
               join(in.value("tags", std::vector<std::string>{}), ","),
               ellipsis(in.value("output", ""), 40)});
  }
  std::fputs(table.render().c_str(), stdout);
  return okStatus();
}

void run(Context& ctx, const Status& s) {
  if (!s) ctx.fail(s.error());
}

}  // namespace

void addCatalogVerbs(CLI::App& app, Context& ctx) {
  auto* cat = app.add_subcommand("catalog", "the service catalog: instances of services");
  cat->require_subcommand(1);

  auto f = std::make_shared<RegisterFlags>();
  auto* reg = cat->add_subcommand("register", "register an instance of a service on this host");
  reg->add_option("service", f->service, "the service's name (a DNS label)")->required();
  reg->add_option("--address", f->address, "the instance's IPv4 address")->required();
  reg->add_option("--port", f->port, "its port (for SRV records and checks)");
  reg->add_option("--id", f->id, "the instance's id (default: SERVICE-<random>)");
  reg->add_option("--tag", f->tags, "a tag (repeatable); TAG.SERVICE.service.berth finds it");
  reg->add_option("--meta", f->meta, "KEY=VALUE (repeatable)");
  reg->add_option("--check", f->check, "tcp or http[:/PATH]: a health check run by berthd");
  reg->add_option("--interval", f->interval, "between checks (10s)");
  reg->add_option("--timeout", f->timeout, "of one check (2s)");
  reg->add_option("--failures", f->failures, "consecutive failures that make it critical (1)");
  reg->add_option("--successes", f->successes, "consecutive passes that make it passing (1)");
  reg->callback([&ctx, f] { run(ctx, registerInstance(ctx, *f)); });

  auto service = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto* dereg = cat->add_subcommand("deregister", "remove an instance");
  dereg->add_option("service", *service, "the service")->required();
  dereg->add_option("id", *id, "the instance's id")->required();
  dereg->callback([&ctx, service, id] { run(ctx, deregister(ctx, *service, *id)); });

  auto format = std::make_shared<std::string>();
  auto* ls = cat->add_subcommand("ls", "list services");
  ls->add_option("--format", *format, "table or json");
  ls->callback([&ctx, format] { run(ctx, list(ctx, *format)); });

  auto passing = std::make_shared<bool>(false);
  auto tag = std::make_shared<std::string>();
  auto* sh = cat->add_subcommand("show", "list a service's instances");
  sh->add_option("service", *service, "the service")->required();
  sh->add_flag("--passing", *passing, "only instances whose check passes");
  sh->add_option("--tag", *tag, "only instances with this tag");
  sh->add_option("--format", *format, "table or json");
  sh->callback([&ctx, service, passing, tag, format] {
    run(ctx, show(ctx, *service, *passing, *tag, *format));
  });
}

}  // namespace berth::cli
