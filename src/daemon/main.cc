// berthd: the per-host daemon. Serves the native API (src/api/native_api.md) on a unix
// socket, and on TCP only with mutual TLS, over the engine and the Store (shared state:
// `berth kv` and the service catalog; embedded in <root>/store.db, or an etcd cluster's).

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "api/docker_routes.h"
#include "api/http.h"
#include "api/native_routes.h"
#include "catalog/catalog.h"
#include "catalog/dns_zone.h"
#include "common/log.h"
#include "common/strings.h"
#include "daemon/registrar.h"
#include "engine/engine.h"
#include "runtime/cgroup/manager.h"
#include "store/open.h"

namespace {

berth::api::Server* g_server = nullptr;

}  // namespace

int main(int argc, char** argv) {
  berth::engine::EngineOptions opts;
  std::string socket = "/run/berth/berth.sock";
  std::string tcp, cert, key, ca, store_address, log_level = "info";
  CLI::App app{"berthd: the berth daemon", "berthd"};
  app.set_version_flag("-v,--version", std::string("berthd version ") + BERTH_VERSION);
  app.add_option("--root", opts.root, "where images, containers and volumes live");
  app.add_option("--exec-root", opts.exec_root, "runtime state (tmpfs)");
  app.add_option("--socket,-H", socket, "unix socket of the API");
  app.add_option("--tcp", tcp, "also listen on HOST:PORT with mutual TLS");
  app.add_option("--tlscert", cert, "server certificate (PEM)");
  app.add_option("--tlskey", key, "server key (PEM)");
  app.add_option("--tlscacert", ca, "CA that signs client certificates (PEM)");
  app.add_option("--runtime", opts.runtime, "OCI runtime (default: berth-runtime next to berthd)");
  app.add_option("--bridge", opts.net.bridge, "the default network's bridge (berth0)");
  app.add_option("--bip", opts.net.bridge_cidr,
                 "the default bridge's address and prefix (10.88.0.1/16)");
  app.add_option("--address-pool", opts.net.pool,
                 "where user networks' /24 subnets come from (10.89.0.0/16)");
  app.add_option("--nft-table", opts.net.table, "the nftables table berth owns (ip berth)");
  app.add_option("--resolv-conf", opts.net.resolv_conf,
                 "the host's resolver configuration, which names are forwarded to");
  app.add_option("--store", store_address,
                 "the Store: sqlite:///PATH (default sqlite://<root>/store.db) or "
                 "etcd://HOST:PORT");
  std::string node_name, advertise, dns_listen;
  app.add_option("--node-name", node_name, "this host's name in the catalog (default: hostname)");
  app.add_option("--advertise-addr", advertise,
                 "the address of this host's --network host containers in the catalog");
  app.add_option("--dns-listen", dns_listen,
                 "also serve DNS (NAME.service.berth, forwarding the rest) on ADDR:PORT");
  bool cleanup = false;
  app.add_flag("--cleanup", cleanup,
               "at shutdown, stop every container and remove bridges and rules");
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  using berth::log::Level;
  Level level = log_level == "debug"   ? Level::kDebug
                : log_level == "warn"  ? Level::kWarn
                : log_level == "error" ? Level::kError
                                       : Level::kInfo;
  berth::log::configure("", false, level);
  if (socket.starts_with("unix://")) socket = socket.substr(7);

  // Signals: TERM/INT stop serving (containers keep running); PIPE is ignored.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  // Before any thread starts (setenv): the monitors and runtimes berthd starts inherit it.
  if (auto s = berth::runtime::cgroup::exportHostLayout(); !s)
    berth::log::warn("cgroup layout not handed to runtimes (they read mountinfo): " +
                     s.error().message());
  auto engine = berth::engine::Engine::open(opts);
  if (!engine) {
    std::fprintf(stderr, "berthd: %s\n", engine.error().message().c_str());
    return 1;
  }
  // Opened after the engine, which makes the root; destroyed after the server, whose
  // handlers use it.
  if (store_address.empty())
    store_address = "sqlite://" + std::filesystem::absolute(opts.root).string() + "/store.db";
  auto store = berth::store::openStore(store_address);
  if (!store) {
    std::fprintf(stderr, "berthd: open store %s: %s\n", berth::quote(store_address).c_str(),
                 store.error().message().c_str());
    return 1;
  }
  berth::catalog::CatalogOptions copts;
  copts.node = node_name;
  copts.state_file = opts.root + "/catalog.json";
  berth::engine::Engine& eng = **engine;
  copts.run_command = [&eng](const std::string& container, const std::vector<std::string>& cmd,
                             std::chrono::milliseconds timeout,
                             std::string* output) -> berth::Result<int> {
    berth::engine::ExecConfig x;
    x.cmd = cmd;
    auto code = BERTH_TRY(eng.execRun(container, x, timeout, output));
    if (!code)
      return berth::unavailable("timed out after " + std::to_string(timeout.count()) + " ms");
    return *code;
  };
  auto catalog = berth::catalog::Catalog::open(**store, copts);
  if (!catalog) {
    std::fprintf(stderr, "berthd: catalog: %s\n", catalog.error().message().c_str());
    return 1;
  }
  berth::catalog::Catalog& cat = **catalog;
  // NAME.service.berth on every resolver berthd serves, answered from the catalog's mirror;
  // the server keeps encoded answers until the catalog changes.
  auto zone = std::make_shared<berth::catalog::DnsZone>(
      [&cat](const std::string& service, const std::string& tag) {
        return cat.instances(service, /*passing_only=*/true, tag);
      });
  eng.networks().setDnsZone(
      [zone](const berth::network::DnsQuestion& q) { return zone->answer(q); });
  cat.onChange([&eng] { eng.networks().invalidateDnsCache(); });
  if (!dns_listen.empty()) {
    auto colon = dns_listen.rfind(':');
    auto port = berth::parseInt(dns_listen.substr(colon + 1));
    if (colon == std::string::npos || !port || *port < 0 || *port > 65535) {
      std::fprintf(stderr, "berthd: --dns-listen %s: expected ADDR:PORT\n", dns_listen.c_str());
      return 1;
    }
    auto bound =
        eng.networks().listenDns(dns_listen.substr(0, colon), static_cast<uint16_t>(*port));
    if (!bound) {
      std::fprintf(stderr, "berthd: --dns-listen: %s\n", bound.error().message().c_str());
      return 1;
    }
  }
  auto registrar = std::make_unique<berth::daemon::Registrar>(eng, cat, advertise);
  berth::api::Router router;
  berth::api::addNativeRoutes(router, **engine, **store);
  berth::api::addCatalog(router, cat);
  berth::api::addDockerRoutes(router, **engine);
  berth::api::Server server(std::move(router), berth::api::dockerPrepare);
  if (auto s = server.listenUnix(socket, 0660); !s) {
    std::fprintf(stderr, "berthd: %s\n", s.error().message().c_str());
    return 1;
  }
  if (!tcp.empty()) {
    auto colon = tcp.rfind(':');
    auto port = berth::parseInt(tcp.substr(colon + 1));
    if (colon == std::string::npos || !port) {
      std::fprintf(stderr, "berthd: --tcp %s: expected HOST:PORT\n", tcp.c_str());
      return 1;
    }
    auto bound = server.listenTcp(tcp.substr(0, colon), static_cast<int>(*port), {cert, key, ca});
    if (!bound) {
      std::fprintf(stderr, "berthd: %s\n", bound.error().message().c_str());
      return 1;
    }
  }
  g_server = &server;
  std::thread signals([&server, set] {
    int sig = 0;
    sigwait(&set, &sig);
    server.stop();
  });
  berth::log::write(Level::kInfo, "berthd listening on " + berth::quote(socket));
  server.serve();
  ::unlink(socket.c_str());
  registrar.reset();
  eng.networks().setDnsZone(nullptr);
  catalog->reset();  // revokes the node's lease: this host's instances leave the catalog
  if (cleanup) {
    if (auto c = (*engine)->cleanup(); !c)
      std::fprintf(stderr, "berthd: cleanup: %s\n", c.error().message().c_str());
  }
  // The signal thread is blocked in sigwait unless a signal ended serve().
  if (signals.joinable()) signals.detach();
  return 0;
}
